"""Read-only DBAPI access for the loaders, with or without SQLAlchemy.

:class:`Reader` wraps a DBAPI connection: the one under a SQLAlchemy session
(:meth:`Reader.of`), or one opened directly by :func:`open_reader`. The second
is how ``tracker analyze`` reads: importing SQLAlchemy and building the ORM
costs a large share of the time budget for one analysis at 10,000
participants (BENCHMARKS.md, design figures). :func:`open_reader` takes only the plain cases (a SQLite file
that exists, a ``postgresql`` URL), checks the schema revision, and otherwise
returns None so that the caller opens the usual SQLAlchemy session, which
explains any problem (unreachable server, old schema, bad URL) in its own words.

Placeholders: SQL in ``tracker/db/`` is written with ``?`` (qmark) on every
backend, and :func:`tracker.db.sql.driver_sql` is the one place that turns it into the
driver's style. The queries themselves are in :mod:`tracker.db.read_store`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tracker.config import resolve_url
from tracker.db.sql import driver_sql

SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class StudyRef:
    """A study's id and name: all a loader needs of it."""

    id: int
    name: str

    @classmethod
    def of(cls, study: Any) -> StudyRef:
        return study if isinstance(study, StudyRef) else cls(study.id, study.name)


class Reader:
    """Plain SQL through one DBAPI connection; ``?`` placeholders on every backend."""

    def __init__(self, connection, dialect: str, *, owned: bool = False, url: str | None = None):
        self.connection = connection
        self.dialect = dialect
        self._owned = owned
        self.url = url  # the URL a direct connection was opened from (None under a session)

    @classmethod
    def of(cls, session) -> Reader:
        """The connection under a SQLAlchemy session (its transaction, its snapshot)."""
        connection = session.connection()
        return cls(connection.connection, connection.dialect.name)

    @contextmanager
    def _execute(self, sql: str, params):
        """A cursor on which ``sql`` has run (``?`` placeholders turned into the driver's)."""
        sql = driver_sql(sql, self.dialect)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            yield cursor
        finally:
            cursor.close()

    def rows(self, sql: str, *params) -> list[tuple]:
        with self._execute(sql, params) as cursor:
            return cursor.fetchall()

    def numbers(self, sql: str, *params, width: int, chunk: int = 200_000):
        """An ``n x width`` float64 array of a query whose columns are all numbers (NULL must be mapped).

        Fetched ``chunk`` rows at a time so that the driver's row tuples never
        all exist at once: 17 million item rows as tuples would take ~2 GB.
        """
        import itertools

        import numpy as np

        parts = []
        with self._execute(sql, params) as cursor:
            while rows := cursor.fetchmany(chunk):
                parts.append(
                    np.fromiter(
                        itertools.chain.from_iterable(rows),
                        dtype=np.float64,
                        count=width * len(rows),
                    ).reshape(-1, width)
                )
        return np.concatenate(parts) if parts else np.empty((0, width))

    def revision(self) -> str | None:
        """The Alembic revision stamped in the database (None when there is none)."""
        rows = self.rows("SELECT version_num FROM alembic_version")
        return rows[0][0] if len(rows) == 1 else None

    def study(self, name: str | None) -> StudyRef | None:
        """The study ``name``, or the only study; None when that is not one study (the caller explains)."""
        if name is None:
            rows = self.rows("SELECT id, name FROM study")
        else:
            rows = self.rows("SELECT id, name FROM study WHERE name = ?", name)
        return StudyRef(*rows[0]) if len(rows) == 1 else None

    def close(self) -> None:
        """Close a connection this reader opened (ending its read-only transaction)."""
        if self._owned:
            self.connection.close()


def open_reader(url: str | None = None) -> Reader | None:
    """A direct read-only connection for ``url``, or None when the SQLAlchemy path should be taken.

    None for: a URL with options (``?...``) or another driver, a SQLite file
    that does not exist, a server that refuses the connection, a schema not at
    this tracker's revision. The connection reads one snapshot: SQLite in one
    deferred transaction, PostgreSQL in a ``REPEATABLE READ READ ONLY`` one.
    """
    from tracker.db.revision import HEAD_REVISION

    resolved = resolve_url(url)
    if "?" in resolved or "#" in resolved:
        return None
    reader = None
    try:
        if resolved.startswith("sqlite:///"):
            path = resolved[len("sqlite:///") :]
            if not path or path.startswith(":") or not os.path.isfile(path):
                return None
            import sqlite3

            connection = sqlite3.connect(
                path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            reader = Reader(connection, "sqlite", owned=True, url=resolved)
            connection.execute("BEGIN")
        elif resolved.startswith("postgresql+psycopg://"):
            import psycopg

            connection = psycopg.connect(
                "postgresql://" + resolved.split("://", 1)[1], connect_timeout=10, autocommit=True
            )
            reader = Reader(connection, "postgresql", owned=True, url=resolved)
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            return None
        if reader.revision() != HEAD_REVISION:
            reader.close()
            return None
        return reader
    except Exception:  # any trouble: the SQLAlchemy path will say what it is
        if reader is not None:
            try:
                reader.close()
            except Exception:
                pass
        return None
