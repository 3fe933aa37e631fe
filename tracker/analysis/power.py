"""Sample size for the next study from this one (pure: numpy, pandas, scipy.special).

Two designs, both two-sided t tests with exact noncentral-t power:

* ``paired`` (one arm, pre/post): power(n) = P(|T| > t_{1-alpha/2, n-1}) with T
  noncentral t on n - 1 df and noncentrality dz sqrt(n) (Cohen 1988; R
  ``pwr::pwr.t.test(type = "paired")``);
* ``two_arm_ancova`` (two equal arms, post adjusted for pre): a two-sample t test
  on 2n - 2 df with noncentrality delta sqrt(n / 2) for the effect
  delta = d / sqrt(1 - r^2), d the standardised difference and r the pre-post
  correlation: adjusting for the pretest shrinks the error variance by the
  design factor 1 - r^2 (Borm, Fransen & Lemmens 2007), so the ANCOVA needs
  (1 - r^2) times the t test's sample size.

The n is the smallest integer whose power reaches the target. Effects are the
observed ones (dz of the intervention arm's change; Morris's d_ppc of the arm
comparison), or, for safeguard power (Perugini, Gallucci & Costantini 2014),
the bound of their 95 % CI nearer zero, or a number. Participants lost between
the waves are added back: n_to_enrol = ceil(n_total / (1 - attrition)).

References
----------
Borm, G. F., Fransen, J., & Lemmens, W. A. J. G. (2007). A simple sample size
formula for analysis of covariance in randomized clinical trials. Journal of
Clinical Epidemiology, 60(12), 1234-1238.
Perugini, M., Gallucci, M., & Costantini, G. (2014). Safeguard power as a
protection against imprecise power estimates. Perspectives on Psychological
Science, 9(3), 319-332.
Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences (2nd ed.).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tracker.analysis._common import frame, join_notes, numeric, require_columns, unique_in_order
from tracker.analysis._dist import nct_cdf, t_ppf
from tracker.analysis._paired import paired_table
from tracker.analysis.change import paired_change
from tracker.analysis.compare import choose_reference_arm, compare_arms
from tracker.errors import AnalysisError

COLUMNS = (
    "measure", "design", "effect", "effect_kind", "r_pre_post", "alpha", "power",
    "n_per_arm", "n_total", "attrition", "n_to_enrol",
)  # fmt: skip
DESIGNS = ("paired", "two_arm_ancova")
#: no design is searched beyond this many participants per arm
MAX_N = 10_000_000


def power_paired(dz: float, n, alpha: float = 0.05):
    """Two-sided power of the paired (one-sample) t test: n pairs, effect dz.

    P(T > t_c) + P(T < -t_c), T ~ noncentral t(df = n - 1, ncp = dz sqrt(n)),
    t_c = t_{1 - alpha/2, n - 1}; as R ``pwr.t.test(n, d, type = "paired")``.
    """
    n = np.asarray(n, dtype=float)
    return _two_sided(n - 1.0, dz * np.sqrt(n), alpha)


def power_two_sample(d: float, n_per_arm, alpha: float = 0.05):
    """Two-sided power of the two-sample t test with ``n_per_arm`` in each of two arms, effect d.

    T ~ noncentral t(df = 2n - 2, ncp = d sqrt(n / 2)); as R
    ``pwr.t.test(n, d, type = "two.sample")`` and statsmodels ``TTestIndPower``.
    """
    n = np.asarray(n_per_arm, dtype=float)
    return _two_sided(2.0 * n - 2.0, d * np.sqrt(n / 2.0), alpha)


def _two_sided(df, ncp, alpha):
    crit = t_ppf(1.0 - alpha / 2.0, df)
    return (1.0 - nct_cdf(crit, df, ncp)) + nct_cdf(-crit, df, ncp)


def smallest_n(power_of, target: float, n_min: int = 2) -> int | None:
    """The smallest integer n >= n_min with power_of(n) >= target (power rises with n); None past MAX_N."""
    if power_of(n_min) >= target:
        return n_min
    lo, hi = n_min, n_min * 2
    while power_of(hi) < target:
        lo, hi = hi, hi * 2
        if lo > MAX_N:
            return None
    while hi - lo > 1:  # power(lo) < target <= power(hi)
        mid = (lo + hi) // 2
        if power_of(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi if hi <= MAX_N else None


def n_paired(dz: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Smallest number of pairs for the paired t test to reach ``power`` (at least 2)."""
    return smallest_n(lambda n: float(power_paired(abs(dz), n, alpha)), power)


