"""The audit trail: who changed what, when, from what to what."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Any

from sqlalchemy.orm import Session

from tracker.db.models import AuditEvent


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return os.environ.get("USER") or f"uid:{os.getuid()}"


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


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
