"""The one database-error translator: classify() read by explain() and translate_errors()."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from tracker.db.engine import BUSY, WRITE_FAILED, classify, explain, translate_errors
from tracker.errors import Conflict, TrackerError


def _wrapped(error: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError.instance("INSERT INTO t VALUES (?)", ("P001",), error, sqlite3.Error)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (sqlite3.IntegrityError("UNIQUE constraint failed: t.x"), "conflict"),
        (sqlite3.OperationalError("database is locked"), "busy"),
        (sqlite3.OperationalError("database or disk is full"), "write"),
        (sqlite3.OperationalError("disk I/O error"), "write"),
        (sqlite3.OperationalError("no such table: t"), "operational"),
        (sqlite3.DatabaseError("file is not a database"), "damaged"),
    ],
)
def test_raw_and_wrapped_errors_are_read_alike(error, kind):
    assert classify(error) == (kind, str(error))
    assert classify(_wrapped(error)) == (kind, str(error))


def test_what_is_not_a_database_error_is_left_alone():
    assert classify(ValueError("x")) is None
    assert explain(ValueError("x")) is None


def test_the_translator_and_explain_say_busy_alike():
    error = sqlite3.OperationalError("database is locked")
    with pytest.raises(Conflict) as caught, translate_errors():
        raise _wrapped(error)
    assert str(caught.value) == BUSY.format(detail="database is locked") == explain(error)


def test_the_translator_words_a_conflict_with_the_callers_text():
    with (
        pytest.raises(Conflict, match=r"^lost \(UNIQUE constraint failed: t.x\)$"),
        translate_errors("lost ({detail})"),
    ):
        raise sqlite3.IntegrityError("UNIQUE constraint failed: t.x")


def test_a_failed_write_is_an_error_message():
    with pytest.raises(TrackerError) as caught, translate_errors():
        raise _wrapped(sqlite3.OperationalError("disk I/O error"))
    assert str(caught.value) == WRITE_FAILED.format(detail="disk I/O error")


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("no such table: t"),
        ValueError("x"),
        sqlite3.DatabaseError("file is not a database"),
    ],
)
def test_other_errors_pass_unchanged(error):
    with pytest.raises(type(error)) as caught, translate_errors():
        raise error
    assert caught.value is error
