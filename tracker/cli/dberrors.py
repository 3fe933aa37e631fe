"""Turn database errors a user can act on into one-line messages."""

from __future__ import annotations


def translate(exc: Exception) -> str | None:
    try:
        from sqlalchemy.exc import IntegrityError, OperationalError
    except ImportError:  # pragma: no cover - sqlalchemy is a hard dependency
        return None
    if isinstance(exc, IntegrityError):
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else ""
        return (
            "the database refused the change because it conflicts with stored data "
            f"({detail}); another process may have written the same rows at the same time. "
            "Nothing was written; check `tracker status` and try again."
        )
    if isinstance(exc, OperationalError):
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if "locked" in detail or "could not serialize" in detail or "deadlock" in detail:
            return f"the database is busy with another writer ({detail}); nothing was written, try again"
        return f"database error: {detail}; nothing was written"
    return None
