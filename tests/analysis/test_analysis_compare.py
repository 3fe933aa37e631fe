"""compare_arms() against R lm / anova / car::Anova and Morris (2008) on MASS::anorexia."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracker.analysis import compare_arms
from tracker.analysis.compare import choose_reference_arm, morris_dppc2
from tracker.errors import AnalysisError

SPEC = [
    "measure", "arm", "reference_arm", "n", "adj_diff", "ci_low", "ci_high", "t", "p",
    "partial_eta_sq", "d_ppc", "d_ppc_ci_low", "d_ppc_ci_high", "note",
]  # fmt: skip
CLOSED_FORM = SPEC[3:-1]


@pytest.fixture(scope="module")
def anorexia(data_dir, h):
    # Cont is relabelled "control" in reference.R, so it is the reference arm by the rule
    return h.paired_long(pd.read_csv(data_dir / "anorexia.csv"), "Prewt", "Postwt", "weight",
                         extra=("arm",))  # fmt: skip


@pytest.mark.parametrize("case", ["three_arm", "two_arm"])
def test_anorexia_matches_r(anorexia, ref, h, case):
    # R: fit <- lm(Postwt ~ Prewt + arm) (arm releveled to "control"); summary/confint for the
    # arm rows; partial eta^2 = SS_arm / (SS_arm + SS_res) from anova(fit) (arm after Prewt),
    # equal to car::Anova(fit, type = 2); d_ppc2 and its CI by Morris (2008) eq. 8, 10, 25.
    data = anorexia if case == "three_arm" else anorexia[anorexia["arm"].isin(["CBT", "control"])]
    out = compare_arms(data, "pre", "post")
    assert list(out.columns) == SPEC
    expected = pd.DataFrame(ref["ancova"][case])
    assert out["arm"].tolist() == expected["arm"].tolist()
    assert (out["reference_arm"] == "control").all() and (out["measure"] == "weight").all()
    for col in CLOSED_FORM:
        h.assert_close(out[col], expected[col], rtol=1e-9, what=col)
    assert np.allclose(expected["ss_arm_type2_car"], expected["ss_arm_sequential"], rtol=1e-12)
    assert (out["note"] == "").all()


def test_morris_variance_formula_by_hand():
    # Morris (2008) eq. 25 written out for a small example (rho pooled within groups)
    pre_t, post_t = np.array([10.0, 12, 9, 14, 11]), np.array([14.0, 15, 11, 18, 13])
    pre_c, post_c = np.array([11.0, 10, 13, 12, 9, 10]), np.array([12.0, 10, 13, 14, 9, 11])
    d, lo, hi, note = morris_dppc2(pre_t, post_t, pre_c, post_c)
    n_t, n_c = 5, 6
    sd = np.sqrt((4 * pre_t.var(ddof=1) + 5 * pre_c.var(ddof=1)) / 9)
    cp = 1 - 3 / (4 * 9 - 1)
    delta = cp * ((post_t.mean() - pre_t.mean()) - (post_c.mean() - pre_c.mean())) / sd
    sp = 4 * np.cov(pre_t, post_t)[0, 1] + 5 * np.cov(pre_c, post_c)[0, 1]
    rho = sp / np.sqrt((4 * pre_t.var(ddof=1) + 5 * pre_c.var(ddof=1))
                       * (4 * post_t.var(ddof=1) + 5 * post_c.var(ddof=1)))  # fmt: skip
    k = (n_t + n_c) / (n_t * n_c)
    var = 2 * cp**2 * (1 - rho) * k * (9 / 7) * (1 + delta**2 / (2 * (1 - rho) * k)) - delta**2
    assert d == pytest.approx(delta, rel=1e-12) and note == ""
    assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * np.sqrt(var), rel=1e-12)


def test_reference_arm_rule():
    assert choose_reference_arm(["waitlist", "intervention", "control"]) == "control"
    assert choose_reference_arm(["waitlist", "intervention"]) == "intervention"
    assert choose_reference_arm(["a", "b"], "b") == "b"
    with pytest.raises(AnalysisError, match="reference arm 'x' not found"):
        choose_reference_arm(["a", "b"], "x")


def test_one_arm_is_an_error(anorexia):
    only = anorexia[anorexia["arm"] == "CBT"].replace({"arm": {"CBT": "intervention"}})
    with pytest.raises(AnalysisError, match="needs at least two arms; found only 'intervention'"):
        compare_arms(only, "pre", "post")


def test_explicit_reference_arm(anorexia, ref, h):
    out = compare_arms(anorexia, "pre", "post", reference_arm="CBT")
    assert out["arm"].tolist() == ["FT", "control"] and (out["reference_arm"] == "CBT").all()
    r3 = {r["arm"]: r for r in ref["ancova"]["three_arm"]}
    # control vs CBT is minus CBT vs control, and FT vs CBT their difference
    h.assert_close(out["adj_diff"].iloc[1], -r3["CBT"]["adj_diff"], rtol=1e-9)
    h.assert_close(out["adj_diff"].iloc[0], r3["FT"]["adj_diff"] - r3["CBT"]["adj_diff"], rtol=1e-9)
    h.assert_close(out["partial_eta_sq"], [r3["FT"]["partial_eta_sq"]] * 2, rtol=1e-9)


def scores(rows):
    return pd.DataFrame(rows, columns=["participant", "wave", "measure", "score", "arm"])


def test_degenerate_measures_get_nulls_and_notes(h):
    rows = []
    for i in range(8):
        arm = "control" if i < 4 else "intervention"
        rows += [
            (f"p{i}", "pre", "const_pre", 5.0, arm),
            (f"p{i}", "post", "const_pre", i + 0.5 * (i > 3), arm),
        ]
        rows += [(f"p{i}", "pre", "pre_only", float(i), arm)]
        if arm == "control":  # intervention never answered "ctrl_only"
            rows += [
                (f"p{i}", "pre", "ctrl_only", float(i), arm),
                (f"p{i}", "post", "ctrl_only", i + 1.0, arm),
            ]
        rows += [
            (f"p{i}", "pre", "fine", float(i % 3), arm),
            (f"p{i}", "post", "fine", i % 3 + (i > 3) + 0.1 * i, arm),
        ]
    out = compare_arms(scores(rows), "pre", "post")
    h.assert_nulls_explained(out)
    out = out.set_index("measure")
    assert out.loc["fine", "note"] == "" and np.isfinite(out.loc["fine", "d_ppc"])
    assert "ANCOVA not estimable" in out.loc["const_pre", "note"]
    assert "zero variance of pre scores" in out.loc["const_pre", "note"]
    assert out.loc["pre_only", "n"] == 0
    assert out.loc["pre_only", "note"] == "measure not recorded at wave post"
    assert "no complete cases in arm intervention" in out.loc["ctrl_only", "note"]
    assert np.isnan(out.loc["ctrl_only", "adj_diff"])


def test_tiny_arms():
    rows = []
    for i, arm in enumerate(["control", "control", "intervention"]):
        rows += [(f"p{i}", "pre", "m", float(i), arm), (f"p{i}", "post", "m", i + 1.0, arm)]
    out = compare_arms(scores(rows), "pre", "post").iloc[0]
    assert out["n"] == 3 and np.isnan(out["adj_diff"]) and np.isnan(out["d_ppc"])
    assert (
        "too few complete cases (3)" in out["note"] and "at least 2 complete cases" in out["note"]
    )


def test_participant_with_two_arms_is_an_error():
    rows = [
        ("p1", "pre", "m", 1.0, "a"),
        ("p1", "post", "m", 2.0, "b"),
        ("p2", "pre", "m", 1.0, "a"),
    ]
    with pytest.raises(AnalysisError, match="more than one arm"):
        compare_arms(scores(rows), "pre", "post")
