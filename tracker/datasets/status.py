"""Data-collection status: the completion matrix and who is due for a wave, as DataFrames.

The queries live in :mod:`tracker.db.listing` (plain SQL, no ORM, no pandas),
which ``tracker status`` and ``tracker due`` call directly so that they start
fast; these functions are the same answers as DataFrames for Python users,
read through the caller's session.

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
from sqlalchemy.orm import Session

from tracker.db import listing
from tracker.db.listing import COMPLETION_COLUMNS, DUE_COLUMNS
from tracker.db.models import Study
from tracker.db.reader import Reader, StudyRef

__all__ = [
    "COMPLETION_COLUMNS",
    "DUE_COLUMNS",
    "completion",
    "completion_grid",
    "due",
    "due_by_cohort",
]


def completion(session: Session, study: Study) -> pd.DataFrame:
    """The completion matrix, one row per cohort x wave x instrument.

    Columns: ``cohort, arm, wave, wave_order, instrument, active, completed,
    percent, withdrawn`` (``percent`` NaN when the cohort has no active
    participant). Ordered by cohort, wave order, instrument.
    """
    return pd.DataFrame(
        listing.completion(Reader.of(session), StudyRef.of(study)), columns=COMPLETION_COLUMNS
    )


def completion_grid(matrix: pd.DataFrame) -> list[dict]:
    """The matrix for people: one row per cohort and wave, a ``n/N (p%)`` cell per instrument."""
    return listing.completion_grid(matrix.to_dict("records"))


def due(
    session: Session, study: Study, *, wave: str | None = None, today: dt.date | None = None
) -> pd.DataFrame:
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
    rows = listing.due(Reader.of(session), StudyRef.of(study), wave=wave, today=today)
    return pd.DataFrame(rows, columns=DUE_COLUMNS)


def due_by_cohort(frame: pd.DataFrame) -> list[dict]:
    """:func:`due` grouped for people: one row per wave and cohort with the codes listed."""
    return listing.due_by_cohort(frame.to_dict("records"))
