"""Cohorts: training groups within a study, each in an arm."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study
from tracker.errors import Conflict, TrackerError
from tracker.study import audit


def add_cohort(
    session: Session,
    study: Study,
    name: str,
    *,
    arm: str,
    start: dt.date | None = None,
    description: str | None = None,
) -> Cohort:
    name, arm = (name or "").strip(), (arm or "").strip()
    if not name:
        raise TrackerError("a cohort needs a name")
    if not arm:
        raise TrackerError(f"cohort {name!r} needs an arm: --arm intervention|control|WORD")
    exists = session.scalar(select(Cohort).where(Cohort.study_id == study.id, Cohort.name == name))
    if exists is not None:
        raise Conflict(f"cohort {name!r} already exists in study {study.name!r}")
    cohort = Cohort(study_id=study.id, name=name, arm=arm, start_date=start, description=description)
    session.add(cohort)
    session.flush()
    audit.record(
        session, study_id=study.id, action="create", entity="cohort", key=name,
        after={"name": name, "arm": arm, "start": start, "description": description},
    )
    return cohort


def list_cohorts(session: Session, study: Study) -> list[dict]:
    counts = dict(
        session.execute(
            select(Participant.cohort_id, func.count())
            .where(Participant.study_id == study.id)
            .group_by(Participant.cohort_id)
        ).all()
    )
    return [
        {
            "name": c.name,
            "arm": c.arm,
            "start": c.start_date.isoformat() if c.start_date else "",
            "participants": counts.get(c.id, 0),
            "description": c.description or "",
        }
        for c in session.scalars(select(Cohort).where(Cohort.study_id == study.id).order_by(Cohort.name))
    ]
