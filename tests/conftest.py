"""Fresh, migrated databases for every test, on SQLite and on PostgreSQL.

Each test that asks for ``db_url`` runs twice: once on a SQLite file of its
own and once on a PostgreSQL database of its own. Migrations run once per
pytest session into a template (a SQLite file copied per test; a PostgreSQL
``CREATE DATABASE ... TEMPLATE``), so every test starts from the migrated
schema without sharing state.

PostgreSQL comes from ``TRACKER_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unreachable
the PostgreSQL half skips with the reason, unless ``TRACKER_REQUIRE_POSTGRES=1``:
then it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tracker.cli import cli
from tracker.db.engine import make_engine
from tracker.db.migrate import upgrade

PG_URL = os.environ.get(
    "TRACKER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("TRACKER_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


class PostgresServer:
    """Creates and drops per-test databases on one PostgreSQL server."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.prefix = f"trk_{uuid.uuid4().hex[:8]}"
        self.template: str | None = None
        self.created: list[str] = []

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        with self.admin.connect() as conn:
            clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def migrated_template(self) -> str:
        if self.template is None:
            name = self.create()
            engine = make_engine(self.url_for(name))
            upgrade(engine)
            engine.dispose()
            self.template = name
        return self.template

    def close(self) -> None:
        for name in self.created:
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer(PG_URL)
        with server.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any reason the server cannot be used
        reason = f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string()}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        if REQUIRE_PG:
            pytest.fail(f"TRACKER_REQUIRE_POSTGRES=1 but {reason}")
        yield reason
        return
    yield server
    server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:  # fold the WAL into the file so a copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _backend_url(request, backend: str, *, migrated: bool, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "tracker.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("postgres_server")
    if isinstance(server, str):
        pytest.skip(server)
    name = server.create(server.migrated_template() if migrated else None)
    request.addfinalizer(lambda: server.drop(name))
    return server.url_for(name)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """URL of a fresh database migrated to the newest revision."""
    return _backend_url(request, request.param, migrated=True, tmp_path=tmp_path)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path) -> str:
    """URL of a fresh, empty database (no tables)."""
    return _backend_url(request, request.param, migrated=False, tmp_path=tmp_path)


@pytest.fixture
def session(db_url):
    from tracker.db.engine import open_session

    s = open_session(db_url)
    yield s
    s.close()


class Runner:
    """Runs the real ``tracker`` command group against one database."""

    def __init__(self, url: str, cwd: Path):
        self.url = url
        self.cwd = cwd
        self.runner = CliRunner()

    def __call__(
        self, *args: str, expect: int = 0, db: bool = True, env: dict[str, str] | None = None
    ):
        """``tracker ARGS`` at 80 columns (``env`` may set ``COLUMNS`` and other variables)."""
        argv = (["--db", self.url] if db else []) + [str(a) for a in args]
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            result = self.runner.invoke(
                cli, argv, catch_exceptions=True, env={"COLUMNS": "80", **(env or {})}
            )
        finally:
            os.chdir(old)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == expect, (
            f"tracker {' '.join(argv)} exited {result.exit_code}, expected {expect}:\n{result.output}"
        )
        return result


@pytest.fixture
def tracker(db_url, tmp_path) -> Runner:
    """CLI runner on a migrated database (no study yet)."""
    return Runner(db_url, tmp_path)


@pytest.fixture
def tracker_empty(empty_db_url, tmp_path) -> Runner:
    """CLI runner on an empty database (``tracker init`` creates the tables)."""
    return Runner(empty_db_url, tmp_path)


@pytest.fixture
def built(tracker):
    """The CLI runner on the factory study (two arms of 10, baseline and post, pss10 and who5)
    and the raw items written, ``items[(code, wave, instrument)]``."""
    from tests.factories import build_study
    from tracker.db.engine import open_session

    with open_session(tracker.url) as s:
        _, written = build_study(s, n_per_arm=10, seed=11)
        s.commit()
    return tracker, written
