"""The integer-code paths of change, compare, planning and trajectory give, to the last bit,
what their pandas paths give (those are kept for the tables the fast paths decline)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from tracker.analysis import compare_arms, estimated_means, paired_change, trajectory
from tracker.analysis._mixed import within_invariant
from tracker.analysis._paired import paired_table
from tracker.analysis._trajectory_rows import measure_rows, unique_inverse
from tracker.analysis.power import plan_next_study
from tracker.errors import AnalysisError

change_module = importlib.import_module("tracker.analysis.change")
compare_module = importlib.import_module("tracker.analysis.compare")
power_module = importlib.import_module("tracker.analysis.power")
trajectory_module = importlib.import_module("tracker.analysis.trajectory")


def _scores(seed: int = 0, n: int = 60, arms=("control", "intervention")) -> pd.DataFrame:
    """Three waves, three measures; decimal scores with ties; some rows and scores missing."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        arm = arms[i % len(arms)]
        for order, wave in enumerate(("pre", "post", "later")):
            for measure in ("b_total", "a_total", "a_total.sub"):
                if rng.random() < 0.1:
                    continue  # an administration never made
                score = round(float(rng.normal(10 + order * (arm == arms[-1]), 3)), 1)
                rows.append((f"P{i:04d}", arm, wave, order, measure, score))
    df = pd.DataFrame(
        rows, columns=["participant", "arm", "wave", "wave_order", "measure", "score"]
    )
    df.loc[rng.random(len(df)) < 0.08, "score"] = np.nan
    df["cohort"] = df["arm"].map({a: f"{a} 2026" for a in arms})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # rows in no order


def _variants(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    keys = ["participant", "arm", "cohort", "wave", "measure"]
    return {
        "str": df,
        "object": df.astype(dict.fromkeys(keys, object)),
        "categorical": df.astype(dict.fromkeys(keys, "category")),
        "categorical, unsorted, unused categories": df.astype(
            {
                k: pd.CategoricalDtype([*sorted(df[k].unique(), reverse=True), "unused"])
                for k in keys
                if k != "wave"  # the pandas path of the trajectory recodes waves: plain text here
            }
        ),
        "integer scores": df.dropna(subset=["score"]).assign(
            score=lambda d: (d["score"] * 10).astype(np.int64)
        ),
        "one arm": df[df["arm"] == "intervention"],
        "tiny": df[df["participant"].isin(sorted(df["participant"].unique())[:3])],
        "one measure missing at post": df[~((df["measure"] == "a_total") & (df["wave"] == "post"))],
    }


@pytest.fixture
def pandas_only(monkeypatch):
    """Every fast path declines: the analyses take their pandas paths."""

    def use_pandas():
        for module in (change_module, compare_module, power_module):
            monkeypatch.setattr(module, "paired_table", lambda *a, **k: None)
        monkeypatch.setattr(trajectory_module, "measure_rows", lambda *a, **k: None)

    return use_pandas


def _both(fn, pandas_only, monkeypatch):
    try:
        fast = fn()
    except AnalysisError as exc:
        fast = str(exc)
    with monkeypatch.context():
        pandas_only()
        try:
            slow = fn()
        except AnalysisError as exc:
            slow = str(exc)
    return fast, slow


def _same(fast, slow):
    if isinstance(slow, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_paths_equal_the_pandas_paths(seed, pandas_only, monkeypatch):
    for name, df in _variants(_scores(seed)).items():
        calls = {
            "change": lambda df=df: paired_change(df, "pre", "post", reliability={"b_total": 0.8}),
            "change by arm": lambda df=df: paired_change(df, "pre", "later", by="arm"),
            "change by cohort": lambda df=df: paired_change(df, "post", "later", by="cohort"),
            "compare": lambda df=df: compare_arms(df, "pre", "post"),
            "plan": lambda df=df: plan_next_study(df, "pre", "post"),
            "plan ci_low": lambda df=df: plan_next_study(df, "pre", "later", effect="ci_low"),
            "trajectory": lambda df=df: trajectory(df),
            "means": lambda df=df: estimated_means(df),
            "trajectory without arms": lambda df=df: trajectory(df, arm=None),
        }
        for what, fn in calls.items():
            fast, slow = _both(fn, pandas_only, monkeypatch)
            try:
                _same(fast, slow)
            except AssertionError as exc:
                raise AssertionError(f"{name}, {what}: {exc}") from None


def test_the_fast_paths_are_taken_on_plain_tables():
    df = _scores()
    assert paired_table(df, "pre", "post", "arm") is not None
    assert paired_table(df.astype({"arm": "category"}), "pre", "post", "arm") is not None
    assert measure_rows(df, "arm") is not None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: pd.concat([d, d.iloc[:1]]),  # a duplicated (participant, wave, measure)
        lambda d: d.assign(arm=d["arm"].where(d.index != d.index[0], None)),  # a missing arm
        lambda d: d.assign(arm=d["arm"].where(d.index != d.index[0], "other")),  # two arms
        lambda d: d.assign(participant=d["participant"].where(d.index != d.index[0], None)),
        lambda d: d.assign(wave_order=d["wave_order"].where(d["wave"] != "later", 0)),
        lambda d: d.assign(score=d["score"].astype(object)),
        lambda d: d.assign(score=d["score"].astype("Float64")),
    ],
)
def test_declined_tables_get_the_pandas_answer(spoil, pandas_only, monkeypatch):
    df = spoil(_scores())
    for fn in (
        lambda: paired_change(df, "pre", "post", by="arm"),
        lambda: compare_arms(df, "pre", "post"),
        lambda: trajectory(df),
    ):
        _same(*_both(fn, pandas_only, monkeypatch))


