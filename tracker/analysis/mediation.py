"""Parallel mediation with a percentile bootstrap over participants (pure: numpy, pandas, scipy.special).

Two forms of the model, both OLS (Hayes 2018, model 4, with k parallel mediators):

* cross-sectional, at one wave: ``M_j ~ X`` (paths a_j), ``Y ~ X + M_1 + ... + M_k``
  (b_j and the direct effect c'), ``Y ~ X`` (the total effect c);
* the intervention (ANCOVA) form, between two waves: X = 1 for an arm, 0 for the
  reference arm, M and Y at the later wave, and every one of those equations
  adjusted for the earlier wave's scores of every mediator and of Y
  (Valente & MacKinnon 2017, the ANCOVA model of the pretest-posttest control design).

The indirect effect through M_j is a_j b_j; with several mediators their sum
is the total indirect effect (equal to c - c' in OLS with the same cases and
covariates). Its 95 % CI is the percentile bootstrap: the model's n complete
cases resampled with replacement, n at a time, B times.

The bootstrap is vectorised: a resample is a vector of counts w (how often
each case was drawn), and every equation of a resample is the weighted least
squares solution from the weighted cross-product matrix S_b = sum_i w_bi z_i z_i'
of z = (1, X, M_1..M_k, covariates, Y). All resamples' S_b come from one
matrix product (counts of B x n) @ (outer products of n x d^2), and the small
normal equations are solved as one batch: no Python loop per resample.
Variables are centred and scaled first (the coefficients are scaled back), so
the normal equations are well conditioned.

References
----------
Hayes, A. F. (2018). Introduction to Mediation, Moderation, and Conditional
Process Analysis (2nd ed.). Guilford. (Parallel multiple mediator model.)
Preacher, K. J., & Hayes, A. F. (2008). Asymptotic and resampling strategies for
assessing and comparing indirect effects in multiple mediator models. Behavior
Research Methods, 40(3), 879-891.
Valente, M. J., & MacKinnon, D. P. (2017). Comparing models of change to estimate
the mediated effect in the pretest-posttest control group design. Structural
Equation Modeling, 24(3), 428-450.
Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tracker.analysis._common import (
    check_unique,
    frame,
    join_notes,
    numeric,
    require_columns,
    unique_in_order,
)
from tracker.analysis._dist import t_sf
from tracker.analysis.compare import choose_reference_arm
from tracker.errors import AnalysisError

COLUMNS = (
    "x", "mediator", "y", "wave", "n",
    "a", "a_se", "a_p", "b", "b_se", "b_p",
    "c", "c_p", "c_prime", "c_prime_p",
    "indirect", "indirect_ci_low", "indirect_ci_high", "indirect_std",
    "boot", "seed",
)  # fmt: skip
TOTAL = "total"
DEFAULT_BOOT = 5000
DEFAULT_SEED = 1
CONFIDENCE = 0.95
#: resamples of one chunk are at most this many counts (chunk x n): 16 MB of float64
CHUNK_CELLS = 2_000_000
#: a resample whose normal-equation matrix has a determinant below this fraction of the
#: full sample's (variables scaled) is singular: an arm or a value missing from it
SINGULAR = 1e-10
#: fewer estimable resamples than this fraction of B: no CI
MIN_VALID = 0.5


# -- the model on arrays ---------------------------------------------------------------------


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS by QR: (coefficients, their standard errors, residual df), as R ``lm`` computes them."""
    n, p = X.shape
    Q, R = np.linalg.qr(X)
    beta = np.linalg.solve(R, Q.T @ y)
    resid = y - X @ beta
    df = n - p
    R_inv = np.linalg.solve(R, np.eye(p))
    se = np.sqrt(float(resid @ resid) / df * np.sum(R_inv**2, axis=1))
    return beta, se, df


def _p(beta: float, se: float, df: int) -> float:
    if not se > 0:
        return float("nan")
    return float(2.0 * t_sf(abs(beta / se), df))


