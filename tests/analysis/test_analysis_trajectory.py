"""trajectory() / estimated_means() against R nlme::lme and lme4::lmer on Orthodont,
against statsmodels MixedLM, and on degenerate data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tracker.analysis import estimated_means, trajectory
from tracker.errors import AnalysisError

SPEC = ["measure", "term", "estimate", "se", "ci_low", "ci_high", "p", "note"]
MEANS = ["measure", "wave", "wave_order", "arm", "n", "mean", "se", "ci_low", "ci_high", "note"]

# Tolerance for the REML fit: nlme's optimiser stops with the variance ratio tau^2/sigma^2
# within ~4e-7 (relative) of ours (both printed by reference.R / _fit); the fixed effects move
# with it, by up to 2e-8 in absolute terms (1.9e-6 relative on the 0.0079 interaction).
# So: rtol 1e-5 plus atol 1e-7 (the data are in mm, around 20-30).
RTOL, ATOL = 1e-5, 1e-7


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
    # R: L %*% fixef(fit), sqrt(L V L'), CI with qt(.975, DF of the intercept), per wave x Sex
    r = pd.DataFrame(ref["mixed"][case]["means"])
    out = estimated_means(select(orthodont, case))
    assert list(out.columns) == MEANS
    assert out[["wave", "arm"]].values.tolist() == r[["wave", "arm"]].values.tolist()
    assert out["wave_order"].tolist() == [8, 8, 10, 10, 12, 12, 14, 14]
    assert out["n"].tolist() == r["n"].tolist()
    for col in ["mean", "se", "ci_low", "ci_high"]:
        h.assert_close(out[col], r[col], rtol=RTOL, atol=ATOL, what=col)


def test_same_model_as_statsmodels_mixedlm(orthodont, h):
    # statsmodels MixedLM REML (lbfgs, default tolerances) reaches the same optimum to ~2e-5.
    # Its bse_fe come from a different (observed-information) covariance, so only the
    # estimates are compared here; the SEs are checked against nlme and lme4 above.
    data = select(orthodont, "unbalanced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its ConvergenceWarnings are not ours to judge
        sm = smf.mixedlm("score ~ C(wave, Treatment('age8')) * C(arm, Treatment('Female'))",
                         data, groups=data["participant"]).fit(reml=True)  # fmt: skip
    out = trajectory(data)
    h.assert_close(out["estimate"], sm.fe_params.to_numpy(), rtol=1e-4, atol=1e-5)


def test_row_order_does_not_matter(orthodont):
    data = select(orthodont, "unbalanced")
    a = trajectory(data)
    b = trajectory(data.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_wave_only_model_and_single_arm(orthodont, h):
    data = select(orthodont, "balanced")
    no_arm = trajectory(data, arm=None)
    assert no_arm["term"].tolist() == ["Intercept", "wave[age10]", "wave[age12]", "wave[age14]"]
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
    assert out["term"].tolist() == ["Intercept", "arm[b]"]
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
