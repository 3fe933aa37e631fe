"""reliability() / item_total() against R psych::alpha, Feldt's CI, factanal and psych::fa on
the bfi conscientiousness and agreeableness items, and on degenerate data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracker.analysis import item_total, reliability
from tracker.analysis.reliability import one_factor_ml
from tracker.errors import AnalysisError

SPEC = ["measure", "wave", "n", "k", "alpha", "alpha_std", "ci_low", "ci_high", "omega", "note"]
ITEMS = ["measure", "wave", "item", "n", "corrected_item_total_r", "alpha_if_deleted", "note"]
SCALES = {
    "conscientiousness": ([f"C{i}" for i in range(1, 6)], ["C4", "C5"]),
    "agreeableness": ([f"A{i}" for i in range(1, 6)], ["A1"]),
}


@pytest.fixture(scope="module")
def bfi_items(data_dir):
    """psych::bfi items in the long layout, reverse-keyed (7 - x) as the scoring layer would."""
    bfi = pd.read_csv(data_dir / "bfi_items.csv")
    parts = []
    for measure, (items, reverse) in SCALES.items():
        for item in items:
            value = bfi[item].astype(float)
            if item in reverse:
                value = 7 - value
            parts.append(pd.DataFrame({"participant": bfi["participant"], "wave": "baseline",
                                       "measure": measure, "item": item, "value": value}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_alpha_matches_psych(bfi_items, ref, h):
    # R: psych::alpha(na.omit(X))$total$raw_alpha / $std.alpha; Feldt CI
    # 1 - (1 - alpha) qf(c(.975, .025), n - 1, (n - 1)(k - 1)) = psych::alpha.ci
    out = reliability(bfi_items)
    assert list(out.columns) == SPEC
    assert out["measure"].tolist() == ["conscientiousness", "agreeableness"]
    for row in out.itertuples():
        r = ref["reliability"][row.measure]
        assert (row.wave, row.n, row.k) == ("baseline", r["n"], r["k"])  # listwise: 2707, 2709
        for col in ["alpha", "alpha_std", "ci_low", "ci_high"]:
            h.assert_close(getattr(row, col), r[col], rtol=1e-9, what=col)
        h.assert_close([row.ci_low, row.ci_high], r["alpha_ci_psych"], rtol=1e-9)
        assert row.note == ""


def test_omega_matches_factanal_and_psych(bfi_items, ref, h):
    # omega = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) with l the one-factor ML loadings.
    # R reference 1: factanal(covmat = R, factors = 1, control = list(opt = list(factr = 1)))
    #   (optimiser run to convergence) -> rtol 1e-6 on loadings, uniquenesses and omega.
    # R reference 2: psych::fa(X, nfactors = 1, fm = "ml") as shipped: optim's default factr
    #   (1e7, ~2e-9 relative change of the ML criterion) leaves its loadings within ~5e-6 of the
    #   optimum -> atol 1e-5 on loadings, rtol 1e-6 on omega (omega is flat at the optimum).
    out = reliability(bfi_items).set_index("measure")
    for measure, (items, _) in SCALES.items():
        r = ref["reliability"][measure]
        h.assert_close(out.loc[measure, "omega"], r["omega"], rtol=1e-6)
        h.assert_close(out.loc[measure, "omega"], r["omega_psych_fa"], rtol=1e-6)
        # psych::omega's omega.tot divides by sum(R), not the model-implied total: differs
        assert abs(out.loc[measure, "omega"] - r["omega_tot_psych_omega"]) > 1e-5
        wide = bfi_items[bfi_items["measure"] == measure].pivot(
            index="participant", columns="item", values="value")[items].dropna()  # fmt: skip
        loadings, psi, note = one_factor_ml(np.corrcoef(wide.to_numpy(), rowvar=False))
        h.assert_close(loadings, r["loadings_factanal"], rtol=1e-6)
        h.assert_close(psi, r["uniquenesses_factanal"], rtol=1e-6)
        h.assert_close(loadings, r["loadings_psych_fa"], rtol=0, atol=1e-5)
        assert note == ""


def test_item_total_matches_psych(bfi_items, ref, h):
    # R: psych::alpha(na.omit(X))$item.stats$r.drop and $alpha.drop$raw_alpha
    out = item_total(bfi_items)
    assert list(out.columns) == ITEMS
    for measure in SCALES:
        r = ref["item_total"][measure]
        got = out[out["measure"] == measure]
        assert got["item"].tolist() == r["item"] and (got["n"] == r["n"]).all()
        h.assert_close(got["corrected_item_total_r"], r["corrected_item_total_r"], rtol=1e-9)
        h.assert_close(got["alpha_if_deleted"], r["alpha_if_deleted"], rtol=1e-9)


def items_long(matrix, measure="m", wave="w", names=None):
    matrix = np.asarray(matrix, dtype=float)
    names = names or [f"i{j}" for j in range(matrix.shape[1])]
    return pd.DataFrame([
        {"participant": f"p{i}", "wave": wave, "measure": measure, "item": names[j], "value": matrix[i, j]}
        for i in range(matrix.shape[0]) for j in range(matrix.shape[1])
    ])  # fmt: skip


def test_degenerate_scales_get_nulls_and_notes(h):
    rng = np.random.default_rng(1)
    good = rng.integers(1, 6, size=(30, 4)).astype(float)
    frames = [
        items_long(good[:, :1], "one_item"),
        items_long(good[:, :2], "two_items"),
        items_long(np.c_[good[:, :3], np.full(30, 3.0)], "constant_item"),
        items_long(np.c_[good[:, :3], np.full(30, np.nan)], "unanswered_item"),
        items_long(good[:1], "one_person"),
        items_long(np.tile([[1.0, 2.0, 3.0]], (5, 1)), "no_variance"),
    ]
    items = pd.concat(frames, ignore_index=True)
    out = reliability(items).set_index("measure")
    h.assert_nulls_explained(out.reset_index())
    assert (
        np.isnan(out.loc["one_item", "alpha"])
        and out.loc["one_item", "note"] == "fewer than 2 items"
    )
    two = out.loc["two_items"]
    assert np.isfinite(two["alpha"]) and np.isfinite(two["alpha_std"]) and np.isnan(two["omega"])
    assert two["note"] == "omega needs at least 3 items"
    const = out.loc["constant_item"]
    assert (
        np.isfinite(const["alpha"])
        and np.isnan(const["alpha_std"])
        and "zero variance" in const["note"]
    )
    unanswered = out.loc["unanswered_item"]
    assert unanswered["k"] == 3 and unanswered["n"] == 30 and np.isfinite(unanswered["omega"])
    assert "i3 never answered: left out" in unanswered["note"]
    assert out.loc["one_person", "note"] == "fewer than 2 complete cases"
    assert out.loc["no_variance", "note"] == "zero variance of the total score"
    it = item_total(items)
    h.assert_nulls_explained(it)
    assert (
        it[it["measure"] == "two_items"]["note"] == "alpha if deleted needs at least 3 items"
    ).all()


def test_listwise_deletion_and_waves(h):
    rng = np.random.default_rng(2)
    latent = rng.normal(size=(50, 1))
    X = latent + rng.normal(size=(50, 4))
    X[3, 1] = np.nan  # participant p3 drops out of the listwise sample
    items = pd.concat([items_long(X, wave="pre"), items_long(X[:40], wave="post")])
    out = reliability(items)
    assert out[["wave", "n", "k"]].values.tolist() == [["pre", 49, 4], ["post", 39, 4]]
    Y = np.delete(X, 3, axis=0)
    alpha = 4 / 3 * (1 - Y.var(axis=0, ddof=1).sum() / Y.sum(axis=1).var(ddof=1))
    h.assert_close(out["alpha"].iloc[0], alpha, rtol=1e-12)


def test_heywood_case_is_flagged():
    # item 0 and 1 nearly identical: the ML solution puts a uniqueness on the 0.005 bound
    rng = np.random.default_rng(4)
    f = rng.normal(size=400)
    X = np.c_[
        f, f + rng.normal(0, 0.01, 400), f + rng.normal(0, 1, 400), rng.normal(size=400) + 0.3 * f
    ]
    loadings, psi, note = one_factor_ml(np.corrcoef(X, rowvar=False))
    assert note.startswith("Heywood case") and psi.min() == pytest.approx(0.005)


def test_not_positive_definite():
    X = np.array([[1.0, 2, 3], [2, 4, 6], [3, 1, 4], [4, 3, 7]])  # item 3 = item 1 + item 2
    out = reliability(items_long(X)).iloc[0]
    assert np.isfinite(out["alpha"]) and np.isnan(out["omega"])
    assert "not positive definite" in out["note"]


def test_duplicates_are_an_error():
    items = items_long([[1.0, 2.0], [2.0, 3.0]])
    with pytest.raises(AnalysisError, match="duplicated"):
        reliability(pd.concat([items, items.iloc[:1]]))


def test_items_keep_their_order_of_appearance(h):
    # measure "b" lists its items in the opposite order to measure "a" (shared item names):
    # each item's statistics must follow its own column, whatever the internal codes
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3)) + rng.normal(size=(40, 1)) * np.array([0.3, 1.0, 2.0])
    a = items_long(X, "a", names=["x", "y", "z"])
    b = items_long(X[:, ::-1], "b", names=["z", "y", "x"])
    out = item_total(pd.concat([a, b]))
    assert out["item"].tolist() == ["x", "y", "z", "z", "y", "x"]
    shuffled = item_total(pd.concat([a, b]).sample(frac=1.0, random_state=1))
    got_a = shuffled[shuffled["measure"] == "a"].set_index("item")
    got_b = shuffled[shuffled["measure"] == "b"].set_index("item")
    for j, name in enumerate(["x", "y", "z"]):
        rest = np.delete(X, j, axis=1).sum(axis=1)
        h.assert_close(got_a.loc[name, "corrected_item_total_r"], np.corrcoef(X[:, j], rest)[0, 1])
        h.assert_close(got_b.loc[name, "corrected_item_total_r"], np.corrcoef(X[:, j], rest)[0, 1])


@pytest.mark.parametrize("n", [3, 5, 6, 7])
def test_few_cases_for_many_items(n, h):
    # n <= k makes the correlation matrix singular: omega is null with a note, no warning
    rng = np.random.default_rng(n)
    X = rng.integers(1, 6, size=(n, 6)).astype(float) + np.arange(n)[:, None] % 3
    out = reliability(items_long(X))
    h.assert_nulls_explained(out)
    row = out.iloc[0]
    if n <= 6:
        assert (
            np.isnan(row["omega"]) and "omega needs more complete cases than items" in row["note"]
        )
    assert np.isfinite(row["alpha"]) or row["note"]


def _r_one_factor(seed=8, n=300):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    X = np.c_[[0.8 * f + rng.normal(0, s, n) for s in (0.5, 0.7, 0.9, 1.1)]].T
    return np.corrcoef(X, rowvar=False)


@pytest.mark.parametrize("at_optimum", [True, False])
def test_an_abnormal_stop_is_only_reported_away_from_the_optimum(monkeypatch, at_optimum):
    """L-BFGS-B's bare 'ABNORMAL: ' after a failed line search at the optimum is not a failure."""
    from scipy import optimize

    R = _r_one_factor()
    _, psi_opt, note = one_factor_ml(R)
    assert note == ""
    real = optimize.minimize

    def abnormal(*args, **kwargs):
        res = real(*args, **kwargs)
        if not at_optimum:
            res.x = np.clip(res.x + 0.05, 0.005, 1.0)  # a point the gradient says is not a minimum
        res.success, res.message = False, "ABNORMAL: "
        return res

    monkeypatch.setattr(optimize, "minimize", abnormal)
    _, psi, note = one_factor_ml(R)
    if at_optimum:
        assert note == "" and np.allclose(psi, psi_opt)
    else:
        assert note == "factor analysis did not converge (ABNORMAL); omega approximate"


