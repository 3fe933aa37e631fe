"""trajectory() / estimated_means() against R nlme::lme and lme4::lmer on Orthodont,
against statsmodels MixedLM, and on degenerate data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from tracker.analysis import estimated_means, trajectory
from tracker.analysis.trajectory import EXTRA_TERMS
from tracker.errors import AnalysisError

SPEC = ["measure", "term", "estimate", "se", "ci_low", "ci_high", "p", "note"]
MEANS = ["measure", "wave", "wave_order", "arm", "n", "mean", "se", "ci_low", "ci_high", "note"]

# Tolerance for the REML fit: nlme's optimiser stops with the variance ratio tau^2/sigma^2
# within ~4e-7 (relative) of ours (both printed by reference.R / _fit); the fixed effects move
# with it, by up to 2e-8 in absolute terms (1.9e-6 relative on the 0.0079 interaction).
# So: rtol 1e-5 plus atol 1e-7 (the data are in mm, around 20-30).
RTOL, ATOL = 1e-5, 1e-7


def fixed(out: pd.DataFrame) -> pd.DataFrame:
    """The fixed-effect rows (without the omnibus test and variance-component rows)."""
    return out[~out["term"].isin(EXTRA_TERMS)].reset_index(drop=True)


@pytest.fixture(scope="module")
def orthodont(data_dir):
    o = pd.read_csv(data_dir / "orthodont.csv")
    return pd.DataFrame({
        "participant": o["Subject"], "wave": "age" + o["age"].astype(str),
        "wave_order": o["age"], "measure": "distance", "score": o["distance"],
        "arm": o["Sex"], "keep": o["unbalanced_keep"],
    })  # fmt: skip


def select(orthodont, case):
    data = orthodont if case == "balanced" else orthodont[orthodont["keep"]]
    return data.drop(columns="keep")


@pytest.mark.parametrize("case", ["balanced", "unbalanced"])
def test_orthodont_matches_nlme(orthodont, ref, h, case):
    # R: lme(distance ~ wave * arm, random = ~ 1 | Subject, method = "REML"), arm = Sex with
    # reference "Female" (no "control" arm: first alphabetically), wave reference age 8;
    # summary(fit)$tTable (Value, Std.Error, DF, p-value), CI = Value -/+ qt(.975, DF) SE.
    r = ref["mixed"][case]
    out = trajectory(select(orthodont, case))
    assert list(out.columns) == SPEC
    assert out["term"].tolist()[8:] == [
        "wave x arm (Wald F)",
        "var(intercept)",
        "var(residual)",
        "ICC",
    ]
    # R (the fit above on tests/data/analysis/orthodont.csv): a <- anova(fit, type = "marginal");
    # a["wave:arm", c("numDF", "denDF", "F-value", "p-value")] printed with %.15g:
    #   balanced   3 75 2.36156305543827 0.078058266504976
    #   unbalanced 3 59 1.97759515201467 0.127138052977271
    wald = {"balanced": (75, 2.36156305543827, 0.078058266504976),
            "unbalanced": (59, 1.97759515201467, 0.127138052977271)}[case]  # fmt: skip
    row = out.iloc[8]
    assert row["note"] == f"Wald F on 3 and {wald[0]} df (containment); no SE or CI for a test"
    assert row["estimate"] == pytest.approx(wald[1], rel=1e-5)
    assert row["p"] == pytest.approx(wald[2], rel=1e-4)
    tau2, sigma2 = r["tau2"], r["sigma2"]
    h.assert_close(out["estimate"].iloc[9:], [tau2, sigma2, tau2 / (tau2 + sigma2)], rtol=1e-5)
    out = fixed(out)
    assert out["term"].tolist() == r["term"] == [
        "Intercept", "wave[age10]", "wave[age12]", "wave[age14]", "arm[Male]",
        "wave[age10]:arm[Male]", "wave[age12]:arm[Male]", "wave[age14]:arm[Male]",
    ]  # fmt: skip
    for col in ["estimate", "se", "ci_low", "ci_high"]:
        h.assert_close(out[col], r[col], rtol=RTOL, atol=ATOL, what=col)
    h.assert_close(out["p"], r["p"], rtol=1e-4, atol=1e-9, what="p")  # p amplifies t's error
    # lme4::lmer(distance ~ wave * arm + (1 | Subject), REML = TRUE): same fixed effects and SEs
    h.assert_close(out["estimate"], r["lme4_estimate"], rtol=RTOL, atol=ATOL)
    h.assert_close(out["se"], r["lme4_se"], rtol=RTOL, atol=ATOL)
    assert (out["note"] == "").all()


def test_containment_degrees_of_freedom(orthodont, ref):
    # nlme DF: the arm (between-participant) term gets 27 - 2 = 25, all others 108 - 27 - 6 = 75
    assert ref["mixed"]["balanced"]["df"] == [75, 75, 75, 75, 25, 75, 75, 75]
    from tracker.analysis.trajectory import _fits

    def fit_of(case):
        ((_, fit),) = list(_fits(select(orthodont, case), None, "arm"))
        return fit

    fit = fit_of("balanced")
    assert fit.df.tolist() == ref["mixed"]["balanced"]["df"]
    fit = fit_of("unbalanced")
    assert fit.df.tolist() == ref["mixed"]["unbalanced"]["df"]
    # the REML variance components agree with nlme's sigma^2 and tau^2
    r = ref["mixed"]["unbalanced"]
    assert fit.sigma2 == pytest.approx(r["sigma2"], rel=1e-5)
    assert fit.gamma * fit.sigma2 == pytest.approx(r["tau2"], rel=1e-5)


@pytest.mark.parametrize("case", ["balanced", "unbalanced"])
def test_estimated_means_match_r(orthodont, ref, h, case):
    # R: L %*% fixef(fit), sqrt(L V L'), per wave x Sex (reference.R). The CI uses the smallest
    # nlme DF of the coefficients in L (reference.R used the intercept's DF for every cell: the
    # rule before issue 16), so the expected bounds are R's mean -/+ qt(.975, df) R's se, df the
    # minimum of R's summary DF over the cell's terms (the boys' cells hold arm[Male], DF 25).
    r = pd.DataFrame(ref["mixed"][case]["means"])
    df_of = dict(zip(ref["mixed"][case]["term"], ref["mixed"][case]["df"], strict=True))
    out = estimated_means(select(orthodont, case))
    assert list(out.columns) == MEANS
    assert out[["wave", "arm"]].values.tolist() == r[["wave", "arm"]].values.tolist()
    assert out["wave_order"].tolist() == [8, 8, 10, 10, 12, 12, 14, 14]
    assert out["n"].tolist() == r["n"].tolist()
    for col in ["mean", "se"]:
        h.assert_close(out[col], r[col], rtol=RTOL, atol=ATOL, what=col)
    dfs = []
    for w, a in zip(r["wave"], r["arm"], strict=True):
        terms = ["Intercept"] + ([f"wave[{w}]"] if w != "age8" else [])
        if a == "Male":
            terms += ["arm[Male]"] + ([f"wave[{w}]:arm[Male]"] if w != "age8" else [])
        dfs.append(min(df_of[t] for t in terms))
    assert dfs[:2] == [df_of["Intercept"], 25]
    q = stats.t.ppf(0.975, dfs)
    h.assert_close(out["ci_low"], r["mean"] - q * r["se"], rtol=RTOL, atol=ATOL, what="ci_low")
    h.assert_close(out["ci_high"], r["mean"] + q * r["se"], rtol=RTOL, atol=ATOL, what="ci_high")


def test_same_model_as_statsmodels_mixedlm(orthodont, h):
    # statsmodels MixedLM REML (lbfgs, default tolerances) reaches the same optimum to ~2e-5.
    # Its bse_fe come from a different (observed-information) covariance, so only the
    # estimates are compared here; the SEs are checked against nlme and lme4 above.
    data = select(orthodont, "unbalanced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its ConvergenceWarnings are not ours to judge
        sm = smf.mixedlm("score ~ C(wave, Treatment('age8')) * C(arm, Treatment('Female'))",
                         data, groups=data["participant"]).fit(reml=True)  # fmt: skip
    out = fixed(trajectory(data))
    h.assert_close(out["estimate"], sm.fe_params.to_numpy(), rtol=1e-4, atol=1e-5)


def test_row_order_does_not_matter(orthodont):
    data = select(orthodont, "unbalanced")
    a = trajectory(data)
    b = trajectory(data.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_wave_only_model_and_single_arm(orthodont, h):
    data = select(orthodont, "balanced")
    no_arm = trajectory(data, arm=None)
    assert no_arm["term"].tolist() == ["Intercept", "wave[age10]", "wave[age12]", "wave[age14]",
                                       "wave (Wald F)", "var(intercept)", "var(residual)", "ICC"]  # fmt: skip
    one_arm = trajectory(data[data["arm"] == "Male"])
    assert one_arm["term"].tolist() == no_arm["term"].tolist()
    means = estimated_means(data[data["arm"] == "Male"])
    assert (means["arm"] == "all").all() and means["n"].tolist() == [16, 16, 16, 16]
    # a balanced cell-means model: the model-based means are the observed means
    observed = data[data["arm"] == "Male"].groupby("wave_order")["score"].mean()
    h.assert_close(means["mean"], observed.to_numpy(), rtol=1e-12)


def test_degenerate_data_gets_notes(orthodont, h):
    data = select(orthodont, "balanced")
    # no boys measured at 14: the age14 x Male cell is empty
    holes = data[~((data["arm"] == "Male") & (data["wave"] == "age14"))].copy()
    extra = data.assign(measure="empty", score=np.nan)
    single = data[data["participant"] == "M01"].assign(measure="one_person")
    out = trajectory(
        pd.concat([holes, extra, single]), measures=["distance", "empty", "one_person", "nope"]
    )
    h.assert_nulls_explained(out)
    cell = out[out["term"] == "wave[age14]:arm[Male]"].iloc[0]
    assert np.isnan(cell["estimate"]) and "not estimable" in cell["note"]
    assert (
        out[(out["measure"] == "distance") & (out["term"] == "wave[age12]:arm[Male]")]["note"].iloc[
            0
        ]
        == ""
    )
    assert out[out["measure"] == "empty"]["note"].tolist() == ["no observations"]
    assert out[out["measure"] == "nope"]["note"].tolist() == ["no observations"]
    assert "fewer than 2 participants" in out[out["measure"] == "one_person"]["note"].iloc[0]
    means = estimated_means(holes)
    h.assert_nulls_explained(means)
    empty_cell = means[(means["wave"] == "age14") & (means["arm"] == "Male")].iloc[0]
    assert (
        empty_cell["n"] == 0
        and np.isnan(empty_cell["mean"])
        and "not estimable" in empty_cell["note"]
    )


def test_one_wave_and_no_variance_between_people():
    rows = [(f"p{i}", "baseline", 1, "m", float(i % 4), "a" if i < 6 else "b") for i in range(12)]
    data = pd.DataFrame(
        rows, columns=["participant", "wave", "wave_order", "measure", "score", "arm"]
    )
    out = trajectory(data)
    # one wave: no omnibus wave test; the variance components follow the fixed effects
    assert out["term"].tolist() == ["Intercept", "arm[b]", "var(intercept)", "var(residual)", "ICC"]
    parts = out.iloc[2:]
    assert parts["estimate"].isna().all() and (parts["note"].str.contains("seen once")).all()
    out = fixed(out)
    # one observation per person: participant variance not identifiable, fixed effects = OLS
    assert out["estimate"].tolist() == pytest.approx([7 / 6, 11 / 6 - 7 / 6], rel=1e-9)
    a, b = np.array([0, 1, 2, 3, 0, 1.0]), np.array([2, 3, 0, 1, 2, 3.0])
    mse = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / 10
    assert out["se"].iloc[1] == pytest.approx(np.sqrt(mse * (1 / 6 + 1 / 6)), rel=1e-9)


def test_input_errors(orthodont):
    data = select(orthodont, "balanced")
    with pytest.raises(AnalysisError, match="duplicated"):
        trajectory(pd.concat([data, data.iloc[:1]]))
    bad = data.copy()
    bad.loc[bad.index[0], "wave_order"] = 9
    with pytest.raises(AnalysisError, match="more than one wave_order"):
        trajectory(bad)
    with pytest.raises(AnalysisError, match="missing the column"):
        trajectory(data.drop(columns="arm"))


# ----------------------------------------------------------- unbalanced, many seen once (issue 16)
# R 4.2.2, nlme 3.1 (Rscript; the data are the frames below):
#   library(nlme)
#   d <- data.frame(participant = c("p01","p01","p02","p02","p03","p03","p04","p05","p06",
#                                   "p07","p08","p09","p10"),
#     wave = c("baseline","post","baseline","post","baseline","post","baseline","baseline",
#              "baseline","post","post","post","baseline"),
#     score = c(10, 12, 13, 14, 9, 12, 11, 8, 14, 13, 15, 12, 10))
#   d$wave <- factor(d$wave, levels = c("baseline", "post"))
#   fit <- lme(score ~ wave, random = ~ 1 | participant, data = d, method = "REML")
#   tt <- summary(fit)$tTable; print(tt, digits = 15)
#   print(cbind(tt[,1] - qt(.975, tt[,3]) * tt[,2], tt[,1] + qt(.975, tt[,3]) * tt[,2]), digits = 15)
#   a1 <- anova(fit, type = "marginal"); cat(sprintf("%.15g", c(a1[["F-value"]], a1[["p-value"]])))
#   V <- vcov(fit); b <- fixef(fit)
#   for (L in list(c(1, 0), c(1, 1))) {   # model-based means, df = smallest DF of the terms in L
#     m <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L)); df <- min(tt[L != 0, "DF"])
#     cat(sprintf("%.15g", c(m, se, df, m - qt(.975, df) * se, m + qt(.975, df) * se)), "\n") }
#   vc <- c(as.numeric(getVarCov(fit)), fit$sigma^2); cat(sprintf("%.15g", c(vc, vc[1] / sum(vc))))
#   e <- data.frame(participant = c("a1","a1","a1","a2","a2","a3","a4","a5","a6","a7",
#                                   "b1","b1","b1","b2","b2","b3","b4","b5","b6","b7"),
#     arm = c(rep("control", 10), rep("intervention", 10)),
#     wave = c("w0","w1","w2","w0","w2","w0","w1","w2","w0","w1",
#              "w0","w1","w2","w0","w1","w0","w2","w1","w0","w2"),
#     score = c(20,21,19,18,19,22,20,21,17,19,21,25,27,19,22,20,26,24,18,25))
#   e$wave <- factor(e$wave); e$arm <- factor(e$arm)
#   f2 <- lme(score ~ wave * arm, random = ~ 1 | participant, data = e, method = "REML")
#   (same prints for f2)
# Printed:
#                         Value         Std.Error DF           t-value      p-value
#   (Intercept) 10.85880060682096 0.617477416767739  9 17.58574534379361 2.81479970111177e-08
#   wavepost     2.07931353438869 0.527510903149242  2  3.94174513166493 5.87467317179621e-02
#   CI (Intercept)  9.461969645613692 12.25563156802824; wavepost -0.190382693018997 4.34900976179638
#   anova F: 309.258439296758 15.5373546830041  p: 2.81479970443144e-08 0.0587467317179622
#   means: baseline 10.858800606821 0.617477416767739 9 9.46196964561369 12.2556315680282
#          post     12.9381141412097 0.639108133696665 2 10.1882537851546 15.6879744972647
#   var(intercept), var(residual), ICC: 2.83563777743077 0.487890590647492 0.853201015121889
#   f2 tTable:
#   (Intercept)            19.254522305539027 0.669462321759789 12 1.94030121142007e-12
#   wavew1                  1.037756220692846 0.807634518581100  2 3.27532314534602e-01
#   wavew2                  0.136958193126399 0.685374786287272  2 8.60088935329540e-01
#   armintervention         0.336156662207211 0.946762694930474 12 7.28707616526600e-01
#   wavew1:armintervention  2.690486523629557 1.059250732018651  2 1.26296944357069e-01
#   wavew2:armintervention  5.872660571988678 1.059250732018651  2 3.10271053575173e-02
#   CI low  17.79588920990999 -2.43721464532001 -2.81197150199399 -1.72666204415763
#           -1.86710152997961 1.31507251837951
#   CI high 20.71315540116807 4.51272708670571 3.08588788824678 2.39897536857205
#           7.24807457723872 10.43024862559784
#   anova wave:arm (numDF 2, denDF 2): F 15.4653719293572, p 0.0607335202806464
#   var(intercept), var(residual), ICC: 1.69830756818243 0.551408197281383 0.754898727320915
SEEN_ONCE = pd.DataFrame({
    "participant": "p01 p01 p02 p02 p03 p03 p04 p05 p06 p07 p08 p09 p10".split(),
    "wave": "baseline post baseline post baseline post baseline baseline baseline post post post "
            "baseline".split(),
    "score": [10.0, 12, 13, 14, 9, 12, 11, 8, 14, 13, 15, 12, 10],
}).assign(wave_order=lambda d: (d["wave"] == "post").astype(int), measure="m")  # fmt: skip
TWO_ARMS = pd.DataFrame({
    "participant": "a1 a1 a1 a2 a2 a3 a4 a5 a6 a7 b1 b1 b1 b2 b2 b3 b4 b5 b6 b7".split(),
    "arm": ["control"] * 10 + ["intervention"] * 10,
    "wave": "w0 w1 w2 w0 w2 w0 w1 w2 w0 w1 w0 w1 w2 w0 w1 w0 w2 w1 w0 w2".split(),
    "score": [20.0, 21, 19, 18, 19, 22, 20, 21, 17, 19, 21, 25, 27, 19, 22, 20, 26, 24, 18, 25],
}).assign(wave_order=lambda d: d["wave"].str[1].astype(int), measure="m")  # fmt: skip


def test_seen_once_gets_nlme_degrees_of_freedom(h):
    out = trajectory(SEEN_ONCE, arm=None)
    assert out["term"].tolist() == ["Intercept", "wave[post]", "wave (Wald F)",
                                    "var(intercept)", "var(residual)", "ICC"]  # fmt: skip
    fe = fixed(out)
    h.assert_close(fe["estimate"], [10.85880060682096, 2.07931353438869], rtol=RTOL, atol=ATOL)
    h.assert_close(fe["se"], [0.617477416767739, 0.527510903149242], rtol=RTOL, atol=ATOL)
    # the intercept's df is nlme's 9 (between), not the within df 2: CI [9.462, 12.256]
    h.assert_close(fe["ci_low"], [9.461969645613692, -0.190382693018997], rtol=RTOL, atol=ATOL)
    h.assert_close(fe["ci_high"], [12.25563156802824, 4.34900976179638], rtol=RTOL, atol=ATOL)
    h.assert_close(fe["p"], [2.81479970111177e-08, 5.87467317179621e-02], rtol=1e-4)
    wald = out[out["term"] == "wave (Wald F)"].iloc[0]
    assert wald["estimate"] == pytest.approx(15.5373546830041, rel=1e-5)
    assert wald["p"] == pytest.approx(0.0587467317179622, rel=1e-4)
    assert wald["note"] == "Wald F on 1 and 2 df (containment); no SE or CI for a test"
    parts = out.set_index("term")["estimate"]
    h.assert_close(parts[["var(intercept)", "var(residual)", "ICC"]],
                   [2.83563777743077, 0.487890590647492, 0.853201015121889], rtol=1e-5)  # fmt: skip
    means = estimated_means(SEEN_ONCE, arm=None)
    h.assert_close(means["mean"], [10.858800606821, 12.9381141412097], rtol=RTOL, atol=ATOL)
    h.assert_close(means["se"], [0.617477416767739, 0.639108133696665], rtol=RTOL, atol=ATOL)
    h.assert_close(means["ci_low"], [9.46196964561369, 10.1882537851546], rtol=RTOL, atol=ATOL)
    h.assert_close(means["ci_high"], [12.2556315680282, 15.6879744972647], rtol=RTOL, atol=ATOL)
    from tracker.analysis.trajectory import _fits

    ((_, fit),) = list(_fits(SEEN_ONCE, None, None))
    assert fit.df.tolist() == [9, 2]


def test_two_arms_seen_once_match_nlme_and_anova(h):
    out = trajectory(TWO_ARMS)
    fe = fixed(out)
    assert fe["term"].tolist() == [
        "Intercept", "wave[w1]", "wave[w2]", "arm[intervention]",
        "wave[w1]:arm[intervention]", "wave[w2]:arm[intervention]",
    ]  # fmt: skip
    h.assert_close(fe["estimate"], [19.254522305539027, 1.037756220692846, 0.136958193126399,
                                    0.336156662207211, 2.690486523629557, 5.872660571988678],
                   rtol=RTOL, atol=ATOL)  # fmt: skip
    h.assert_close(fe["se"], [0.669462321759789, 0.807634518581100, 0.685374786287272,
                              0.946762694930474, 1.059250732018651, 1.059250732018651],
                   rtol=RTOL, atol=ATOL)  # fmt: skip
    h.assert_close(fe["ci_low"], [17.79588920990999, -2.43721464532001, -2.81197150199399,
                                  -1.72666204415763, -1.86710152997961, 1.31507251837951],
                   rtol=RTOL, atol=ATOL)  # fmt: skip
    h.assert_close(fe["ci_high"], [20.71315540116807, 4.51272708670571, 3.08588788824678,
                                   2.39897536857205, 7.24807457723872, 10.43024862559784],
                   rtol=RTOL, atol=ATOL)  # fmt: skip
    h.assert_close(fe["p"], [1.94030121142007e-12, 3.27532314534602e-01, 8.60088935329540e-01,
                             7.28707616526600e-01, 1.26296944357069e-01, 3.10271053575173e-02],
                   rtol=1e-4)  # fmt: skip
    wald = out[out["term"] == "wave x arm (Wald F)"].iloc[0]
    assert wald["estimate"] == pytest.approx(15.4653719293572, rel=1e-5)
    assert wald["p"] == pytest.approx(0.0607335202806464, rel=1e-4)
    assert "on 2 and 2 df" in wald["note"]
    parts = out.set_index("term")["estimate"]
    h.assert_close(parts[["var(intercept)", "var(residual)", "ICC"]],
                   [1.69830756818243, 0.551408197281383, 0.754898727320915], rtol=1e-5)  # fmt: skip
