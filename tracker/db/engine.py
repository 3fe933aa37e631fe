"""One place that knows how to open each kind of database."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tracker.config import redact_url, resolve_url
from tracker.errors import Conflict, DatabaseError, TrackerError

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
    import warnings

    from sqlalchemy.exc import SAWarning

    resolved = resolve_url(url)
    try:
        with warnings.catch_warnings():
            # SQLite ignores an option it does not know (?bogus=1) with only a warning
            warnings.simplefilter("error", SAWarning)
            engine = create_engine(resolved)
    except SAWarning as exc:
        unknown = re.search(r"argument\(s\) (.*?) (?:are|is) not accepted", str(exc))
        raise DatabaseError(
            f"cannot use database URL {redact_url(resolved)}: the driver does not know the URL option(s) "
            f"{unknown.group(1) if unknown else str(exc).split(';')[0]}; remove them from the URL"
        ) from None
    except (
        ValueError
    ) as exc:  # "user:secret/db": the text where the port should be may be a password
        reason = "the port is not a number" if "int()" in str(exc) else "it is not a valid URL"
        raise DatabaseError(f"cannot use database URL {redact_url(resolved)}: {reason}") from None
    except Exception as exc:  # bad URL syntax, unknown dialect
        raise DatabaseError(f"cannot use database URL {redact_url(resolved)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def where(engine_or_url: Engine | str | None) -> str:
    """The database named for people: a SQLite file's path, else the URL without its password."""
    if isinstance(engine_or_url, Engine):
        url = engine_or_url.url.render_as_string(hide_password=False)
    else:
        url = resolve_url(engine_or_url)
    path = sqlite_file(url)
    return f"the SQLite file {path}" if path is not None else redact_url(url)


def sqlite_file(url: str | None) -> Path | None:
    """The file of a SQLite URL (resolved as :func:`resolve_url` does); None for memory or another database."""
    resolved = resolve_url(url)
    if not resolved.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(resolved)
    except Exception:  # malformed: make_engine says so
        return None
    database = parsed.database or ""
    if (
        not database
        or database == ":memory:"
        or database.startswith("file:")
        or parsed.query.get("mode") == "memory"
    ):
        return None
    return Path(database)


def missing_sqlite_file(engine_or_url: Engine | str | None) -> Path | None:
    """The SQLite file of ``engine_or_url`` when it does not exist (opening it would create it); else None."""
    if isinstance(engine_or_url, Engine):
        engine_or_url = engine_or_url.url.render_as_string(hide_password=False)
    path = sqlite_file(engine_or_url)
    return path if path is not None and not path.exists() else None


def require_existing(engine_or_url: Engine | str | None) -> None:
    """Refuse a SQLite file that does not exist, before anything creates it (a mistyped ``--db``)."""
    path = missing_sqlite_file(engine_or_url)
    if path is not None:
        raise DatabaseError(
            f"there is no database at {os.path.abspath(path)}: no such file, so it holds no tracker "
            "database; create one with `tracker init --study NAME`, or check --db / TRACKER_DATABASE_URL. "
            "Nothing was created"
        )


_DAMAGED = ("file is not a database", "database disk image is malformed", "file is encrypted")
#: A value quoted at the end of a driver's message (``invalid input syntax for type
#: integer: "R017"``) is participant data: messages stop before it.
_QUOTED_VALUE = re.compile(r':\s*".*$', re.S)


def _first_line(error: BaseException) -> str:
    diag = getattr(error, "diag", None)  # psycopg: the primary message, without DETAIL lines
    text = getattr(diag, "message_primary", None) or str(error)
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else error.__class__.__name__


