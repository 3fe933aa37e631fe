"""Waves: study-wide time points, ordered by their day offset from the cohort start."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Study, Wave
from tracker.errors import Conflict, TrackerError
from tracker.study import audit

DEFAULT_WINDOW_DAYS = 7


def add_wave(
    session: Session, study: Study, name: str, *, day: int, window: int | None = None
) -> Wave:
    """Add a wave ``day`` days after each cohort's start, answerable ± ``window`` days.

    Waves are ordered by day offset; two waves cannot share a day. ``window``
    defaults to 7 days.
    """
    name = (name or "").strip()
    if not name:
        raise TrackerError("a wave needs a name")
    window = DEFAULT_WINDOW_DAYS if window is None else window
    if window < 0:
        raise TrackerError(f"wave {name!r}: --window must be 0 or more days, not {window}")
    for other in session.scalars(select(Wave).where(Wave.study_id == study.id)):
        if other.name == name:
            raise Conflict(f"wave {name!r} already exists in study {study.name!r}")
        if other.day_offset == day:
            raise Conflict(
                f"wave {name!r} would fall on day {day}, the day of wave {other.name!r}; "
                "choose another --day"
            )
    wave = Wave(study_id=study.id, name=name, day_offset=day, window_days=window, position=0)
    session.add(wave)
    session.flush()
    _renumber(session, study)
    audit.record(
        session, study_id=study.id, action="create", entity="wave", key=name,
        after={"name": name, "day": day, "window": window},
    )
    return wave


def _renumber(session: Session, study: Study) -> None:
    """Keep ``position`` equal to the rank of ``day_offset`` (1 = earliest)."""
    waves = list(session.scalars(select(Wave).where(Wave.study_id == study.id)))
    # two passes (through negative numbers) so the unique (study, position)
    # constraint never sees two waves on one position mid-update
    for i, wave in enumerate(waves, start=1):
        wave.position = -i
    session.flush()
    for i, wave in enumerate(sorted(waves, key=lambda w: w.day_offset), start=1):
        wave.position = i
    session.flush()


def list_waves(session: Session, study: Study) -> list[dict]:
    return [
        {"order": w.position, "name": w.name, "day": w.day_offset, "window": w.window_days}
        for w in session.scalars(select(Wave).where(Wave.study_id == study.id).order_by(Wave.position))
    ]

