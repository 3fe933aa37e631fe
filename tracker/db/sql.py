"""Hand-written SQL: one placeholder convention, ``?``, on every backend.

The tracker's own SQL (the bulk writer, the score store, the loaders'
reader) is written once with qmark placeholders and turned into the driver's
style here, the only place that knows the drivers differ: sqlite3 takes
``?``, psycopg ``%s`` (and then reads a literal ``%`` as ``%%``).
"""

from __future__ import annotations

from typing import Any


def driver_sql(sql: str, dialect: str) -> str:
    """``sql`` written with ``?`` placeholders, in the paramstyle of ``dialect``'s driver.

    For PostgreSQL every ``?`` becomes ``%s`` and a literal ``%`` becomes ``%%``
    (psycopg parses a query that is given parameters); SQL text must therefore
    not hold a ``?`` of its own (a string literal, a JSON operator).
    """
    if dialect == "postgresql":
        return sql.replace("%", "%%").replace("?", "%s")
    return sql


def marks(n: int) -> str:
    """``?, ?, ...``: ``n`` placeholders for a ``VALUES (...)`` or ``IN (...)`` list."""
    return ", ".join("?" * n)


def dbapi_of(session: Any) -> tuple[Any, str]:
    """The driver's own connection under a SQLAlchemy session, and the dialect name.

    The connection takes part in the session's transaction: what is written
    through it is committed or rolled back with the session.
    """
    connection = session.connection()
    return connection.connection.driver_connection, connection.dialect.name
