"""The mediation model on arrays: OLS point estimates and the percentile bootstrap's CIs.

Part of :mod:`tracker.analysis.mediation` (whose docstring gives the model, its two
forms and the references); that module turns score tables into the arrays fitted here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.analysis._dist import t_sf
from tracker.resampling import (
    DEFAULT_BOOT,
    DEFAULT_SEED,
    bootstrap_groups,
    bootstrap_models,
    percentile_ci,
    stack_model,
)

#: the key of the total indirect effect (several mediators)
TOTAL = "total"
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


_BLANK = (
    "a",
    "a_se",
    "a_p",
    "b",
    "b_se",
    "b_p",
    "c",
    "c_p",
    "c_prime",
    "c_prime_p",
    "indirect",
    "indirect_ci_low",
    "indirect_ci_high",
    "indirect_std",
)


def _point(x, m, y, cov, standardise: str) -> dict:
    """Point estimates of one model (no CIs): ``n``, ``note``, ``estimable``, ``paths``."""
    nan = float("nan")
    n, k, q = len(x), m.shape[1], cov.shape[1]
    blank = dict.fromkeys(_BLANK, nan)
    names = list(range(k)) + ([TOTAL] if k > 1 else [])

    def empty(note: str) -> dict:
        return {
            "n": n,
            "note": note,
            "estimable": False,
            "paths": [{**blank, "note": ""} for _ in names],
        }

    p_full = 2 + k + q
    if n <= p_full:
        return empty(
            f"too few complete cases ({n}) for the {p_full} coefficients of Y ~ X + mediators"
            + (" + covariates" if q else "")
            + "; need at least "
            + str(p_full + 1)
        )
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
    model = {
        "c": float(beta_c[1]),
        "c_p": _p(beta_c[1], se_c[1], df_c),
        "c_prime": float(beta_y[1]),
        "c_prime_p": _p(beta_y[1], se_y[1], df_y),
    }
    factor = (sd_x / sd_y) if standardise == "complete" else (1.0 / sd_y)
    paths, total = [], 0.0
    for j in range(k):
        beta_a, se_a, df_a = _ols(X_a, m[:, j])
        indirect = float(beta_a[1] * beta_y[2 + j])
        total += indirect
        paths.append(
            {
                **blank,
                **model,
                "a": float(beta_a[1]),
                "a_se": float(se_a[1]),
                "a_p": _p(beta_a[1], se_a[1], df_a),
                "b": float(beta_y[2 + j]),
                "b_se": float(se_y[2 + j]),
                "b_p": _p(beta_y[2 + j], se_y[2 + j], df_y),
                "indirect": indirect,
                "indirect_std": indirect * factor,
                "note": "",
            }
        )
    if k > 1:
        paths.append(
            {**blank, **model, "indirect": total, "indirect_std": total * factor, "note": ""}
        )
    return {"n": n, "note": "", "estimable": True, "paths": paths}


def _add_cis(fit: dict, reps: np.ndarray, boot: int) -> dict:
    """Percentile CIs of each indirect effect (and of their sum) from the replicates (B, k)."""
    if reps.shape[1] > 1:
        reps = np.column_stack([reps, reps.sum(axis=1)])
    for j, path in enumerate(fit["paths"]):
        lo, hi, used = percentile_ci(reps[:, j])
        if used < MIN_VALID * boot:
            lo = hi = float("nan")
            path["note"] = (
                f"only {used} of {boot} resamples could be fitted (a resample can lack an arm or "
                "hold a constant variable): no bootstrap CI"
            )
        elif used < boot:
            path["note"] = (
                f"{boot - used} of {boot} resamples could not be fitted (singular) and were left out of the CI"
            )
        path["indirect_ci_low"], path["indirect_ci_high"] = lo, hi
    return fit


def fit_mediation(
    x,
    m,
    y,
    covariates=None,
    *,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    standardise: str = "complete",
) -> dict:
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


def _fit_models(
    wide: pd.DataFrame,
    specs: list[dict],
    *,
    boot: int,
    seed: int,
    standardise: str,
    bootstrap=None,
) -> list[dict]:
    """Each spec (x, ms, y, covs: column names of ``wide``) fitted on its own complete cases.

    Models whose complete cases are the same participants share one bootstrap pass
    (:func:`~tracker.resampling.bootstrap_models`): the same resamples they would each draw
    alone. The passes are run together by ``bootstrap`` (default
    :func:`tracker.resampling.bootstrap_groups`, in this process, where passes of as many
    cases share the draws).
    """
    fits: list[dict | None] = [None] * len(specs)
    groups: dict[bytes, list[int]] = {}
    for i, spec in enumerate(specs):
        mask = (
            wide[[spec["x"], *spec["ms"], spec["y"], *spec["covs"]]].notna().all(axis=1).to_numpy()
        )
        groups.setdefault(mask.tobytes(), []).append(i)
    jobs, owners = [], []
    for key, members in groups.items():
        mask = np.frombuffer(key, dtype=bool)
        columns = list(
            dict.fromkeys(
                c
                for i in members
                for s in [specs[i]]
                for c in [s["x"], *s["ms"], *s["covs"], s["y"]]
            )
        )
        raw = wide.loc[mask, columns].to_numpy(dtype=np.float64)
        at = {c: j for j, c in enumerate(columns)}
        todo = []
        for i in members:
            s = specs[i]
            model = (at[s["x"]], [at[c] for c in s["ms"]], [at[c] for c in s["covs"]], at[s["y"]])
            fits[i] = _point(
                raw[:, model[0]], raw[:, model[1]], raw[:, model[3]], raw[:, model[2]], standardise
            )
            if fits[i]["estimable"]:
                todo.append((i, model))
        if todo:
            jobs.append((raw, [model for _, model in todo]))
            owners.append([i for i, _ in todo])
    replicates = (bootstrap or bootstrap_groups)(jobs, boot=boot, seed=seed) if jobs else []
    for owner, reps in zip(owners, replicates, strict=True):
        for i, r in zip(owner, reps, strict=True):
            _add_cis(fits[i], r, boot)
    return fits
