"""Issue 13 item 6: no command prints a database password, whatever happens.

PostgreSQL here uses trust authentication, so a URL carrying a password
connects and the password is simply ignored: every command runs against such
a URL (on a database holding a study), against an unreachable server, and
with the password in the query string; ``tracker demo`` (which printed its URL
raw) runs on an empty database. The password must appear in no output and no
written report.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.hostile.helpers import (
    assert_no_traceback,
    command,
    command_ids,
    minimal_argv,
    run,
    uses_database,
)

PASSWORD = "H1-s3cr3t-Pw"


@pytest.fixture
def pg_database(postgres_server):
    """A function making a fresh PostgreSQL database (migrated or empty); its URL carries PASSWORD."""
    if isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    made = []

    def make(*, migrated: bool) -> str:
        name = postgres_server.create(postgres_server.migrated_template() if migrated else None)
        made.append(name)
        url = make_url(postgres_server.url_for(name)).set(password=PASSWORD)
        return url.render_as_string(hide_password=False)

    yield make
    for name in made:
        postgres_server.drop(name)


def assert_no_password(result, argv) -> None:
    assert_no_traceback(result, argv)
    assert PASSWORD not in result.output, result.output


@pytest.fixture(scope="module")
def commands():
    return command_ids()


def test_every_command_on_a_database_with_a_password(pg_database, tmp_path, commands):
    url = pg_database(migrated=True)
    assert PASSWORD in url
    first = run(["--db", url, "init", "--study", "Hostile"])
    assert first.exit_code == 0, first.output
    assert run(["--db", url, "db", "current"]).output.startswith(
        "postgresql+psycopg://postgres:***@127.0.0.1"
    )
    for path in commands:
        argv = ["--db", url, *minimal_argv(path, tmp_path)]
        assert_no_password(run(argv, cwd=tmp_path), argv)
    for written in tmp_path.rglob("*"):
        if written.is_file():
            assert PASSWORD.encode() not in written.read_bytes(), written


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://alice:{PASSWORD}@127.0.0.1:1/nowhere",
        f"postgresql://alice:{PASSWORD}@127.0.0.1:5432/no_such_database_h1",
        f"postgresql://127.0.0.1:1/nowhere?user=alice&password={PASSWORD}",
        f"postgresql://alice:{PASSWORD}@127.0.0.1:5432/test?bogus=1",
        f"postgresql://alice:{PASSWORD}@db host:notaport/x",
        f"postgresql://alice:{PASSWORD}/db",  # "@host" forgotten: the password stands where the port would
    ],
)
def test_every_command_on_an_unusable_url_with_a_password(url, tmp_path, commands):
    for path in commands:
        argv = ["--db", url, *minimal_argv(path, tmp_path)]
        result = run(argv, cwd=tmp_path)
        assert_no_password(result, argv)
        if uses_database(command(path)):  # map draft and instrument from-redcap read files only
            assert result.exit_code == 1, (argv, result.output)


def test_the_password_from_the_environment_is_not_printed(tmp_path, monkeypatch, commands):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"postgresql://alice:{PASSWORD}@127.0.0.1:1/nowhere")
    for path in commands:
        argv = minimal_argv(path, tmp_path)
        assert_no_password(run(argv, cwd=tmp_path), argv)


def test_demo_does_not_print_its_password(pg_database, tmp_path):
    url = pg_database(migrated=False)
    argv = ["--db", url, "demo", "--out", str(tmp_path / "demo"), "--participants", "4"]
    result = run(argv)
    assert result.exit_code == 0, result.output
    assert_no_password(result, argv)
    assert "in postgresql+psycopg://postgres:***@127.0.0.1" in result.output
    assert PASSWORD.encode() not in (tmp_path / "demo" / "report.html").read_bytes()
