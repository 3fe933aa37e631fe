"""Strict date parsing: ISO 8601 calendar dates only, so 03/04/2027 is never guessed.

One contract for every date the tracker reads (a cohort's start, an enrolment
date, a ``--since`` option, a response file's completion date):

- :func:`check_date` is the one parser: ``(date, None)`` or ``(None, reason)``,
  ``reason`` one of :data:`NOT_ISO`, :data:`NOT_CALENDAR`, :data:`NOT_TIME`.
  Blanks around the text are dropped; the rest must match whole.
  ``time=True`` also takes an ISO date-time (``2027-03-04T09:30:00+01:00``, a
  space for the ``T``; REDCap and survey exports write them) and gives its date.
- :func:`parse_date` raises :class:`TrackerError` ``"{what} {text!r} is {reason}"``;
  the study file, the roster and the CLI options use it.
- :func:`tracker.ingest.cells.parse_date` is the import's adapter: ``(ordinal, reason)``
  for vectorised problem collection, an empty cell ``(0, None)``.
"""

from __future__ import annotations

import datetime as dt
import re

from tracker.errors import TrackerError

NOT_ISO = "not a date in the form YYYY-MM-DD"
NOT_CALENDAR = "not a real calendar date"
NOT_TIME = "not a real time of day (hours 0-23, minutes and seconds 0-59)"

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):?(\d{2}))?)?"
)


def check_date(text: str, *, time: bool = False) -> tuple[dt.date | None, str | None]:
    """``(date, None)`` for ``YYYY-MM-DD`` (with ``time``, an ISO date-time's date part too),
    ``(None, reason)`` otherwise (an impossible time such as ``25:00`` included)."""
    value = str(text).strip()
    match = (_ISO_TIME if time else _ISO).fullmatch(value)
    if not match:
        return None, NOT_ISO
    try:
        date = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None, NOT_CALENDAR
    if time:
        hour, minute, second, tz_hour, tz_minute = match.groups()[1:]
        if hour is not None and (
            int(hour) > 23
            or int(minute) > 59
            or (second is not None and int(second) > 59)
            or (tz_hour is not None and (int(tz_hour) > 23 or int(tz_minute) > 59))
        ):
            return None, NOT_TIME
    return date, None


def parse_date(text: str, *, what: str = "date") -> dt.date:
    """Parse ``YYYY-MM-DD``; raise :class:`TrackerError` saying why otherwise."""
    date, reason = check_date(text)
    if reason is not None:
        raise TrackerError(f"{what} {str(text).strip()!r} is {reason}")
    return date
