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

The bootstrap is vectorised (:mod:`tracker.resampling`): no Python loop
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

from tracker.analysis._common import (
    check_unique,
    frame,
    join_notes,
    numeric,
    require_columns,
    unique_in_order,
)
from tracker.analysis._mediation_model import MIN_VALID, TOTAL, _fit_models, fit_mediation
from tracker.analysis.compare import choose_reference_arm
from tracker.errors import AnalysisError
from tracker.resampling import (
    CONFIDENCE,
    DEFAULT_BOOT,
    DEFAULT_SEED,
    bootstrap_indirect,
    bootstrap_models,
    resample_counts,
)

COLUMNS = (
    "x", "mediator", "y", "wave", "n",
    "a", "a_se", "a_p", "b", "b_se", "b_p",
    "c", "c_p", "c_prime", "c_prime_p",
    "indirect", "indirect_ci_low", "indirect_ci_high", "indirect_std",
    "boot", "seed",
)  # fmt: skip


__all__ = [
    "COLUMNS", "CONFIDENCE", "DEFAULT_BOOT", "DEFAULT_SEED", "MIN_VALID", "TOTAL", "bootstrap_indirect",
    "bootstrap_models", "fit_mediation", "mediation", "mediation_arms", "resample_counts",
]  # fmt: skip


# -- on long score tables --------------------------------------------------------------------


def _check_options(boot: int, seed: int) -> None:
    if isinstance(boot, bool) or not isinstance(boot, int | np.integer) or boot < 1:
        raise AnalysisError(
            f"the number of bootstrap resamples must be a positive integer, not {boot!r}"
        )
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
            raise AnalysisError(
                f"{name!r} is both a mediator and {role}; a measure can play one part in a model"
            )


def _wide(scores: pd.DataFrame, wave: str, measures: list[str]) -> pd.DataFrame:
    at = scores[(scores["wave"] == wave) & scores["measure"].isin(measures)]
    wide = at.pivot(index="participant", columns="measure", values="score")
    return wide.reindex(columns=measures)


def _records(rows: list[dict]) -> pd.DataFrame:
    return frame(rows, COLUMNS, strings=("x", "mediator", "y", "wave"), ints=("n", "boot", "seed"))


def _model_rows(
    fit: dict, *, x: str, mediators: list[str], y: str, wave: str, boot: int, seed: int
) -> list[dict]:
    names = mediators + ([TOTAL] if len(mediators) > 1 else [])
    return [
        {
            "x": x,
            "mediator": name,
            "y": y,
            "wave": wave,
            "n": fit["n"],
            **path,
            "boot": boot,
            "seed": seed,
            "note": join_notes(fit["note"], path["note"]),
        }
        for name, path in zip(names, fit["paths"], strict=True)
    ]


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


def mediation(
    scores: pd.DataFrame,
    *,
    x,
    mediators,
    y,
    wave: str,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    bootstrap=None,
) -> pd.DataFrame:
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
    bootstrap : callable, optional
        Runs the bootstrap jobs: ``bootstrap(jobs, boot=, seed=)`` with ``jobs`` a list
        of ``(raw, models)`` returns, per job, ``tracker.resampling.bootstrap_models(raw,
        models, boot=boot, seed=seed)``. Default: in this process, one after the other;
        the report runs them in its worker processes (the same values).

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
    fits = _fit_models(
        wide, specs, boot=boot, seed=seed, standardise="complete", bootstrap=bootstrap
    )
    rows = []
    for spec, fit in zip(specs, fits, strict=True):
        _explain_absent(fit, [spec["x"], *ms, spec["y"]], absent)
        rows.extend(
            _model_rows(
                fit, x=spec["x"], mediators=ms, y=spec["y"], wave=wave, boot=boot, seed=seed
            )
        )
    return _records(rows)


def mediation_arms(
    scores: pd.DataFrame,
    *,
    pre: str,
    post: str,
    mediators,
    y,
    arm: str = "arm",
    reference_arm: str | None = None,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    bootstrap=None,
) -> pd.DataFrame:
    """The intervention form: ANCOVA mediation of the arm's effect on Y at ``post`` (Valente & MacKinnon 2017).

    X = 1 for the compared arm and 0 for the reference arm (as in
    :func:`tracker.analysis.compare_arms`: "control", else the first arm
    alphabetically); the mediators and Y at ``post``; every equation (M_j ~ X,
    Y ~ X + M, Y ~ X) adjusted for the ``pre`` scores of every mediator and of Y.
    Complete cases on all of them. With more than two arms, one model per arm
    against the reference arm, on those two arms' participants; ``x`` is then
    ``"arm:NAME"``, with two arms simply ``"arm"``. ``wave`` is ``post``, the wave of M and
    Y. ``indirect_std`` is partially standardised, indirect / sd(Y at post). Otherwise
    the columns, and ``bootstrap``, are those of :func:`mediation`.
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
        raise AnalysisError(
            f"participant(s) {list(per.index[per > 1][:5])} have more than one {arm}"
        )
    arms = sorted(unique_in_order(df[arm]))
    if len(arms) < 2:
        found = f"only {arms[0]!r}" if arms else "none"
        raise AnalysisError(
            f"the intervention form of the mediation model compares arms; found {found}"
        )
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
        specs = [
            {"x": "_x", "ms": ms, "y": yv, "covs": [f"{m}@pre" for m in ms] + [f"{yv}@pre"]}
            for yv in ys
        ]
        fits = _fit_models(
            two, specs, boot=boot, seed=seed, standardise="partial", bootstrap=bootstrap
        )
        for spec, fit in zip(specs, fits, strict=True):
            _explain_absent(fit, [*ms, spec["y"]], absent)
            rows.extend(
                _model_rows(
                    fit, x=label, mediators=ms, y=spec["y"], wave=post, boot=boot, seed=seed
                )
            )
    return _records(rows)
