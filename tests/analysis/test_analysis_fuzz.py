"""Small, messy studies through every analysis: no crash, no warning (pytest turns warnings
into errors), every null explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import analysis
from tracker.errors import AnalysisError

WAVES = [("baseline", 0), ("post", 1), ("followup", 2)]


@st.composite
def studies(draw):
    n = draw(st.integers(0, 9))
    k_items = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    missing = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    arms = draw(st.sampled_from([["control"], ["control", "intervention"], ["a", "b", "c"]]))
    rng = np.random.default_rng(seed)
    rows, items = [], []
    for i in range(n):
        arm = arms[i % len(arms)]
        base = rng.integers(0, 4)
        for wave, order in WAVES:
            for m in ("m1", "m2"):
                values = (base + rng.integers(0, 3, k_items)).astype(float)
                values[rng.random(k_items) < missing] = np.nan
                for j, v in enumerate(values):
                    items.append((f"p{i}", wave, m, f"{m}_{j}", v))
                score = np.nan if np.isnan(values).any() else values.mean()
                rows.append((f"p{i}", arm, wave, order, m, score))
    scores = pd.DataFrame(
        rows, columns=["participant", "arm", "wave", "wave_order", "measure", "score"]
    )
    items = pd.DataFrame(items, columns=["participant", "wave", "measure", "item", "value"])
    return scores, items


def explained(df: pd.DataFrame) -> None:
    numeric = [c for c in df.columns if c != "note" and pd.api.types.is_numeric_dtype(df[c])]
    assert not (df[numeric].isna().any(axis=1) & (df["note"] == "")).any(), df


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_every_analysis_survives_small_messy_data(study):
    scores, items = study
    wide = scores[scores["wave"] == "baseline"].pivot_table(
        index="participant", columns="measure", values="score", dropna=False
    ).reindex(columns=["m1", "m2"])  # fmt: skip
    for method in ("pearson", "spearman"):
        explained(analysis.correlations(wide, ["m1", "m2"], method=method))
    explained(analysis.paired_change(scores, "baseline", "post", reliability={"m1": 0.8}))
    explained(analysis.paired_change(scores, "baseline", "post", by="arm"))
    try:
        explained(analysis.compare_arms(scores, "baseline", "post"))
    except AnalysisError as exc:
        assert "needs at least two arms" in str(exc)
    explained(analysis.trajectory(scores, measures=["m1", "m2"]))
    explained(analysis.estimated_means(scores, measures=["m1", "m2"]))
    explained(analysis.reliability(items))
    explained(analysis.item_total(items))


# ------------------------------------------------------------------ degenerate studies (issue 13)


def degenerate_study(kind: str):
    """A small two-arm study (8 per arm, three waves, 4 items per measure) made degenerate."""
    rng = np.random.default_rng(13)
    n_per_arm = 1 if kind == "one_per_arm" else 8
    waves = WAVES[:1] if kind == "single_wave" else WAVES
    rows, items = [], []
    people = [
        (f"{arm[0]}{i}", arm) for arm in ("control", "intervention") for i in range(n_per_arm)
    ]
    if kind == "n2":  # two participants in all, in one arm
        people = [("c0", "control"), ("c1", "control")]
    for code, arm in people:
        base = rng.integers(0, 4, 4).astype(float)
        first = {}
        for wave, order in waves:
            for m in ("m1", "m2"):
                values = np.clip(base + rng.integers(-1, 2, 4), 0, 4).astype(float)
                if kind == "post_equals_pre":  # the baseline file imported again as post
                    values = first.setdefault(m, values)
                if kind == "constant" and m == "m1":
                    values = np.full(4, 2.0)
                if kind == "collinear":  # post = pre + 1 item for item: post exactly pre + 4
                    values = base + order
                if kind == "missing_wave" and wave == "post":
                    values = np.full(4, np.nan)
                for j, v in enumerate(values):
                    items.append((code, wave, m, f"{m}_{j}", v))
                score = np.nan if np.isnan(values).any() else values.sum()
                rows.append((code, arm, wave, order, m, score))
    scores = pd.DataFrame(
        rows, columns=["participant", "arm", "wave", "wave_order", "measure", "score"]
    )
    items = pd.DataFrame(items, columns=["participant", "wave", "measure", "item", "value"])
    return scores, items


DEGENERATE = ["post_equals_pre", "constant", "one_per_arm", "n2", "missing_wave", "collinear",
              "single_wave"]  # fmt: skip


@pytest.mark.parametrize("kind", DEGENERATE)
def test_every_analysis_survives_degenerate_data(kind):
    """Every analysis returns its records, each null explained, or an AnalysisError that says why."""
    scores, items = degenerate_study(kind)
    wide = scores[scores["wave"] == "baseline"].pivot_table(
        index="participant", columns="measure", values="score", dropna=False
    ).reindex(columns=["m1", "m2"])  # fmt: skip
    for method in ("pearson", "spearman"):
        explained(analysis.correlations(wide, ["m1", "m2"], method=method))
    for by in (None, "arm"):
        out = analysis.paired_change(scores, "baseline", "post", by=by, reliability={"m1": 0.8})
        explained(out)
        assert len(out) == 2 * (1 if by is None else scores["arm"].nunique())
    if kind == "n2":
        with pytest.raises(
            AnalysisError, match="comparing arms needs at least two arms; found only 'control'"
        ):
            analysis.compare_arms(scores, "baseline", "post")
    else:
        out = analysis.compare_arms(scores, "baseline", "post")
        explained(out)
        assert out["measure"].tolist() == ["m1", "m2"]
        if kind in ("post_equals_pre", "collinear"):  # post = pre (+ 4): fitted exactly
            assert out["adj_diff"].isna().all() and out["partial_eta_sq"].isna().all()
            assert out["note"].str.contains("fitted exactly").all()
    explained(analysis.trajectory(scores, measures=["m1", "m2"]))
    explained(analysis.estimated_means(scores, measures=["m1", "m2"]))
    explained(analysis.reliability(items))
    explained(analysis.reliability(items, omega_boot=30, seed=2))
    explained(analysis.item_total(items))
    normed = analysis.paired_change(scores, "baseline", "post", reliability={"m1": 0.8, "m2": 0.7},
                                    norm_sd={"m1": 2.0}, norm_mean={"m1": 9.0})  # fmt: skip
    explained(normed)
