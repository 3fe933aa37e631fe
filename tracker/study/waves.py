"""Waves: study-wide time points, ordered by their day offset from the cohort start.

Decisions
---------
* The order of the waves always follows their days (two waves may not share
  a day), so correcting a wave's day with :func:`set_wave` may change the
  order, and with it the first wave -- the default baseline of the
  correlations, the change analyses and the RCI. That is allowed (it is
  usually the fix) and is reported: the result says the order before and
  after, and the audit event records both.
* A wave with stored answers cannot be removed; rename it instead.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db.models import Administration, Study, Wave
from tracker.errors import Conflict, TrackerError
from tracker.study import audit
from tracker.study.studies import get_wave
from tracker.study.text import clean_name

DEFAULT_WINDOW_DAYS = 7


def add_wave(
    session: Session, study: Study, name: str, *, day: int, window: int | None = None
) -> Wave:
    """Add a wave ``day`` days after each cohort's start, answerable ± ``window`` days.

    Waves are ordered by day offset; two waves cannot share a day. ``window``
    defaults to 7 days.
    """
    name = clean_name(name, "a wave's name")
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
        session,
        study_id=study.id,
        action="create",
        entity="wave",
        key=name,
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
        for w in session.scalars(
            select(Wave).where(Wave.study_id == study.id).order_by(Wave.position)
        )
    ]


def _order(session: Session, study: Study) -> list[tuple[int, str]]:
    return [
        tuple(r)
        for r in session.execute(
            select(Wave.id, Wave.name).where(Wave.study_id == study.id).order_by(Wave.position)
        )
    ]


def set_wave(
    session: Session,
    study: Study,
    name: str,
    *,
    new_name: str | None = None,
    day: int | None = None,
    window: int | None = None,
) -> dict:
    """Rename a wave or correct its day or window; one audit event.

    Stored administrations keep pointing at the wave (by id), so a rename keeps
    every answer attached. Returns ``changes`` (``{field: (before, after)}``),
    ``order_before`` and ``order_after`` (wave names in order), ``reordered``
    (the order changed) and ``first`` (the name of the first wave when that
    changed, else None).
    """
    wave = get_wave(session, study, name)
    if new_name is None and day is None and window is None:
        raise TrackerError("nothing to change: give --name NEW, --day N or --window N")
    others = [
        w for w in session.scalars(select(Wave).where(Wave.study_id == study.id)) if w.id != wave.id
    ]
    changes: dict = {}
    if new_name is not None:
        new_name = clean_name(new_name, "a wave's name")
        clash = next((w for w in others if w.name == new_name), None)
        if clash is not None:
            raise Conflict(
                f"wave {new_name!r} already exists in study {study.name!r}; choose another --name"
            )
        if new_name != wave.name:
            changes["name"] = (wave.name, new_name)
    if day is not None:
        clash = next((w for w in others if w.day_offset == day), None)
        if clash is not None:
            raise Conflict(
                f"wave {wave.name!r} cannot move to day {day}: wave {clash.name!r} is on day {day}; "
                "two waves may not share a day"
            )
        if day != wave.day_offset:
            changes["day"] = (wave.day_offset, day)
    if window is not None:
        if window < 0:
            raise TrackerError(f"wave {wave.name!r}: --window must be 0 or more days, not {window}")
        if window != wave.window_days:
            changes["window"] = (wave.window_days, window)
    order_before = _order(session, study)
    if not changes:
        names = [n for _i, n in order_before]
        return {
            "changes": {},
            "order_before": names,
            "order_after": names,
            "reordered": False,
            "first": None,
        }
    key = wave.name
    if "name" in changes:
        wave.name = new_name
    if "day" in changes:
        wave.day_offset = day
    if "window" in changes:
        wave.window_days = window
    session.flush()
    _renumber(session, study)
    order_after = _order(session, study)
    reordered = [i for i, _n in order_after] != [i for i, _n in order_before]
    before = {f: old for f, (old, _new) in changes.items()}
    after = {f: new for f, (_old, new) in changes.items()}
    names_before, names_after = [n for _i, n in order_before], [n for _i, n in order_after]
    if reordered:
        before["order"], after["order"] = names_before, names_after
    audit.record(
        session,
        study_id=study.id,
        action="update",
        entity="wave",
        key=key,
        before=before,
        after=after,
    )
    first = names_after[0] if order_after[0][0] != order_before[0][0] else None
    return {
        "changes": changes,
        "order_before": names_before,
        "order_after": names_after,
        "reordered": reordered,
        "first": first,
    }


def remove_wave(session: Session, study: Study, name: str) -> None:
    """Remove a wave no administration uses; refused, with the count, while any does."""
    wave = get_wave(session, study, name)
    n = (
        session.scalar(
            select(func.count())
            .select_from(Administration)
            .where(Administration.wave_id == wave.id)
        )
        or 0
    )
    if n:
        raise Conflict(
            f"wave {wave.name!r} has {n:,} administration{'s' if n != 1 else ''} and cannot be removed; "
            "rename it with `tracker wave set NAME --name NEW` if its name is wrong"
        )
    before = {"name": wave.name, "day": wave.day_offset, "window": wave.window_days}
    session.delete(wave)
    session.flush()
    _renumber(session, study)
    audit.record(
        session,
        study_id=study.id,
        action="delete",
        entity="wave",
        key=before["name"],
        before=before,
    )