# ------------------------------------------------------------------ omega bootstrap CI (issue 16)


def test_omega_bootstrap_resamples_match_statsmodels_ml():
    """Every resample's omega is the ML one-factor omega of that resample, refitted independently
    by statsmodels' Factor(method="ml"); the CI is their 2.5th and 97.5th percentiles."""
    from statsmodels.multivariate.factor import Factor

    from tracker.analysis.reliability import omega_bootstrap

    rng = np.random.default_rng(8)
    n, B, seed = 150, 40, 5
    f = rng.normal(size=n)
    Y = np.round(3 + f[:, None] * np.array([0.8, 0.7, 0.6, 0.75, 0.5]) + rng.normal(size=(n, 5)))
    lo, hi, note = omega_bootstrap(Y, B, seed)
    # the documented resampling: rng.integers(0, n, (B, n)) from default_rng(seed), one chunk
    idx = np.random.default_rng(seed).integers(0, n, size=(B, n))
    expected = []
    for rows in idx:
        R = np.corrcoef(Y[rows], rowvar=False)
        fit = Factor(corr=R, n_factor=1, method="ml", nobs=n).fit()
        lam = np.abs(fit.loadings[:, 0])
        s = lam.sum()
        expected.append(s * s / (s * s + np.sum(1 - lam**2)))
    assert note == ""
    e_lo, e_hi = np.percentile(expected, [2.5, 97.5])
    assert lo == pytest.approx(e_lo, abs=1e-6) and hi == pytest.approx(e_hi, abs=1e-6)
    assert omega_bootstrap(Y, B, seed)[:2] == (lo, hi)  # seeded: the same CI again
    assert omega_bootstrap(Y, B, seed + 1)[:2] != (lo, hi)


