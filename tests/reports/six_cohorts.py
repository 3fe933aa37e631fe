"""A two-year programme: the demo simulation spread over six cohorts (three per arm)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

COHORTS = (
    ("Mindfulness course 2026", "intervention", dt.date(2026, 3, 2)),
    ("Waitlist control 2026", "control", dt.date(2026, 3, 2)),
    ("Mindfulness autumn 2026", "intervention", dt.date(2026, 9, 7)),
    ("Waitlist autumn 2026", "control", dt.date(2026, 9, 7)),
    ("Mindfulness spring 2027", "intervention", dt.date(2027, 3, 1)),
    ("Waitlist spring 2027", "control", dt.date(2027, 3, 1)),
)


def build_six_cohorts(out: Path, participants: int = 3000, seed: int = 5) -> str:
    """The demo study of ``participants`` with its two cohorts split into six; the database URL."""
    from tracker.db.engine import open_session
    from tracker.db.models import Cohort, Participant
    from tracker.demo import run_demo

    demo = run_demo(out, participants=participants, seed=seed, report=False)
    with open_session(demo["db_url"]) as session:
        first = {c.arm: c for c in session.scalars(select(Cohort))}
        study_id = next(iter(first.values())).study_id
        ids = {}
        for name, arm, start in COHORTS:
            cohort = session.scalar(select(Cohort).where(Cohort.name == name))
            if cohort is None:
                cohort = Cohort(study_id=study_id, name=name, arm=arm, start_date=start)
                session.add(cohort)
                session.flush()
            ids.setdefault(arm, []).append(cohort.id)
        for arm, cohort_ids in ids.items():
            people = session.scalars(
                select(Participant.id)
                .where(Participant.cohort_id == first[arm].id)
                .order_by(Participant.code)
            ).all()
            for k, cohort_id in enumerate(cohort_ids):
                mine = people[k :: len(cohort_ids)]
                session.execute(
                    update(Participant).where(Participant.id.in_(mine)).values(cohort_id=cohort_id)
                )
        session.commit()
    return demo["db_url"]
