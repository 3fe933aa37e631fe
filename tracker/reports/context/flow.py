"""Participant flow per cohort: enrolled, each wave completed, withdrawn."""

from __future__ import annotations

from tracker.datasets import StudyData
from tracker.reports.context.common import records


def _flow(data: StudyData) -> dict:
    waves = data.wave_names()
    participants = data.participants
    answered = data.administrations[["participant", "wave"]].drop_duplicates()
    cohorts = []
    for c in records(data.cohorts):
        members = participants[participants["cohort"] == c["cohort"]]
        codes = set(members["participant"])
        withdrawn = members[members["status"] == "withdrawn"]
        withdrawn_codes = set(withdrawn["participant"])
        steps = []
        for w in waves:
            done = set(answered.loc[answered["wave"] == w, "participant"]) & codes
            missed = codes - done
            steps.append(
                {
                    "wave": w,
                    "completed": len(done),
                    "not_completed": len(missed),
                    "withdrawn": len(missed & withdrawn_codes),
                }
            )
        reasons = (
            withdrawn["withdrawal_reason"]
            .fillna("no reason recorded")
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
                "enrolled": len(codes),
                "withdrawn": len(withdrawn_codes),
                "active": len(codes) - len(withdrawn_codes),
                "waves": steps,
                "reasons": records(reasons),
            }
        )
    return {"waves": waves, "cohorts": cohorts}
