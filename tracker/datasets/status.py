"""Data-collection status: the completion matrix and who is due for a wave.

Decisions
---------
* Completion is counted over **active** participants: ``completed`` is the
  number of active participants of the cohort with an administration of the
  instrument at the wave, ``percent`` = 100 x completed / active. Withdrawn
  participants are left out of both (their stored answers stay stored and
  analysed) and counted in ``withdrawn``, so a withdrawal never looks like
  missing data and percentages never exceed 100.
* A wave's window for a cohort is ``start + day ± window`` days. ``due``
  lists active participants lacking at least one of the study's instruments
  at the wave, by participant code only, with the state of the window on
  ``today``: ``upcoming`` (not open yet), ``due`` (open), ``overdue``
  (closed), or ``unscheduled`` when the cohort has no start date.
* Windows are computed from the wave's day and window and the cohort's start
  as stored now, so a correction (``tracker wave set``, ``tracker cohort
  set``) changes what is due at once; nothing is cached.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db.models import Administration, Cohort, Instrument, Participant, Study, Wave

COMPLETION_COLUMNS = ["cohort", "arm", "wave", "wave_order", "instrument", "active", "completed", "percent", "withdrawn"]
DUE_COLUMNS = ["cohort", "arm", "wave", "wave_order", "opens", "closes", "state", "participant", "missing"]


def _cohorts(session: Session, study: Study) -> list[Cohort]:
    return list(session.scalars(select(Cohort).where(Cohort.study_id == study.id).order_by(Cohort.name)))


def _waves(session: Session, study: Study, wave: str | None) -> list[Wave]:
    if wave is not None:
        from tracker.study.studies import get_wave

        return [get_wave(session, study, wave)]
    return list(session.scalars(select(Wave).where(Wave.study_id == study.id).order_by(Wave.position)))


def _instruments(session: Session, study: Study) -> list[Instrument]:
    return list(session.scalars(select(Instrument).where(Instrument.study_id == study.id).order_by(Instrument.code)))


def completion(session: Session, study: Study) -> pd.DataFrame:
    """The completion matrix, one row per cohort x wave x instrument.

    Columns: ``cohort, arm, wave, wave_order, instrument, active, completed,
    percent, withdrawn`` (``percent`` NaN when the cohort has no active
    participant). Ordered by cohort, wave order, instrument.
    """
    cohorts, waves, instruments = _cohorts(session, study), _waves(session, study, None), _instruments(session, study)
    people = dict(
        ((cid, status), n)
        for cid, status, n in session.execute(
            select(Participant.cohort_id, Participant.status, func.count())
            .where(Participant.study_id == study.id)
            .group_by(Participant.cohort_id, Participant.status)
        )
    )
    done = {
        (cid, wid, iid): n
        for cid, wid, iid, n in session.execute(
            select(Participant.cohort_id, Administration.wave_id, Administration.instrument_id, func.count())
            .join(Participant, Participant.id == Administration.participant_id)
            .where(Participant.study_id == study.id, Participant.status == "active")
            .group_by(Participant.cohort_id, Administration.wave_id, Administration.instrument_id)
        )
    }
    rows = []
    for c in cohorts:
        active = people.get((c.id, "active"), 0)
        for w in waves:
            for i in instruments:
                n = done.get((c.id, w.id, i.id), 0)
                rows.append({
                    "cohort": c.name, "arm": c.arm, "wave": w.name, "wave_order": w.position,
                    "instrument": i.code, "active": active, "completed": n,
                    "percent": 100.0 * n / active if active else float("nan"),
                    "withdrawn": people.get((c.id, "withdrawn"), 0),
                })
    return pd.DataFrame(rows, columns=COMPLETION_COLUMNS)


def completion_grid(matrix: pd.DataFrame) -> list[dict]:
    """The matrix for people: one row per cohort and wave, a ``n/N (p%)`` cell per instrument."""
    out: list[dict] = []
    for (cohort, _order), group in matrix.groupby(["cohort", "wave_order"], sort=True):
        first = group.iloc[0]
        row = {"cohort": cohort, "arm": first["arm"], "wave": first["wave"], "active": int(first["active"])}
        for r in group.itertuples():
            pct = "–" if pd.isna(r.percent) else f"{r.percent:.0f}%"
            row[r.instrument] = f"{r.completed}/{r.active} ({pct})"
        out.append(row)
    return out


def due(session: Session, study: Study, *, wave: str | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Active participants still lacking answers for a wave, with the state of its window.

    Parameters
    ----------
    wave
        One wave by name (``NotFound`` if unknown); all waves when None.
    today
        The date the window states are judged on (default: today).

    Returns
    -------
    pandas.DataFrame
        One row per cohort x wave x outstanding participant: ``cohort, arm, wave,
        wave_order, opens, closes`` (dates, None when unscheduled), ``state``
        (``upcoming``, ``due``, ``overdue``, ``unscheduled``), ``participant``
        (the code) and ``missing`` (the instrument codes not yet answered,
        comma-separated). Ordered by wave order, cohort, participant.
    """
    today = today or dt.date.today()
    waves = _waves(session, study, wave)
    instruments = {i.id: i.code for i in _instruments(session, study)}
    cohorts = {c.id: c for c in _cohorts(session, study)}
    people = session.execute(
        select(Participant.id, Participant.code, Participant.cohort_id)
        .where(Participant.study_id == study.id, Participant.status == "active")
        .order_by(Participant.code)
    ).all()
    have: dict[tuple[int, int], set[int]] = {}
    if waves:
        for pid, wid, iid in session.execute(
            select(Administration.participant_id, Administration.wave_id, Administration.instrument_id)
            .join(Participant, Participant.id == Administration.participant_id)
            .where(Participant.study_id == study.id, Administration.wave_id.in_([w.id for w in waves]))
        ):
            have.setdefault((pid, wid), set()).add(iid)
    rows = []
    for w in waves:
        for pid, code, cid in people:
            missing = [c for iid, c in instruments.items() if iid not in have.get((pid, w.id), set())]
            if not missing:
                continue
            cohort = cohorts[cid]
            opens = closes = None
            state = "unscheduled"
            if cohort.start_date is not None:
                target = cohort.start_date + dt.timedelta(days=w.day_offset)
                opens, closes = target - dt.timedelta(days=w.window_days), target + dt.timedelta(days=w.window_days)
                state = "upcoming" if today < opens else "overdue" if today > closes else "due"
            rows.append({
                "cohort": cohort.name, "arm": cohort.arm, "wave": w.name, "wave_order": w.position,
                "opens": opens, "closes": closes, "state": state, "participant": code,
                "missing": ", ".join(sorted(missing)),
            })
    frame = pd.DataFrame(rows, columns=DUE_COLUMNS)
    return frame.sort_values(["wave_order", "cohort", "participant"], ignore_index=True, kind="stable")


def due_by_cohort(frame: pd.DataFrame) -> list[dict]:
    """:func:`due` grouped for people: one row per wave and cohort with the codes listed."""
    out = []
    for (_, cohort), group in frame.groupby(["wave_order", "cohort"], sort=True):
        first = group.iloc[0]
        out.append({
            "wave": first["wave"], "cohort": cohort, "arm": first["arm"],
            "opens": first["opens"].isoformat() if first["opens"] is not None else "",
            "closes": first["closes"].isoformat() if first["closes"] is not None else "",
            "state": first["state"], "outstanding": len(group),
            "participants": " ".join(group["participant"]),
        })
    return out
