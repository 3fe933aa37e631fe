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

The bootstrap is vectorised (:mod:`tracker.analysis._bootstrap`): no Python loop
per resample.

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

from tracker.analysis._bootstrap import (
    CONFIDENCE,
    DEFAULT_BOOT,
    DEFAULT_SEED,
    bootstrap_indirect,
    bootstrap_models,
    percentile_ci,
    resample_counts,
    stack_model,
)
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
#: fewer estimable resamples than this fraction of B: no CI
MIN_VALID = 0.5


__all__ = [
    "COLUMNS", "CONFIDENCE", "DEFAULT_BOOT", "DEFAULT_SEED", "MIN_VALID", "TOTAL", "bootstrap_indirect",
    "bootstrap_models", "fit_mediation", "mediation", "mediation_arms", "resample_counts",
]  # fmt: skip


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


_BLANK = ("a", "a_se", "a_p", "b", "b_se", "b_p", "c", "c_p", "c_prime", "c_prime_p",
          "indirect", "indirect_ci_low", "indirect_ci_high", "indirect_std")


def _point(x, m, y, cov, standardise: str) -> dict:
    """Point estimates of one model (no CIs): ``n``, ``note``, ``estimable``, ``paths``."""
    nan = float("nan")
    n, k, q = len(x), m.shape[1], cov.shape[1]
    blank = dict.fromkeys(_BLANK, nan)
    names = list(range(k)) + ([TOTAL] if k > 1 else [])

    def empty(note: str) -> dict:
        return {"n": n, "note": note, "estimable": False, "paths": [{**blank, "note": ""} for _ in names]}

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
    beta_y, se_y, df_y = _ols(X_y, y)
    beta_c, se_c, df_c = _ols(X_a, y)
    model = {"c": float(beta_c[1]), "c_p": _p(beta_c[1], se_c[1], df_c),
             "c_prime": float(beta_y[1]), "c_prime_p": _p(beta_y[1], se_y[1], df_y)}
    factor = (sd_x / sd_y) if standardise == "complete" else (1.0 / sd_y)
    paths, total = [], 0.0
    for j in range(k):
        beta_a, se_a, df_a = _ols(X_a, m[:, j])
        indirect = float(beta_a[1] * beta_y[2 + j])
        total += indirect
        paths.append({**blank, **model, "a": float(beta_a[1]), "a_se": float(se_a[1]),
                      "a_p": _p(beta_a[1], se_a[1], df_a), "b": float(beta_y[2 + j]), "b_se": float(se_y[2 + j]),
                      "b_p": _p(beta_y[2 + j], se_y[2 + j], df_y), "indirect": indirect,
                      "indirect_std": indirect * factor, "note": ""})
    if k > 1:
        paths.append({**blank, **model, "indirect": total, "indirect_std": total * factor, "note": ""})
    return {"n": n, "note": "", "estimable": True, "paths": paths}


