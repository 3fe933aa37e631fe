"""paired_change() against R (t.test, wilcox.test, effectsize) and on degenerate data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tracker.analysis import paired_change
from tracker.analysis.change import dz_confidence_interval, hedges_j, wilcoxon_signed_rank
from tracker.errors import AnalysisError

SPEC = [
    "measure", "group", "n", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff",
    "sd_diff", "ci_low", "ci_high", "t", "df", "p", "p_adj", "wilcoxon_stat", "wilcoxon_p",
    "rank_biserial", "cohen_dz", "dz_ci_low", "dz_ci_high", "d_av", "hedges_gav",
    "r_pre_post", "n_improved", "n_reliably_improved", "n_reliably_worse",
    # beyond the SPEC's fields (issue 16): shares of n and the RCI's SD
    "pct_reliably_improved", "pct_reliably_worse", "rci_sd", "note",
]  # fmt: skip
# Closed-form columns: R's t.test / wilcox.test / sd / cor / the formulas in reference.R.
CLOSED_FORM = [
    "n", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low",
    "ci_high", "t", "df", "p", "wilcoxon_stat", "wilcoxon_p", "rank_biserial", "cohen_dz",
    "d_av", "hedges_gav", "r_pre_post", "n_improved", "n_reliably_improved", "n_reliably_worse",
]  # fmt: skip


def check_against_r(row: pd.Series, expected: dict, h) -> None:
    for col in CLOSED_FORM:
        h.assert_close(row[col], expected[col], rtol=1e-9, what=col)
    # dz CI: effectsize::cohens_d(post, pre, paired = TRUE) and uniroot on pt(t, n-1, ncp).
    # R's noncentral pt() warns "full precision may not have been achieved" here and the two
    # R routes differ by up to 7e-7 relative, so 1e-5 is the honest tolerance.
    for col in ("dz_ci_low", "dz_ci_high"):
        h.assert_close(row[col], expected[col], rtol=1e-5, what=col)
        h.assert_close(row[col], expected[f"{col}_uniroot"], rtol=1e-5, what=col)


@pytest.fixture(scope="module")
def sleep_long(data_dir, h):
    sleep = pd.read_csv(data_dir / "sleep.csv")
    wide = sleep.pivot(index="ID", columns="group", values="extra").reset_index()
    wide["participant"] = "s" + wide["ID"].astype(str)
    return h.paired_long(wide, 1, 2, "extra")


@pytest.fixture(scope="module")
def anorexia_long(data_dir, h):
    return h.paired_long(pd.read_csv(data_dir / "anorexia.csv"), "Prewt", "Postwt", "weight",
                         extra=("arm",))  # fmt: skip


def test_sleep_matches_r(sleep_long, ref, h):
    # R: t.test(x2, x1, paired = TRUE); wilcox.test(round(x2 - x1, 10)) -> V = 45,
    # p = 0.009091 (ties and a zero: normal approximation with continuity correction)
    out = paired_change(sleep_long, "pre", "post", reliability={"extra": 0.8})
    assert list(out.columns) == SPEC
    assert out[["measure", "group"]].values.tolist() == [["extra", "all"]]
    row = out.iloc[0]
    check_against_r(row, ref["sleep"], h)
    assert ref["sleep"]["wilcoxon_method"].endswith("continuity correction")
    h.assert_close(row["p_adj"], ref["sleep"]["p"], rtol=1e-9)  # one measure: nothing to adjust
    assert row["note"] == ""


def test_pairs_are_matched_by_participant_not_row_order(sleep_long):
    shuffled = sleep_long.sample(frac=1.0, random_state=7)
    pre_rows = shuffled[shuffled["wave"] == "pre"]
    assert not pre_rows["participant"].is_monotonic_increasing
    a = paired_change(sleep_long, "pre", "post")
    b = paired_change(shuffled, "pre", "post")
    pd.testing.assert_frame_equal(a, b)


def test_anorexia_by_arm_matches_r(anorexia_long, ref, h):
    # R per arm: t.test(Postwt, Prewt, paired = TRUE), wilcox.test(round(d, 10)),
    # effectsize::cohens_d(Postwt, Prewt, paired = TRUE); RCI with r_xx = 0.9.
    out = paired_change(anorexia_long, "pre", "post", by="arm", reliability={"weight": 0.9})
    assert out["group"].tolist() == ["CBT", "FT", "control"]  # one row per arm, no "all"
    for row in out.itertuples(index=False):
        check_against_r(pd.Series(row._asdict()), ref["anorexia_change"][row.group], h)
    # FT: 17 pairs, no ties, no zeros -> exact p; CBT has ties -> normal approximation
    assert ref["anorexia_change"]["FT"]["wilcoxon_method"] == "Wilcoxon signed rank exact test"
    assert ref["anorexia_change"]["CBT"]["wilcoxon_method"].endswith("continuity correction")


def test_floating_point_ties_are_ties(data_dir, ref, h):
    # 0.3 - 0.1 and 0.2 - 0.0 differ in binary. R's default wilcox.test(post, pre, paired =
    # TRUE) sees no ties and gives the exact p 0.1953; the SPEC rounds d to 10 decimals first,
    # = wilcox.test(round(post - pre, 10)): three tied pairs, normal approximation, p 0.1818.
    ft = pd.read_csv(data_dir / "float_ties.csv")
    assert (ft["post"] - ft["pre"]).nunique() == 8 and (ft["post"] - ft["pre"]).round(
        10
    ).abs().nunique() == 5
    out = paired_change(h.paired_long(ft, "pre", "post", "m"), "pre", "post",
                        reliability={"m": 0.7})  # fmt: skip
    row = out.iloc[0]
    check_against_r(row, ref["float_ties"], h)
    assert ref["float_ties"]["wilcoxon_default_method"] == "Wilcoxon signed rank exact test"
    assert abs(row["wilcoxon_p"] - ref["float_ties"]["wilcoxon_default_p"]) > 0.01


def test_exact_wilcoxon_equals_scipy_exact():
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 12, 30, 49):
        d = rng.permutation(np.arange(1, n + 1)) * rng.choice([-1, 1], n) + rng.normal(0, 1e-3, n)
        v, p, _, note = wilcoxon_signed_rank(d)
        res = stats.wilcoxon(d, method="exact", zero_method="wilcox")
        # scipy's statistic is min(R+, R-); the two-sided p is the same
        assert min(v, n * (n + 1) / 2 - v) == res.statistic
        assert p == pytest.approx(res.pvalue, rel=1e-12) and note == ""


def test_fifty_differences_use_the_normal_approximation():
    d = np.arange(1, 51) * np.where(np.arange(50) % 3 == 0, -1.0, 1.0)
    v, p, _, _ = wilcoxon_signed_rank(d)
    z = (v - 50 * 51 / 4 - 0.5 * np.sign(v - 50 * 51 / 4)) / np.sqrt(50 * 51 * 101 / 24)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)


def test_effect_size_helpers():
    # R: exp(lgamma(4.5) - .5 * log(4.5) - lgamma(4)) = 0.913874891792552 (df = 9);
    # for large df J approaches Hedges' approximation 1 - 3/(4 df - 1)
    assert hedges_j(9) == pytest.approx(0.913874891792552, rel=1e-12)
    assert hedges_j(200) == pytest.approx(1 - 3 / (4 * 200 - 1), rel=1e-5)
    lo, hi = dz_confidence_interval(0.0, 20)
    assert lo == pytest.approx(-hi, rel=1e-10)
    # the CI covers dz with the noncentral-t tail probabilities it was solved for
    lo, hi = dz_confidence_interval(0.8, 15)
    assert stats.nct.cdf(0.8 * np.sqrt(15), 14, lo * np.sqrt(15)) == pytest.approx(0.975)
    assert stats.nct.cdf(0.8 * np.sqrt(15), 14, hi * np.sqrt(15)) == pytest.approx(0.025)


def long(rows):
    return pd.DataFrame(rows, columns=["participant", "wave", "measure", "score"])


def test_degenerate_groups_get_nulls_and_notes(h):
    rows = []
    for i in range(6):  # "flat": every difference 2 -> zero variance in differences
        rows += [(f"p{i}", "pre", "flat", i / 2), (f"p{i}", "post", "flat", i / 2 + 2.0)]
    for i in range(2):  # "two": only 2 pairs
        rows += [(f"p{i}", "pre", "two", 1.0 + i), (f"p{i}", "post", "two", 3.0 * i)]
    for i in range(5):  # "prepost_only": never measured at post
        rows.append((f"p{i}", "pre", "pre_only", float(i)))
    for i in range(5):  # "empty": rows present, all scores missing
        rows += [(f"p{i}", "pre", "empty", np.nan), (f"p{i}", "post", "empty", np.nan)]
    for i in range(4):  # "same": no change at all
        rows += [(f"p{i}", "pre", "same", float(i)), (f"p{i}", "post", "same", float(i))]
    out = paired_change(long(rows), "pre", "post", reliability={"flat": 0.8})
    h.assert_nulls_explained(out)
    out = out.set_index("measure")
    flat = out.loc["flat"]
    assert flat["n"] == 6 and flat["mean_diff"] == 2 and flat["sd_diff"] == 0
    assert np.isnan(flat["t"]) and np.isnan(flat["cohen_dz"]) and np.isnan(flat["ci_low"])
    assert "zero variance in differences" in flat["note"]
    assert flat["wilcoxon_stat"] == 21 and flat["rank_biserial"] == 1  # still defined
    assert flat["n_reliably_improved"] == 6 and flat["n_improved"] == 6
    two = out.loc["two"]
    assert two["n"] == 2 and np.isnan(two["t"]) and np.isnan(two["wilcoxon_p"])
    assert two["note"].startswith("fewer than 3 complete pairs")
    assert np.isfinite(two["mean_diff"]) and np.isfinite(two["sd_diff"])
    assert out.loc["pre_only", "n"] == 0
    assert out.loc["pre_only", "note"] == "measure not recorded at wave post"
    assert out.loc["empty", "note"] == (
        "measure not recorded at wave pre; measure not recorded at wave post"
    )
    same = out.loc["same"]
    assert same["mean_diff"] == 0 and np.isnan(same["wilcoxon_p"]) and same["n_improved"] == 0
    assert "all differences are zero" in same["note"]
    # no reliability given -> reliable-change counts are null (not 0) with a reason
    assert pd.isna(out.loc["two", "n_reliably_improved"])
    assert "no reliability for two" in out.loc["two", "note"]
    assert str(out["n_reliably_improved"].dtype) == "Int64"
    # p_adj: only measures with a p take part (none here has one)
    assert out["p_adj"].isna().all()


def test_direction_and_reliability_bounds():
    rows = []
    for i, (a, b) in enumerate([(10, 2), (10, 9), (10, 11), (10, 1), (12, 12)]):
        rows += [
            (f"p{i}", "pre", "stress", float(a + i)),
            (f"p{i}", "post", "stress", float(b + i)),
        ]
    scores = long(rows)
    out = paired_change(scores, "pre", "post", reliability={"stress": 0.9},
                        higher_is_better={"stress": False}).iloc[0]  # fmt: skip
    assert out["n_improved"] == 3  # lower is better: 3 decreases, 1 increase, 1 no change
    sd_pre = np.std([10, 11, 12, 13, 16], ddof=1)
    rci = (np.array([2, 9, 11, 1, 12]) - 10) / (sd_pre * np.sqrt(2) * np.sqrt(0.1))
    assert out["n_reliably_improved"] == (rci < -1.959964).sum() == 2
    assert out["n_reliably_worse"] == (rci > 1.959964).sum() == 0
    bad = paired_change(scores, "pre", "post", reliability={"stress": 1.0}).iloc[0]
    assert pd.isna(bad["n_reliably_improved"]) and "outside (0, 1)" in bad["note"]


def test_p_adj_is_within_group_across_measures(h):
    rng = np.random.default_rng(0)
    rows = []
    for g in ("a", "b"):
        for i in range(12):
            for m, shift in (("m1", 0.2), ("m2", 1.0), ("m3", 0.0)):
                x = rng.normal()
                rows += [
                    (f"{g}{i}", "pre", m, x, g),
                    (f"{g}{i}", "post", m, x + shift + rng.normal(), g),
                ]
    scores = pd.DataFrame(rows, columns=["participant", "wave", "measure", "score", "cohort"])
    out = paired_change(scores, "pre", "post", by="cohort", adjust="holm")
    from tracker.analysis import adjust_p

    for _, grp in out.groupby("group"):
        h.assert_close(grp["p_adj"], adjust_p(grp["p"].to_numpy(), "holm"), rtol=1e-15)
    assert len(out) == 6


def test_input_errors():
    rows = [("p1", "pre", "m", 1.0), ("p1", "pre", "m", 2.0), ("p1", "post", "m", 2.0)]
    with pytest.raises(AnalysisError, match="duplicated"):
        paired_change(long(rows), "pre", "post")
    with pytest.raises(AnalysisError, match="both 'pre'"):
        paired_change(long(rows[:1]), "pre", "pre")
    with pytest.raises(AnalysisError, match="missing the column"):
        paired_change(long(rows[:1]), "pre", "post", by="arm")
    scores = long([("p1", "pre", "m", 1.0), ("p1", "post", "m", 2.0)])
    scores["arm"] = ["a", "b"]
    with pytest.raises(AnalysisError, match="different arm values"):
        paired_change(scores, "pre", "post", by="arm")
    with pytest.raises(AnalysisError, match="holm"):
        paired_change(scores, "pre", "post", adjust="bonferroni")


pairs = st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=0, max_size=25)


@settings(max_examples=60, deadline=None)
@given(pairs, st.booleans())
def test_any_small_integer_data_never_crashes_and_explains_nulls(data, hib):
    rows = []
    for i, (a, b) in enumerate(data):
        rows += [(f"p{i}", "pre", "m", a / 2), (f"p{i}", "post", "m", b / 2)]
    scores = long(rows) if rows else long([("p0", "pre", "m", np.nan)])
    out = paired_change(scores, "pre", "post", reliability={"m": 0.8}, higher_is_better={"m": hib})
    assert len(out) == 1 and list(out.columns) == SPEC
    numeric = [c for c in SPEC if c not in ("measure", "group", "note")]
    row = out.iloc[0]
    if any(pd.isna(row[c]) for c in numeric):
        assert row["note"]
    if row["n"] >= 3 and row["sd_diff"] > 0:
        d = np.array([b - a for a, b in data]) / 2
        assert row["p"] == pytest.approx(stats.ttest_1samp(d, 0).pvalue, rel=1e-9)


def test_rci_on_normative_sd_and_criterion_c():
    # Jacobson & Truax (1991): RCI = d / (S_E sqrt 2), S_E = s1 sqrt(1 - r_xx) with s1 the
    # normative SD when given; c = (s0 M1 + s1 M0) / (s0 + s1), M0/s0 the dysfunctional
    # sample (here the group at pre), M1/s1 the functional norm. Computed by hand below.
    pre = np.array([24.0, 28, 30, 22, 26, 31, 27, 25])
    post = np.array([14.0, 27, 18, 23, 12, 30, 16, 24])  # a stress score: lower is better
    rows = [
        (f"p{i}", w, "pss10", v) for i in range(8) for w, v in (("pre", pre[i]), ("post", post[i]))
    ]
    scores = long(rows)
    out = paired_change(scores, "pre", "post", reliability={"pss10": 0.85},
                        higher_is_better={"pss10": False}, norm_sd={"pss10": 6.2},
                        norm_mean={"pss10": 13.0}).iloc[0]  # fmt: skip
    rci = (post - pre) / (6.2 * np.sqrt(2) * np.sqrt(1 - 0.85))  # S_E on the norm SD
    improved, worse = rci < -1.959964, rci > 1.959964
    assert out["n_reliably_improved"] == improved.sum() == 4
    assert out["n_reliably_worse"] == worse.sum() == 0
    assert out["pct_reliably_improved"] == pytest.approx(100 * 4 / 8)
    assert out["pct_reliably_worse"] == 0.0
    assert out["rci_sd"] == 6.2
    s0, m0 = pre.std(ddof=1), pre.mean()
    c = (s0 * 13.0 + 6.2 * m0) / (s0 + 6.2)
    assert out["criterion_c"] == pytest.approx(c, rel=1e-12)
    assert c == pytest.approx(22.161, abs=1e-3)  # by hand: (3.0208 x 13 + 6.2 x 26.625) / 9.2208
    recovered = improved & (post < c) & (pre >= c)
    assert out["n_recovered"] == recovered.sum() == 4
    assert "RCI on the normative SD 6.2 (norm_sd), not sd_pre" in out["note"]
    # without norms: sd_pre in the RCI, no criterion fields at all
    plain = paired_change(scores, "pre", "post", reliability={"pss10": 0.85},
                          higher_is_better={"pss10": False})  # fmt: skip
    assert "criterion_c" not in plain and plain["rci_sd"].iloc[0] == pytest.approx(s0)
    assert plain["note"].iloc[0] == ""
    # norm_sd alone: RCI on it; criterion c needs norm_mean too, and says so
    alone = paired_change(scores, "pre", "post", reliability={"pss10": 0.85},
                          higher_is_better={"pss10": False}, norm_sd={"pss10": 6.2}).iloc[0]  # fmt: skip
    assert alone["n_reliably_improved"] == 4 and "criterion_c" not in alone
    assert "criterion c needs the instrument's norm_mean too" in alone["note"]