def n_two_arm_ancova(d: float, r: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Smallest n per arm for the ANCOVA: the two-sample t test for d / sqrt(1 - r^2) (Borm et al. 2007)."""
    delta = abs(d) / math.sqrt(1.0 - r * r)
    return smallest_n(lambda n: float(power_two_sample(delta, n, alpha)), power)


def pooled_within_r(pre: np.ndarray, post: np.ndarray, groups: np.ndarray) -> float:
    """Pre-post correlation pooled within groups: within-group cross-products and sums of squares summed."""
    sp = ss_pre = ss_post = 0.0
    for g in unique_in_order(pd.Series(groups)):
        mask = groups == g
        if mask.sum() < 2:
            continue
        x, y = pre[mask] - pre[mask].mean(), post[mask] - post[mask].mean()
        sp += float(x @ y)
        ss_pre += float(x @ x)
        ss_post += float(y @ y)
    if not (ss_pre > 0 and ss_post > 0):
        return float("nan")
    return sp / math.sqrt(ss_pre * ss_post)


def planning_arm(arms: list[str], reference: str | None) -> str:
    """The arm whose effect is planned for: the only arm; else "intervention"; else the first other arm."""
    if len(arms) == 1:
        return arms[0]
    others = [a for a in sorted(arms) if a != reference]
    return "intervention" if "intervention" in others else others[0]


def _parse_effect(effect) -> tuple[str, float | None]:
    if isinstance(effect, str) and effect in ("observed", "ci_low"):
        return effect, None
    try:
        value = float(effect)
    except (TypeError, ValueError):
        raise AnalysisError(
            f"the effect must be observed, ci_low or a number, not {effect!r}"
        ) from None
    if not math.isfinite(value) or value == 0:
        raise AnalysisError(f"a planned effect must be a non-zero number, not {effect!r}")
    return "given", value


def _parse_attrition(attrition) -> float | None:
    if isinstance(attrition, str) and attrition == "observed":
        return None
    try:
        value = float(attrition)
    except (TypeError, ValueError):
        raise AnalysisError(
            f"attrition must be observed or a fraction in [0, 1), not {attrition!r}"
        ) from None
    if not 0 <= value < 1:
        raise AnalysisError(
            f"attrition must be a fraction in [0, 1) (0.2 for 20 %), not {attrition!r}"
        )
    return value


def _nearer_zero(low: float, high: float) -> tuple[float, str]:
    if not (math.isfinite(low) and math.isfinite(high)):
        return float("nan"), "no CI of the observed effect"
    if low > 0:
        return low, ""
    if high < 0:
        return high, ""
    return float("nan"), "the effect's 95 % CI includes 0: no safeguard effect to plan for"


def plan_next_study(
    scores: pd.DataFrame,
    pre: str,
    post: str,
    *,
    arm: str = "arm",
    measures: list[str] | None = None,
    reference_arm: str | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    effect="observed",
    attrition="observed",
) -> pd.DataFrame:
    """Sample sizes for a paired and a two-arm ANCOVA study of each measure, from this study's data.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table ``participant, wave, measure, score`` and the ``arm`` column.
    pre, post : str
        The waves; the effects are those of ``pre`` to ``post``.
    measures : list of str, optional
        Measures in output order (default: every measure, in order of appearance).
    reference_arm : str, optional
        As in :func:`tracker.analysis.compare_arms`.
    power, alpha : float
        Target power and two-sided alpha, both in (0, 1).
    effect : "observed", "ci_low" or a number
        ``observed``: the intervention arm's Cohen's dz (paired) and Morris's d_ppc
        of that arm against the reference arm (ANCOVA); ``ci_low``: the bound of that
        effect's 95 % CI nearer zero (safeguard power), null with a note when the CI
        includes 0; a number: dz for ``paired`` and d for ``two_arm_ancova``.
    attrition : "observed" or a fraction in [0, 1)
        ``observed``: per measure, the fraction of the participants with a ``pre``
        score (every arm) who have none at ``post``.

    Returns
    -------
    pandas.DataFrame
        Two rows per measure (``design`` = ``paired``, ``two_arm_ancova``) with:

        - ``effect`` : the dz (paired) or d (ANCOVA) planned for, sign kept;
          ``effect_kind``: observed, ci_low or given.
        - ``r_pre_post`` : paired: the planning arm's pre-post correlation (reported,
          dz already holds it); ANCOVA: the pre-post correlation pooled within the
          planning and reference arms (within one arm when the study has one), used in
          d / sqrt(1 - r^2).
        - ``alpha``, ``power``: as given.
        - ``n_per_arm`` : paired: pairs; ANCOVA: per arm (Int64, null when no effect).
        - ``n_total`` : paired: n_per_arm; ANCOVA: 2 n_per_arm.
        - ``attrition``, ``n_to_enrol`` = ceil(n_total / (1 - attrition)).

        The planning arm is the study's only arm, else "intervention", else the first
        non-reference arm alphabetically.
    """
    for name, value in (("power", power), ("alpha", alpha)):
        if not (isinstance(value, int | float) and 0 < value < 1):
            raise AnalysisError(f"{name} must be a number between 0 and 1, not {value!r}")
    kind, given = _parse_effect(effect)
    fixed_attrition = _parse_attrition(attrition)
    if pre == post:
        raise AnalysisError(f"the pre and post waves are both {pre!r}; choose two different waves")
    cols = ["participant", "wave", "measure", "score", arm]
    require_columns(scores, cols, "the score table")
    df = scores.loc[scores["wave"].isin([pre, post]), cols].copy()
    df["score"] = numeric(df["score"], "score")
    df[arm] = df[arm].astype(str)
    # the keys as categoricals: the change, the comparison and the columns below each pair
    # participants by them, and codes are hashed once instead of three times
    keys = ["participant", "measure", arm]
    df = df.astype({c: "category" for c in keys if pd.api.types.is_string_dtype(df[c])})
    order = measures if measures is not None else unique_in_order(df["measure"])
    arms = sorted(unique_in_order(df[arm]))
    if not arms:
        raise AnalysisError(f"no scores at waves {pre!r} and {post!r} to plan from")
    reference = choose_reference_arm(arms, reference_arm) if len(arms) >= 2 else None
    target = planning_arm(arms, reference)

    change = paired_change(df, pre, post, by=arm, adjust="none").set_index(["measure", "group"])
    compared = None
    if len(arms) >= 2:
        two = df[df[arm].isin([target, reference])]
        compared = compare_arms(two, pre, post, arm=arm, reference_arm=reference).set_index(
            "measure"
        )
    columns, groups = _pre_post(df, pre, post, arm)

    rows = []
    for m in order:
        pre_s, post_s = columns(m)
        completers = ~np.isnan(pre_s)
        if fixed_attrition is not None:
            lost, lost_note = fixed_attrition, ""
        elif completers.any():
            lost, lost_note = float(np.mean(np.isnan(post_s[completers]))), ""
        else:
            lost, lost_note = float("nan"), f"no {pre} scores: attrition not observed"
        base = {"measure": m, "alpha": float(alpha), "power": float(power), "attrition": lost}

        # paired: the planning arm's change
        ch = change.loc[(m, target)] if (m, target) in change.index else None
        notes = [lost_note]
        r_paired = float(ch["r_pre_post"]) if ch is not None else float("nan")
        if kind == "given":
            dz = given
        elif ch is None:
            dz = float("nan")
            notes.append(f"no {pre}-{post} pairs in arm {target}")
        elif kind == "observed":
            dz = float(ch["cohen_dz"])
            if not math.isfinite(dz):
                notes.append(f"dz of arm {target} not available ({ch['note'] or 'too few pairs'})")
        else:
            dz, why = _nearer_zero(float(ch["dz_ci_low"]), float(ch["dz_ci_high"]))
            notes.append(why)
        n = n_paired(dz, power, alpha) if math.isfinite(dz) and dz != 0 else None
        if math.isfinite(dz) and dz == 0:
            notes.append("the observed dz is 0: no sample size reaches the power")
        rows.append(_row(base, "paired", dz, kind, r_paired, n, 1, notes))

        # two-arm ANCOVA: d_ppc of the planning arm against the reference arm
        notes = [lost_note]
        keep = ~np.isnan(pre_s) & ~np.isnan(post_s)
        in_pair = keep & (np.isin(groups, [target, reference]) if reference is not None else keep)
        r = pooled_within_r(pre_s[in_pair], post_s[in_pair], groups[in_pair])
        if kind == "given":
            d = given
        elif compared is None:
            d = float("nan")
            notes.append("the study has one arm: no d_ppc observed; give --effect NUMBER")
        elif m not in compared.index:
            d = float("nan")
            notes.append(f"no {pre}-{post} pairs to compare")
        else:
            cmp = compared.loc[m]
            if kind == "observed":
                d = float(cmp["d_ppc"])
                if not math.isfinite(d):
                    notes.append(f"d_ppc not available ({cmp['note'] or 'too few pairs'})")
            else:
                d, why = _nearer_zero(float(cmp["d_ppc_ci_low"]), float(cmp["d_ppc_ci_high"]))
                notes.append(why)
        n = None
        if math.isfinite(d) and d != 0:
            if not math.isfinite(r):
                notes.append("no pre-post correlation (too few pairs or zero variance)")
            elif abs(r) >= 1:
                notes.append("pre and post perfectly correlated: 1 - r^2 is 0")
            else:
                n = n_two_arm_ancova(d, r, power, alpha)
        elif math.isfinite(d):
            notes.append("the observed d_ppc is 0: no sample size reaches the power")
        rows.append(_row(base, "two_arm_ancova", d, kind, r, n, 2, notes))
    return frame(
        rows,
        COLUMNS,
        strings=("measure", "design", "effect_kind"),
        nullable_ints=("n_per_arm", "n_total", "n_to_enrol"),
    )


def _pre_post(df: pd.DataFrame, pre: str, post: str, arm: str):
    """(measure -> (pre, post) columns, each row's arm): one row per participant, sorted.

    From :func:`~tracker.analysis._paired.paired_table` when it takes the table (the
    participants are then those of the pivot below that have a score, in the same
    order), else from a pivot with a row per participant x arm.
    """
    table = paired_table(df, pre, post, arm)
    if table is not None:
        index = {m: j for j, m in enumerate(table.measures)}
        missing = np.full(len(table.values), np.nan)

        def columns(m):
            j = index.get(m)
            return (missing, missing) if j is None else (table.column(j, 0), table.column(j, 1))

        labels = np.array(table.group_labels, dtype=object)
        return columns, labels[table.group_codes]
    wide = df.pivot_table(
        index=["participant", arm],
        columns=["measure", "wave"],
        values="score",
        aggfunc="first",
        dropna=False,
    )
    groups = wide.index.get_level_values(arm).to_numpy()
    return (lambda m: (_column(wide, m, pre), _column(wide, m, post))), groups


def _column(wide: pd.DataFrame, measure: str, wave: str) -> np.ndarray:
    if (measure, wave) in wide.columns:
        return wide[(measure, wave)].to_numpy(dtype=np.float64)
    return np.full(len(wide), np.nan)


def _row(
    base: dict,
    design: str,
    effect: float,
    kind: str,
    r: float,
    n: int | None,
    arms: int,
    notes: list[str],
) -> dict:
    row = {
        **base,
        "design": design,
        "effect": effect,
        "effect_kind": kind,
        "r_pre_post": r,
        "n_per_arm": n,
        "n_total": None,
        "n_to_enrol": None,
    }
    if n is None and math.isfinite(effect) and effect != 0 and not any(notes):
        notes.append(f"more than {MAX_N:,} per arm needed")
    if n is not None:
        row["n_total"] = n * arms
        lost = base["attrition"]
        if math.isfinite(lost):
            # the tolerance keeps 100 / (1 - 0.2) at 125, not 126 (float rounding)
            row["n_to_enrol"] = math.ceil(row["n_total"] / (1.0 - lost) - 1e-9)
    row["note"] = join_notes(*notes)
    return row
