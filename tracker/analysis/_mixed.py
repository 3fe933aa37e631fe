"""Linear algebra of the random-intercept mixed model used by :mod:`tracker.analysis.trajectory`:
estimable columns, nlme's containment degrees of freedom, and a closed-form REML fit."""

from __future__ import annotations

import numpy as np

from tracker.analysis._dist import brent_minimize


def estimable_columns(X: np.ndarray) -> list[int]:
    """Indices of a maximal set of linearly independent columns, earlier columns preferred.

    Works on the p x p cross-product: column j is kept when its squared distance
    from the span of the kept columns, G_jj - g' G_kk^-1 g, is more than 1e-10 G_jj.
    """
    G = np.einsum("ij,ik->jk", X, X)
    kept: list[int] = []
    for j in range(X.shape[1]):
        if G[j, j] <= 0:
            continue  # an all-zero column (an empty wave x arm cell)
        if kept:
            g = G[kept, j]
            resid = G[j, j] - g @ np.linalg.solve(G[np.ix_(kept, kept)], g)
            if resid <= 1e-10 * G[j, j]:
                continue
        kept.append(j)
    return kept


def within_invariant(X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per column of ``X``: is it constant within every group of ``codes``?

    Each row is compared with its group's first row (one pass; the rows need not be
    sorted by group, though the trajectory's are, which spares the sort).
    """
    if len(codes) == 0:
        return np.ones(X.shape[1], dtype=bool)
    order = None if np.all(codes[1:] >= codes[:-1]) else np.argsort(codes, kind="mergesort")
    sorted_codes = codes if order is None else codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    first = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    first[sorted_codes[starts]] = starts if order is None else order[starts]
    return (X == X[first[codes]]).all(axis=0)


def containment_df(
    X: np.ndarray, codes: np.ndarray, n_groups: int, invariant: np.ndarray | None = None
) -> np.ndarray:
    """nlme's containment denominator df (``nlme:::getFixDF``, Pinheiro & Bates 2000, sec. 2.4.2).

    A column constant within every participant (arm) is a between-participant term and gets
    n_groups - p_outer (p_outer counts those columns and the intercept); a column varying
    within some participant gets n_obs - n_groups - p_inner; the intercept gets the larger
    of the two, as ``summary(nlme::lme(...))`` reports.
    """
    n_obs, p = X.shape
    invariant = (within_invariant(X, codes) if invariant is None else invariant).copy()
    invariant[0] = True  # the intercept counts among the outer terms, as in nlme
    p_outer = int(invariant.sum())
    p_inner = p - p_outer
    inner_df = n_obs - n_groups - p_inner
    outer_df = n_groups - p_outer
    df = np.where(invariant, outer_df, inner_df).astype(float)
    df[0] = max(inner_df, outer_df)
    return df


def term_df(
    X: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    term_of: list[str],
    invariant: np.ndarray | None = None,
) -> dict[str, float]:
    """nlme's denominator df of each multi-column term's F test (``anova(fit)``'s ``denDF``).

    As :func:`containment_df`, but by term: a term is within-participant when any of its
    columns varies within a participant, and each stratum's df loses the number of columns
    of the terms in it (the intercept counts in the between-participant stratum).
    ``invariant``: :func:`within_invariant` of ``X`` and ``codes`` when the caller has it.
    ``term_of`` names the term of each column of ``X``; column 0 is the intercept.
    """
    n_obs = X.shape[0]
    invariant = within_invariant(X, codes) if invariant is None else invariant
    terms = list(dict.fromkeys(term_of[1:]))
    inner = {t: not all(invariant[j] for j, u in enumerate(term_of) if u == t and j) for t in terms}
    size = {t: sum(1 for u in term_of[1:] if u == t) for t in terms}
    inner_df = n_obs - n_groups - sum(size[t] for t in terms if inner[t])
    outer_df = n_groups - 1 - sum(size[t] for t in terms if not inner[t])
    return {t: float(inner_df if inner[t] else outer_df) for t in terms}


_UNUSABLE = 1e300  # deviance where the residual sum of squares vanishes


def reml_random_intercept(
    y: np.ndarray,
    X: np.ndarray,
    groups: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """REML fit of y = X beta + u_group + e with a random intercept per group.

    Returns (beta, cov(beta), gamma = tau^2 / sigma^2, sigma^2). For a given
    gamma, with w_i = gamma / (1 + n_i gamma) and group sums s_i of X and of
    the residual, X'H^-1X = X'X - sum w_i s_i s_i'; the profiled REML deviance
    (N - p) log(Q / (N - p)) + sum log(1 + n_i gamma) + log|X'H^-1X|,
    Q = r'H^-1 r, is minimised over log gamma (coarse grid, then Brent's method), and
    gamma = 0 (the boundary) is taken when it is at least as good.
    """
    n_obs, p = X.shape
    G = int(groups.max()) + 1
    n_i = np.bincount(groups, minlength=G)
    S = np.column_stack([np.bincount(groups, weights=X[:, j], minlength=G) for j in range(p)])
    # Tall-skinny products by einsum, not BLAS: multithreaded OpenBLAS leaves its threads
    # spinning after each call, which on a busy 2-core machine slowed the small
    # per-iteration work that follows by 3-10x (measured in benchmarks/bench_analysis.py).
    XtX = np.einsum("ij,ik->jk", X, X)
    shift = float(np.mean(y))  # centring y keeps Q free of cancellation
    yc = y - shift
    Xty = np.einsum("ij,i->j", X, yc)
    yty = float(np.einsum("i,i->", yc, yc))
    sy = np.bincount(groups, weights=yc, minlength=G)
    # w_i depends on the group only through its size n_i, so the group sums collapse to one
    # p x p matrix (and vector, scalar) per distinct size: each evaluation is then O(sizes p^2)
    sizes, size_of = np.unique(n_i, return_inverse=True)
    count = np.bincount(size_of).astype(np.float64)
    M = np.zeros((len(sizes), p, p))
    v = np.zeros((len(sizes), p))
    c = np.zeros(len(sizes))
    for k in range(len(sizes)):
        Sk, syk = S[size_of == k], sy[size_of == k]
        M[k] = np.einsum("ij,ik->jk", Sk, Sk)
        v[k], c[k] = np.einsum("ij,i->j", Sk, syk), np.einsum("i,i->", syk, syk)
    sizes = sizes.astype(np.float64)
    # tensordot(w, M, axes=1) is this dot of w as a row and M as a matrix; called directly, to
    # spare tensordot's shape work in each of the ~70 evaluations
    M_flat = M.reshape(len(sizes), p * p)

    def solve(gamma: float, exact: bool):
        w = gamma / (1.0 + sizes * gamma)
        A = XtX - np.dot(w.reshape(1, -1), M_flat).reshape(p, p)
        b = Xty - w @ v
        # numpy rather than scipy.linalg: p is tiny and scipy's per-call checks dominate
        chol = np.linalg.cholesky(A)  # raises LinAlgError unless positive definite
        beta = np.linalg.solve(A, b)
        if exact:  # Q = r'H^-1 r from the residuals: O(N p), free of cancellation
            # einsum, not BLAS: multithreaded gemv on a busy machine was several times slower
            # (BENCHMARKS.md, design figures)
            r = yc - np.einsum("ij,j->i", X, beta)
            rs = np.bincount(groups, weights=r, minlength=G)
            Q = float(np.einsum("i,i->", r, r) - np.sum((gamma / (1.0 + n_i * gamma)) * rs * rs))
        else:  # Q = y'H^-1 y - b'beta: O(p^2), loses digits when Q << y'y; for the grid
            Q = yty - float(w @ c) - float(b @ beta)
        logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
        return beta, A, Q, logdet

    def deviance(log_gamma: float, exact: bool = True) -> float:
        gamma = float(np.exp(log_gamma))
        _, _, Q, logdet = solve(gamma, exact)
        if not Q > 0:
            # a large finite value, not inf: the bounded search subtracts deviances, and
            # inf - inf would be NaN (seen on a 3-participant study with one observation each)
            return _UNUSABLE
        return (
            (n_obs - p) * np.log(Q / (n_obs - p)) + float(count @ np.log1p(sizes * gamma)) + logdet
        )

    grid = np.linspace(-15.0, 10.0, 51)
    values = np.array([deviance(g, exact=False) for g in grid])
    if not (values < _UNUSABLE).any():
        raise ValueError("residual sum of squares is zero for every variance ratio")
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    best_log_gamma, best = brent_minimize(deviance, lo, hi, xatol=1e-10, maxiter=500)
    gamma = float(np.exp(best_log_gamma))
    _, _, Q0, logdet0 = solve(0.0, True)
    if Q0 > 0 and (n_obs - p) * np.log(Q0 / (n_obs - p)) + logdet0 <= best:
        gamma = 0.0
    beta, A, Q, _ = solve(gamma, True)
    if not Q > 0:
        # every observation is fitted exactly (e.g. one observation per participant and wave cell)
        raise ValueError("no residual variance left to estimate the variance components")
    sigma2 = Q / (n_obs - p)
    cov = sigma2 * np.linalg.inv(A)
    beta = beta.copy()
    beta[0] += shift  # the intercept column absorbs the centring of y
    return beta, cov, gamma, sigma2
