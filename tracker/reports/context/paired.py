"""Paired plot data (not statistics: the scores themselves)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.datasets import StudyData
from tracker.reports.context.common import PAIRED_SAMPLE


def _paired(data: StudyData, measures: list[str], pre: str, post: str) -> dict:
    s = data.scores
    s = s[s["measure"].isin(measures) & s["wave"].isin([pre, post]) & s["score"].notna()]
    # participants numbered once (order of appearance), then plain numpy per measure
    person, people = pd.factorize(s["participant"])
    arm_of = np.empty(len(people), dtype=object)
    arm_of[person] = s["arm"].to_numpy(dtype=object)
    measure = s["measure"].to_numpy(dtype=object)
    is_pre = (s["wave"] == pre).to_numpy()
    score = s["score"].to_numpy(dtype=float)
    rng = np.random.Generator(np.random.PCG64(0))  # the same participants drawn every time
    out: dict[str, dict[str, dict]] = {}
    for m in measures:
        mine = measure == m
        before = np.full(len(people), np.nan)
        after = np.full(len(people), np.nan)
        before[person[mine & is_pre]] = score[mine & is_pre]
        after[person[mine & ~is_pre]] = score[mine & ~is_pre]
        both = ~np.isnan(before) & ~np.isnan(after)
        out[m] = {}
        for arm in sorted(set(arm_of[both])):
            keep = both & (arm_of == arm)
            values = np.column_stack([before[keep], after[keep]])
            shown = len(values)
            if shown > PAIRED_SAMPLE:
                values = values[np.sort(rng.choice(shown, PAIRED_SAMPLE, replace=False))]
            out[m][arm] = {"pairs": values.tolist(), "n": shown}
    return out
