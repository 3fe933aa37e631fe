"""Paired plot data (not statistics: the scores themselves)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.datasets import StudyData
from tracker.reports.context.common import PAIRED_SAMPLE


def _paired(data: StudyData, measures: list[str], pre: str, post: str) -> dict:
    from tracker.datasets.analyses import coded_scores

    # the analyses' copy with categorical keys: picking rows takes codes, not text
    s = coded_scores(data)[["participant", "arm", "wave", "measure", "score"]]
    s = s[s["measure"].isin(measures) & s["wave"].isin([pre, post]) & s["score"].notna()]
    # participants numbered once (order of appearance), then plain numpy per measure
    person, people = pd.factorize(s["participant"])
    # arms and measures as integer codes too (a missing arm is code -1: the NaN appended)
    arm_codes, arms = pd.factorize(s["arm"])
    arm_labels = np.append(np.asarray(arms, dtype=object), np.nan)
    arm_code_of = np.empty(len(people), dtype=np.int64)
    arm_code_of[person] = arm_codes
    arm_of = arm_labels[arm_code_of]
    measure_codes, measure_names = pd.factorize(s["measure"])
    code_of = {name: i for i, name in enumerate(measure_names)}
    is_pre = (s["wave"] == pre).to_numpy()
    score = s["score"].to_numpy(dtype=float)
    rng = np.random.Generator(np.random.PCG64(0))  # the same participants drawn every time
    out: dict[str, dict[str, dict]] = {}
    for m in measures:
        mine = measure_codes == code_of.get(m, -2)
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
