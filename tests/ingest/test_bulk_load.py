"""PostgreSQL bulk loads: keys and indexes built once after the rows are written, and back in force after."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.ingest.conftest import WIDE_HEADER, assert_scores_current, counts, run_import, write
from tracker.db.engine import open_session
from tracker.ingest import writer

ROWS = (
    WIDE_HEADER
    + "\nP001,2027-03-02,1,2,3,4,5,4,3,2,1\nP002,,0,1,,2,,,,,\nP004,2027-03-03,4,4,4,4,0,0,0,0,0\n"
)


def foreign_keys(session) -> set[tuple[str, str]]:
    """(name, definition) of the foreign keys of the tables a bulk load writes."""
    return set(
        session.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
                "('administration'::regclass, 'item_response'::regclass, 'scale_score'::regclass)"
            )
        ).all()
    )


def indexes(session) -> set[tuple[str, str]]:
    """(name, definition) of every index (primary keys and unique constraints too) of those tables."""
    return set(
        session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename IN ('administration', 'item_response', 'scale_score')"
            )
        ).all()
    )


#: what the migrations create, as PostgreSQL reports it (schema-qualified index definitions left out)
INDEX_NAMES = {
    "pk_administration",
    "uq_administration_participant_id_wave_id_instrument_id",
    "ix_administration_import_batch_id",
    "ix_administration_instrument_id",
    "ix_administration_wave_id",
    "pk_item_response",
    "pk_scale_score",
}
KEYS = {
    (
        "fk_administration_import_batch_id_import_batch",
        "FOREIGN KEY (import_batch_id) REFERENCES import_batch(id)",
    ),
    (
        "fk_administration_instrument_id_instrument",
        "FOREIGN KEY (instrument_id) REFERENCES instrument(id)",
    ),
    (
        "fk_administration_instrument_version_id_instrument_version",
        "FOREIGN KEY (instrument_version_id) REFERENCES instrument_version(id)",
    ),
    (
        "fk_administration_participant_id_participant",
        "FOREIGN KEY (participant_id) REFERENCES participant(id) ON DELETE CASCADE",
    ),
    ("fk_administration_wave_id_wave", "FOREIGN KEY (wave_id) REFERENCES wave(id)"),
    (
        "fk_item_response_administration_id_administration",
        "FOREIGN KEY (administration_id) REFERENCES administration(id) ON DELETE CASCADE",
    ),
    (
        "fk_scale_score_administration_id_administration",
        "FOREIGN KEY (administration_id) REFERENCES administration(id) ON DELETE CASCADE",
    ),
}


@pytest.fixture
def pg_url(url):
    if not url.startswith("postgresql"):
        pytest.skip("the bulk path is PostgreSQL's; SQLite checks foreign keys cheaply")
    return url


def spy_on_load(monkeypatch) -> list[tuple[set, set]]:
    """(foreign keys, indexes) as the rows are being written, once per import."""
    seen = []
    original = writer._write_plans

    def spy(session, *args):
        seen.append((foreign_keys(session), indexes(session)))
        return original(session, *args)

    monkeypatch.setattr(writer, "_write_plans", spy)
    return seen


def test_bulk_load_drops_and_restores_the_keys_and_indexes(pg_url, tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    with open_session(pg_url) as s:
        before = indexes(s)
    assert {name for name, _ in before} == INDEX_NAMES
    seen = spy_on_load(monkeypatch)
    result = run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")
    assert result.administrations_new == 5
    assert seen == [(set(), set())]  # inside the load: no keys, no indexes
    with open_session(pg_url) as s:
        assert foreign_keys(s) == KEYS
        assert indexes(s) == before
        assert assert_scores_current(s) == 5
    for orphan in (
        "INSERT INTO item_response (administration_id, item, value) VALUES (999999, 1, 1)",
        "INSERT INTO administration (participant_id, wave_id, instrument_id, instrument_version_id) "
        "VALUES (999999, 1, 1, 1)",
    ):
        with (
            open_session(pg_url) as s,
            pytest.raises(IntegrityError),
        ):  # enforced again after the commit
            s.execute(text(orphan))
    with open_session(pg_url) as s, pytest.raises(IntegrityError, match="pk_item_response"):
        s.execute(
            text(
                "INSERT INTO item_response (administration_id, item, value) "
                "SELECT administration_id, item, 0 FROM item_response LIMIT 1"
            )
        )


def test_a_bulk_load_that_updates_rows_keeps_the_indexes(pg_url, tmp_path, monkeypatch):
    # changed administrations are looked up and rescored through the keys: only the foreign keys go
    run_import(pg_url, write(tmp_path, "a.csv", ROWS), wave="baseline")
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    monkeypatch.setattr(writer, "BULK_MIN_GROWTH", 0.0)
    with open_session(pg_url) as s:
        before = indexes(s)
    seen = spy_on_load(monkeypatch)
    changed = (
        ROWS.replace("P001,2027-03-02,1,2,3", "P001,2027-03-02,0,2,3")
        + "P005,2027-03-04,1,1,1,1,,,,,\n"
    )
    result = run_import(pg_url, write(tmp_path, "b.csv", changed), wave="baseline", update=True)
    assert (result.administrations_new, result.administrations_changed) == (1, 1)
    assert seen == [(set(), before)]
    with open_session(pg_url) as s:
        assert foreign_keys(s) == KEYS and indexes(s) == before
        assert assert_scores_current(s) == 6


def test_a_failed_bulk_load_leaves_the_keys_and_nothing_else(pg_url, tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    before = counts(pg_url)

    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_insert_items", boom)
    with open_session(pg_url) as s:
        index_set = indexes(s)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")
    assert counts(pg_url) == before
    with open_session(pg_url) as s:
        assert foreign_keys(s) == KEYS
        assert indexes(s) == index_set and len(index_set) == len(INDEX_NAMES)


def test_a_user_who_does_not_own_the_tables_gets_the_per_row_check(pg_url, tmp_path, monkeypatch):
    import uuid

    from sqlalchemy.engine import make_url

    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    role = f"tracker_bulk_{uuid.uuid4().hex[:8]}"
    with open_session(
        pg_url
    ) as s:  # a user with every right on the rows, but not the tables' owner
        s.execute(text(f"CREATE ROLE {role} LOGIN"))
        s.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
        s.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        s.commit()
    try:
        as_role = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        result = run_import(as_role, write(tmp_path, "b.csv", ROWS), wave="baseline")
        assert result.administrations_new == 5
        with open_session(pg_url) as s:
            assert foreign_keys(s) == KEYS and {name for name, _ in indexes(s)} == INDEX_NAMES
            assert assert_scores_current(s) == 5
    finally:
        with open_session(pg_url) as s:
            s.execute(text(f"DROP OWNED BY {role}"))
            s.execute(text(f"DROP ROLE {role}"))
            s.commit()


def test_small_loads_into_a_large_table_keep_the_per_row_check(pg_url, tmp_path, monkeypatch):
    run_import(pg_url, write(tmp_path, "b.csv", ROWS), wave="baseline")  # 25 item rows stored
    with open_session(pg_url) as s:
        s.execute(text("ANALYZE item_response"))  # reltuples, which the writer reads, counts them
        s.commit()
    monkeypatch.setattr(writer, "BULK_MIN_VALUES", 1)
    with open_session(pg_url) as s:
        before = indexes(s)
    seen = spy_on_load(monkeypatch)
    more = ROWS + "P005,2027-03-04,1,1,1,1,,,,,\n"  # 4 new values: fewer than those stored
    assert (
        run_import(pg_url, write(tmp_path, "b2.csv", more), wave="baseline").administrations_new
        == 1
    )
    assert seen == [(KEYS, before)]
