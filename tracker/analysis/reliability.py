"""Internal consistency per measure and wave: Cronbach's alpha (raw, standardized, Feldt CI),
McDonald's omega total from a one-factor ML model, and item-total statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.analysis._common import check_unique, frame, join_notes, numeric, require_columns
from tracker.analysis._dist import f_ppf

COLUMNS = ("measure", "wave", "n", "k", "alpha", "alpha_std", "ci_low", "ci_high", "omega")
#: fields after the SPEC's when an omega CI is asked for (``omega_boot`` > 0)
OMEGA_CI_COLUMNS = ("omega_ci_low", "omega_ci_high")
BOOT_CELLS = 2_500_000  # resamples x cases per batch: bounds the weight matrix (20 MB)
ITEM_COLUMNS = ("measure", "wave", "item", "n", "corrected_item_total_r", "alpha_if_deleted")
PSI_LOWER = 0.005  # psych::fa and stats::factanal bound on the uniquenesses


def reliability(
    items: pd.DataFrame, *, omega: bool = True, omega_boot: int = 0, seed: int = 1
) -> pd.DataFrame:
    """Cronbach's alpha and omega total for every measure x wave.

    Parameters
    ----------
    items : pandas.DataFrame
        Long table ``participant, wave, measure, item, value``; values already
        reverse-keyed; a subscale's items appear under the subscale's measure.
        A repeated (participant, wave, measure, item) raises AnalysisError.

    Returns
    -------
    pandas.DataFrame
        One row per measure x wave (order of appearance), computed on the
        participants who answered every item (listwise; an item nobody
        answered at that wave is left out, with a note):

        - ``n`` : complete cases; ``k`` : items (int).
        - ``alpha`` : k / (k - 1) (1 - sum s_i^2 / s_total^2), variances with n - 1
          (Cronbach 1951; R ``psych::alpha(...)$total$raw_alpha``).
        - ``alpha_std`` : k rbar / (1 + (k - 1) rbar), rbar the mean inter-item
          correlation (``psych::alpha(...)$total$std.alpha``).
        - ``ci_low``, ``ci_high`` : Feldt (1965) 95 % CI,
          1 - (1 - alpha) F_{0.975 / 0.025}(n - 1, (n - 1)(k - 1))
          (``psych::alpha.ci``).
        - ``omega`` : McDonald's omega total (sum lambda)^2 / ((sum lambda)^2 +
          sum(1 - lambda^2)) from a one-factor maximum-likelihood factor analysis
          of the item correlation matrix (needs k >= 3). Note that
          ``psych::omega(...)$omega.tot`` divides by the sum of the observed
          correlation matrix instead of the model-implied one, so it differs
          from this value by the model's misfit.
        - ``note`` : why values are missing, or a Heywood case.

        With ``omega=False`` the factor analysis is skipped and ``omega`` is
        left empty (the reliable change index needs alpha only).

        With ``omega_boot`` = B > 0 two fields follow the SPEC's:

        - ``omega_ci_low``, ``omega_ci_high`` : 95 % percentile bootstrap CI of
          omega (the 2.5th and 97.5th percentiles, numpy's linear
          interpolation) over B resamples of the block's complete cases, drawn
          with ``numpy.random.default_rng(seed)`` afresh for every measure x
          wave, so a block's CI depends on its data, B and the seed only. Each
          resample is refitted by ML (see :func:`omega_bootstrap`); resamples
          whose correlation matrix is singular are dropped, and the note says
          how many.
    """
    rows = []
    for measure, wave, Y, _names, notes in _blocks(items):
        n, k = Y.shape
        row = {"measure": measure, "wave": wave, "n": n, "k": k}
        row.update(_alpha_stats(Y, notes, omega=omega, boot=omega_boot, seed=seed))
        row["note"] = join_notes(*notes)
        rows.append(row)
    columns = COLUMNS + (OMEGA_CI_COLUMNS if omega and omega_boot > 0 else ())
    return frame(rows, columns, strings=("measure", "wave"), ints=("n", "k"))


def item_total(items: pd.DataFrame) -> pd.DataFrame:
    """Corrected item-total correlation and alpha if the item is deleted.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure, wave, item, n, corrected_item_total_r,
        alpha_if_deleted, note``: the Pearson correlation of the item with the
        sum of the other items (``psych::alpha(...)$item.stats$r.drop``) and
        the raw alpha of the other k - 1 items (``alpha.drop$raw_alpha``), on
        the same complete cases as :func:`reliability`.
    """
    rows = []
    for measure, wave, Y, item_names, notes in _blocks(items):
        n, k = Y.shape
        total = Y.sum(axis=1)
        for j, name in enumerate(item_names):
            row = {"measure": measure, "wave": wave, "item": name, "n": n}
            inotes = list(notes)
            if k < 2 or n < 3:
                inotes.append("fewer than 2 items" if k < 2 else "fewer than 3 complete cases")
            else:
                rest = total - Y[:, j]
                if np.ptp(Y[:, j]) == 0 or np.ptp(rest) == 0:
                    inotes.append("zero variance in the item or the rest score")
                else:
                    pair = _correlation_matrix(np.column_stack([Y[:, j], rest]))
                    row["corrected_item_total_r"] = float(pair[0, 1])
                if k >= 3:
                    a, a_note = _raw_alpha(np.delete(Y, j, axis=1))
                    row["alpha_if_deleted"] = a
                    inotes.append(a_note and f"alpha if deleted: {a_note}")
                else:
                    inotes.append("alpha if deleted needs at least 3 items")
            row["note"] = join_notes(*inotes)
            rows.append(row)
    return frame(rows, ITEM_COLUMNS, strings=("measure", "wave", "item"), ints=("n",))


def _blocks(items: pd.DataFrame):
    """Yield (measure, wave, complete-case matrix, item names, notes) per measure x wave.

    All blocks are laid out at once on integer codes, with no sort of the 2-million-row
    table: one column per (measure, wave, item) in order of appearance, one row per
    (measure, wave, participant) in participant order, one buffer holding every block's
    participant x item matrix one after the other. Blocks come in order of appearance.
    """
    cols = ["participant", "wave", "measure", "item", "value"]
    require_columns(items, cols, "the item table")
    values = numeric(items["value"], "value").to_numpy()
    if len(values) == 0:
        return
    p_codes, people = _codes(items["participant"], sort=True)
    w_codes, waves = _codes(items["wave"])
    m_codes, measures = _codes(items["measure"])
    i_codes, item_names = _codes(items["item"])
    n_waves, n_items, n_people = max(len(waves), 1), max(len(item_names), 1), max(len(people), 1)
    col, pairs = pd.factorize((m_codes.astype(np.int64) * n_waves + w_codes) * n_items + i_codes)
    col_block, col_item = np.divmod(pairs, n_items)
    blocks = pd.unique(col_block)  # (measure, wave) codes in order of appearance
    rank = np.empty(int(blocks.max()) + 1, dtype=np.int64)
    rank[blocks] = np.arange(len(blocks))
    col_block = rank[col_block]  # 0, 1, ... in order of appearance
    by_block = np.argsort(col_block, kind="stable")  # a block's columns in order of appearance
    k = np.bincount(col_block, minlength=len(blocks))
    first_col = np.r_[0, np.cumsum(k)[:-1]]
    local = np.empty(len(pairs), dtype=np.int64)
    local[by_block] = np.arange(len(pairs)) - np.repeat(first_col, k)
    block = col_block[col]
    row, first_row, size = _block_rows(block * n_people + p_codes, len(blocks), n_people)
    offset = np.r_[0, np.cumsum(size * k)[:-1]]
    # cell of (row, column) = offset of the block + (row - its first row) x k + column in it
    col_base = (offset - first_row * k)[col_block] + local
    cell = col_base[col] + row * k[col_block][col]
    filled = np.zeros(int(offset[-1] + size[-1] * k[-1]), dtype=bool)
    filled[cell] = True
    if np.count_nonzero(filled) < len(cell):  # two rows in one cell: let check_unique name them
        check_unique(items, ["participant", "wave", "measure", "item"], "the item table")
    buffer = np.full(len(filled), np.nan)
    buffer[cell] = values
    for b, code in enumerate(blocks):
        m, w = divmod(int(code), n_waves)
        Y = buffer[offset[b] : offset[b] + size[b] * k[b]].reshape(size[b], k[b])
        names = [str(item_names[i]) for i in col_item[by_block[first_col[b] : first_col[b] + k[b]]]]
        notes = []
        missing = np.isnan(Y)
        empty = missing.all(axis=0)
        if empty.any():
            gone = ", ".join(n for n, e in zip(names, empty, strict=True) if e)
            notes.append(f"item(s) {gone} never answered: left out")
            Y, missing = Y[:, ~empty], missing[:, ~empty]
            names = [n for n, e in zip(names, empty, strict=True) if not e]
        # a boolean matrix product is "any" along the rows (numpy's any(axis=1) is slower)
        Y = Y.compress(~(missing @ np.ones(Y.shape[1], dtype=bool)), axis=0)
        yield str(measures[m]), str(waves[w]), Y, names, notes


#: a dense (measure, wave) x participant table while its cells are at most DENSE_PER_ROW per
#: item row + DENSE_MIN (8 bytes each), else a sort of the distinct (block, participant) keys
DENSE_PER_ROW, DENSE_MIN = 2, 1 << 20


def _block_rows(key: np.ndarray, n_blocks: int, n_people: int):
    """Rows of the stacked block matrices: each (block, participant) ``key`` = block x n_people +
    participant numbered 0, 1, ... in key order. Returns (row of each key, first row of each
    block, rows in each block)."""
    if n_blocks * n_people <= DENSE_PER_ROW * len(key) + DENSE_MIN:
        seen = np.zeros(n_blocks * n_people, dtype=bool)
        seen[key] = True
        number = np.cumsum(seen) - 1
        row = number[key]
        size = np.count_nonzero(seen.reshape(n_blocks, n_people), axis=1)
    else:  # few participants per block: sort the distinct keys instead
        distinct = np.unique(key)
        row = np.searchsorted(distinct, key)
        size = np.bincount(distinct // n_people, minlength=n_blocks)
    return row, np.r_[0, np.cumsum(size)[:-1]], size


def _codes(column: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(column, sort=sort, use_na_sentinel=False)``, hashing only the first
    value of each run of equal neighbours for text columns: the item table comes grouped
    (by participant, wave, measure), and comparing neighbours is cheaper than hashing."""
    values = column.array
    if len(values) < 2 or pd.api.types.is_numeric_dtype(column.dtype):
        return pd.factorize(column, sort=sort, use_na_sentinel=False)
    change = values[1:] != values[:-1]
    if not isinstance(change, np.ndarray):
        change = change.to_numpy(dtype=bool, na_value=True)  # NA: a new run
    heads = np.flatnonzero(np.r_[True, change])
    codes, uniques = pd.factorize(column.iloc[heads], sort=sort, use_na_sentinel=False)
    return np.repeat(codes, np.diff(np.r_[heads, len(values)])), uniques


