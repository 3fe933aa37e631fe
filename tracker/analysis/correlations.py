"""Pairwise correlation matrix (Pearson or Spearman) with n, Fisher-z CI and adjusted p."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from tracker.analysis._common import Z975, adjust_p, frame, join_notes, numeric, require_columns
from tracker.errors import AnalysisError

COLUMNS = ("x", "y", "method", "n", "r", "ci_low", "ci_high", "p", "p_adj")
METHODS = ("pearson", "spearman")


def correlations(
    wide: pd.DataFrame,
    measures: Sequence[str],
    method: str = "pearson",
    adjust: str = "holm",
) -> pd.DataFrame:
    """Correlate every pair of measures, pairwise-complete, the whole matrix at once.

    Parameters
    ----------
    wide : pandas.DataFrame
        One row per participant, one numeric column per measure; NaN = missing.
    measures : sequence of str
        Columns of ``wide`` to correlate. Pairs are reported as the upper
        triangle in this order: (m0, m1), (m0, m2), ..., (m1, m2), ...
    method : {"pearson", "spearman"}
        ``spearman`` is the Pearson correlation of the ranks (ties get their
        average rank), the ranks being computed on each pair's complete rows.
    adjust : {"holm", "fdr_bh", "none"}
        Multiple-comparison adjustment over the pairs returned (upper triangle).

    Returns
    -------
    pandas.DataFrame
        One row per pair with columns

        - ``x``, ``y`` : the two measures.
        - ``method`` : "pearson" or "spearman".
        - ``n`` : participants with both values (int).
        - ``r`` : correlation coefficient.
        - ``ci_low``, ``ci_high`` : 95 % CI by Fisher's z,
          tanh(atanh(r) -/+ z_0.975 / sqrt(n - 3)) (needs n >= 4). For Spearman
          the same Fisher-z interval is used (an approximation; its sampling
          variance is somewhat larger than Pearson's).
        - ``p`` : two-sided p from t = r sqrt((n - 2) / (1 - r^2)) on n - 2 df;
          for Spearman this is the t approximation (R ``cor.test(...,
          method = "spearman", exact = FALSE)``), not the exact/AS 89 p.
        - ``p_adj`` : ``p`` adjusted with ``adjust`` across the rows returned.
        - ``note`` : why a value is missing ("" when all are present).

    Notes
    -----
    r, p and CI are undefined with fewer than 3 complete pairs or when either
    measure is constant over the pair's complete rows; these rows get NaN and a
    note. Equivalent to R ``cor.test(x, y, method = ...)`` per pair and
    ``p.adjust`` over the pairs.
    """
    if method not in METHODS:
        raise AnalysisError(f"unknown correlation method {method!r}; use pearson or spearman")
    measures = list(measures)
    if len(set(measures)) != len(measures):
        raise AnalysisError("each measure may be listed only once")
    require_columns(wide, measures, "the wide score table")
    k = len(measures)
    if k < 2:
        return frame([], COLUMNS, strings=("x", "y", "method"), ints=("n",))

    X = np.column_stack([numeric(wide[m], f"scores of {m}").to_numpy() for m in measures])
    M = ~np.isnan(X)
    if method == "pearson":
        r_mat, const = _pearson_matrix(X, M)
    else:
        r_mat, const = _spearman_matrix(X, M)
    n_mat = M.T.astype(np.float64) @ M.astype(np.float64)

    iu, ju = np.triu_indices(k, 1)
    n = n_mat[iu, ju]
    r = r_mat[iu, ju]
    const_x = const[iu, ju]  # x constant on the rows shared with y
    const_y = const[ju, iu]
    ok = (n >= 3) & ~const_x & ~const_y
    r = np.where(ok, np.clip(r, -1.0, 1.0), np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt((n - 2.0) / (1.0 - r * r))
        p = np.where(ok, 2.0 * stats.t.sf(np.abs(t), np.maximum(n - 2.0, 1.0)), np.nan)
        z = np.arctanh(r)
        half = Z975 / np.sqrt(n - 3.0)
        ci_ok = ok & (n >= 4)
        lo = np.where(ci_ok, np.tanh(z - half), np.nan)
        hi = np.where(ci_ok, np.tanh(z + half), np.nan)
    p_adj = adjust_p(p, adjust)

    counts = M.sum(axis=0)
    rows = []
    for idx, (i, j) in enumerate(zip(iu, ju, strict=True)):
        x, y = measures[i], measures[j]
        notes = []
        if counts[i] == 0:
            notes.append(f"no values for {x}")
        if counts[j] == 0:
            notes.append(f"no values for {y}")
        if n[idx] < 3:
            notes.append("fewer than 3 complete pairs")
        else:
            if const_x[idx]:
                notes.append(f"zero variance in {x}")
            if const_y[idx]:
                notes.append(f"zero variance in {y}")
            if ok[idx] and n[idx] < 4:
                notes.append("CI needs at least 4 complete pairs")
        rows.append(
            {
                "x": x,
                "y": y,
                "method": method,
                "n": int(n[idx]),
                "r": r[idx],
                "ci_low": lo[idx],
                "ci_high": hi[idx],
                "p": p[idx],
                "p_adj": p_adj[idx],
                "note": join_notes(*notes),
            }
        )
    return frame(rows, COLUMNS, strings=("x", "y", "method"), ints=("n",))


def _constant_on_pairs(X: np.ndarray, M: np.ndarray) -> np.ndarray:
    """const[i, j]: column i takes a single value on the rows where i and j are both present."""
    k = X.shape[1]
    const = np.ones((k, k), dtype=bool)
    for i in range(k):
        rows = M[:, [i]] & M  # (n, k): rows usable for pair (i, j)
        xi = X[:, [i]]
        hi = np.where(rows, xi, -np.inf).max(axis=0)
        lo = np.where(rows, xi, np.inf).min(axis=0)
        const[i] = ~(hi > lo)
    return const


def _pearson_matrix(X: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Pearson r for all column pairs via four matrix products.

    Columns are first centred at their available-case mean so that the
    one-pass sums lose no precision; the pair-specific mean is then removed
    exactly: cov = Sxy - Sx Sy / n.
    """
    Mf = M.astype(np.float64)
    counts = Mf.sum(axis=0)
    col_mean = np.divide(
        np.where(M, X, 0.0).sum(axis=0), counts, out=np.zeros(X.shape[1]), where=counts > 0
    )
    Z = np.where(M, X - col_mean, 0.0)
    n = Mf.T @ Mf
    sx = Z.T @ Mf  # sx[i, j]: sum of column i over rows where i and j are present
    sxx = (Z * Z).T @ Mf
    sxy = Z.T @ Z
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sx.T / n
        vx = sxx - sx * sx / n
        r = cov / np.sqrt(vx * vx.T)
    return r, _constant_on_pairs(X, M)


def _spearman_matrix(X: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Spearman rho: Pearson r of ranks taken on each pair's complete rows.

    Without missing values the columns are ranked once. Otherwise, for each
    column i, two (rows x k) rank matrices are built in one vectorised call
    each: P[:, j] ranks x_i among the rows where x_j is present and Q[:, j]
    ranks x_j among the rows where x_i is present; pair (i, j) correlates
    P[:, j] with Q[:, j] on the rows both are present.
    """
    const = _constant_on_pairs(X, M)
    if M.all():
        ranks = pd.DataFrame(X).rank(method="average").to_numpy()
        r, _ = _pearson_matrix(ranks, M)
        return r, const
    k = X.shape[1]
    r = np.full((k, k), np.nan)
    for i in range(k):
        rows = M[:, i]
        sub = X[rows]
        sub_m = M[rows]
        P = pd.DataFrame(np.where(sub_m, sub[:, [i]], np.nan)).rank(method="average").to_numpy()
        Q = pd.DataFrame(sub).rank(method="average").to_numpy()
        n = sub_m.sum(axis=0).astype(np.float64)
        centre = (n + 1.0) / 2.0  # mean of average ranks 1..n, ties or not
        a = np.where(sub_m, P - centre, 0.0)
        b = np.where(sub_m, Q - centre, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r[i] = (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return r, const
