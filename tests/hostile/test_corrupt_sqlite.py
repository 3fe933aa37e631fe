"""Issue 13 item 10: a damaged SQLite file is an ``Error:`` on every command, never a traceback.

Three ways a file given as --db is not a usable database: a text file, random
bytes, and a real tracker database cut short (as a copy interrupted or a full
disk leaves it). Every command ``tracker --help`` lists is run against each,
the analyses too (they read through sqlite3 directly when they can), and the
file is left byte for byte as it was.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from tests.hostile.helpers import (
    assert_error,
    assert_no_traceback,
    command,
    command_ids,
    minimal_argv,
    run,
    uses_database,
)

DAMAGED = "is damaged or is not a SQLite database"


@pytest.fixture(scope="module")
def full_database(tmp_path_factory) -> bytes:
    """The bytes of a tracker database with a study, waves, cohorts, participants and scores."""
    from sqlalchemy.orm import Session

    from tests.factories import build_study
    from tracker.db.engine import make_engine
    from tracker.db.migrate import upgrade

    path = tmp_path_factory.mktemp("full") / "full.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as session:
        build_study(session, n_per_arm=30)
        session.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path.read_bytes()


def damaged_file(kind: str, tmp_path: Path, full: bytes) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "text":
        path.write_text("participant,cohort\nR001,spring\n", encoding="utf-8")
    elif kind == "random":
        path.write_bytes(random.Random(13).randbytes(8192))
    elif kind.startswith("truncated"):
        fraction = {"truncated-half": 0.5, "truncated-tail": 0.9}[kind]
        path.write_bytes(full[: int(len(full) * fraction) // 4096 * 4096 + 100])
    return path


KINDS = ["text", "random", "truncated-half", "truncated-tail"]


def test_the_truncated_files_are_really_damaged(tmp_path, full_database):
    """The fixtures reproduce the problem: sqlite3 itself refuses them (or, cut at the tail, some of them)."""
    for kind in KINDS:
        path = damaged_file(kind, tmp_path, full_database)
        with pytest.raises(sqlite3.DatabaseError):
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA integrity_check").fetchall()
                for (table,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).fetchall():
                    conn.execute(f'SELECT * FROM "{table}"').fetchall()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", command_ids())
def test_every_command_on_a_damaged_file(path, kind, tmp_path, full_database):
    db = damaged_file(kind, tmp_path, full_database)
    before = db.read_bytes()
    argv = ["--db", str(db), *minimal_argv(path, tmp_path)]
    result = run(argv, cwd=tmp_path)
    if uses_database(command(path)):
        assert_error(result, argv)
        assert DAMAGED in result.stderr, result.output
        assert str(db) in result.stderr
    else:  # a command that never opens the database only must not crash
        assert_no_traceback(result, argv)
    assert db.read_bytes() == before, "the damaged file was written to"


def test_damage_the_direct_read_path_meets_midway(tmp_path, full_database):
    """The analyses read through sqlite3 itself: a file whose header, revision and study are intact
    but whose score pages are garbage passes that reader's checks and fails while loading."""
    path = tmp_path / "pages.db"
    path.write_bytes(full_database)
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = [
            r[0]
            for r in conn.execute(
                "SELECT rootpage FROM sqlite_master WHERE tbl_name IN ('scale_score', 'item_response')"
            )
        ]
    data = bytearray(full_database)
    for root in roots:
        start = (root - 1) * page_size
        data[start : start + page_size] = random.Random(root).randbytes(page_size)
    path.write_bytes(bytes(data))

    from tracker.db.reader import open_reader

    reader = open_reader(f"sqlite:///{path}")
    assert reader is not None  # the direct path is taken: revision and study read fine
    reader.close()
    for analysis in (
        ["change", "--from", "baseline", "--to", "post"],
        ["reliability"],
        ["all", "--from", "baseline", "--to", "post"],
    ):
        argv = ["--db", str(path), "analyze", *analysis]
        result = run(argv)
        assert_error(result, argv)
        assert DAMAGED in result.stderr
        assert str(path) in result.stderr
