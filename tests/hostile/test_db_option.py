"""Issue 13 item 1: ``--db`` given anywhere on the command line wins over TRACKER_DATABASE_URL."""

from __future__ import annotations

import sqlite3

import pytest

from tests.hostile.helpers import assert_error, run


def cohorts(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM cohort ORDER BY name")]


@pytest.fixture
def two_databases(tmp_path, monkeypatch):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for path, study in ((a, "Study A"), (b, "Study B")):
        assert run(["--db", str(path), "init", "--study", study]).exit_code == 0
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{a}")
    return a, b


@pytest.mark.parametrize("where", ["group", "command"])
def test_db_on_the_command_line_wins_over_the_environment(two_databases, where):
    a, b = two_databases
    add = ["cohort", "add", "Spring 2027", "--arm", "intervention"]
    argv = ["--db", str(b), *add] if where == "group" else [*add, "--db", str(b)]
    result = run(argv)
    assert result.exit_code == 0, result.output
    assert cohorts(b) == ["Spring 2027"]
    assert cohorts(a) == []


def test_the_environment_is_used_without_db(two_databases):
    a, b = two_databases
    assert run(["cohort", "add", "Env cohort", "--arm", "control"]).exit_code == 0
    assert cohorts(a) == ["Env cohort"]
    assert cohorts(b) == []
    assert "Study A" in run(["study", "list"]).output


def test_the_commands_db_wins_over_the_groups(two_databases, tmp_path):
    a, b = two_databases
    c = tmp_path / "c.db"
    assert run(["--db", str(c), "init", "--study", "Study C"]).exit_code == 0
    result = run(["--db", str(c), "study", "list", "--db", str(b)])
    assert "Study B" in result.output and "Study C" not in result.output


def test_a_db_the_tracker_cannot_use_is_not_replaced_by_the_environment(two_databases):
    argv = ["--db", "mysql://x", "study", "list"]
    result = run(argv)
    assert_error(result, argv)
    assert "Study A" not in result.output
    assert result.stderr.startswith("Error: cannot use database URL mysql://x: ")


def test_demo_uses_the_environment_database_when_no_db_is_given(tmp_path, monkeypatch):
    """The demo's default (DIR/demo.db) applies only when neither --db nor the environment names one."""
    env_db = tmp_path / "env.db"
    env_db.write_text("not empty", encoding="utf-8")
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{env_db}")
    argv = ["demo", "--out", str(tmp_path / "demo"), "--participants", "4"]
    result = run(argv)
    assert_error(result, argv)
    assert str(env_db) in result.stderr
    assert not (tmp_path / "demo" / "demo.db").exists()