def _kinds(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


#: Errors of a lost race with another writer: by class name (psycopg's, which need not be imported
#: to be recognised) or by the driver's words (SQLite has no classes for them).
_BUSY_KINDS = {"DeadlockDetected", "LockNotAvailable", "SerializationFailure", "QueryCanceled"}
_BUSY_WORDS = re.compile(r"locked|busy|could not serialize|deadlock", re.I)
#: A write the database cannot do: a full disk, an I/O error, a read-only file.
_WRITE_FAILURE = re.compile(
    r"full|disk|i/o|readonly|read-only|unable to open|out of memory|no space", re.I
)

BUSY = "the database is busy with another writer ({detail}); nothing was written, try again"
CONFLICT = (
    "the database refused the change because it conflicts with stored data "
    "({detail}); another process may have written the same rows at the same time. "
    "Nothing was written; check `tracker status` and try again."
)
WRITE_FAILED = (
    "the database could not be written ({detail}); nothing was written. Free disk space "
    "(or fix what the message says) and import again"
)


def classify(exc: BaseException) -> tuple[str, str] | None:
    """``(kind, detail)`` for a database error, or None when ``exc`` is not one.

    The one reading of a driver's error, for :func:`explain` and :func:`translate_errors`.
    Takes SQLAlchemy's wrapped errors and the raw sqlite3/psycopg ones (the analyses and the
    bulk writes use the driver directly). ``kind`` is one of ``damaged`` (not a SQLite
    database), ``conflict`` (an integrity error), ``value`` (a value the column cannot
    hold), ``busy`` (a lock, a deadlock, a serialisation failure), ``write`` (a full disk,
    an I/O error; every non-busy PostgreSQL operational error: the server gone),
    ``operational`` (``no such table`` and the like) or ``other``. ``detail`` is the first
    line of the driver's own message, without the SQL or its parameters (participant
    data), cut before a quoted value for ``value`` and ``other``.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    module = type(orig).__module__.split(".")[0]
    if not isinstance(exc, DBAPIError) and module not in ("sqlite3", "psycopg"):
        return None
    detail = _first_line(orig)
    kinds = _kinds(orig) | _kinds(exc)
    if module == "sqlite3" and any(d in detail.lower() for d in _DAMAGED):
        return "damaged", detail
    if "IntegrityError" in kinds:
        return "conflict", detail
    if "DataError" in kinds:
        return "value", _QUOTED_VALUE.sub("", detail)
    if "OperationalError" in kinds:
        if kinds & _BUSY_KINDS or _BUSY_WORDS.search(detail):
            return "busy", detail
        if module == "psycopg" or _WRITE_FAILURE.search(detail):
            return "write", detail
        return "operational", detail
    return "other", _QUOTED_VALUE.sub("", detail)


def explain(exc: BaseException, url: str | None = None) -> str | None:
    """A one-line message for a database error a user can act on, or None when ``exc`` is not one.

    See :func:`classify`; the message never carries the SQL or its parameters.
    """
    found = classify(exc)
    if found is None:
        return None
    kind, detail = found
    if kind == "damaged":
        return (
            f"{where(url)} is damaged or is not a SQLite database ({detail}); nothing was written. "
            "Restore it from a backup, or check --db / TRACKER_DATABASE_URL"
        )
    if kind == "conflict":
        return CONFLICT.format(detail=detail)
    if kind == "value":
        return f"the database refused a value ({detail}); nothing was written. Check the lengths and sizes of the values given"
    if kind == "busy":
        return BUSY.format(detail=detail)
    if kind in ("write", "operational"):
        orig = getattr(exc, "orig", None) or exc
        if "full" in detail.lower() and type(orig).__module__.split(".")[0] == "sqlite3":
            return f"{where(url)} cannot grow: the disk is full ({detail}); nothing was written"
        return f"database error on {where(url)}: {detail}; nothing was written"
    return f"database error on {where(url)} ({detail}); nothing was written"


@contextmanager
def translate_errors(conflict: str = CONFLICT) -> Iterator[None]:
    """Inside the block, a lost race with another writer becomes :class:`Conflict` (``conflict``,
    a text with ``{detail}``, for a unique key taken meanwhile; :data:`BUSY` for a lock) and a
    write the database cannot do (a full disk, an I/O error) :class:`TrackerError`, whatever
    layer raised it. Any other error passes unchanged (``no such table`` is a bug, not the
    user's to fix; :func:`explain` words the rest at the top)."""
    try:
        yield
    except Exception as exc:
        found = classify(exc)
        kind, detail = found if found is not None else ("", "")
        if kind == "conflict":
            raise Conflict(conflict.format(detail=detail)) from None
        if kind == "busy":
            raise Conflict(BUSY.format(detail=detail)) from None
        if kind == "write":
            raise TrackerError(WRITE_FAILED.format(detail=detail)) from None
        raise


def check_reachable(engine: Engine) -> None:
    """Raise :class:`DatabaseError` naming the (redacted) URL if no connection can be made.

    A SQLite file that is damaged or not a database, a folder that does not
    exist and an option the driver does not know (``?bogus=1``) are each said
    in words.
    """
    url = engine.url.render_as_string(hide_password=False)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        parent = path.parent
        if not parent.is_dir():
            raise DatabaseError(
                f"cannot create the SQLite file {path}: the folder {parent} does not exist"
                if not parent.exists()
                else f"cannot create the SQLite file {path}: {parent} is not a folder"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise DatabaseError(
                f"cannot create the SQLite file {path}: permission denied in {parent}"
            )
    if path is not None and path.is_dir():
        raise DatabaseError(
            f"{path} is a folder, not a SQLite file; check --db / TRACKER_DATABASE_URL"
        )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        detail = _first_line(exc.orig) if exc.orig is not None else exc.__class__.__name__
        if path is not None and any(d in detail.lower() for d in _DAMAGED):
            raise DatabaseError(explain(exc, url)) from None
        hint = ""
        if "invalid connection option" in detail or "invalid URI query parameter" in detail:
            hint = "; remove that option from the URL"
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {detail}{hint}") from None
    except TypeError as exc:  # SQLite: an option its connect() does not take
        raise DatabaseError(
            f"cannot connect to {redact_url(url)}: the URL carries an option the driver does not know "
            f"({exc}); remove it from the URL"
        ) from None


class OwnedSession(Session):
    """A session that owns its engine: closing it releases every connection."""

    def close(self) -> None:
        bind = self.bind
        super().close()
        if isinstance(bind, Engine):
            bind.dispose()


def open_session(url: str | None = None, *, check_revision: bool = True) -> Session:
    """A session on a reachable database at the newest migration revision.

    A SQLite file that does not exist is refused, and not created: only
    ``tracker init`` and ``tracker db upgrade`` make a database.
    """
    from tracker.db.migrate import require_current

    require_existing(url)
    engine = make_engine(url)
    try:
        check_reachable(engine)
        if check_revision:
            require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return OwnedSession(engine)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: a session (:func:`open_session`) committed when the block succeeds,
    rolled back on any error, closed either way. The CLI's commands and the Python API use it."""
    session = open_session(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
