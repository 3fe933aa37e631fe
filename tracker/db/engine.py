"""One place that knows how to open each kind of database."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tracker.config import redact_url, resolve_url
from tracker.errors import DatabaseError

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (resolved as :func:`tracker.config.resolve_url` does).

    SQLite gets foreign keys, WAL and a busy timeout on every connection.
    Raises :class:`DatabaseError` when the database cannot be reached.
    """
    resolved = resolve_url(url)
    try:
        engine = create_engine(resolved)
    except Exception as exc:  # bad URL syntax, unknown dialect
        raise DatabaseError(f"cannot use database URL {redact_url(resolved)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def check_reachable(engine: Engine) -> None:
    """Raise :class:`DatabaseError` naming the (redacted) URL if no connection can be made."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"cannot connect to {redact_url(engine.url.render_as_string(hide_password=False))}: "
            f"{reason}"
        ) from None


class OwnedSession(Session):
    """A session that owns its engine: closing it releases every connection."""

    def close(self) -> None:
        bind = self.bind
        super().close()
        if isinstance(bind, Engine):
            bind.dispose()


def open_session(url: str | None = None, *, check_revision: bool = True) -> Session:
    """A session on a reachable database at the newest migration revision."""
    from tracker.db.migrate import require_current

    engine = make_engine(url)
    try:
        check_reachable(engine)
        if check_revision:
            require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return OwnedSession(engine)
