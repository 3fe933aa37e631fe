"""Alembic, driven from Python with the migrations shipped in the package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, exc, text

from tracker.config import redact_url
from tracker.db.revision import HEAD_REVISION
from tracker.errors import DatabaseError
from tracker.resources import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The head of the shipped migration scripts, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations_dir()))
    heads = script.get_heads()
    if len(heads) != 1:  # a packaging bug, not a user error
        raise RuntimeError(f"expected one migration head, found {heads}")
    return heads[0]


def _no_such_table(error: exc.DBAPIError) -> bool:
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "42P01":  # PostgreSQL: undefined_table
        return True
    return "no such table" in str(orig)


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in ``alembic_version``; None for a database without one.

    Only a missing ``alembic_version`` table means "none": any other error (a
    damaged SQLite file, a lost connection) is raised, never taken for an empty database.
    """
    with engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except exc.DBAPIError as error:
            if _no_such_table(error):  # not a tracker database (yet)
                return None
            raise
    if len(rows) > 1:  # branches: not something this linear history makes
        raise DatabaseError(
            f"the database has several migration heads: {sorted(r[0] for r in rows)}"
        )
    return rows[0][0] if rows else None


def known_revisions() -> set[str]:
    """Every revision of the shipped migration scripts."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory(str(migrations_dir())).walk_revisions()}


def revision_state(current: str | None) -> str:
    """``"empty"``, ``"newest"``, ``"behind"`` or ``"unknown"`` (stamped by a newer tracker)."""
    if current is None:
        return "empty"
    if current == HEAD_REVISION:
        return "newest"
    return "behind" if current in known_revisions() else "unknown"


def _unknown(where: str, current: str) -> DatabaseError:
    return DatabaseError(
        f"{where} is at revision {current}, which this version of tracker does not know; "
        f"upgrade prepost-tracker (a newer version wrote it; this one's newest revision is "
        f"{HEAD_REVISION}). Nothing was changed"
    )


def _where(engine: Engine) -> str:
    return redact_url(engine.url.render_as_string(hide_password=False))


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Migrate to ``target``; returns (revision before, revision after).

    A database at a revision this tracker does not know (a newer tracker's) is
    refused, untouched.
    """
    from alembic import command

    before = current_revision(engine)
    if revision_state(before) == "unknown":
        raise _unknown(_where(engine), before)
    command.upgrade(alembic_config(engine), target)
    return before, current_revision(engine) or ""


def downgrade(engine: Engine, target: str) -> None:
    from alembic import command

    current = current_revision(engine)
    if revision_state(current) == "unknown":
        raise _unknown(_where(engine), current)
    command.downgrade(alembic_config(engine), target)


def require_current(engine: Engine) -> None:
    """Refuse a database that is not at the newest revision, saying what to do."""
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    head = head_revision()
    where = _where(engine)
    if current is None:
        raise DatabaseError(
            f"{where} holds no tracker database; create one with `tracker init --study NAME`"
        )
    if revision_state(current) == "unknown":
        raise _unknown(where, current)
    raise DatabaseError(
        f"{where} is at revision {current}, older than this tracker's {head}; "
        "run `tracker db upgrade` (back it up first)"
    )
