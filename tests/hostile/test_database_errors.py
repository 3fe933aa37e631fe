"""Issue 13 item 10: database errors are one-line messages that never echo the SQL or its parameters."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError

from tests.hostile.helpers import assert_error, run


@pytest.fixture
def pg_study(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL checks the sizes of values; SQLite stores them")
    assert run(["--db", db_url, "init", "--study", "S"]).exit_code == 0
    return db_url


def test_an_out_of_range_number_is_explained_without_the_insert(pg_study):
    argv = ["--db", pg_study, "wave", "add", "post", "--day", "99999999999"]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr == (
        "Error: the database refused a value (integer out of range); nothing was written. "
        "Check the lengths and sizes of the values given\n"
    )


def test_a_too_long_name_never_dumps_the_parameters(pg_study):
    name = "Spring cohort " + "x" * 300
    argv = ["--db", pg_study, "cohort", "add", name, "--arm", "intervention"]
    result = run(argv)
    assert_error(result, argv)
    for leak in ("INSERT", "[parameters", "[SQL", name):
        assert leak not in result.output
    assert run(["--db", pg_study, "cohort", "list"]).output.strip() == "(none)"


def test_a_quoted_value_in_the_drivers_message_is_not_repeated(pg_study):
    from tracker.db.engine import explain

    engine = create_engine(pg_study)
    with engine.connect() as conn, pytest.raises(DataError) as caught:
        conn.execute(text("SELECT CAST(:v AS integer)"), {"v": "R017-secret"})
    engine.dispose()
    assert "R017-secret" in str(caught.value)  # what a traceback would have shown
    message = explain(caught.value, pg_study)
    assert message == (
        "the database refused a value (invalid input syntax for type integer); nothing was written. "
        "Check the lengths and sizes of the values given"
    )


def test_an_unknown_url_option_on_postgresql(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL form")
    argv = ["--db", db_url + "?bogus=1", "study", "list"]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr.endswith(
        ': invalid connection option "bogus"; remove that option from the URL\n'
    )


def test_an_unknown_url_option_on_sqlite(tmp_path):
    path = tmp_path / "t.db"
    assert run(["--db", str(path), "init", "--study", "S"]).exit_code == 0
    argv = ["--db", f"sqlite:///{path}?bogus=1", "study", "list"]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr == (
        f"Error: cannot use database URL sqlite:///{path}?bogus=1: the driver does not know the URL "
        "option(s) 'bogus'; remove them from the URL\n"
    )


def test_a_folder_given_as_the_database(tmp_path):
    argv = ["--db", str(tmp_path), "study", "list"]
    result = run(argv)
    assert_error(result, argv)
    assert (
        result.stderr
        == f"Error: {tmp_path} is a folder, not a SQLite file; check --db / TRACKER_DATABASE_URL\n"
    )


def test_a_full_disk_under_the_sqlite_file(tmp_path, mount):
    disk = mount("small", "size=64k")
    db = disk / "t.db"
    argv = ["--db", str(db), "init", "--study", "S"]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr == (
        f"Error: the SQLite file {db} cannot grow: the disk is full (database or disk is full); nothing was written\n"
    )
