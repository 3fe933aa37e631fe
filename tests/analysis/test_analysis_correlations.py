"""correlations() against R cor.test on airquality, and on degenerate data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tracker.analysis import correlations
from tracker.errors import AnalysisError

SPEC = ["x", "y", "method", "n", "r", "ci_low", "ci_high", "p", "p_adj", "note"]
AQ = ["Ozone", "Solar.R", "Wind", "Temp"]


@pytest.fixture(scope="module")
def airquality(data_dir):
    return pd.read_csv(data_dir / "airquality.csv")


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize(("adjust", "key"), [("holm", "p_holm"), ("fdr_bh", "p_bh")])
def test_airquality_matches_r(airquality, ref, h, method, adjust, key):
    # R, per pair: cor.test(x, y, method = "pearson") (its Fisher-z conf.int) /
    # cor.test(x, y, method = "spearman", exact = FALSE) with
    # tanh(atanh(r) -/+ qnorm(.975) / sqrt(n - 3)); p.adjust(p, "holm" / "BH") over the 6 pairs.
    expected = pd.DataFrame(ref["correlations"][method])
    out = correlations(airquality, AQ, method=method, adjust=adjust)
    assert list(out.columns) == SPEC
    assert list(zip(out["x"], out["y"], strict=True)) == list(
        zip(expected["x"], expected["y"], strict=True)
    )
    assert (out["method"] == method).all()
    assert out["n"].tolist() == expected["n"].tolist()  # pairwise: 111, 116, 146, 153, ...
    assert len(set(out["n"])) > 1
    for col in ["r", "ci_low", "ci_high", "p"]:
        h.assert_close(out[col], expected[col], rtol=1e-9, what=col)
    h.assert_close(out["p_adj"], expected[key], rtol=1e-9)
    assert (out["note"] == "").all()


def test_pairs_follow_measure_order(airquality):
    out = correlations(airquality, ["Temp", "Ozone", "Wind"])
    assert list(zip(out["x"], out["y"], strict=True)) == [
        ("Temp", "Ozone"),
        ("Temp", "Wind"),
        ("Ozone", "Wind"),
    ]


def test_spearman_ranks_are_taken_per_pair(airquality):
    # ranking a column once over all its rows (not per pair) would give a different rho
    out = correlations(airquality, ["Ozone", "Solar.R"], method="spearman")
    d = airquality[["Ozone", "Solar.R"]].dropna()
    assert out["r"].iloc[0] == pytest.approx(
        stats.spearmanr(d["Ozone"], d["Solar.R"])[0], rel=1e-12
    )
    once = airquality[["Ozone", "Solar.R"]].rank().dropna()
    assert abs(out["r"].iloc[0] - once.corr().iloc[0, 1]) > 1e-4


def test_degenerate_pairs_get_nulls_and_notes(h):
    wide = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0, 4.0, 5.0],
            "b": [2.0, 1.0, 4.0, 3.0, 6.0],
            "const": [3.0] * 5,
            "empty": [np.nan] * 5,
            "two": [1.0, 2.0, np.nan, np.nan, np.nan],
            "three": [1.0, 3.0, 2.0, np.nan, np.nan],
        }
    )
    out = correlations(wide, list(wide.columns)).set_index(["x", "y"])
    h.assert_nulls_explained(out.reset_index())
    assert np.isfinite(out.loc[("a", "b"), "r"]) and out.loc[("a", "b"), "note"] == ""
    assert np.isnan(out.loc[("a", "const"), "r"])
    assert out.loc[("a", "const"), "note"] == "zero variance in const"
    assert out.loc[("a", "empty"), "n"] == 0
    assert out.loc[("a", "empty"), "note"] == "no values for empty; fewer than 3 complete pairs"
    assert out.loc[("a", "two"), "note"] == "fewer than 3 complete pairs"
    row = out.loc[("a", "three")]  # n = 3: r and p defined, Fisher CI needs n >= 4
    assert row["n"] == 3 and np.isfinite(row["r"]) and np.isfinite(row["p"])
    assert np.isnan(row["ci_low"]) and row["note"] == "CI needs at least 4 complete pairs"
    # missing p values are left out of the adjustment, not counted as tests
    assert out["p_adj"].notna().sum() == out["p"].notna().sum()


def test_perfect_correlation_is_not_null():
    out = correlations(pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 4, 6, 8, 10]}), ["a", "b"])
    row = out.iloc[0]
    assert row["r"] == pytest.approx(1.0) and row["p"] == 0.0
    assert row["ci_low"] == pytest.approx(1.0) and row["note"] == ""


def test_nullable_and_object_columns_read_as_float(airquality):
    # the float64 fast path and the general path (pd.NA, None, integers) must give the same table
    plain = correlations(airquality, AQ)
    mixed = airquality[AQ].copy()
    mixed["Ozone"] = mixed["Ozone"].astype("Float64")  # NaN becomes pd.NA
    mixed["Solar.R"] = mixed["Solar.R"].astype(object).where(mixed["Solar.R"].notna(), None)
    assert mixed["Ozone"].isna().sum() == 37 and mixed["Solar.R"].isna().sum() == 7
    out = correlations(mixed, AQ)
    pd.testing.assert_frame_equal(out, plain)


def test_bad_input_is_an_analysis_error():
    with pytest.raises(AnalysisError, match="missing the column"):
        correlations(pd.DataFrame({"a": [1.0]}), ["a", "b"])
    with pytest.raises(AnalysisError, match="kendall"):
        correlations(pd.DataFrame({"a": [1.0], "b": [2.0]}), ["a", "b"], method="kendall")
    out = correlations(pd.DataFrame({"a": [1.0]}), ["a"])
    assert out.empty and list(out.columns) == SPEC


matrices = st.integers(5, 40).flatmap(
    lambda n: st.lists(
        st.lists(st.one_of(st.integers(0, 4).map(float), st.just(np.nan)), min_size=4, max_size=4),
        min_size=n,
        max_size=n,
    )
)


@settings(max_examples=60, deadline=None)
@given(matrices, st.sampled_from(["pearson", "spearman"]))
def test_vectorised_matrix_equals_scipy_pair_by_pair(rows, method):
    # ties and missing values everywhere: each pair must equal scipy on its complete rows
    wide = pd.DataFrame(rows, columns=list("abcd"))
    out = correlations(wide, list("abcd"), method=method, adjust="none")
    for row in out.itertuples():
        d = wide[[row.x, row.y]].dropna()
        assert row.n == len(d)
        if row.n < 3 or d[row.x].nunique() < 2 or d[row.y].nunique() < 2:
            assert np.isnan(row.r) and row.note
            continue
        f = stats.pearsonr if method == "pearson" else stats.spearmanr
        r = f(d[row.x], d[row.y])[0]
        assert row.r == pytest.approx(r, rel=1e-9, abs=1e-12)
        t = row.r * np.sqrt((row.n - 2) / (1 - row.r**2)) if abs(row.r) < 1 else np.inf
        assert row.p == pytest.approx(2 * stats.t.sf(abs(t), row.n - 2), rel=1e-8, abs=1e-300)
