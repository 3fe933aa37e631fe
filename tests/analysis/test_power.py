"""Noncentral-t power and sample sizes against R ``pwr::pwr.t.test`` (tests/data/models/reference.R
writes its values to reference.csv) and statsmodels ``TTestPower`` / ``TTestIndPower``; the
planning records on a small study worked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.analysis.change import paired_change
from tracker.analysis.compare import compare_arms
from tracker.analysis.power import (
    COLUMNS,
    n_paired,
    n_two_arm_ancova,
    plan_next_study,
    power_paired,
    power_two_sample,
)
from tracker.errors import AnalysisError

DATA = Path(__file__).resolve().parents[1] / "data" / "models"
EFFECTS = [0.2, 0.35, 0.5, 0.8, 1.2, -0.5]
SPEC = ["measure", "design", "effect", "effect_kind", "r_pre_post", "alpha", "power", "n_per_arm",
        "n_total", "attrition", "n_to_enrol"]  # fmt: skip


@pytest.fixture(scope="module")
def ref() -> dict[str, float]:
    table = pd.read_csv(DATA / "reference.csv", na_values=["NA"])
    return dict(zip(table["key"], table["value"].astype(float), strict=True))


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("target", [0.8, 0.9])
@pytest.mark.parametrize("d", EFFECTS)
def test_sample_sizes_match_pwr(d, target, alpha, ref):
    # R: pwr.t.test(d = |d|, power = target, sig.level = alpha, type = ...)$n, fractional; ours is its ceiling
    n_r = ref[f"pwr.paired.{d:g}.{target:g}.{alpha:g}.n"]
    assert n_paired(d, target, alpha) == math.ceil(n_r)
    n_r2 = ref[f"pwr.two.sample.{d:g}.{target:g}.{alpha:g}.n"]
    assert n_two_arm_ancova(d, 0.0, target, alpha) == math.ceil(
        n_r2
    )  # r = 0: the plain two-sample test


@pytest.mark.parametrize("n", [5, 12, 40])
def test_power_matches_pwr(n, ref):
    # R: pwr.t.test(n = n, d = 0.6, sig.level = 0.05, type = "paired" / "two.sample")$power
    assert float(power_paired(0.6, n)) == pytest.approx(ref[f"pwr.paired.n{n}.power"], rel=1e-9)
    assert float(power_two_sample(0.6, n)) == pytest.approx(
        ref[f"pwr.two.sample.n{n}.power"], rel=1e-9
    )


@pytest.mark.parametrize("d", EFFECTS)
def test_sample_sizes_match_statsmodels(d):
    from statsmodels.stats.power import TTestIndPower, TTestPower

    for target in (0.8, 0.9, 0.95):
        n_sm = TTestPower().solve_power(
            effect_size=abs(d), power=target, alpha=0.05, alternative="two-sided"
        )
        assert n_paired(d, target) == math.ceil(n_sm)
        assert float(power_paired(d, 17)) == pytest.approx(
            TTestPower().power(effect_size=abs(d), nobs=17, alpha=0.05), rel=1e-9
        )
        r = 0.6
        delta = abs(d) / math.sqrt(
            1 - r * r
        )  # Borm et al. (2007): the ANCOVA's effect on the t test scale
        n_ind = TTestIndPower().solve_power(effect_size=delta, power=target, alpha=0.05, ratio=1.0)
        assert n_two_arm_ancova(d, r, target) == math.ceil(n_ind)


def test_ancova_design_factor_shrinks_n_by_one_minus_r_squared():
    # Borm et al. (2007): n_ANCOVA ~ (1 - r^2) n_t-test; with r = 0.7 about half (0.51)
    plain = n_two_arm_ancova(0.3, 0.0)
    adjusted = n_two_arm_ancova(0.3, 0.7)
    assert adjusted / plain == pytest.approx(0.51, abs=0.01)


def _study() -> pd.DataFrame:
    """Two arms, 12 participants each, one measure, with one participant lost at post per arm."""
    rng = np.random.default_rng(5)
    rows = []
    for arm, shift in (("intervention", 4.0), ("control", 0.5)):
        for i in range(12):
            pre = 20 + rng.normal(0, 5)
            post = pre + shift + rng.normal(0, 3)
            code = f"{arm[0].upper()}{i:02d}"
            rows.append((code, arm, "baseline", "pss10", pre))
            if i != 0:
                rows.append((code, arm, "post", "pss10", post))
    return pd.DataFrame(rows, columns=["participant", "arm", "wave", "measure", "score"])


def test_plan_records_by_hand():
    scores = _study()
    out = plan_next_study(scores, "baseline", "post")
    assert list(out.columns) == SPEC + ["note"] and list(COLUMNS) == SPEC
    assert out["design"].tolist() == ["paired", "two_arm_ancova"]
    paired, ancova = out.iloc[0], out.iloc[1]
    change = (
        paired_change(scores, "baseline", "post", by="arm").set_index("group").loc["intervention"]
    )
    assert paired["effect"] == change["cohen_dz"] and paired["effect_kind"] == "observed"
    assert paired["r_pre_post"] == change["r_pre_post"]
    assert paired["n_per_arm"] == paired["n_total"] == n_paired(change["cohen_dz"])
    assert paired["attrition"] == pytest.approx(2 / 24)
    assert paired["n_to_enrol"] == math.ceil(paired["n_total"] / (1 - 2 / 24))
    d_ppc = compare_arms(scores, "baseline", "post").iloc[0]["d_ppc"]
    assert ancova["effect"] == d_ppc
    wide = scores.pivot_table(index=["participant", "arm"], columns="wave", values="score").dropna()
    centred = wide.groupby(level="arm").transform(lambda s: s - s.mean())
    r = (centred["baseline"] * centred["post"]).sum() / np.sqrt(
        (centred["baseline"] ** 2).sum() * (centred["post"] ** 2).sum()
    )
    assert ancova["r_pre_post"] == pytest.approx(r, rel=1e-12)
    assert (
        ancova["n_per_arm"] == n_two_arm_ancova(d_ppc, r)
        and ancova["n_total"] == 2 * ancova["n_per_arm"]
    )
    assert (out["note"] == "").all()


def test_safeguard_uses_the_bound_nearer_zero_and_numbers_and_fractions():
    scores = _study()
    out = plan_next_study(
        scores, "baseline", "post", effect="ci_low", attrition=0.2, power=0.9, alpha=0.01
    )
    change = (
        paired_change(scores, "baseline", "post", by="arm").set_index("group").loc["intervention"]
    )
    paired = out.iloc[0]
    assert change["dz_ci_low"] > 0 and paired["effect"] == change["dz_ci_low"]
    assert paired["effect_kind"] == "ci_low" and paired["n_per_arm"] == n_paired(
        change["dz_ci_low"], 0.9, 0.01
    )
    assert paired["n_to_enrol"] == math.ceil(paired["n_total"] / 0.8 - 1e-9)
    given = plan_next_study(scores, "baseline", "post", effect="0.5", attrition="0.2")
    assert given["effect"].tolist() == [0.5, 0.5] and (given["effect_kind"] == "given").all()
    assert given.iloc[0]["n_per_arm"] == n_paired(0.5)
    assert given.iloc[1]["n_per_arm"] == n_two_arm_ancova(0.5, out.iloc[1]["r_pre_post"])
    # 100 / (1 - 0.2) is 125.00000000000001 in floating point; 125 participants are enough
    assert math.ceil(100 / (1 - 0.2) - 1e-9) == 125


def test_a_ci_including_zero_has_no_safeguard_effect():
    scores = _study()
    scores.loc[(scores["arm"] == "intervention") & (scores["wave"] == "post"), "score"] -= 3.6
    out = plan_next_study(scores, "baseline", "post", effect="ci_low")
    paired = out.iloc[0]
    assert pd.isna(paired["n_per_arm"]) and math.isnan(paired["effect"])
    assert paired["note"] == "the effect's 95 % CI includes 0: no safeguard effect to plan for"


def test_one_arm_plans_paired_and_needs_a_number_for_ancova():
    scores = _study()
    scores = scores[scores["arm"] == "intervention"]
    out = plan_next_study(scores, "baseline", "post")
    assert not pd.isna(out.iloc[0]["n_per_arm"])
    assert pd.isna(out.iloc[1]["n_per_arm"])
    assert out.iloc[1]["note"] == "the study has one arm: no d_ppc observed; give --effect NUMBER"
    given = plan_next_study(scores, "baseline", "post", effect=0.4)
    assert given.iloc[1]["n_per_arm"] == n_two_arm_ancova(0.4, given.iloc[1]["r_pre_post"])


def test_bad_options_are_explained():
    scores = _study()
    with pytest.raises(
        AnalysisError, match="effect must be observed, ci_low or a number, not 'big'"
    ):
        plan_next_study(scores, "baseline", "post", effect="big")
    with pytest.raises(AnalysisError, match="non-zero number"):
        plan_next_study(scores, "baseline", "post", effect=0)
    with pytest.raises(AnalysisError, match=r"attrition must be a fraction in \[0, 1\)"):
        plan_next_study(scores, "baseline", "post", attrition=1.0)
    with pytest.raises(AnalysisError, match="power must be a number between 0 and 1"):
        plan_next_study(scores, "baseline", "post", power=80)
