"""Strict date parsing: ISO 8601 calendar dates only, so 03/04/2027 is never guessed."""

from __future__ import annotations

import datetime as dt
import re

from tracker.errors import TrackerError

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str, *, what: str = "date") -> dt.date:
    """Parse ``YYYY-MM-DD``; raise :class:`TrackerError` saying why otherwise."""
    value = str(text).strip()
    if not _ISO.fullmatch(value):
        raise TrackerError(f"{what} {value!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise TrackerError(f"{what} {value!r} is not a real calendar date") from None