def test_within_invariant_is_max_equal_min_per_group():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 40, 300)
    X = np.column_stack(
        [np.ones(300), (codes % 3 == 0).astype(float), rng.integers(0, 2, 300).astype(float)]
    )
    order = np.argsort(codes, kind="mergesort")
    starts = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1]
    Xs = X[order]
    expected = (
        np.maximum.reduceat(Xs, starts, axis=0) == np.minimum.reduceat(Xs, starts, axis=0)
    ).all(axis=0)
    for c in (codes, np.sort(codes)):
        np.testing.assert_array_equal(within_invariant(X if c is codes else X[order], c), expected)
    np.testing.assert_array_equal(expected, [True, True, False])


@pytest.mark.parametrize(
    "values", [np.array([3, 1, 3, 7, 0]), np.array([5]), np.array([2, -1, 2]), np.array([10**9, 1])]
)
def test_unique_inverse_is_numpys(values):
    mine, expected = unique_inverse(values), np.unique(values, return_inverse=True)
    for a, b in zip(mine, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_dz_intervals_at_once_equal_one_at_a_time():
    from tracker.analysis._dz_ci import dz_confidence_intervals
    from tracker.analysis.change import dz_confidence_interval

    rng = np.random.default_rng(9)
    dz = np.r_[rng.normal(0, 1, 40), 0.0, 1e-9, -3.0, 12.0, 40.0, -80.0, np.inf, np.nan]
    n = np.r_[rng.integers(3, 400, 40), 3, 5, 4, 3, 10, 2000, 10, 10]
    lows, highs = dz_confidence_intervals(dz, n)
    for d, k, lo, hi in zip(dz, n, lows, highs, strict=True):
        expected = dz_confidence_interval(float(d), int(k))
        np.testing.assert_array_equal([lo, hi], expected, err_msg=f"dz {d}, n {k}")


def test_paired_change_asks_no_dz_interval_one_at_a_time(monkeypatch):
    def refuse(dz, n):
        raise AssertionError(f"dz {dz}, n {n} computed alone")

    monkeypatch.setattr(change_module, "dz_confidence_interval", refuse)
    paired_change(_scores(), "pre", "post", by="arm")