def resample_counts(n: int, boot: int, seed: int):
    """The bootstrap resamples as counts, in chunks: yields float arrays (chunk, n).

    Resample b draws n case indices uniformly with replacement from
    ``numpy.random.default_rng(seed)``, in order; counts[b, i] is how often case
    i was drawn. The stream of draws does not depend on the chunk size.
    """
    rng = np.random.default_rng(seed)
    per_chunk = max(1, CHUNK_CELLS // max(n, 1))
    done = 0
    while done < boot:
        size = min(per_chunk, boot - done)
        idx = rng.integers(0, n, size=(size, n))
        idx += (np.arange(size) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)
        done += size


def _solve_batch(S: np.ndarray, regressors: list[int], response: int, det_full: float):
    """Weighted LS coefficients of every resample from its cross-product matrix; NaN when singular."""
    A = S[:, regressors][:, :, regressors]
    rhs = S[:, regressors, response]
    det = np.linalg.det(A)
    bad = ~(np.abs(det) > SINGULAR * abs(det_full))
    if bad.any():
        A = A.copy()
        A[bad] = np.eye(len(regressors))
    coef = np.linalg.solve(A, rhs[..., None])[..., 0]
    coef[bad] = np.nan
    return coef


def bootstrap_indirect(x, m, y, covariates=None, *, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED,
                       counts=None) -> np.ndarray:
    """Bootstrap replicates of the indirect effects a_j b_j: an array (B, k), NaN where singular.

    ``x`` (n,), ``m`` (n, k), ``y`` (n,), ``covariates`` (n, q) or None, complete
    cases. ``counts`` (B, n) replaces the seeded resamples (tests feed R the same
    ones). Each replicate is the OLS fit of the resampled cases (a case drawn
    twice counts twice), scaled back to the raw units.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float)
    cov = np.empty((len(x), 0)) if covariates is None else np.asarray(covariates, dtype=float).reshape(len(x), -1)
    n, k, q = len(x), m.shape[1], cov.shape[1]
    raw = np.column_stack([x, m, cov, y])
    centre, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(n), (raw - centre) / scale])
    d = z.shape[1]
    outer = (z[:, :, None] * z[:, None, :]).reshape(n, d * d)
    ix, im, ic, iy = 1, list(range(2, 2 + k)), list(range(2 + k, 2 + k + q)), d - 1
    a_regs = [0, ix, *ic]
    y_regs = [0, ix, *im, *ic]
    full = (outer.sum(axis=0) / n).reshape(d, d)
    det_a = np.linalg.det(full[np.ix_(a_regs, a_regs)])
    det_y = np.linalg.det(full[np.ix_(y_regs, y_regs)])
    # scaled indirect a~ b~ is in units of sd(Y) / sd(X)
    back = scale[-1] / scale[0]
    chunks = resample_counts(n, boot, seed) if counts is None else [np.asarray(counts, dtype=float)]
    out = []
    for w in chunks:
        S = ((w @ outer) / n).reshape(len(w), d, d)
        b = _solve_batch(S, y_regs, iy, det_y)[:, 2:2 + k]
        a = np.column_stack([_solve_batch(S, a_regs, j, det_a)[:, 1] for j in im])
        out.append(a * b * back)
    return np.concatenate(out, axis=0) if out else np.empty((0, k))


def _percentile(reps: np.ndarray) -> tuple[float, float, int]:
    """(low, high, number of finite replicates): the 2.5 and 97.5 percentiles, numpy's linear rule."""
    ok = reps[np.isfinite(reps)]
    if ok.size == 0:
        return float("nan"), float("nan"), 0
    lo, hi = np.quantile(ok, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return float(lo), float(hi), int(ok.size)


def fit_mediation(x, m, y, covariates=None, *, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED,
                  standardise: str = "complete") -> dict:
    """Parallel mediation on complete cases given as arrays; the numbers of the SPEC's records.

    Parameters
    ----------
    x : array (n,)
        The predictor (a measure, or 0/1 for an arm).
    m : array (n, k)
        The k parallel mediators.
    y : array (n,)
        The outcome.
    covariates : array (n, q), optional
        Entered in every equation (the earlier wave's scores in the ANCOVA form).
    boot, seed : int
        Bootstrap resamples and the seed of ``numpy.random.default_rng``.
    standardise : {"complete", "partial"}
        ``indirect_std`` = indirect x sd(X) / sd(Y) (completely standardised) or
        indirect / sd(Y) (partially standardised, for a 0/1 X); SDs with n - 1.

    Returns
    -------
    dict
        ``n``, ``note`` and ``paths``: one dict per mediator and, when k > 1, one for
        the total, with ``a, a_se, a_p, b, b_se, b_p, c, c_p, c_prime, c_prime_p,
        indirect, indirect_ci_low, indirect_ci_high, indirect_std, note``.
        a, b, c and c' with their OLS standard errors and two-sided t-test p-values
        on each equation's residual df (R ``summary(lm(...))``); the indirect
        effect's CI from :func:`bootstrap_indirect`.
    """
    nan = float("nan")
    x = np.asarray(x, dtype=float)
    n = len(x)
    m = np.asarray(m, dtype=float).reshape(n, -1)
    y = np.asarray(y, dtype=float)
    cov = np.empty((n, 0)) if covariates is None else np.asarray(covariates, dtype=float).reshape(n, -1)
    k, q = m.shape[1], cov.shape[1]
    blank = dict.fromkeys(("a", "a_se", "a_p", "b", "b_se", "b_p", "c", "c_p", "c_prime", "c_prime_p",
                           "indirect", "indirect_ci_low", "indirect_ci_high", "indirect_std"), nan)
    names = list(range(k)) + ([TOTAL] if k > 1 else [])

    def empty(note: str) -> dict:
        return {"n": n, "note": note, "paths": [{**blank, "note": ""} for _ in names]}

    p_full = 2 + k + q
    if n <= p_full:
        return empty(f"too few complete cases ({n}) for the {p_full} coefficients of Y ~ X + mediators"
                     + (" + covariates" if q else "") + "; need at least " + str(p_full + 1))
    ones = np.ones(n)
    X_a = np.column_stack([ones, x, cov])
    X_y = np.column_stack([ones, x, m, cov])
    if np.linalg.matrix_rank(X_y) < X_y.shape[1]:
        constant = [label for label, v in (("X", x), ("Y", y)) if np.ptp(v) == 0]
        constant += [f"mediator {j + 1}" for j in range(k) if np.ptp(m[:, j]) == 0]
        why = f"{', '.join(constant)} constant" if constant else "predictors collinear"
        return empty(f"{why} in the {n} complete cases: the model is not estimable")
    sd_x, sd_y = float(x.std(ddof=1)), float(y.std(ddof=1))
    if not sd_y > 0:
        return empty(f"Y is constant in the {n} complete cases: the model is not estimable")

    paths = []
    a = np.empty(k)
    beta_y, se_y, df_y = _ols(X_y, y)
    beta_c, se_c, df_c = _ols(X_a, y)
    c, c_p = float(beta_c[1]), _p(beta_c[1], se_c[1], df_c)
    c_prime, c_prime_p = float(beta_y[1]), _p(beta_y[1], se_y[1], df_y)
    for j in range(k):
        beta_a, se_a, df_a = _ols(X_a, m[:, j])
        a[j] = beta_a[1]
        paths.append({"a": float(beta_a[1]), "a_se": float(se_a[1]), "a_p": _p(beta_a[1], se_a[1], df_a),
                      "b": float(beta_y[2 + j]), "b_se": float(se_y[2 + j]),
                      "b_p": _p(beta_y[2 + j], se_y[2 + j], df_y)})
    b = beta_y[2:2 + k]
    indirect = list(a * b) + ([float(np.sum(a * b))] if k > 1 else [])
    reps = bootstrap_indirect(x, m, y, cov, boot=boot, seed=seed)
    if k > 1:
        reps = np.column_stack([reps, reps.sum(axis=1)])
    factor = (sd_x / sd_y) if standardise == "complete" else (1.0 / sd_y)
    out = []
    for j, name in enumerate(names):
        row = dict(blank) if name == TOTAL else {**blank, **paths[j]}
        lo, hi, used = _percentile(reps[:, j])
        note = ""
        if used < MIN_VALID * boot:
            lo = hi = nan
            note = (f"only {used} of {boot} resamples could be fitted (a resample can lack an arm or "
                    "hold a constant variable): no bootstrap CI")
        elif used < boot:
            note = f"{boot - used} of {boot} resamples could not be fitted (singular) and were left out of the CI"
        row.update(c=c, c_p=c_p, c_prime=c_prime, c_prime_p=c_prime_p, indirect=float(indirect[j]),
                   indirect_ci_low=lo, indirect_ci_high=hi, indirect_std=float(indirect[j]) * factor, note=note)
        out.append(row)
    return {"n": n, "note": "", "paths": out}


# -- on long score tables --------------------------------------------------------------------


def _check_options(boot: int, seed: int) -> None:
    if isinstance(boot, bool) or not isinstance(boot, int | np.integer) or boot < 1:
        raise AnalysisError(f"the number of bootstrap resamples must be a positive integer, not {boot!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise AnalysisError(f"the bootstrap seed must be a non-negative integer, not {seed!r}")


def _as_list(value, what: str) -> list[str]:
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        raise AnalysisError(f"give at least one {what}")
    if len(set(values)) != len(values):
        raise AnalysisError(f"the {what}s {values} repeat a measure; name each once")
    return values


def _check_roles(xs: list[str], mediators: list[str], ys: list[str]) -> None:
    for x in xs:
        for y in ys:
            if x == y:
                raise AnalysisError(f"{x!r} is both X and Y; a model needs two different measures")
    for name in mediators:
        if name in xs or name in ys:
            role = "X" if name in xs else "Y"
            raise AnalysisError(f"{name!r} is both a mediator and {role}; a measure can play one part in a model")


def _wide(scores: pd.DataFrame, wave: str, measures: list[str]) -> pd.DataFrame:
    at = scores[(scores["wave"] == wave) & scores["measure"].isin(measures)]
    wide = at.pivot(index="participant", columns="measure", values="score")
    return wide.reindex(columns=measures)


def _records(rows: list[dict]) -> pd.DataFrame:
    return frame(rows, COLUMNS, strings=("x", "mediator", "y", "wave"), ints=("n", "boot", "seed"))


def _model_rows(fit: dict, *, x: str, mediators: list[str], y: str, wave: str, boot: int,
                seed: int) -> list[dict]:
    names = mediators + ([TOTAL] if len(mediators) > 1 else [])
    return [{"x": x, "mediator": name, "y": y, "wave": wave, "n": fit["n"], **path, "boot": boot, "seed": seed,
             "note": join_notes(fit["note"], path["note"])}
            for name, path in zip(names, fit["paths"], strict=True)]


def _prepare(scores: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    cols = ["participant", "wave", "measure", "score", *extra]
    require_columns(scores, cols, "the score table")
    df = scores[cols].copy()
    df["score"] = numeric(df["score"], "score")
    check_unique(df, ["participant", "wave", "measure"], "the score table")
    return df


def _known_measures(df: pd.DataFrame, names: list[str]) -> None:
    present = set(unique_in_order(df["measure"]))
    missing = [m for m in names if m not in present]
    if missing:
        raise AnalysisError(f"no scores for the measure(s) {', '.join(missing)}; measures with scores: "
                            f"{', '.join(sorted(present)) or 'none'}")


def mediation(scores: pd.DataFrame, *, x, mediators, y, wave: str, boot: int = DEFAULT_BOOT,
              seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Cross-sectional parallel mediation at ``wave``: one model per X x Y.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table ``participant, wave, measure, score``; rows of other waves ignored.
    x, y : str or sequence of str
        Predictor measure(s) and outcome measure(s): a model for each pair.
    mediators : str or sequence of str
        The parallel mediators of every model.
    wave : str
    boot, seed : int
        Percentile bootstrap: ``boot`` resamples (default 5000) from seed ``seed`` (default 1).

    Returns
    -------
    pandas.DataFrame
        One row per model x mediator, and a ``mediator = "total"`` row when there are
        several mediators; the SPEC's columns (:data:`COLUMNS`) and ``note``:

        - ``n`` : complete cases on X, every mediator and Y (listwise), the cases of
          every equation and of the bootstrap.
        - ``a``, ``a_se``, ``a_p`` : X's coefficient in OLS M_j ~ X, its standard error
          and two-sided t-test p on n - 2 df.
        - ``b``, ``b_se``, ``b_p`` : M_j's coefficient in OLS Y ~ X + M_1 + ... + M_k
          (t test on n - k - 2 df). Null in the total row.
        - ``c``, ``c_p`` : X's coefficient in Y ~ X, and its p; ``c_prime``,
          ``c_prime_p`` : X's coefficient in Y ~ X + M_1..M_k (the direct effect).
        - ``indirect`` : a_j b_j; in the total row the sum over j (= c - c').
        - ``indirect_ci_low``, ``indirect_ci_high`` : percentile bootstrap 95 % CI: the
          2.5th and 97.5th percentiles (numpy's linear interpolation, R type 7) of
          a_j b_j refitted on ``boot`` resamples of the n cases (Preacher & Hayes 2008).
          Resamples in which a model is singular are left out (noted); fewer than half
          left: null.
        - ``indirect_std`` : indirect x sd(X) / sd(Y), SDs of the n cases.
        - ``boot``, ``seed`` : as given. The same seed gives the same CI; each model's
          resamples start from the seed, so a model's CI does not depend on which other
          models are run with it.
    """
    _check_options(boot, seed)
    xs, ms, ys = _as_list(x, "X"), _as_list(mediators, "mediator"), _as_list(y, "Y")
    _check_roles(xs, ms, ys)
    df = _prepare(scores)
    if wave not in set(df["wave"]):
        raise AnalysisError(f"no scores at wave {wave!r}")
    _known_measures(df[df["wave"] == wave], list(dict.fromkeys(xs + ms + ys)))
    wide = _wide(df, wave, list(dict.fromkeys(xs + ms + ys)))
    rows = []
    for xv in xs:
        for yv in ys:
            block = wide[[xv, *ms, yv]].dropna()
            fit = fit_mediation(block[xv].to_numpy(), block[ms].to_numpy(), block[yv].to_numpy(),
                                boot=boot, seed=seed)
            rows.extend(_model_rows(fit, x=xv, mediators=ms, y=yv, wave=wave, boot=boot, seed=seed))
    return _records(rows)


def mediation_arms(scores: pd.DataFrame, *, pre: str, post: str, mediators, y, arm: str = "arm",
                   reference_arm: str | None = None, boot: int = DEFAULT_BOOT,
                   seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The intervention form: ANCOVA mediation of the arm's effect on Y at ``post`` (Valente & MacKinnon 2017).

    X = 1 for the compared arm and 0 for the reference arm (as in
    :func:`tracker.analysis.compare_arms`: "control", else the first arm
    alphabetically); the mediators and Y at ``post``; every equation (M_j ~ X,
    Y ~ X + M, Y ~ X) adjusted for the ``pre`` scores of every mediator and of Y.
    Complete cases on all of them. With more than two arms, one model per arm
    against the reference arm, on those two arms' participants; ``x`` is then
    ``"arm:NAME"``, with two arms simply ``"arm"``. ``wave`` is ``post``, the wave of M and
    Y. ``indirect_std`` is partially standardised, indirect / sd(Y at post). Otherwise
    the columns are those of :func:`mediation`.
    """
    _check_options(boot, seed)
    if pre == post:
        raise AnalysisError(f"the pre and post waves are both {pre!r}; choose two different waves")
    ms, ys = _as_list(mediators, "mediator"), _as_list(y, "Y")
    _check_roles([], ms, ys)
    df = _prepare(scores, [arm])
    for w in (pre, post):
        if w not in set(df["wave"]):
            raise AnalysisError(f"no scores at wave {w!r}")
    if df[arm].isna().any():
        who = unique_in_order(df.loc[df[arm].isna(), "participant"])[:5]
        raise AnalysisError(f"{arm} is missing for participant(s) {who}")
    df[arm] = df[arm].astype(str)
    per = df.groupby("participant", sort=False)[arm].nunique()
    if (per > 1).any():
        raise AnalysisError(f"participant(s) {list(per.index[per > 1][:5])} have more than one {arm}")
    arms = sorted(unique_in_order(df[arm]))
    if len(arms) < 2:
        found = f"only {arms[0]!r}" if arms else "none"
        raise AnalysisError(f"the intervention form of the mediation model compares arms; found {found}")
    ref = choose_reference_arm(arms, reference_arm)
    measures = list(dict.fromkeys(ms + ys))
    _known_measures(df[df["wave"] == post], measures)
    later = _wide(df, post, measures)
    earlier = _wide(df, pre, measures).add_suffix("@pre")
    arm_of = df.drop_duplicates("participant").set_index("participant")[arm]
    wide = later.join(earlier, how="outer")
    wide["_arm"] = arm_of.reindex(wide.index)
    rows = []
    for other in [a for a in arms if a != ref]:
        label = "arm" if len(arms) == 2 else f"arm:{other}"
        two = wide[wide["_arm"].isin([other, ref])]
        for yv in ys:
            pre_cols = [f"{m}@pre" for m in ms] + [f"{yv}@pre"]
            block = two[["_arm", *ms, yv, *pre_cols]].dropna()
            xv = (block["_arm"] == other).to_numpy(dtype=float)
            fit = fit_mediation(xv, block[ms].to_numpy(), block[yv].to_numpy(), block[pre_cols].to_numpy(),
                                boot=boot, seed=seed, standardise="partial")
            rows.extend(_model_rows(fit, x=label, mediators=ms, y=yv, wave=post, boot=boot, seed=seed))
    return _records(rows)
