"""PostgreSQL bulk loads: the administration foreign keys checked once, and back in force after."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.ingest.conftest import WIDE_HEADER, assert_scores_current, counts, run_import, write
from tracker.db.engine import open_session
from tracker.ingest import writer

ROWS = WIDE_HEADER + "\nP001,2027-03-02,1,2,3,4,5,4,3,2,1\nP002,,0,1,,2,,,,,\nP004,2027-03-03,4,4,4,4,0,0,0,0,0\n"


def foreign_keys(session) -> set[str]:
    return set(session.scalars(text(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
        "('item_response'::regclass, 'scale_score'::regclass)"
    )))


@pytest.fixture
def pg_url(url):
    if not url.startswith("postgresql"):
        pytest.skip("the bulk path is PostgreSQL's; SQLite checks foreign keys cheaply")
    return url


def test_bulk_load_drops_and_restores_the_keys(pg_url, tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    seen = []
    original = writer._write_plans

    def spy(session, *args):
        seen.append(foreign_keys(session))  # inside the load: the keys are gone
        return original(session, *args)

    monkeypatch.setattr(writer, "_write_plans", spy)
    result = run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")
    assert result.administrations_new == 5
    assert seen == [set()]
    with open_session(pg_url) as s:
        assert foreign_keys(s) == {name for _, name in writer.BULK_FOREIGN_KEYS}
        assert assert_scores_current(s) == 5
        with pytest.raises(IntegrityError):  # enforced again after the commit
            s.execute(text("INSERT INTO item_response (administration_id, item, value) VALUES (999999, 1, 1)"))


def test_a_failed_bulk_load_leaves_the_keys_and_nothing_else(pg_url, tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    before = counts(pg_url)

    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_insert_items", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")
    assert counts(pg_url) == before
    with open_session(pg_url) as s:
        assert foreign_keys(s) == {name for _, name in writer.BULK_FOREIGN_KEYS}


def test_a_refused_alter_falls_back_to_the_per_row_check(pg_url, tmp_path, monkeypatch):
    # a constraint name that does not exist makes the ALTER fail, as a missing privilege would
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    monkeypatch.setattr(writer, "BULK_FOREIGN_KEYS", (("item_response", "no_such_constraint"),))
    result = run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")
    assert result.administrations_new == 5
    with open_session(pg_url) as s:
        assert len(foreign_keys(s)) == 2
        assert assert_scores_current(s) == 5


def test_small_loads_into_a_large_table_keep_the_per_row_check(pg_url, tmp_path, monkeypatch):
    run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")  # 25 item rows stored
    with open_session(pg_url) as s:
        s.execute(text("ANALYZE item_response"))  # reltuples, which the writer reads, counts them
        s.commit()
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    seen = []
    original = writer._write_plans

    def spy(session, *args):
        seen.append(foreign_keys(session))
        return original(session, *args)

    monkeypatch.setattr(writer, "_write_plans", spy)
    more = ROWS + "P005,2027-03-04,1,1,1,1,,,,,\n"  # 4 new values: fewer than those stored
    assert run_import(pg_url, write(tmp_path, "b2.csv", more), wave="baseline").administrations_new == 1
    assert seen == [{name for _, name in writer.BULK_FOREIGN_KEYS}]
