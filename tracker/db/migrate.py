"""Alembic, driven from Python with the migrations shipped in the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tracker.config import redact_url
from tracker.errors import DatabaseError
from tracker.resources import migrations_dir


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(migrations_dir()))
    heads = script.get_heads()
    if len(heads) != 1:  # a packaging bug, not a user error
        raise RuntimeError(f"expected one migration head, found {heads}")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Migrate to ``target``; returns (revision before, revision after)."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), target)
    return before, current_revision(engine) or ""


def downgrade(engine: Engine, target: str) -> None:
    command.downgrade(alembic_config(engine), target)


def require_current(engine: Engine) -> None:
    """Refuse a database that is not at the newest revision, saying what to do."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
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
