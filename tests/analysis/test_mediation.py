"""Parallel mediation against R: OLS paths against ``lm`` (1e-9), the vectorised bootstrap's
replicates against ``lm`` refitted on the very same resamples (1e-9), and the percentile
CIs against ``boot::boot`` / ``boot.ci(type = "perc")`` with B = 5000 within Monte Carlo error.

Data, R script and reference values: tests/data/models (make_data.py writes our own
simulated data, reference.R fits it and writes reference.csv).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.analysis.mediation import (
    COLUMNS,
    bootstrap_indirect,
    fit_mediation,
    mediation,
    mediation_arms,
    resample_counts,
)
from tracker.errors import AnalysisError

DATA = Path(__file__).resolve().parents[1] / "data" / "models"
SPEC = [
    "x", "mediator", "y", "wave", "n", "a", "a_se", "a_p", "b", "b_se", "b_p", "c", "c_p",
    "c_prime", "c_prime_p", "indirect", "indirect_ci_low", "indirect_ci_high", "indirect_std",
    "boot", "seed",
]  # fmt: skip
PATHS = ["a", "a_se", "a_p", "b", "b_se", "b_p", "indirect", "indirect_std"]
MODEL = ["n", "c", "c_p", "c_prime", "c_prime_p"]
#: percentile CI agreement with R boot, in units of the bootstrap SE: two independent
#: B = 5000 estimates of a 2.5 % quantile differ by about 0.054 SE (sd), so 0.2 SE is ~4 sd
MC_TOLERANCE = 0.2


@pytest.fixture(scope="module")
def ref() -> dict[str, float]:
    table = pd.read_csv(DATA / "reference.csv", na_values=["NA"])
    return dict(zip(table["key"], table["value"].astype(float), strict=True))


def _long(frame: pd.DataFrame, columns: dict[str, tuple[str, str]], extra=()) -> pd.DataFrame:
    """columns: csv column -> (wave, measure)."""
    parts = []
    for col, (wave, measure) in columns.items():
        part = frame[["participant", *extra]].copy()
        part["wave"], part["measure"], part["score"] = wave, measure, frame[col]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def cross() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "cross_data.csv")
    return _long(raw, {c: ("baseline", c) for c in ("x", "m1", "m2", "y")})


@pytest.fixture(scope="module")
def arms() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "mediation_data.csv")
    cols = {
        f"{m}_{w}": ({"pre": "baseline", "post": "post"}[w], m)
        for m in ("m1", "m2", "y")
        for w in ("pre", "post")
    }
    return _long(raw, cols, extra=("arm",))


@pytest.fixture(scope="module")
def cross2(cross):
    return mediation(cross, x="x", mediators=["m1", "m2"], y="y", wave="baseline")


def _check_paths(out: pd.DataFrame, ref: dict, prefix: str, mediators: list[str]) -> float:
    """Every path and model statistic against R to 1e-9; returns the largest relative error."""
    worst = 0.0
    for name in [*mediators, *(["total"] if len(mediators) > 1 else [])]:
        row = out[out["mediator"] == name].iloc[0]
        for col in MODEL:
            expected = ref[f"{prefix}.{col}"]
            assert row[col] == pytest.approx(expected, rel=1e-9), (name, col)
            worst = max(worst, abs(row[col] - expected) / abs(expected))
        for col in PATHS:
            key = f"{prefix}.{name}.{col}"
            if name == "total" and col not in ("indirect", "indirect_std"):
                assert math.isnan(row[col]), (name, col)  # a and b are null in the total record
                continue
            assert row[col] == pytest.approx(ref[key], rel=1e-9), key
            worst = max(worst, abs(row[col] - ref[key]) / abs(ref[key]))
    return worst


def test_fields_are_the_spec(cross2):
    assert list(cross2.columns) == SPEC + ["note"]
    assert list(COLUMNS) == SPEC
    assert cross2["mediator"].tolist() == ["m1", "m2", "total"]
    assert (
        (cross2["x"] == "x").all()
        and (cross2["y"] == "y").all()
        and (cross2["wave"] == "baseline").all()
    )
    assert (
        (cross2["boot"] == 5000).all()
        and (cross2["seed"] == 1).all()
        and (cross2["note"] == "").all()
    )


def test_cross_sectional_paths_match_r_lm(cross2, cross, ref):
    # R: lm(m_j ~ x), lm(y ~ x + m1 + m2), lm(y ~ x) on the 59 complete cases (reference.R, paths())
    _check_paths(cross2, ref, "cross2", ["m1", "m2"])
    one = mediation(cross, x="x", mediators="m1", y="y", wave="baseline", boot=200)
    assert one["mediator"].tolist() == ["m1"]  # no total record with one mediator
    _check_paths(one, ref, "cross1", ["m1"])


def test_total_indirect_is_c_minus_c_prime(cross2):
    total = cross2[cross2["mediator"] == "total"].iloc[0]
    assert total["indirect"] == pytest.approx(total["c"] - total["c_prime"], rel=1e-10)


def test_ancova_form_matches_r_lm(arms, ref):
    # R: X = arm == "intervention"; lm(m_j_post ~ X + m1_pre + m2_pre + y_pre),
    # lm(y_post ~ X + m1_post + m2_post + m1_pre + m2_pre + y_pre), lm(y_post ~ X + m1_pre + m2_pre + y_pre)
    out = mediation_arms(arms, pre="baseline", post="post", mediators=["m1", "m2"], y="y", boot=300)
    assert (out["x"] == "arm").all() and (out["wave"] == "post").all()
    _check_paths(out, ref, "ancova", ["m1", "m2"])


def test_bootstrap_replicates_equal_lm_on_the_same_resamples(cross, ref):
    # The first 200 resamples of seed 7, written as case indices by make_data.py; R refits lm on
    # exactly those rows. The counts tracker builds from its seed are those resamples.
    wide = cross.pivot(index="participant", columns="measure", values="score").dropna()
    idx = np.loadtxt(DATA / "boot_idx.csv", delimiter=",", dtype=int)
    counts = np.vstack(list(resample_counts(len(wide), 200, 7)))
    expected_counts = np.stack([np.bincount(row, minlength=len(wide)) for row in idx])
    np.testing.assert_array_equal(counts, expected_counts)
    reps = bootstrap_indirect(wide["x"], wide[["m1", "m2"]], wide["y"], boot=200, seed=7)
    r_reps = np.array([[ref[f"rep.{i + 1}.m1"], ref[f"rep.{i + 1}.m2"]] for i in range(200)])
    np.testing.assert_allclose(reps, r_reps, rtol=1e-9)


@pytest.mark.parametrize("prefix", ["cross2", "cross1", "ancova"])
def test_percentile_cis_agree_with_r_boot(prefix, cross, arms, ref):
    # R: boot(data, statistic, R = 5000) after set.seed(1); boot.ci(type = "perc").
    if prefix == "ancova":
        out = mediation_arms(arms, pre="baseline", post="post", mediators=["m1", "m2"], y="y")
    else:
        mediators = ["m1", "m2"] if prefix == "cross2" else ["m1"]
        out = mediation(cross, x="x", mediators=mediators, y="y", wave="baseline")
    for row in out.itertuples():
        se = ref[f"{prefix}.{row.mediator}.boot_se"]
        for ours, theirs in (
            (row.indirect_ci_low, "boot_low"),
            (row.indirect_ci_high, "boot_high"),
        ):
            expected = ref[f"{prefix}.{row.mediator}.{theirs}"]
            assert abs(ours - expected) < MC_TOLERANCE * se, (
                prefix,
                row.mediator,
                theirs,
                ours,
                expected,
            )


def test_same_seed_same_ci_other_seed_other_ci(cross):
    kwargs = dict(x="x", mediators=["m1", "m2"], y="y", wave="baseline", boot=500)
    first = mediation(cross, seed=3, **kwargs)
    again = mediation(cross, seed=3, **kwargs)
    other = mediation(cross, seed=4, **kwargs)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["indirect_ci_low"], other["indirect_ci_low"])
    assert (other["seed"] == 4).all() and (other["boot"] == 500).all()


def test_chunking_does_not_change_the_resamples(monkeypatch, cross):
    import tracker.resampling as med  # the bootstrap's own module

    kwargs = dict(x="x", mediators=["m1", "m2"], y="y", wave="baseline", boot=700)
    whole = mediation(cross, **kwargs)
    monkeypatch.setattr(med, "CHUNK_CELLS", 59 * 64)  # 64 resamples per chunk
    pd.testing.assert_frame_equal(mediation(cross, **kwargs), whole)


def test_each_model_gets_its_own_cases_and_every_xy_pair(cross):
    extra = cross[cross["measure"] == "y"].assign(measure="y2")
    extra.loc[extra.index[:5], "score"] = np.nan
    data = pd.concat([cross, extra], ignore_index=True)
    out = mediation(data, x=["x"], mediators=["m1"], y=["y", "y2"], wave="baseline", boot=100)
    assert out["y"].tolist() == ["y", "y2"]
    assert out["n"].tolist() == [59, 54]
    # models on the same cases share one bootstrap pass; each still gets the resamples it draws alone
    same = pd.concat(
        [cross, cross[cross["measure"] == "y"].assign(measure="y3", score=lambda f: -f["score"])]
    )
    both = mediation(
        same, x="x", mediators=["m1", "m2"], y=["y", "y3"], wave="baseline", boot=300, seed=5
    )
    alone = mediation(
        same, x="x", mediators=["m1", "m2"], y="y3", wave="baseline", boot=300, seed=5
    )
    numbers = [c for c in SPEC if c not in ("x", "mediator", "y", "wave")]
    np.testing.assert_allclose(
        both[both["y"] == "y3"][numbers].to_numpy(dtype=float),
        alone[numbers].to_numpy(dtype=float),
        rtol=1e-9,
    )


def test_singular_resamples_are_left_out_and_noted():
    # 6 cases, X = 1 in two of them: a resample without a treated (or an untreated) case, or
    # with M collinear with X, cannot be fitted; counted here by the rank of each resample's design
    x = np.array([0, 0, 0, 0, 1, 1.0])
    m = np.array([1.0, 2.0, 1.5, 2.5, 4.0, 4.5])
    y = np.array([2.0, 2.5, 2.0, 3.5, 5.0, 6.5])
    fit = fit_mediation(x, m, y, boot=1000, seed=1)
    (counts,) = resample_counts(6, 1000, 1)
    design = np.column_stack([np.ones(6), x, m])
    singular = sum(np.linalg.matrix_rank(design[w > 0]) < 3 for w in counts)
    assert 0 < singular < 500
    row = fit["paths"][0]
    assert (
        row["note"]
        == f"{singular} of 1000 resamples could not be fitted (singular) and were left out of the CI"
    )
    assert math.isfinite(row["indirect_ci_low"])


def test_too_few_cases_and_constant_variables_give_nulls_with_notes():
    fit = fit_mediation([1.0, 2, 3], [[1.0, 2], [2, 1], [3, 5]], [1.0, 0, 2])
    assert "too few complete cases (3)" in fit["note"]
    assert all(math.isnan(p["indirect"]) for p in fit["paths"]) and len(fit["paths"]) == 3
    fit = fit_mediation([1.0, 1, 1, 1, 1], [1.0, 2, 3, 4, 2], [1.0, 0, 2, 3, 1])
    assert fit["note"] == "X constant in the 5 complete cases: the model is not estimable"


def test_bad_input_is_explained(cross):
    with pytest.raises(AnalysisError, match="'m1' is both a mediator and X"):
        mediation(cross, x="m1", mediators=["m1"], y="y", wave="baseline")
    with pytest.raises(AnalysisError, match="'x' is both X and Y"):
        mediation(cross, x="x", mediators=["m1"], y="x", wave="baseline")
    # a measure without scores gives its models' records with n = 0 and the reason, not an error:
    # the other models of a role-based run still run
    out = mediation(cross, x="x", mediators=["nope"], y=["y", "m2"], wave="baseline", boot=100)
    assert (
        out["n"].tolist() == [0, 0] and (out["note"] == "no scores of nope at wave baseline").all()
    )
    with pytest.raises(AnalysisError, match="no scores at wave 'post'"):
        mediation(cross, x="x", mediators=["m1"], y="y", wave="post")
    with pytest.raises(AnalysisError, match="positive integer"):
        mediation(cross, x="x", mediators=["m1"], y="y", wave="baseline", boot=0)
    with pytest.raises(AnalysisError, match="compares arms; found only 'a'"):
        two_waves = pd.concat([cross, cross.assign(wave="post")], ignore_index=True).assign(arm="a")
        mediation_arms(two_waves, pre="baseline", post="post", mediators=["m1"], y="y")


def test_three_arms_give_one_model_per_arm(arms):
    third = arms[arms["arm"] == "control"].copy()
    third["arm"], third["participant"] = "booster", "B" + third["participant"]
    out = mediation_arms(
        pd.concat([arms, third]), pre="baseline", post="post", mediators=["m1"], y="y", boot=200
    )
    assert out["x"].tolist() == ["arm:booster", "arm:intervention"]
    two = mediation_arms(arms, pre="baseline", post="post", mediators=["m1"], y="y", boot=200)
    assert out.iloc[1]["a"] == pytest.approx(
        two.iloc[0]["a"], rel=1e-12
    )  # the same two arms' participants


def test_vectorised_bootstrap_beats_a_loop_of_fits():
    # The budget (5,000 resamples x 8 models on 1,000 participants < 3 s) is an absolute
    # figure for benchmarks/bench_mediation.py; on this shared machine a test compares within one
    # run: per resample and model, the vectorised bootstrap against a Python loop that refits the
    # model's three least-squares problems on each resample's rows, as a per-resample loop would.
    rng = np.random.default_rng(0)
    n = 1000
    x = rng.normal(size=n)
    m = np.column_stack([0.5 * x + rng.normal(size=n), 0.3 * x + rng.normal(size=n)])
    y = m @ [0.4, 0.2] + 0.1 * x + rng.normal(size=n)
    start = time.perf_counter()
    for _ in range(8):
        fit_mediation(x, m, y, boot=5000, seed=1)
    ours = (time.perf_counter() - start) / (8 * 5000)
    design = np.column_stack([np.ones(n), x, m])
    start = time.perf_counter()
    for idx in np.random.default_rng(1).integers(0, n, size=(200, n)):
        d, t = design[idx], y[idx]
        np.linalg.lstsq(d[:, :2], d[:, 2:], rcond=None)
        np.linalg.lstsq(d, t, rcond=None)
    loop = (time.perf_counter() - start) / 200
    assert ours < loop / 2, (ours, loop)  # about 3-8x here, depending on the machine's load


def test_resamples_are_solved_in_batches_not_one_by_one(monkeypatch):
    import tracker.resampling as med  # the bootstrap's own module

    calls = []
    solve = med._solve_batch
    monkeypatch.setattr(med, "_solve_batch", lambda S, *a: calls.append(len(S)) or solve(S, *a))
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    m = x[:, None] * [0.5, 0.2] + rng.normal(size=(500, 2))
    bootstrap_indirect(x, m, m.sum(axis=1) + rng.normal(size=500), boot=5000, seed=1)
    per_chunk = med.CHUNK_CELLS // 500
    assert calls == [per_chunk] * (
        2 * 5000 // per_chunk
    )  # two batched solves (a paths, Y) per chunk
