"""Helpers shared by the analysis modules: p-value adjustment, input checks, output frames."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from tracker.analysis._dist import norm_ppf
from tracker.errors import AnalysisError

#: two-sided 95 % normal quantile, z_0.975 (used for every normal-theory CI)
Z975 = float(norm_ppf(0.975))

#: Jacobson & Truax reliable-change threshold as written in the SPEC
RCI_CRITICAL = 1.959964

ADJUST_METHODS = ("holm", "fdr_bh", "none")


def adjust_p(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons, ignoring missing ones.

    Parameters
    ----------
    p : array-like of float
        Raw p-values; NaN entries are left NaN and do not count towards the
        number of tests.
    method : {"holm", "fdr_bh", "none"}
        ``holm``: Holm (1979) step-down family-wise error control;
        ``fdr_bh``: Benjamini & Hochberg (1995) false discovery rate;
        ``none``: the p-values unchanged.

    Returns
    -------
    numpy.ndarray of float
        Adjusted p-values, same shape as ``p``, capped at 1.

    Notes
    -----
    Holm: with m non-missing p-values sorted ascending, p_adj(i) =
    max_{j<=i} min(1, (m - j + 1) p(j)). BH: p_adj(i) = min_{j>=i}
    min(1, m p(j) / j). Identical to R ``p.adjust(p, "holm")`` and
    ``p.adjust(p, "BH")`` (which also skip ``NA``) and to
    ``statsmodels.stats.multitest.multipletests`` on the non-missing values.
    """
    if method not in ADJUST_METHODS:
        raise AnalysisError(
            f"unknown p-value adjustment {method!r}; use one of {', '.join(ADJUST_METHODS)}"
        )
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    flat = arr.ravel()
    ok = ~np.isnan(flat)
    vals = flat[ok]
    m = vals.size
    if method == "none" or m == 0:
        res = vals.copy()
    else:
        order = np.argsort(vals, kind="mergesort")
        sorted_p = vals[order]
        if method == "holm":
            adj = np.maximum.accumulate((m - np.arange(m)) * sorted_p)
        else:  # fdr_bh
            adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * sorted_p[::-1])[::-1]
        adj = np.minimum(adj, 1.0)
        res = np.empty(m)
        res[order] = adj
    out_flat = out.ravel()
    out_flat[ok] = res
    return out_flat.reshape(arr.shape)


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`AnalysisError` naming every column of ``columns`` missing from ``df``."""
    if not isinstance(df, pd.DataFrame):
        raise AnalysisError(f"{what} must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "none"
        raise AnalysisError(
            f"{what} is missing the column(s) {', '.join(missing)}; columns present: {have}"
        )


def numeric(series: pd.Series, what: str) -> pd.Series:
    """``series`` as float64 (missing -> NaN); non-numeric values raise :class:`AnalysisError`."""
    try:
        return pd.to_numeric(series, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{what} must be numeric: {exc}") from None


def check_unique(df: pd.DataFrame, keys: list[str], what: str) -> None:
    """Raise :class:`AnalysisError` listing (up to 5) duplicated key combinations."""
    if not _has_duplicates(df, keys):
        return
    dup = df.duplicated(keys, keep=False)
    combos = df.loc[dup, keys].drop_duplicates()
    shown = "; ".join(
        ", ".join(f"{k}={v!r}" for k, v in zip(keys, row, strict=True))
        for row in combos.head(5).itertuples(index=False)
    )
    raise AnalysisError(
        f"{what} has {len(combos)} duplicated ({', '.join(keys)}) combination(s), e.g. "
        f"{shown}; each must appear once"
    )


def _has_duplicates(df: pd.DataFrame, keys: list[str]) -> bool:
    """Fast test on integer codes (a sort of one int64 key instead of hashing tuples)."""
    key = np.zeros(len(df), dtype=np.int64)
    for k in keys:
        codes, uniques = pd.factorize(df[k], use_na_sentinel=False)
        if len(uniques) and key.max(initial=0) > np.iinfo(np.int64).max // (len(uniques) + 1):
            return bool(df.duplicated(keys).any())  # would overflow: let pandas hash
        key = key * (len(uniques) + 1) + codes
    key.sort()
    return bool(np.any(key[1:] == key[:-1]))


def unique_in_order(values: Iterable) -> list:
    """Distinct non-missing values in order of first appearance."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return [v for v in pd.unique(series) if not pd.isna(v)]


def join_notes(*notes: str) -> str:
    """Join non-empty notes with '; ', dropping repeats."""
    seen: list[str] = []
    for note in notes:
        if note and note not in seen:
            seen.append(note)
    return "; ".join(seen)


def frame(
    rows: list[dict] | dict,
    columns: Sequence[str],
    *,
    strings: Sequence[str] = (),
    ints: Sequence[str] = (),
    nullable_ints: Sequence[str] = (),
) -> pd.DataFrame:
    """Build an output frame with exactly ``columns`` + ``note``, in that order.

    ``rows`` is a list of row dicts (missing keys become missing values) or a
    dict of whole columns.

    ``strings`` become text columns (pandas' default string dtype), ``ints`` int64, ``nullable_ints``
    pandas ``Int64`` (missing is ``<NA>``); every other column is float64 with
    NaN for missing. ``note`` is str, "" when the row is fine.
    """
    cols = list(columns) + ["note"]
    if isinstance(rows, dict):
        raw = {c: rows.get(c) for c in cols}
        length = max((len(v) for v in raw.values() if isinstance(v, list | np.ndarray)), default=0)
        raw = {c: (v if isinstance(v, list | np.ndarray) else [v] * length) for c, v in raw.items()}
    else:
        raw = {c: [r.get(c) for r in rows] for c in cols}
    out = {}
    for c in cols:
        values = raw[c]
        if c in strings or c == "note":
            out[c] = pd.array(["" if _missing(v) else str(v) for v in values], dtype="str")
        elif c in ints:
            out[c] = np.asarray(values, dtype=np.int64)
        elif c in nullable_ints:
            out[c] = pd.array([pd.NA if _missing(v) else int(v) for v in values], dtype="Int64")
        elif isinstance(values, np.ndarray) and values.dtype == np.float64:
            out[c] = values
        else:
            out[c] = np.array(
                [np.nan if _missing(v) else float(v) for v in values], dtype=np.float64
            )
    return pd.DataFrame(out, columns=cols)


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))
