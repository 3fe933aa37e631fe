"""Turn errors a user can act on, raised below the commands, into one-line messages.

Database errors (SQLAlchemy's and the raw sqlite3/psycopg ones of the direct
read path) are explained by :func:`tracker.db.engine.explain`, which never
repeats the SQL or its parameters. An ``OSError`` naming a file (a folder
that cannot be read, a disk that filled up) is said in words, as
:mod:`tracker.fileio` does for the files it writes.
"""

from __future__ import annotations


def translate(exc: BaseException, url: str | None = None) -> str | None:
    """The message for ``exc`` (``url``: the database the command used), or None to keep the traceback."""
    if isinstance(exc, OSError) and exc.filename:
        from tracker.fileio import write_error

        return str(write_error(exc.filename, exc)).replace("cannot write", "cannot use", 1)
    module = type(exc).__module__.split(".")[0]
    if module not in ("sqlalchemy", "sqlite3", "psycopg"):
        return None
    from tracker.db.engine import explain

    return explain(exc, url)
