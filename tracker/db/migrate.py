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


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in ``alembic_version``; None for a database without one."""
    with engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except exc.DBAPIError:  # no such table: not a tracker database (yet)
            return None
    if len(rows) > 1:  # branches: not something this linear history makes
        raise DatabaseError(f"the database has several migration heads: {sorted(r[0] for r in rows)}")
    return rows[0][0] if rows else None


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Migrate to ``target``; returns (revision before, revision after)."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(alembic_config(engine), target)
    return before, current_revision(engine) or ""


def downgrade(engine: Engine, target: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), target)


def require_current(engine: Engine) -> None:
    """Refuse a database that is not at the newest revision, saying what to do."""
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    from alembic.script import ScriptDirectory

    head = head_revision()
    where = redact_url(engine.url.render_as_string(hide_password=False))
    if current is None:
        raise DatabaseError(
            f"{where} holds no tracker database; create one with `tracker init --study NAME`"
        )
    script = ScriptDirectory(str(migrations_dir()))
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise DatabaseError(
            f"{where} is at revision {current}, which this version of tracker does not know; "
            "upgrade prepost-tracker"
        )
    raise DatabaseError(
        f"{where} is at revision {current}, older than this tracker's {head}; "
        "run `tracker db upgrade` (back it up first)"
    )
