"""Alembic environment: the same URL resolver and engine as the CLI."""

from __future__ import annotations

from alembic import context

from tracker.db.engine import make_engine
from tracker.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    owns_engine = engine is None
    if owns_engine:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        if owns_engine:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations()
