"""Trajectories across waves: linear mixed model with a random intercept per participant (REML)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracker.analysis._common import (
    check_unique,
    frame,
    numeric,
    require_columns,
    unique_in_order,
)
from tracker.analysis._dist import f_sf, t_ppf, t_sf
from tracker.analysis._mixed import (
    containment_df,
    estimable_columns,
    reml_random_intercept,
    term_df,
    within_invariant,
)
from tracker.analysis._trajectory_rows import measure_rows, unique_inverse
from tracker.analysis.compare import choose_reference_arm
from tracker.errors import AnalysisError

COLUMNS = ("measure", "term", "estimate", "se", "ci_low", "ci_high", "p")
#: the extra rows after a measure's fixed effects (``term`` values; see :func:`trajectory`)
WALD_INTERACTION = "wave x arm (Wald F)"
WALD_WAVE = "wave (Wald F)"
VAR_INTERCEPT = "var(intercept)"
VAR_RESIDUAL = "var(residual)"
ICC = "ICC"
EXTRA_TERMS = (WALD_INTERACTION, WALD_WAVE, VAR_INTERCEPT, VAR_RESIDUAL, ICC)
MEANS_COLUMNS = ("measure", "wave", "wave_order", "arm", "n", "mean", "se", "ci_low", "ci_high")


def trajectory(
    scores: pd.DataFrame,
    *,
    measures: Sequence[str] | None = None,
    arm: str | None = "arm",
) -> pd.DataFrame:
    """Fixed effects of a random-intercept linear mixed model per measure, fitted by REML.

    Model (per measure): score_ij = X_ij beta + u_i + e_ij, u_i ~ N(0, tau^2),
    e_ij ~ N(0, sigma^2), i = participant, j = wave; fixed effects: intercept,
    wave as a categorical factor (reference = lowest ``wave_order``), and, when
    the ``arm`` column has two or more values, arm (reference "control", else
    the first arm alphabetically) and wave x arm. All non-missing observations
    are used (no listwise deletion). Same model as R
    ``nlme::lme(score ~ factor(wave) * arm, random = ~ 1 | participant, method = "REML")``.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table ``participant, wave, wave_order, measure, score`` (+ ``arm``).
    measures : sequence of str, optional
        Measures to fit, in this order; default all, in order of appearance.
    arm : str or None
        Arm column; None fits the wave-only model.

    Returns
    -------
    pandas.DataFrame
        One row per measure x fixed-effect term:

        - ``measure``; ``term`` : "Intercept", "wave[post]", "arm[intervention]",
          "wave[post]:arm[intervention]".
        - ``estimate``, ``se`` : REML GLS estimate and its standard error,
          sqrt of diag(sigma^2 (X' H^-1 X)^-1).
        - ``ci_low``, ``ci_high``, ``p`` : 95 % CI and two-sided p from t =
          estimate / se on nlme's "containment" degrees of freedom (Pinheiro &
          Bates 2000, sec. 2.4.2): terms constant within every participant
          (arm) get n_participants - (their number + 1); the intercept and
          terms varying within participants get n_obs - n_participants - (number
          of within terms), and the intercept the larger of the two, as R
          ``summary(nlme::lme(...))`` reports (``nlme:::getFixDF``).
        - ``note`` : why values are missing (empty wave x arm cell, too few
          observations, failed fit); "" otherwise.

        After a fitted measure's fixed effects come extra rows, told apart by
        ``term`` (the SPEC's record fields stay as they are):

        - "wave x arm (Wald F)" (with two or more arms; "wave (Wald F)" in the
          wave-only model): the omnibus test that every wave x arm (wave)
          coefficient is zero. ``estimate`` is the Wald F = b' V^-1 b / q of
          those q estimable coefficients, ``p`` its upper tail on q and the
          term's containment denominator df (both in ``note``); ``se`` and the
          CI are empty. This is R ``anova(fit, type = "marginal")``'s row of
          the term (a Wald test of the REML fit, not a likelihood-ratio test).
        - "var(intercept)", "var(residual)" : the REML variance components
          tau^2 and sigma^2 (``VarCorr(fit)``), ``estimate`` only.
        - "ICC" : tau^2 / (tau^2 + sigma^2), the share of the variance between
          participants, ``estimate`` only. When every participant was seen
          once the two variances cannot be told apart: these three rows are
          empty, with a note.

        Fixed-effect rows are those whose ``term`` is not in ``EXTRA_TERMS``.

    Notes
    -----
    The REML likelihood of the random-intercept model is evaluated in closed
    form per participant (H_i = I + gamma J, gamma = tau^2 / sigma^2; Woodbury
    identities for H_i^-1 and |H_i|), sigma^2 is profiled out and gamma found
    by a bounded 1-D search, so 10,000 participants fit in milliseconds. This
    is the model ``statsmodels.MixedLM(..., groups=participant).fit(reml=True)``
    fits (checked in the tests), which is too slow at that size because it
    loops over participants in Python.
    """
    return fixed_effects(fit_models(scores, measures=measures, arm=arm))


def fit_models(
    scores: pd.DataFrame,
    *,
    measures: Sequence[str] | None = None,
    arm: str | None = "arm",
) -> list[tuple[str, _Fit | None]]:
    """The :func:`trajectory` model fitted per measure: (measure, fit or None when it has no scores).

    :func:`fixed_effects` and :func:`model_means` turn these into the two
    tables, so that a caller wanting both (the report) fits each model once.
    """
    return list(_fits(scores, measures, arm))


def fixed_effects(fits: list[tuple[str, _Fit | None]]) -> pd.DataFrame:
    """The :func:`trajectory` table of fitted models (:func:`fit_models`)."""
    rows = []
    for m, fit in fits:
        if fit is None or fit.error:
            note = fit.error if fit is not None else "no observations"
            rows.append({"measure": m, "term": "", "note": note})
            continue
        for name in fit.all_terms:
            row = {"measure": m, "term": name}
            if name in fit.dropped:
                row["note"] = fit.dropped[name]
                rows.append(row)
                continue
            j = fit.terms.index(name)
            est, se, df = fit.beta[j], fit.se[j], fit.df[j]
            row.update(estimate=est, se=se)
            if df > 0 and se > 0:
                tq = t_ppf(0.975, df)
                row.update(
                    ci_low=est - tq * se,
                    ci_high=est + tq * se,
                    p=2.0 * t_sf(abs(est / se), df),
                )
            else:
                row["note"] = (
                    "no degrees of freedom left for a t test"
                    if df <= 0
                    else "zero standard error: no test"
                )
            rows.append(row)
        rows.extend(_extra_rows(m, fit))
    return frame(rows, COLUMNS, strings=("measure", "term"))


def _extra_rows(measure: str, fit: _Fit) -> list[dict]:
    """The omnibus Wald F row and the variance-component rows of one fitted measure."""
    rows = []
    if fit.wald is not None:
        name, F, q, df2, note = fit.wald
        row = {"measure": measure, "term": name}
        if note:
            row["note"] = note
        else:
            row.update(
                estimate=F,
                p=float(f_sf(F, q, df2)),
                note=f"Wald F on {q} and {df2:g} df (containment); no SE or CI for a test",
            )
        rows.append(row)
    if fit.singletons:
        why = "each participant seen once: variance between and within participants not separable"
        return rows + [{"measure": measure, "term": t, "note": why}
                       for t in (VAR_INTERCEPT, VAR_RESIDUAL, ICC)]  # fmt: skip
    tau2 = fit.gamma * fit.sigma2
    component = "REML variance component; no SE or CI"
    rows.append({"measure": measure, "term": VAR_INTERCEPT, "estimate": tau2, "note": component})
    rows.append(
        {"measure": measure, "term": VAR_RESIDUAL, "estimate": fit.sigma2, "note": component}
    )
    rows.append({
        "measure": measure, "term": ICC, "estimate": tau2 / (tau2 + fit.sigma2),
        "note": "var(intercept) / (var(intercept) + var(residual)); no SE or CI",
    })  # fmt: skip
    return rows


def estimated_means(
    scores: pd.DataFrame,
    *,
    measures: Sequence[str] | None = None,
    arm: str | None = "arm",
) -> pd.DataFrame:
    """Model-based mean per wave (x arm) from the :func:`trajectory` model.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure, wave, wave_order, arm, n, mean, se, ci_low, ci_high, note``:
        mean = L beta for the cell's contrast vector L (intercept + wave +
        arm + wave x arm dummies), se = sqrt(L V L'), V the REML covariance of
        beta; the CI uses t on the smallest containment df of the terms the
        mean adds up (see :func:`trajectory`): the intercept's for the first
        wave of the reference arm, the within-participant df for a later wave.
        (nlme gives no df for a combination of coefficients; the smallest one
        is the conservative choice.) ``arm`` is "all" when the model has no
        arm term; ``n`` is the number of observations in the cell. Waves in ``wave_order``,
        arms sorted.
    """
    return model_means(fit_models(scores, measures=measures, arm=arm))


def model_means(fits: list[tuple[str, _Fit | None]]) -> pd.DataFrame:
    """The :func:`estimated_means` table of fitted models (:func:`fit_models`)."""
    rows = []
    for m, fit in fits:
        if fit is None or fit.error:
            note = fit.error if fit is not None else "no observations"
            rows.append(
                {"measure": m, "wave": "", "wave_order": np.nan, "arm": "", "n": 0, "note": note}
            )
            continue
        arms = fit.arms if fit.arms else ["all"]
        for w in fit.waves:
            for a in arms:
                row = {
                    "measure": m,
                    "wave": w,
                    "wave_order": fit.wave_order[w],
                    "arm": a,
                    "n": fit.counts[(w, a)],
                }
                needed = ["Intercept"]
                if w != fit.waves[0]:
                    needed.append(f"wave[{w}]")
                if fit.arms and a != fit.ref_arm:
                    needed.append(f"arm[{a}]")
                    if w != fit.waves[0]:
                        needed.append(f"wave[{w}]:arm[{a}]")
                if any(t in fit.dropped for t in needed):
                    row["note"] = f"no observations of wave {w} in arm {a}: mean not estimable"
                    rows.append(row)
                    continue
                L = np.zeros(len(fit.terms))
                L[[fit.terms.index(t) for t in needed]] = 1.0
                mean = float(L @ fit.beta)
                se = float(np.sqrt(L @ fit.cov @ L))
                row.update(mean=mean, se=se)
                df = min(fit.df[fit.terms.index(t)] for t in needed)
                if df > 0:
                    tq = t_ppf(0.975, df)
                    row.update(ci_low=mean - tq * se, ci_high=mean + tq * se)
                else:
                    row["note"] = "no degrees of freedom left for a CI"
                rows.append(row)
    out = frame(rows, MEANS_COLUMNS, strings=("measure", "wave", "arm"), ints=("n",))
    orders = out["wave_order"].dropna()
    if (orders == orders.round()).all():
        out["wave_order"] = out["wave_order"].astype("Int64")
    return out


# ----------------------------------------------------------------------------- fitting


@dataclass
class _Fit:
    error: str = ""
    terms: list[str] = field(default_factory=list)  # estimated columns
    all_terms: list[str] = field(default_factory=list)  # incl. non-estimable ones
    dropped: dict[str, str] = field(default_factory=dict)
    beta: np.ndarray | None = None
    cov: np.ndarray | None = None
    se: np.ndarray | None = None
    df: np.ndarray | None = None
    waves: list = field(default_factory=list)
    wave_order: dict = field(default_factory=dict)
    arms: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)  # observations per (wave, arm)
    ref_arm: str | None = None
    gamma: float = float("nan")
    sigma2: float = float("nan")
    singletons: bool = False  # every participant observed once
    wald: tuple | None = None  # (term, F, q, denominator df, note) of the omnibus test


def _prepare(scores: pd.DataFrame, arm: str | None):
    """Validate; return the rows with integer codes _w (wave, by order), _a (arm, sorted) and
    _p (participant), the waves in order, their orders, and the arms sorted."""
    cols = ["participant", "wave", "wave_order", "measure", "score"] + ([arm] if arm else [])
    require_columns(scores, cols, "the score table")
    df = scores[cols].copy()
    df["score"] = numeric(df["score"], "score")
    df["wave_order"] = numeric(df["wave_order"], "wave_order")
    check_unique(df, ["participant", "wave", "measure"], "the score table")
    orders = df.drop_duplicates(["wave", "wave_order"])
    if orders["wave"].duplicated().any():
        bad = sorted(set(orders.loc[orders["wave"].duplicated(), "wave"]))
        raise AnalysisError(
            f"wave(s) {bad} have more than one wave_order; each wave needs a single order"
        )
    if orders["wave_order"].duplicated().any():
        raise AnalysisError("two waves share the same wave_order; orders must be distinct")
    orders = orders.sort_values("wave_order", kind="mergesort")
    waves = orders["wave"].tolist()
    wave_order = {
        w: (int(o) if float(o).is_integer() else float(o))
        for w, o in zip(orders["wave"], orders["wave_order"], strict=True)
    }
    df["_w"] = pd.Categorical(df["wave"], categories=waves).codes
    df["_p"] = pd.factorize(df["participant"], sort=True)[0]
    arms: list[str] = []
    df["_a"] = 0
    if arm:
        if df[arm].isna().any():
            raise AnalysisError(f"{arm} is missing for some participants")
        codes, uniques = pd.factorize(df[arm].astype(str), sort=True)
        arms = [str(a) for a in uniques]
        df["_a"] = codes
        pairs = df[["_p", "_a"]].drop_duplicates()
        if pairs["_p"].duplicated().any():
            who = df.loc[df["_p"].isin(pairs.loc[pairs["_p"].duplicated(), "_p"]), "participant"]
            raise AnalysisError(
                f"participant(s) {unique_in_order(who)[:5]} have more than one {arm}"
            )
    return df, waves, wave_order, arms


def _fits(scores, measures, arm):
    """Yield (measure, _Fit or None) for every requested measure."""
    cols = ["participant", "wave", "wave_order", "measure", "score"] + ([arm] if arm else [])
    require_columns(scores, cols, "the score table")
    fast = measure_rows(scores, arm)
    if fast is not None:
        by_measure, in_order, waves, wave_order, all_arms = fast
    else:
        by_measure, in_order, waves, wave_order, all_arms = _pandas_rows(scores, arm)
    ref_arm = choose_reference_arm(all_arms) if len(all_arms) >= 2 else None
    wanted = list(measures) if measures is not None else in_order
    for m in wanted:
        data = by_measure.get(m)
        if data is None:
            yield m, None
            continue
        yield m, _fit_measure(data, waves, wave_order, all_arms if ref_arm else [], ref_arm)


def _pandas_rows(scores, arm):
    """:func:`~tracker.analysis._trajectory_rows.measure_rows` the pandas way (and its errors)."""
    df, waves, wave_order, all_arms = _prepare(scores, arm)
    observed = df[df["score"].notna()]
    by_measure = {}
    for m, data in observed.groupby("measure", sort=False):
        # a canonical row order makes the floating-point sums, and so the fit to the last
        # digit, independent of how the caller's rows happen to be ordered
        by_measure[m] = data.iloc[np.lexsort((data["_w"].to_numpy(), data["_p"].to_numpy()))]
    return by_measure, unique_in_order(df["measure"]), waves, wave_order, all_arms


def _fit_measure(data, all_waves, wave_order, all_arms, ref_arm) -> _Fit:
    fit = _Fit()
    present_w, wave = unique_inverse(data["_w"].to_numpy())
    fit.waves = [all_waves[c] for c in present_w]
    fit.wave_order = {w: wave_order[w] for w in fit.waves}
    present_a, arm_codes = unique_inverse(data["_a"].to_numpy())
    if all_arms and len(present_a) >= 2:
        fit.arms = [all_arms[c] for c in present_a]
        fit.ref_arm = ref_arm if ref_arm in fit.arms else choose_reference_arm(fit.arms)
    n_arms = max(len(fit.arms), 1)
    cells = np.bincount(wave * n_arms + (arm_codes if fit.arms else 0),
                        minlength=len(fit.waves) * n_arms)  # fmt: skip
    fit.counts = {
        (w, a): int(cells[i * n_arms + j])
        for i, w in enumerate(fit.waves)
        for j, a in enumerate(fit.arms or ["all"])
    }

    columns: dict[str, np.ndarray] = {"Intercept": np.ones(len(data))}
    for i, w in enumerate(fit.waves[1:], start=1):
        columns[f"wave[{w}]"] = (wave == i).astype(np.float64)
    if fit.arms:
        others = [(j, a) for j, a in enumerate(fit.arms) if a != fit.ref_arm]
        for j, a in others:
            columns[f"arm[{a}]"] = (arm_codes == j).astype(np.float64)
        for i, w in enumerate(fit.waves[1:], start=1):
            for j, a in others:
                columns[f"wave[{w}]:arm[{a}]"] = ((wave == i) & (arm_codes == j)).astype(np.float64)
    fit.all_terms = list(columns)
    X = np.column_stack(list(columns.values()))
    keep = estimable_columns(X)
    for j, name in enumerate(fit.all_terms):
        if j not in keep:
            fit.dropped[name] = (
                "not estimable: a wave x arm cell has no observations"
                if ":" in name or "[" in name
                else "not estimable"
            )
    fit.terms = [fit.all_terms[j] for j in keep]
    X = X[:, keep]

    y = data["score"].to_numpy(dtype=np.float64)
    uniq, codes = unique_inverse(data["_p"].to_numpy())
    n_obs, p = X.shape
    n_groups = len(uniq)
    if n_groups < 2:
        fit.error = "fewer than 2 participants: mixed model not fitted"
        return fit
    if n_obs <= p:
        fit.error = f"too few observations ({n_obs}) for {p} fixed effects"
        return fit
    try:
        fit.beta, fit.cov, fit.gamma, fit.sigma2 = reml_random_intercept(y, X, codes)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        fit.error = f"model fit failed: {exc}"
        return fit
    fit.se = np.sqrt(np.clip(np.diag(fit.cov), 0.0, None))
    invariant = within_invariant(X, codes)  # shared by both df rules
    fit.df = containment_df(X, codes, n_groups, invariant)
    fit.singletons = n_obs == n_groups
    fit.wald = _omnibus(fit, X, codes, n_groups, invariant)
    return fit


def _omnibus(fit: _Fit, X: np.ndarray, codes: np.ndarray, n_groups: int, invariant=None):
    """Wald F that all wave x arm coefficients (wave ones without arms) are zero."""
    if fit.arms:
        name, picked = WALD_INTERACTION, [j for j, t in enumerate(fit.terms) if ":" in t]
        wanted = [t for t in fit.all_terms if ":" in t]
    else:
        name, picked = WALD_WAVE, [j for j, t in enumerate(fit.terms) if t.startswith("wave[")]
        wanted = [t for t in fit.all_terms if t.startswith("wave[")]
    if not wanted:
        return None  # a single wave: nothing to test
    if not picked:
        return name, np.nan, 0, np.nan, "no estimable coefficient to test"
    kind = ["wave:arm" if ":" in t else t.split("[")[0] for t in fit.terms]
    df2 = term_df(X, codes, n_groups, kind, invariant)[kind[picked[0]]]
    if not df2 > 0:
        return name, np.nan, len(picked), df2, "no degrees of freedom left for an F test"
    b = fit.beta[picked]
    V = fit.cov[np.ix_(picked, picked)]
    try:
        F = float(b @ np.linalg.solve(V, b)) / len(picked)
    except np.linalg.LinAlgError:
        return name, np.nan, len(picked), df2, "singular covariance of the tested coefficients"
    if not np.isfinite(F):
        return name, np.nan, len(picked), df2, "F statistic not finite"
    return name, F, len(picked), df2, ""