def test_omega_ci_agrees_with_r_boot_factanal(bfi_items):
    # R 4.2.2 (boot 1.3), on tests/data/analysis/bfi_items.csv:
    #   library(boot); b <- read.csv("bfi_items.csv")
    #   d <- b[, paste0("C", 1:5)]; d$C4 <- 7 - d$C4; d$C5 <- 7 - d$C5
    #   d <- d[complete.cases(d), ]
    #   omega <- function(x, i) { f <- factanal(x[i, ], factors = 1)
    #     l <- as.numeric(f$loadings); s <- sum(l); s^2 / (s^2 + sum(1 - l^2)) }
    #   set.seed(1); r <- boot(d, omega, R = 2000)
    #   r$t0; quantile(r$t, c(.025, .975)); sd(r$t)
    # printed: 2707 0.733756159822582 / 0.716661588951527 0.750714218344556 / sd 0.00871593088324228
    # Different random streams: the bounds agree within Monte Carlo error (a 2.5 % quantile of
    # 2,000 resamples has an SE of about 0.0005 here), so 0.003 is six SEs of the difference.
    items = bfi_items[bfi_items["measure"] == "conscientiousness"]
    out = reliability(items, omega_boot=2000, seed=1).iloc[0]
    assert list(out.index) == SPEC[:-1] + ["omega_ci_low", "omega_ci_high", "note"]
    assert out["n"] == 2707 and out["omega"] == pytest.approx(0.733756159822582, rel=1e-6)
    assert out["omega_ci_low"] == pytest.approx(0.716661588951527, abs=0.003)
    assert out["omega_ci_high"] == pytest.approx(0.750714218344556, abs=0.003)
    assert out["omega_ci_low"] < out["omega"] < out["omega_ci_high"]


def test_omega_ci_only_when_asked_and_explained_when_missing(h):
    X = np.array([[1.0, 2, 3], [2, 4, 6], [3, 1, 4], [4, 3, 7]])  # singular: no omega, no CI
    out = reliability(items_long(X), omega_boot=100)
    assert list(out.columns) == SPEC[:-1] + ["omega_ci_low", "omega_ci_high", "note"]
    assert np.isnan(out["omega_ci_low"].iloc[0]) and "no bootstrap CI" in out["note"].iloc[0]
    h.assert_nulls_explained(out)
    assert list(reliability(items_long(X)).columns) == SPEC
    assert list(reliability(items_long(X), omega=False, omega_boot=100).columns) == SPEC
