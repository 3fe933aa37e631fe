"""Cohorts: training groups within a study, each in an arm.

Decisions
---------
* :func:`set_cohort` changes only what it is given; ``--description ""`` or
  ``clear=("start",)`` / ``("description",)`` removes an optional value. A
  changed start date moves every wave's window for the cohort: ``tracker
  due`` and later imports' window warnings use it at once.
* A cohort with participants cannot be removed; move them first.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study
from tracker.errors import Conflict, TrackerError
from tracker.study import audit
from tracker.study.studies import get_cohort
from tracker.study.text import clean_name, clean_text


def add_cohort(
    session: Session,
    study: Study,
    name: str,
    *,
    arm: str,
    start: dt.date | None = None,
    description: str | None = None,
) -> Cohort:
    name = clean_name(name, "a cohort's name")
    if not (arm or "").strip():
        raise TrackerError(f"cohort {name!r} needs an arm: --arm intervention|control|WORD")
    arm = clean_name(arm, f"cohort {name!r}: --arm")
    description = clean_text(description, f"cohort {name!r}: --description")
    exists = session.scalar(select(Cohort).where(Cohort.study_id == study.id, Cohort.name == name))
    if exists is not None:
        raise Conflict(f"cohort {name!r} already exists in study {study.name!r}")
    cohort = Cohort(
        study_id=study.id, name=name, arm=arm, start_date=start, description=description
    )
    session.add(cohort)
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="create",
        entity="cohort",
        key=name,
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
        for c in session.scalars(
            select(Cohort).where(Cohort.study_id == study.id).order_by(Cohort.name)
        )
    ]


def _snapshot(c: Cohort) -> dict:
    return {"name": c.name, "arm": c.arm, "start": c.start_date, "description": c.description}


def set_cohort(
    session: Session,
    study: Study,
    name: str,
    *,
    new_name: str | None = None,
    arm: str | None = None,
    start: dt.date | None = None,
    description: str | None = None,
    clear: tuple[str, ...] | list[str] = (),
) -> dict:
    """Rename a cohort or correct its arm, start date or description; one audit event.

    Participants keep pointing at the cohort (by id), so a rename keeps every
    participant and answer attached. Returns ``{field: (before, after)}``.
    """
    cohort = get_cohort(session, study, name)
    for f in clear:
        if f not in ("start", "description"):
            raise TrackerError(f"--clear {f!r}: only start and description can be cleared")
    if "start" in clear and start is not None:
        raise TrackerError("give either --start or --clear start, not both")
    if "description" in clear and description is not None:
        raise TrackerError("give either --description or --clear description, not both")
    if new_name is None and arm is None and start is None and description is None and not clear:
        raise TrackerError(
            "nothing to change: give --name NEW, --arm ARM, --start DATE, --description TEXT or --clear FIELD"
        )
    wanted: dict = {}
    if new_name is not None:
        new_name = clean_name(new_name, "a cohort's name")
        if (
            new_name != cohort.name
            and session.scalar(
                select(Cohort.id).where(Cohort.study_id == study.id, Cohort.name == new_name)
            )
            is not None
        ):
            raise Conflict(
                f"cohort {new_name!r} already exists in study {study.name!r}; choose another --name"
            )
        wanted["name"] = new_name
    if arm is not None:
        wanted["arm"] = clean_name(arm, f"cohort {cohort.name!r}: --arm")
    if start is not None:
        wanted["start"] = start
    if description is not None:
        wanted["description"] = clean_text(description, f"cohort {cohort.name!r}: --description")
    for f in clear:
        wanted[f] = None
    now = _snapshot(cohort)
    changes = {f: (now[f], wanted[f]) for f in now if f in wanted and now[f] != wanted[f]}
    if not changes:
        return {}
    key = cohort.name
    for f, (_old, v) in changes.items():
        setattr(cohort, {"start": "start_date"}.get(f, f), v)
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="update",
        entity="cohort",
        key=key,
        before={f: old for f, (old, _new) in changes.items()},
        after={f: new for f, (_old, new) in changes.items()},
    )
    return changes


def remove_cohort(session: Session, study: Study, name: str) -> None:
    """Remove a cohort without participants; refused, with the count, while it has any."""
    cohort = get_cohort(session, study, name)
    n = (
        session.scalar(
            select(func.count()).select_from(Participant).where(Participant.cohort_id == cohort.id)
        )
        or 0
    )
    if n:
        raise Conflict(
            f"cohort {cohort.name!r} has {n:,} participant{'s' if n != 1 else ''} and cannot be removed; "
            "move them with `tracker participant set CODE --cohort NAME` first"
        )
    before = _snapshot(cohort)
    session.delete(cohort)
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="delete",
        entity="cohort",
        key=before["name"],
        before=before,
    )
