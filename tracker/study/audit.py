"""The audit trail: who changed what, when, from what to what.

Every change the tracker makes is one event, written in the change's own
transaction (a refused change leaves none). Actions: ``create``, ``update``
(a correction, or a row a roster/``--update`` changed), ``delete``,
``withdraw``, ``reinstate`` and ``import`` (one per import batch, with its
counts; an import run with ``--update`` adds one ``update`` of each
``administration`` it changed). Entities: ``study``, ``cohort``, ``wave``,
``participant``, ``instrument``, ``model_role``, ``import_batch``,
``administration``. The key is the entity's
name or code when the change was made (a rename is keyed by the old name;
``before``/``after`` hold both).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import AuditEvent, Study
from tracker.jsonplain import plain as jsonable  # the one JSON-plain converter
from tracker.study.corrections import at_text as _at  # the one form of an event's time

ACTIONS = ("create", "update", "delete", "withdraw", "reinstate", "import")
ENTITIES = (
    "study",
    "cohort",
    "wave",
    "participant",
    "instrument",
    "model_role",
    "import_batch",
    "administration",
)
EVENT_COLUMNS = ["at", "user", "action", "entity", "key", "before", "after", "batch"]


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return os.environ.get("USER") or f"uid:{os.getuid()}"


def record(
    session: Session,
    *,
    study_id: int | None,
    action: str,
    entity: str,
    key: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    import_batch_id: int | None = None,
) -> AuditEvent:
    event = AuditEvent(
        study_id=study_id,
        os_user=os_user(),
        action=action,
        entity=entity,
        entity_key=key,
        before=jsonable(before),
        after=jsonable(after),
        import_batch_id=import_batch_id,
    )
    session.add(event)
    return event


def events(
    session: Session,
    study: Study,
    *,
    since: dt.date | None = None,
    action: str | None = None,
    entity: str | None = None,
) -> list[dict]:
    """The study's audit events, oldest first, as records ``at, user, action, entity, key, before, after, batch``.

    ``at`` is UTC in ISO 8601 (``2027-03-01T09:30:00Z``); ``since`` keeps events
    on or after that UTC day; ``batch`` is the import batch id, or None.
    """
    stmt = select(AuditEvent).where(AuditEvent.study_id == study.id).order_by(AuditEvent.id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if entity is not None:
        stmt = stmt.where(AuditEvent.entity == entity)
    return _records(session, stmt)


def _records(session: Session, stmt) -> list[dict]:
    return [
        {
            "at": _at(e.at),
            "user": e.os_user,
            "action": e.action,
            "entity": e.entity,
            "key": e.entity_key,
            "before": e.before,
            "after": e.after,
            "batch": e.import_batch_id,
        }
        for e in session.scalars(stmt)
    ]
