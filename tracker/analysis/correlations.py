"""Pairwise correlation matrix (Pearson or Spearman) with n, Fisher-z CI and adjusted p."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

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

    # column by column into a column-major array: each copy is contiguous, and so is every
    # later pass over one measure (column_stack alone cost a share of the call: BENCHMARKS.md, design figures)
    # a float64 column holds NaN already: asking pandas for na_value=NaN anyway costs a mask
    # and a second copy per column (a large share of the call: BENCHMARKS.md, design figures)
    X = np.empty((len(wide), k), order="F")
    try:
        for j, m in enumerate(measures):
            column = wide[m]
            X[:, j] = (
                column.to_numpy()
                if column.dtype == np.float64
                else column.to_numpy(dtype=np.float64, na_value=np.nan)
            )
    except (TypeError, ValueError):  # let numeric() say which column is not numeric
        for j, m in enumerate(measures):
            X[:, j] = numeric(wide[m], f"scores of {m}").to_numpy()
    M = ~np.isnan(X)
    Mf = M.astype(np.float64)
    n_mat = Mf.T @ Mf  # pairwise complete counts (exact: sums of ones)
    if method == "pearson":
        r_mat, const = _pearson_matrix(X, M, Mf, n_mat)
    else:
        r_mat, const = _spearman_matrix(X, M)

    iu, ju = np.triu_indices(k, 1)
    n = n_mat[iu, ju]
    r = r_mat[iu, ju]
    const_x = const[iu, ju]  # x constant on the rows shared with y
    const_y = const[ju, iu]
    ok = (n >= 3) & ~const_x & ~const_y
    r = np.where(ok, np.clip(r, -1.0, 1.0), np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt((n - 2.0) / (1.0 - r * r))
        # special.stdtr is the t CDF without scipy.stats' per-call machinery
        p = np.where(ok, 2.0 * special.stdtr(np.maximum(n - 2.0, 1.0), -np.abs(t)), np.nan)
        z = np.arctanh(r)
        half = Z975 / np.sqrt(n - 3.0)
        ci_ok = ok & (n >= 4)
        lo = np.where(ci_ok, np.tanh(z - half), np.nan)
        hi = np.where(ci_ok, np.tanh(z + half), np.nan)
    p_adj = adjust_p(p, adjust)

    counts = np.diagonal(n_mat)
    notes = []
    for idx, (i, j) in enumerate(zip(iu, ju, strict=True)):
        x, y = measures[i], measures[j]
        why = []
        if counts[i] == 0:
            why.append(f"no values for {x}")
        if counts[j] == 0:
            why.append(f"no values for {y}")
        if n[idx] < 3:
            why.append("fewer than 3 complete pairs")
        else:
            if const_x[idx]:
                why.append(f"zero variance in {x}")
            if const_y[idx]:
                why.append(f"zero variance in {y}")
            if ok[idx] and n[idx] < 4:
                why.append("CI needs at least 4 complete pairs")
        notes.append(join_notes(*why))
    columns = {
        "x": [measures[i] for i in iu], "y": [measures[j] for j in ju], "method": method,
        "n": n.astype(np.int64), "r": r, "ci_low": lo, "ci_high": hi, "p": p, "p_adj": p_adj,
        "note": notes,
    }  # fmt: skip
    return frame(columns, COLUMNS, strings=("x", "y", "method"), ints=("n",))


def _constant_on_pairs(X: np.ndarray, M: np.ndarray, candidates: np.ndarray | None = None):
    """const[i, j]: column i takes a single value on the rows where i and j are both present.

    Checked exactly (max == min) for the pairs in ``candidates`` (all pairs when None).
    """
    k = X.shape[1]
    const = np.zeros((k, k), dtype=bool)
    todo = np.ones((k, k), dtype=bool) if candidates is None else candidates
    for i in np.flatnonzero(todo.any(axis=1)):
        js = np.flatnonzero(todo[i])
        rows = M[:, [i]] & M[:, js]  # (n, len(js)): rows usable for pair (i, j)
        xi = X[:, [i]]
        hi = np.where(rows, xi, -np.inf).max(axis=0, initial=-np.inf)
        lo = np.where(rows, xi, np.inf).min(axis=0, initial=np.inf)
        const[i, js] = ~(hi > lo)
    return const


def _pearson_matrix(X, M, Mf=None, n=None) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Pearson r for all column pairs via four matrix products.

    Columns are first centred at their available-case mean so that the
    one-pass sums lose no precision; the pair-specific mean is then removed
    exactly: cov = Sxy - Sx Sy / n.
    """
    if Mf is None:
        Mf = M.astype(np.float64)
        n = Mf.T @ Mf
    counts = np.diagonal(n)
    # centred, missing values as 0, in one working array: at 100,000 rows x 8 the fresh
    # 6.4 MB arrays (page faults) and elementwise passes cost more than the products
    Z = np.where(M, X, 0.0)
    col_mean = np.divide(Z.sum(axis=0), counts, out=np.zeros(X.shape[1]), where=counts > 0)
    Z -= col_mean
    Z *= Mf  # missing entries back to exactly 0
    sx = Z.T @ Mf  # sx[i, j]: sum of column i over rows where i and j are present
    sxy = Z.T @ Z
    np.multiply(Z, Z, out=Z)
    sxx = Z.T @ Mf  # the same for squares
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sx.T / n
        vx = sxx - sx * sx / n
        r = cov / np.sqrt(vx * vx.T)
    # a column constant on a pair's rows leaves only rounding error in vx (~1e-16 sxx);
    # any pair with vx <= 1e-8 sxx is checked exactly, the rest cannot be constant
    return r, _constant_on_pairs(X, M, candidates=~(vx > 1e-8 * sxx))


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
