"""Models == migrations, one head, and upgrade → downgrade → upgrade with data in it."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect, select, text

from tracker.db.engine import make_engine, open_session
from tracker.db.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from tracker.db.models import Base, Cohort, Participant, Study
from tracker.db.revision import HEAD_REVISION
from tracker.errors import DatabaseError
from tracker.resources import migrations_dir


def test_single_linear_head():
    script = ScriptDirectory(str(migrations_dir()))
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert sum(1 for r in revisions if r.down_revision is None) == 1


def test_models_match_migrations(empty_db_url):
    engine = make_engine(empty_db_url)
    upgrade(engine)
    # `alembic check` raises when autogenerate would produce any operation
    command.check(alembic_config(engine))
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_check_detects_drift(empty_db_url):
    """The check above could fail: a schema that differs from the models is caught."""
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
    with pytest.raises(CommandError, match="New upgrade operations detected"):
        command.check(alembic_config(engine))
    engine.dispose()


def test_upgrade_downgrade_upgrade_with_data(empty_db_url):
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with open_session(empty_db_url) as s:
        study = Study(name="S")
        s.add(study)
        s.flush()
        cohort = Cohort(study_id=study.id, name="C", arm="control")
        s.add(cohort)
        s.flush()
        s.add(
            Participant(
                study_id=study.id, cohort_id=cohort.id, code="P1", enrolled_on=dt.date(2027, 1, 1)
            )
        )
        s.commit()
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert "participant" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    command.check(alembic_config(engine))
    with open_session(empty_db_url) as s:
        assert s.scalars(select(Participant)).all() == []
        s.add(Study(name="again"))
        s.commit()
    engine.dispose()


def test_empty_database_is_refused_with_advice(empty_db_url):
    with pytest.raises(
        DatabaseError, match=r"holds no tracker database; create one with `tracker init"
    ):
        open_session(empty_db_url)


def test_older_revision_is_refused_not_patched(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'base0'"))
    # an unknown (newer) revision
    with pytest.raises(DatabaseError, match="does not know; upgrade prepost-tracker"):
        open_session(db_url)
    engine.dispose()


def test_behind_head_is_refused(db_url):
    engine = make_engine(db_url)
    downgrade(engine, "0001")
    engine.dispose()
    with pytest.raises(
        DatabaseError,
        match=rf"at revision 0001, older than this tracker's {HEAD_REVISION}; run `tracker db upgrade`",
    ):
        open_session(db_url)


def test_head_constant_is_alembics_head():
    from tracker.db.revision import HEAD_REVISION

    assert HEAD_REVISION == head_revision()


def test_sqlite_enforces_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO cohort (study_id, name, arm) VALUES (999, 'x', 'control')")
            )
    engine.dispose()


def test_constraints_hold(session):
    from sqlalchemy.exc import IntegrityError

    study = Study(name="S")
    session.add(study)
    session.flush()
    cohort = Cohort(study_id=study.id, name="C", arm="control")
    session.add(cohort)
    session.flush()
    session.add(Participant(study_id=study.id, cohort_id=cohort.id, code="P1", status="gone"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_0002_scores_the_administrations_already_stored(db_url):
    """Upgrading a 0001 database fills scale_score with what the importer would have written."""
    from tests.factories import build_study

    query = text(
        "SELECT administration_id, measure, score, items_answered, items_total, prorated "
        "FROM scale_score ORDER BY administration_id, measure"
    )
    with open_session(db_url) as s:
        build_study(s, n_per_arm=6, seed=3, instruments=("pss10", "who5", "scs_sf"))
        s.commit()
        written = [tuple(r) for r in s.execute(query)]
    assert len(written) > 100
    engine = make_engine(db_url)

    def without_rowid() -> set[str]:
        with engine.connect() as conn:
            return {
                name
                for name, sql in conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                )
                if "WITHOUT ROWID" in sql
            }

    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        assert without_rowid() == {"item_response", "scale_score"}
    downgrade(engine, "0001")
    assert "scale_score" not in inspect(engine).get_table_names()
    if sqlite:
        assert without_rowid() == set()
    upgrade(engine)
    if sqlite:
        assert without_rowid() == {"item_response", "scale_score"}
    with engine.connect() as conn:
        backfilled = [tuple(r) for r in conn.execute(query)]
    engine.dispose()
    assert [(a, m, n, t, bool(p)) for a, m, _, n, t, p in backfilled] == [
        (a, m, n, t, bool(p)) for a, m, _, n, t, p in written
    ]
    for (_, _, got, *_), (_, _, want, *_) in zip(backfilled, written, strict=True):
        assert (got is None and want is None) or got == want
    # and, independently of tracker.scoring, the totals are what hand scoring of the items gives
    from tests.ingest.conftest import assert_scores_current

    with open_session(db_url) as s:
        s.execute(
            text(
                "DELETE FROM administration WHERE instrument_id IN "
                "(SELECT id FROM instrument WHERE code = 'scs_sf')"
            )
        )  # subscales: not hand-scored there
        assert assert_scores_current(s) == 6 * 2 * 2 * 2
