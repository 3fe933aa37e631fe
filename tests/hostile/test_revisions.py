"""Issue 13 item 10: a database stamped by a newer tracker (an unknown revision) is refused, untouched.

``db current`` used to call it *behind*, and ``db upgrade`` and ``init``
crashed in Alembic ("Can't locate revision").
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.hostile.helpers import assert_error, run
from tracker.db.revision import HEAD_REVISION


def stamp(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def state(url: str) -> tuple[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        studies = conn.execute(text("SELECT count(*) FROM study")).scalar_one()
    engine.dispose()
    return revision, studies


@pytest.fixture
def newer(db_url) -> str:
    stamp(db_url, "0099")
    return db_url


def test_db_current_says_newer_not_behind(newer):
    result = run(["--db", newer, "db", "current"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        f": revision 0099 (newer than this tracker's {HEAD_REVISION}, unknown to it: upgrade prepost-tracker)\n"
    )
    assert "behind" not in result.output


REFUSAL = (
    "is at revision 0099, which this version of tracker does not know; upgrade prepost-tracker "
    f"(a newer version wrote it; this one's newest revision is {HEAD_REVISION}). Nothing was changed\n"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "upgrade"],
        ["init", "--study", "New"],
        ["study", "list"],
        ["analyze", "correlations"],
        ["cohort", "add", "C", "--arm", "x"],
    ],
)
def test_commands_refuse_a_newer_database(newer, argv):
    full = ["--db", newer, *argv]
    result = run(full)
    assert_error(result, full)
    assert result.stderr.endswith(REFUSAL), result.stderr
    assert state(newer) == ("0099", 0)
