"""The report's corrections: the audit events that changed stored data after it was first written.

Read through a :class:`~tracker.db.reader.Reader` (plain SQL, :mod:`tracker.db.provenance`),
so that the report, which reads on a direct connection, never imports SQLAlchemy;
:mod:`tracker.study.audit` writes the events and lists them for ``tracker audit``.
"""

from __future__ import annotations

import datetime as dt
import json


def at_text(value: dt.datetime) -> str:
    """An event's time as UTC ISO 8601, ``2027-03-01T09:30:00Z``."""
    if value.tzinfo is None:  # SQLite hands back the stored UTC time without its zone
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _decoded(value):
    """A JSON column's value: text from SQLite, already decoded by psycopg."""
    return json.loads(value) if isinstance(value, str) else value


def corrections(reader, study) -> list[dict]:
    """The events that changed stored data after it was first written, for the report's provenance.

    Corrections (``update``, ``delete``, ``reinstate``) and imports run with
    ``--update`` that changed stored answers -- each such import once, with its
    counts, not each administration it changed; records as
    :func:`tracker.study.audit.events` gives them.
    ``reader``: a :class:`~tracker.db.reader.Reader`; ``study`` a Study or StudyRef.
    """
    from tracker.datasets.codec import as_datetime  # SQLite's text form, read as SQLAlchemy does
    from tracker.db import provenance

    out = []
    for at, user, action, entity, key, before, after, batch in provenance.correction_events(
        reader, study.id
    ):
        after = _decoded(after)
        if action == "import" and not (after or {}).get("administrations_changed"):
            continue
        out.append(
            {
                "at": at_text(as_datetime(at)),
                "user": user,
                "action": action,
                "entity": entity,
                "key": key,
                "before": _decoded(before),
                "after": after,
                "batch": batch,
            }
        )
    return out
