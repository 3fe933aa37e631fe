"""Studies: create, find, list, summarise."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db.models import (
    Administration,
    Cohort,
    ImportBatch,
    Instrument,
    Participant,
    Study,
    Wave,
)
from tracker.errors import Conflict, NotFound, TrackerError
from tracker.study import audit


def create_study(session: Session, name: str, description: str | None = None) -> Study:
    from tracker.study.text import clean_name, clean_text

    if not (name or "").strip():
        raise TrackerError("a study needs a name: --study NAME")
    name = clean_name(name, "a study's name")
    description = clean_text(description, f"study {name!r}: description")
    if session.scalar(select(Study).where(Study.name == name)) is not None:
        raise Conflict(f"study {name!r} already exists in this database")
    study = Study(name=name, description=description)
    session.add(study)
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="create",
        entity="study",
        key=name,
        after={"name": name, "description": description},
    )
    return study


def resolve_study(session: Session, name: str | None = None) -> Study:
    """The study called ``name``; without a name, the only study in the database."""
    if name is not None:
        study = session.scalar(select(Study).where(Study.name == name))
        if study is None:
            known = ", ".join(
                repr(n) for n in session.scalars(select(Study.name).order_by(Study.name))
            )
            raise NotFound(f"no study named {name!r}; studies here: {known or 'none'}")
        return study
    studies = list(session.scalars(select(Study).order_by(Study.name)).all())
    if not studies:
        raise NotFound(
            "this database holds no study yet; create one with `tracker init --study NAME`"
        )
    if len(studies) > 1:
        names = ", ".join(repr(s.name) for s in studies)
        raise TrackerError(
            f"this database holds {len(studies)} studies ({names}); choose one with --study NAME"
        )
    return studies[0]


def list_studies(session: Session) -> list[dict]:
    counts = dict(
        session.execute(
            select(Participant.study_id, func.count()).group_by(Participant.study_id)
        ).all()
    )
    return [
        {
            "name": s.name,
            "participants": counts.get(s.id, 0),
            "created": s.created_at.date().isoformat(),
        }
        for s in session.scalars(select(Study).order_by(Study.name))
    ]


def study_summary(session: Session, study: Study) -> dict:
    def count(stmt) -> int:
        return session.scalar(stmt) or 0

    return {
        "name": study.name,
        "description": study.description,
        "created": study.created_at.isoformat(timespec="seconds"),
        "cohorts": [
            {
                "name": c.name,
                "arm": c.arm,
                "start": c.start_date.isoformat() if c.start_date else None,
            }
            for c in study.cohorts
        ],
        "waves": [w.name for w in study.waves],
        "participants": count(
            select(func.count()).select_from(Participant).where(Participant.study_id == study.id)
        ),
        "withdrawn": count(
            select(func.count())
            .select_from(Participant)
            .where(Participant.study_id == study.id, Participant.status == "withdrawn")
        ),
        "instruments": list(
            session.scalars(
                select(Instrument.code)
                .where(Instrument.study_id == study.id)
                .order_by(Instrument.code)
            )
        ),
        "administrations": count(
            select(func.count())
            .select_from(Administration)
            .join(Wave, Wave.id == Administration.wave_id)
            .where(Wave.study_id == study.id)
        ),
        "import_batches": count(
            select(func.count()).select_from(ImportBatch).where(ImportBatch.study_id == study.id)
        ),
    }


def get_cohort(session: Session, study: Study, name: str) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.study_id == study.id, Cohort.name == name))
    if cohort is None:
        known = ", ".join(repr(c.name) for c in study.cohorts)
        raise NotFound(
            f"no cohort named {name!r} in study {study.name!r}; cohorts: {known or 'none yet'}"
        )
    return cohort


def get_wave(session: Session, study: Study, name: str) -> Wave:
    wave = session.scalar(select(Wave).where(Wave.study_id == study.id, Wave.name == name))
    if wave is None:
        known = ", ".join(repr(w.name) for w in study.waves)
        raise NotFound(
            f"no wave named {name!r} in study {study.name!r}; waves: {known or 'none yet'}"
        )
    return wave
