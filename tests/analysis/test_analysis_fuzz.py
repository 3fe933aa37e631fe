"""Small, messy studies through every analysis: no crash, no warning (pytest turns warnings
into errors), every null explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
