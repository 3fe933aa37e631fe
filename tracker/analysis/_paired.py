"""The pre/post table of paired change and the arm comparison, built on integer codes.

:func:`paired_table` does what ``scores.set_index([participant, measure, wave]).unstack()``
did for :mod:`tracker.analysis.change` and :mod:`tracker.analysis.compare`, without
copying, hashing or re-sorting the long table's text columns: each key column is
factorized once and the scores are scattered into a (participant, measure, wave) array.
The participants are sorted and the measures in order of first appearance, exactly as
the ``unstack`` was, so every pre and post column holds the same numbers in the same
order and every statistic computed from them is the same to the last bit.

It returns None when the table is one it does not handle (a missing participant or
measure, a non-numeric score column, a duplicated key, a missing or inconsistent group,
a group column that is not text): the callers then take the pandas path, which also
words the errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tracker.analysis._common import check_unique, numeric, unique_in_order
from tracker.errors import AnalysisError


@dataclass
class PairedTable:
    measures: list  # in order of first appearance among the pre/post rows
    values: np.ndarray  # (participant, measure, 0 = pre / 1 = post), NaN where no score
    group_codes: np.ndarray | None  # per participant, into ``group_labels``
    group_labels: list | None  # the group column's values, in order of first appearance

    def column(self, measure_index: int, wave_index: int) -> np.ndarray:
        return self.values[:, measure_index, wave_index]


def codes_of(series: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1: missing) and the values they stand for, sorted when ``sort``.

    A categorical's own codes when they will do (unused categories included: the callers
    keep only the codes they meet, in their own order), else :func:`pandas.factorize`.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        if not sort or categories.is_monotonic_increasing:
            codes = series.cat.codes.to_numpy(dtype=np.int64)
            return codes, np.asarray(categories, dtype=object)
    codes, uniques = pd.factorize(series, sort=sort)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _compact(codes: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """``codes`` renumbered 0.. in the same order, skipping the unused ones (np.unique's inverse)."""
    used = np.zeros(size, dtype=bool)
    used[codes] = True
    new = np.cumsum(used) - 1
    return new[codes], int(used.sum())


def _first_appearance(codes: np.ndarray, size: int) -> np.ndarray:
    """The codes present in ``codes``, in order of first appearance."""
    if size > 64:  # many values: one sort beats a scan per value
        present, first = np.unique(codes, return_index=True)
    else:
        present = np.flatnonzero(np.bincount(codes, minlength=size))
        first = np.array([np.argmax(codes == c) for c in present], dtype=np.int64)
    return present[np.argsort(first, kind="stable")]


def paired_table(
    scores: pd.DataFrame, pre: str, post: str, by: str | None = None
) -> PairedTable | None:
    """The pre and post scores per participant and measure (None: use the pandas path)."""
    score = scores["score"]
    if not (pd.api.types.is_float_dtype(score) or pd.api.types.is_integer_dtype(score)):
        return None
    if isinstance(score.dtype, pd.api.extensions.ExtensionDtype):
        return None  # nullable numbers: numeric() decides how they become floats
    if by is not None and not pd.api.types.is_string_dtype(scores[by]):
        return None
    wave = scores["wave"]
    is_pre = (wave == pre).to_numpy(dtype=bool, na_value=False)
    is_post = (wave == post).to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(is_pre | is_post)
    w = is_post[rows].astype(np.int64)
    # whole-column factorizing, then picking the rows, spares taking the text columns
    p_codes, _ = codes_of(scores["participant"], sort=True)
    p = p_codes[rows]
    m_all, m_uniques = codes_of(scores["measure"])
    m = m_all[rows]
    if (p < 0).any() or (m < 0).any():
        return None
    # participants sorted (the unstack's index), measures by first appearance in these rows
    p, n_p = _compact(p, int(p_codes.max(initial=-1)) + 1)
    m_order = _first_appearance(m, len(m_uniques))
    m_index = np.full(len(m_uniques), -1, dtype=np.int64)
    m_index[m_order] = np.arange(len(m_order))
    m = m_index[m]
    n_m = len(m_order)
    key = (p * n_m + m) * 2 + w
    if np.bincount(key, minlength=n_p * n_m * 2).max(initial=0) > 1:
        return None  # duplicated (participant, wave, measure): the pandas path says which
    values = np.full(n_p * n_m * 2, np.nan)
    values[key] = score.to_numpy(dtype=np.float64)[rows]
    table = PairedTable(
        measures=list(m_uniques[m_order]),
        values=values.reshape(n_p, n_m, 2),
        group_codes=None,
        group_labels=None,
    )
    if by is None:
        return table
    g_all, g_uniques = codes_of(scores[by])
    g = g_all[rows]
    if (g < 0).any():
        return None  # a missing group: the pandas path names the participants
    g_order = _first_appearance(g, len(g_uniques))
    per_participant = np.full(n_p, -1, dtype=np.int64)
    per_participant[p] = g
    if (per_participant[p] != g).any():
        return None  # a participant in two groups: the pandas path names them
    g_index = np.full(len(g_uniques), -1, dtype=np.int64)
    g_index[g_order] = np.arange(len(g_order))
    table.group_codes = g_index[per_participant]
    table.group_labels = list(g_uniques[g_order])
    return table


def change_table(scores: pd.DataFrame, cols: list[str], pre: str, post: str, by: str | None):
    """Measures, groups, each group's participant mask and each measure's (pre, post) columns.

    :func:`~tracker.analysis.change.paired_change`'s path for the tables
    :func:`paired_table` does not take, and of the errors.
    """
    df = scores.loc[scores["wave"].isin([pre, post]), cols].copy()
    df["score"] = numeric(df["score"], "score")
    check_unique(df, ["participant", "wave", "measure"], "the score table")
    if by:
        if df[by].isna().any():
            who = unique_in_order(df.loc[df[by].isna(), "participant"])[:5]
            raise AnalysisError(
                f"{by} is missing for participant(s) {who}; every participant "
                f"needs a {by} to split by it"
            )
        per = df.groupby("participant", sort=False)[by].nunique()
        if (per > 1).any():
            who = list(per.index[per > 1][:5])
            raise AnalysisError(
                f"participant(s) {who} have different {by} values at "
                f"{pre!r} and {post!r}; each participant needs one {by}"
            )
        group_of = df.drop_duplicates("participant").set_index("participant")[by]
        groups = sorted(unique_in_order(df[by]), key=str)
    else:
        groups = ["all"]
    measures = unique_in_order(df["measure"])
    wide = df.set_index(["participant", "measure", "wave"])["score"].unstack(["measure", "wave"])
    participants = wide.index
    masks = {
        g: (
            np.ones(len(participants), dtype=bool)
            if not by
            else (group_of.reindex(participants) == g).to_numpy()
        )
        for g in groups
    }
    columns = {m: (_column(wide, m, pre), _column(wide, m, post)) for m in measures}
    return measures, groups, masks, columns


def _column(wide: pd.DataFrame, measure: str, wave: str) -> np.ndarray:
    if (measure, wave) in wide.columns:
        return wide[(measure, wave)].to_numpy(dtype=np.float64)
    return np.full(len(wide), np.nan)
