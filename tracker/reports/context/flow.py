"""Participant flow per cohort and per arm: enrolled, allocated, each wave completed, withdrawn, analysed.

Percentages in the flow are of the participants *enrolled* (CONSORT's
denominator: everyone allocated stays in the count), not of those still active
as in ``tracker status``; the report says so beside the table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tracker.datasets import StudyData
from tracker.reports.context.common import records

REASON_WITHHELD = "reason withheld (it held contact details)"


def _shown_reason(reason: Any) -> str:
    """A withdrawal reason as given, unless it holds contact details (stored before they were refused)."""
    from tracker.study.text import contact_details

    if (
        reason is None
        or (isinstance(reason, float) and math.isnan(reason))
        or not str(reason).strip()
    ):
        return "no reason recorded"
    return REASON_WITHHELD if contact_details(str(reason)) else str(reason)


def _flow(data: StudyData) -> dict:
    waves = data.wave_names()
    participants = data.participants
    # participants as integer codes, and who answered at each wave as a mask over them
    people = pd.Index(pd.unique(participants["participant"]))
    member = people.get_indexer(participants["participant"])
    admins = data.administrations
    who = people.get_indexer(admins["participant"])
    answered_at = {}
    for w in waves:
        done = np.zeros(len(people), dtype=bool)
        done[who[(admins["wave"] == w).to_numpy(dtype=bool, na_value=False) & (who >= 0)]] = True
        answered_at[w] = done
    withdrawn_rows = (participants["status"] == "withdrawn").to_numpy(dtype=bool, na_value=False)
    cohorts = []
    for c in records(data.cohorts):
        in_cohort = (participants["cohort"] == c["cohort"]).to_numpy(dtype=bool, na_value=False)
        codes = np.zeros(len(people), dtype=bool)
        codes[member[in_cohort]] = True
        withdrawn = participants[in_cohort & withdrawn_rows]
        withdrawn_codes = np.zeros(len(people), dtype=bool)
        withdrawn_codes[member[in_cohort & withdrawn_rows]] = True
        steps = []
        for w in waves:
            done = answered_at[w] & codes
            missed = codes & ~done
            steps.append(
                {
                    "wave": w,
                    "completed": int(done.sum()),
                    "not_completed": int(missed.sum()),
                    "withdrawn": int((missed & withdrawn_codes).sum()),
                }
            )
        n_codes, n_withdrawn = int(codes.sum()), int(withdrawn_codes.sum())
        reasons = (
            withdrawn["withdrawal_reason"]
            .map(_shown_reason)
            .value_counts()
            .rename_axis("reason")
            .reset_index(name="n")
            .sort_values(["n", "reason"], ascending=[False, True])
        )
        cohorts.append(
            {
                "cohort": c["cohort"],
                "arm": c["arm"],
                "start": c["start"],
                "enrolled": n_codes,
                "withdrawn": n_withdrawn,
                "active": n_codes - n_withdrawn,
                "waves": steps,
                "reasons": records(reasons),
            }
        )
    return {"waves": waves, "cohorts": cohorts, "arms": _arms(cohorts, waves), "analysed": []}


def _arms(cohorts: list[dict], waves: list[str]) -> list[dict]:
    """The cohorts' flow added up per arm (allocation), arms in alphabetical order."""
    out = []
    for arm in sorted({c["arm"] for c in cohorts}):
        mine = [c for c in cohorts if c["arm"] == arm]
        steps = []
        for i, w in enumerate(waves):
            steps.append(
                {
                    "wave": w,
                    **{
                        k: sum(c["waves"][i][k] for c in mine)
                        for k in ("completed", "not_completed", "withdrawn")
                    },
                }
            )
        out.append(
            {
                "arm": arm,
                "cohorts": [c["cohort"] for c in mine],
                "enrolled": sum(c["enrolled"] for c in mine),
                "withdrawn": sum(c["withdrawn"] for c in mine),
                "waves": steps,
            }
        )
    return out


def analysed(change_blocks: list[dict], arms: list[str]) -> list[dict]:
    """Complete pairs analysed per comparison and arm: the smallest and largest n over the measures."""
    out = []
    for block in change_blocks:
        for arm in arms or ["all"]:
            group = arm if len(arms) >= 2 else "all"
            ns = [r["n"] for r in block["rows"] if r["group"] == group and r["n"] is not None]
            out.append(
                {
                    "pre": block["pre"],
                    "post": block["post"],
                    "arm": arm,
                    "n_min": min(ns) if ns else 0,
                    "n_max": max(ns) if ns else 0,
                }
            )
    return out