def _add_cis(fit: dict, reps: np.ndarray, boot: int) -> dict:
    """Percentile CIs of each indirect effect (and of their sum) from the replicates (B, k)."""
    if reps.shape[1] > 1:
        reps = np.column_stack([reps, reps.sum(axis=1)])
    for j, path in enumerate(fit["paths"]):
        lo, hi, used = percentile_ci(reps[:, j])
        if used < MIN_VALID * boot:
            lo = hi = float("nan")
            path["note"] = (f"only {used} of {boot} resamples could be fitted (a resample can lack an arm or "
                            "hold a constant variable): no bootstrap CI")
        elif used < boot:
            path["note"] = f"{boot - used} of {boot} resamples could not be fitted (singular) and were left out of the CI"
        path["indirect_ci_low"], path["indirect_ci_high"] = lo, hi
    return fit


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
        ``n``, ``note``, ``estimable`` and ``paths``: one dict per mediator and, when
        k > 1, one for the total, with ``a, a_se, a_p, b, b_se, b_p, c, c_p, c_prime,
        c_prime_p, indirect, indirect_ci_low, indirect_ci_high, indirect_std, note``.
        a, b, c and c' with their OLS standard errors and two-sided t-test p-values
        on each equation's residual df (R ``summary(lm(...))``); the indirect
        effect's CI from :func:`bootstrap_indirect`.
    """
    raw, model = stack_model(x, m, y, covariates)
    ix, im, ic, iy = model
    fit = _point(raw[:, ix], raw[:, im], raw[:, iy], raw[:, ic], standardise)
    if not fit["estimable"]:
        return fit
    return _add_cis(fit, bootstrap_models(raw, [model], boot=boot, seed=seed)[0], boot)


def _fit_models(wide: pd.DataFrame, specs: list[dict], *, boot: int, seed: int, standardise: str) -> list[dict]:
    """Each spec (x, ms, y, covs: column names of ``wide``) fitted on its own complete cases.

    Models whose complete cases are the same participants share one bootstrap pass
    (:func:`bootstrap_models`): the same resamples they would each draw alone.
    """
    fits: list[dict | None] = [None] * len(specs)
    groups: dict[bytes, list[int]] = {}
    for i, spec in enumerate(specs):
        mask = wide[[spec["x"], *spec["ms"], spec["y"], *spec["covs"]]].notna().all(axis=1).to_numpy()
        groups.setdefault(mask.tobytes(), []).append(i)
    for members in groups.values():
        first = specs[members[0]]
        mask = wide[[first["x"], *first["ms"], first["y"], *first["covs"]]].notna().all(axis=1).to_numpy()
        columns = list(dict.fromkeys(c for i in members for s in [specs[i]]
                                     for c in [s["x"], *s["ms"], *s["covs"], s["y"]]))
        raw = wide.loc[mask, columns].to_numpy(dtype=np.float64)
        at = {c: j for j, c in enumerate(columns)}
        todo = []
        for i in members:
            s = specs[i]
            model = (at[s["x"]], [at[c] for c in s["ms"]], [at[c] for c in s["covs"]], at[s["y"]])
            fits[i] = _point(raw[:, model[0]], raw[:, model[1]], raw[:, model[3]], raw[:, model[2]], standardise)
            if fits[i]["estimable"]:
                todo.append((i, model))
        if todo:
            reps = bootstrap_models(raw, [model for _, model in todo], boot=boot, seed=seed)
            for (i, _), r in zip(todo, reps, strict=True):
                _add_cis(fits[i], r, boot)
    return fits


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


def _absent(df: pd.DataFrame, names: list[str], waves: list[str]) -> dict[str, str]:
    """Measure -> "no scores of M at wave W" for each of ``names`` with no score at one of ``waves``."""
    scored = df[df["score"].notna()]
    out = {}
    for w in waves:
        have = set(scored.loc[scored["wave"] == w, "measure"])
        for m in names:
            if m not in have and m not in out:
                out[m] = f"no scores of {m} at wave {w}"
    return out


def _explain_absent(fit: dict, measures: list[str], absent: dict[str, str]) -> dict:
    """A model with a measure never scored says so, instead of just "too few complete cases (0)"."""
    why = [absent[m] for m in measures if m in absent]
    if why:
        fit["note"] = join_notes(*why)
    return fit


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
    absent = _absent(df, list(dict.fromkeys(xs + ms + ys)), [wave])
    wide = _wide(df, wave, list(dict.fromkeys(xs + ms + ys)))
    specs = [{"x": xv, "ms": ms, "y": yv, "covs": []} for xv in xs for yv in ys]
    fits = _fit_models(wide, specs, boot=boot, seed=seed, standardise="complete")
    rows = []
    for spec, fit in zip(specs, fits, strict=True):
        _explain_absent(fit, [spec["x"], *ms, spec["y"]], absent)
        rows.extend(_model_rows(fit, x=spec["x"], mediators=ms, y=spec["y"], wave=wave, boot=boot, seed=seed))
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
    absent = _absent(df, measures, [post, pre])
    later = _wide(df, post, measures)
    earlier = _wide(df, pre, measures).add_suffix("@pre")
    arm_of = df.drop_duplicates("participant").set_index("participant")[arm]
    wide = later.join(earlier, how="outer")
    wide["_arm"] = arm_of.reindex(wide.index)
    rows = []
    for other in [a for a in arms if a != ref]:
        label = "arm" if len(arms) == 2 else f"arm:{other}"
        two = wide[wide["_arm"].isin([other, ref])].copy()
        two["_x"] = (two["_arm"] == other).astype(float)
        specs = [{"x": "_x", "ms": ms, "y": yv, "covs": [f"{m}@pre" for m in ms] + [f"{yv}@pre"]} for yv in ys]
        fits = _fit_models(two, specs, boot=boot, seed=seed, standardise="partial")
        for spec, fit in zip(specs, fits, strict=True):
            _explain_absent(fit, [*ms, spec["y"]], absent)
            rows.extend(_model_rows(fit, x=label, mediators=ms, y=spec["y"], wave=post, boot=boot, seed=seed))
    return _records(rows)
