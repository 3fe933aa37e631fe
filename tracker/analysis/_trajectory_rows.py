"""The trajectory model's rows per measure, from integer codes of the long score table.

:func:`measure_rows` does what :func:`tracker.analysis.trajectory._prepare` and the
``groupby("measure")`` after it do, without copying the table's text columns or
hashing them more than once each: it returns, per measure, the observed rows' wave
code (by wave order), arm code (arms sorted), participant code (participants sorted)
and score, sorted by participant then wave -- the same numbers in the same order, so
the fits are the same to the last bit.

It returns None for the tables it leaves to the pandas path, which also words the
errors: a missing participant, wave, measure, wave order or arm; a wave with two
orders or two waves with one; a duplicated (participant, wave, measure); a participant
in two arms; non-numeric or nullable score or wave-order columns, or a non-text arm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.analysis._paired import codes_of


def _plain_numbers(series: pd.Series) -> bool:
    dtype = series.dtype
    return isinstance(dtype, np.dtype) and (
        np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
    )


def _codes(series: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(series, sort=sort)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _has_duplicates(key: np.ndarray, size: int) -> bool:
    if size <= 4 * len(key) + 1024:
        return bool(np.bincount(key, minlength=size).max(initial=0) > 1)
    key = np.sort(key)
    return bool(np.any(key[1:] == key[:-1]))


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of non-negative integer codes, by counting."""
    values = np.asarray(values)
    if values.size == 0 or values.min() < 0 or values.max() > 4 * values.size + 1024:
        return np.unique(values, return_inverse=True)
    used = np.bincount(values) > 0
    return np.flatnonzero(used).astype(values.dtype), (np.cumsum(used) - 1)[values]


def measure_rows(scores: pd.DataFrame, arm: str | None):
    """(rows per measure, measures in order of first appearance, waves, wave_order, arms) or None.

    ``rows``: measure -> DataFrame ``_w, _a, _p, score`` of its non-missing scores.
    """
    if not (_plain_numbers(scores["score"]) and _plain_numbers(scores["wave_order"])):
        return None
    if arm and not pd.api.types.is_string_dtype(scores[arm]):
        return None
    p, _ = codes_of(scores["participant"], sort=True)  # in sorted order; unused codes are gaps
    w, w_uniques = _codes(scores["wave"])
    m, m_uniques = _codes(scores["measure"])
    order = scores["wave_order"].to_numpy(dtype=np.float64)
    if (p < 0).any() or (w < 0).any() or (m < 0).any() or np.isnan(order).any():
        return None
    _, first = np.unique(w, return_index=True)
    order_of = order[first]  # each wave's first order, wave codes being in order of appearance
    if (order != order_of[w]).any() or len(np.unique(order_of)) < len(order_of):
        return None
    by_order = np.argsort(order_of, kind="mergesort")
    waves = [w_uniques[c] for c in by_order]
    wave_order = {
        w_uniques[c]: (int(o) if float(o).is_integer() else float(o))
        for c, o in zip(by_order, order_of[by_order], strict=True)
    }
    rank = np.empty(len(by_order), dtype=np.int64)
    rank[by_order] = np.arange(len(by_order))
    w = rank[w]
    n_p, n_w, n_m = int(p.max(initial=-1)) + 1, len(waves), len(m_uniques)
    size = n_p * n_w * n_m
    if _has_duplicates((p * n_w + w) * n_m + m, size):
        return None
    arms: list[str] = []
    a = np.zeros(len(scores), dtype=np.int64)
    if arm:
        a, a_uniques = _codes(scores[arm], sort=True)
        if (a < 0).any():
            return None
        arms = [str(u) for u in a_uniques]
        per_participant = np.full(n_p, -1, dtype=np.int64)
        per_participant[p] = a
        if (per_participant[p] != a).any():
            return None
    score = scores["score"].to_numpy(dtype=np.float64)
    observed = np.flatnonzero(~np.isnan(score))
    # by measure, then participant, then wave: the canonical order of each measure's rows
    # (the keys are distinct, so placing each row at its key is that sort, in one pass)
    if size <= 4 * len(observed) + 1024:
        slot = np.full(size, -1, dtype=np.int64)
        slot[(m[observed] * n_p + p[observed]) * n_w + w[observed]] = observed
        observed = slot[slot >= 0]
    else:
        observed = observed[np.lexsort((w[observed], p[observed], m[observed]))]
    bounds = np.searchsorted(m[observed], np.arange(n_m + 1))
    rows = {}
    for code, label in enumerate(m_uniques):
        at = observed[bounds[code] : bounds[code + 1]]
        if len(at):
            rows[label] = pd.DataFrame({"_w": w[at], "_a": a[at], "_p": p[at], "score": score[at]})
    return rows, list(m_uniques), waves, wave_order, arms