def _constant(Y: np.ndarray) -> np.ndarray:
    """``np.ptp(Y, axis=0) == 0`` for rows without NaN (n >= 1), in a third of the time."""
    return (Y == Y[0]).all(axis=0) & np.isfinite(Y[0])  # ptp is NaN for a column of +-inf


def _correlation_matrix(Y: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns of Y (no missing values).

    By einsum rather than np.corrcoef's BLAS product: multithreaded OpenBLAS
    leaves threads spinning that slowed the optimiser after it 5-20x on a busy
    2-core machine (benchmarks/bench_analysis.py).
    """
    Z = Y - Y.mean(axis=0)
    C = np.einsum("ij,ik->jk", Z, Z)
    d = np.sqrt(np.diag(C))
    return np.clip(C / np.outer(d, d), -1.0, 1.0)


def _raw_alpha(Y: np.ndarray) -> tuple[float, str]:
    n, k = Y.shape
    if k < 2:
        return float("nan"), "fewer than 2 items"
    if n < 2:
        return float("nan"), "fewer than 2 complete cases"
    total_var = Y.sum(axis=1).var(ddof=1)
    if not total_var > 0:
        return float("nan"), "zero variance of the total score"
    return float(k / (k - 1) * (1.0 - Y.var(axis=0, ddof=1).sum() / total_var)), ""


def _alpha_stats(
    Y: np.ndarray, notes: list[str], *, omega: bool = True, boot: int = 0, seed: int = 1
) -> dict:
    n, k = Y.shape
    out: dict = {}
    alpha, note = _raw_alpha(Y)
    notes.append(note)
    if note:
        return out
    out["alpha"] = alpha
    df1, df2 = n - 1, (n - 1) * (k - 1)
    out["ci_low"] = 1.0 - (1.0 - alpha) * f_ppf(0.975, df1, df2)
    out["ci_high"] = 1.0 - (1.0 - alpha) * f_ppf(0.025, df1, df2)
    if np.any(_constant(Y)):
        notes.append("an item has zero variance: standardized alpha and omega undefined")
        return out
    R = _correlation_matrix(Y)
    rbar = (R.sum() - k) / (k * (k - 1))
    if 1.0 + (k - 1) * rbar > 1e-12:
        out["alpha_std"] = k * rbar / (1.0 + (k - 1) * rbar)
    else:  # mean inter-item r at its floor -1/(k - 1)
        notes.append("items perfectly negatively related: standardized alpha undefined")
    if not omega:
        return out
    if k < 3:
        notes.append("omega needs at least 3 items")
        return out
    if n <= k:
        notes.append("omega needs more complete cases than items")
        return out
    loadings, psi, f_note = one_factor_ml(R)
    notes.append(f_note)
    if loadings is not None:
        s = loadings.sum()
        out["omega"] = s * s / (s * s + np.sum(1.0 - loadings**2))
        if boot > 0:
            lo, hi, b_note = omega_bootstrap(Y, boot, seed, start=(loadings, psi))
            out.update(omega_ci_low=lo, omega_ci_high=hi)
            notes.append(b_note)
    elif boot > 0:
        notes.append("no omega: no bootstrap CI")
    return out


def omega_bootstrap(
    Y: np.ndarray, boot: int, seed: int, *, start: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[float, float, str]:
    """95 % percentile bootstrap CI of omega total over the rows (participants) of ``Y``.

    Resample b draws n row indices with replacement (``rng.integers(0, n, (B, n))``,
    ``rng = numpy.random.default_rng(seed)``, in chunks of BOOT_CELLS // n resamples);
    its correlation matrix comes from the count-weighted first and second moments
    (one matrix product for a whole chunk). The one-factor ML model is refitted for
    all resamples at once by the EM algorithm (Rubin & Thayer 1982; with Sherman-Morrison
    for Sigma^-1 = (lambda lambda' + Psi)^-1) accelerated by SQUAREM (Varadhan & Roland
    2008), from the full-sample solution ``start``, uniquenesses kept in [0.005, 1];
    the few resamples EM leaves unconverged after 1,000 steps are refitted one by
    one with :func:`one_factor_ml`. Away from the bounds both reach the same
    maximum (the tests compare every resample with statsmodels' ML factor
    analysis); in a Heywood resample (a uniqueness at 0.005) the likelihood can
    have several local maxima and EM keeps the one nearest the full-sample fit.
    Returns (ci_low, ci_high, note).
    """
    n, k = Y.shape
    if start is None:
        start_l, start_psi, _ = one_factor_ml(_correlation_matrix(Y))
        if start_l is None:
            return float("nan"), float("nan"), "no omega: no bootstrap CI"
    else:
        start_l, start_psi = start
    rng = np.random.default_rng(seed)
    Yc = Y - Y.mean(axis=0)  # centred: the weighted moments lose no digits
    Z = np.einsum("ni,nj->nij", Yc, Yc).reshape(n, k * k)
    omegas = []
    chunk = max(1, BOOT_CELLS // n)
    for first in range(0, boot, chunk):
        b = min(chunk, boot - first)
        idx = rng.integers(0, n, size=(b, n))
        counts = np.bincount((idx + n * np.arange(b)[:, None]).ravel(), minlength=b * n)
        W = counts.reshape(b, n).astype(np.float64) / n
        m1 = W @ Yc
        C = (W @ Z).reshape(b, k, k) - np.einsum("bi,bj->bij", m1, m1)
        d = np.sqrt(np.clip(np.einsum("bii->bi", C), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            R = C / (d[:, :, None] * d[:, None, :])
        omegas.append(_batched_omega(R, start_l, start_psi))
    om = np.concatenate(omegas)
    ok = np.isfinite(om)
    if ok.sum() < 2:
        return float("nan"), float("nan"), "too few usable bootstrap resamples for an omega CI"
    lo, hi = np.percentile(om[ok], [2.5, 97.5])
    dropped = int((~ok).sum())
    note = (
        f"omega CI from {int(ok.sum())} of {boot} resamples ({dropped} singular)" if dropped else ""
    )
    return float(lo), float(hi), note


def _batched_omega(R: np.ndarray, lam0: np.ndarray, psi0: np.ndarray) -> np.ndarray:
    """Omega of each correlation matrix in R (b x k x k); NaN where it is not positive definite."""
    b, k, _ = R.shape
    usable = np.isfinite(R).all(axis=(1, 2))
    usable[usable] = np.linalg.eigvalsh(R[usable])[:, 0] > 1e-8
    theta = np.tile(np.r_[lam0, psi0], (b, 1))
    Ru = np.where(usable[:, None, None], R, np.eye(k))
    theta, done = _squarem(Ru, theta, k)
    lam = theta[:, :k]
    for j in np.flatnonzero(usable & ~done):  # rare: refit the stragglers one by one
        lam_j, _, _ = one_factor_ml(R[j])
        if lam_j is None:
            usable[j] = False
        else:
            lam[j] = lam_j
    s = np.abs(lam.sum(axis=1))
    om = s * s / (s * s + np.sum(1.0 - lam**2, axis=1))
    om[~usable] = np.nan
    return om


def _em_step(R: np.ndarray, theta: np.ndarray, k: int) -> np.ndarray:
    """One EM step of the one-factor model for every row of theta = (lambda, psi)."""
    lam, psi = theta[:, :k], theta[:, k:]
    a = lam / psi  # Psi^-1 lambda
    beta = a / (1.0 + np.einsum("bi,bi->b", lam, a))[:, None]  # lambda' Sigma^-1
    Rb = np.einsum("bij,bj->bi", R, beta)
    ezz = 1.0 - np.einsum("bi,bi->b", beta, lam) + np.einsum("bi,bi->b", beta, Rb)
    new_lam = Rb / ezz[:, None]
    new_psi = np.clip(1.0 - new_lam * Rb, PSI_LOWER, 1.0)  # diag(R - lambda_new beta R)
    return np.concatenate([new_lam, new_psi], axis=1)


def _squarem(R: np.ndarray, theta: np.ndarray, k: int, *, tol: float = 1e-10, maxiter: int = 1000):
    """SQUAREM-accelerated EM (scheme S3) until every row moves less than ``tol``; the rows
    still moving are the only ones computed."""
    theta = theta.copy()
    done = np.zeros(len(theta), dtype=bool)
    active = np.arange(len(theta))
    for _ in range(maxiter):
        Ra, th = R[active], theta[active]
        t1 = _em_step(Ra, th, k)
        t2 = _em_step(Ra, t1, k)
        r, v = t1 - th, t2 - 2.0 * t1 + th
        rn, vn = np.sqrt(np.einsum("bi,bi->b", r, r)), np.sqrt(np.einsum("bi,bi->b", v, v))
        alpha = np.minimum(-rn / np.where(vn > 0, vn, 1.0), -1.0)
        alpha[vn == 0] = -1.0
        proposal = th - 2.0 * alpha[:, None] * r + (alpha**2)[:, None] * v
        proposal[:, k:] = np.clip(proposal[:, k:], PSI_LOWER, 1.0)
        new = _em_step(Ra, proposal, k)
        bad = ~np.isfinite(new).all(axis=1)
        new[bad] = t2[bad]
        moved = np.abs(new - th).max(axis=1)
        theta[active] = new
        settled = moved < tol
        done[active[settled]] = True
        active = active[~settled]
        if not len(active):
            break
    return theta, done


def one_factor_ml(R: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """Maximum-likelihood one-factor model of a correlation matrix.

    Minimises the ML discrepancy concentrated on the uniquenesses psi
    (Joreskog 1967; the ``FAfn``/``FAgr`` pair of R ``psych::fa(fm = "ml")`` and
    ``stats::factanal``): f(psi) = -sum_{j>1} (log e_j - e_j) - 1 + k, e the
    eigenvalues of psi^-1/2 R psi^-1/2, psi in [0.005, 1], by L-BFGS-B with the
    analytic gradient from psych's start (1 - 0.5 / k) / diag(R^-1). Loadings
    lambda = psi^1/2 v_1 sqrt(max(e_1 - 1, 0)), signed so that their sum is positive.

    Returns (loadings, uniquenesses, note); (None, None, note) when R is not
    positive definite.
    """
    k = R.shape[0]
    # R must be clearly positive definite (it is singular with no more cases than items):
    # otherwise psi^-1/2 R psi^-1/2 has eigenvalues at or below zero and f is undefined
    if not np.all(np.isfinite(R)) or np.linalg.eigvalsh(R)[0] <= 1e-8:
        return None, None, "item correlation matrix not positive definite: omega not computed"
    start = (1.0 - 0.5 / k) / np.diag(np.linalg.inv(R))

    def parts(psi):
        sc = 1.0 / np.sqrt(psi)
        e, v = np.linalg.eigh(R * np.outer(sc, sc))
        return e[::-1], v[:, ::-1]

    def fun(psi):
        e, v = parts(psi)
        rest = e[1:]
        value = -(np.sum(np.log(rest) - rest) - 1.0 + k)
        lam = np.sqrt(psi) * v[:, 0] * np.sqrt(max(e[0] - 1.0, 0.0))
        grad = (lam**2 + psi - np.diag(R)) / psi**2
        return value, grad

    from scipy import optimize  # slow to import (BENCHMARKS.md): only when omega is fitted

    res = optimize.minimize(
        fun,
        np.clip(start, PSI_LOWER, 1.0),
        jac=True,
        method="L-BFGS-B",
        bounds=[(PSI_LOWER, 1.0)] * k,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    psi = res.x
    e, v = parts(psi)
    lam = np.sqrt(psi) * v[:, 0] * np.sqrt(max(e[0] - 1.0, 0.0))
    if lam.sum() < 0:
        lam = -lam
    note = ""
    if np.any(psi <= PSI_LOWER * (1 + 1e-9)):
        note = "Heywood case: a uniqueness reached its 0.005 bound"
    elif not res.success and not _stationary(fun, psi):
        # L-BFGS-B stops with "ABNORMAL" (no further reason) when its line search cannot
        # improve in floating point: at the optimum that is no failure, hence the check above
        reason = str(res.message).rstrip(": ").strip() or "the optimiser stopped"
        note = f"factor analysis did not converge ({reason}); omega approximate"
    return lam, psi, note


def _stationary(fun, psi: np.ndarray, tol: float = 1e-7) -> bool:
    """True when the projected gradient at ``psi`` vanishes (bounds [PSI_LOWER, 1] respected)."""
    _, grad = fun(psi)
    at_low = (psi <= PSI_LOWER * (1 + 1e-9)) & (grad > 0)
    at_high = (psi >= 1.0 - 1e-12) & (grad < 0)
    projected = np.where(at_low | at_high, 0.0, grad)
    return bool(np.max(np.abs(projected)) < tol)
