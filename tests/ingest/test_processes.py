"""Imports in real processes: killed half-way (SQLite and PostgreSQL), and racing (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.ingest.conftest import counts, run_import, write
from tracker.db.engine import open_session
from tracker.db.models import Administration

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "participant,pss4_1,pss4_2,pss4_3,pss4_4,who5_1,who5_2,who5_3,who5_4,who5_5,sleep_1,sleep_2\n"
)

pytestmark = pytest.mark.slow


def enrol_many(url: str, folder: Path, n: int) -> None:
    from tracker.study.participants import enroll_csv
    from tracker.study.studies import resolve_study

    roster = write(folder, "many.csv", "code,cohort\n" + "".join(f"K{i:04d},A\n" for i in range(n)))
    with open_session(url) as s:
        enroll_csv(s, resolve_study(s), roster)
        s.commit()


def wide(folder: Path, name: str, codes) -> Path:
    rows = "".join(f"{c},1,2,3,4,5,4,3,2,1,7.5,8\n" for c in codes)
    return write(folder, name, HEADER + rows)


def start(
    url: str, data: Path, folder: Path, label: str, *, bulk: bool = False
) -> tuple[subprocess.Popen, Path, Path]:
    paused, go = folder / f"{label}.paused", folder / f"{label}.go"
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), url, str(data), "baseline", str(paused), str(go)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TRACKER_TEST_BULK_LOAD": "1" if bulk else "0"},
    )
    return proc, paused, go


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"worker ended before {what}: {out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_killed_half_way_leaves_the_database_unchanged(url, tmp_path):
    enrol_many(url, tmp_path, 600)
    run_import(url, wide(tmp_path, "first.csv", ["P001", "P002"]), wave="baseline")
    before = counts(url)
    data = wide(tmp_path, "big.csv", [f"K{i:04d}" for i in range(600)])
    proc, paused, _ = start(url, data, tmp_path, "victim")
    wait_for(lambda: paused.exists() and paused.read_text(), proc, "the write phase")
    # half-way: the victim's open transaction holds some of its administrations, not all
    assert before["administrations"] < int(paused.read_text()) < before["administrations"] + 1800
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert counts(url) == before
    with open_session(url) as s:  # the database still opens and is sound
        if s.get_bind().dialect.name == "sqlite":
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    # and the same import then succeeds
    assert run_import(url, data, wave="baseline").administrations_new == 1800


def waiting_on_a_lock(url: str) -> bool:
    with open_session(url) as s:
        return bool(
            s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


def overlapping_imports(url: str, folder: Path, *, bulk: bool):
    """Two PostgreSQL imports sharing 200 of their 300 participants; the first paused while writing.

    Returns (first, its paused marker, its go-file, second) once the second waits on a lock.
    """
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has one writer at a time; the race is a PostgreSQL matter")
    enrol_many(url, folder, 400)
    a = wide(folder, "a.csv", [f"K{i:04d}" for i in range(0, 300)])
    b = wide(folder, "b.csv", [f"K{i:04d}" for i in range(100, 400)])
    first, first_paused, first_go = start(url, a, folder, "first", bulk=bulk)
    wait_for(
        lambda: first_paused.exists() and first_paused.read_text(),
        first,
        "the first import to write",
    )
    second, _, second_go = start(url, b, folder, "second", bulk=bulk)
    second_go.write_text("go")  # never pause the second
    wait_for(lambda: waiting_on_a_lock(url), second, "the second import to wait on the first")
    return first, first_paused, first_go, second


def test_concurrent_imports_one_wins_the_other_gets_a_conflict(url, tmp_path):
    # the second reads (sees nothing committed), writes, and blocks on the first's uncommitted keys
    first, first_paused, first_go, second = overlapping_imports(url, tmp_path, bulk=False)
    assert 0 < int(first_paused.read_text()) < 900
    first_go.write_text("go")
    out_first, err_first = first.communicate(timeout=60)
    out_second, err_second = second.communicate(timeout=60)
    assert first.returncode == 0, out_first + err_first
    assert second.returncode == 1, out_second + err_second
    assert out_second.startswith(
        "Error: another import wrote responses for the same participants, waves and instruments while this "
        "one was running (duplicate key value violates unique constraint "
    )
    assert "nothing was written. Run the import again" in out_second
    assert "Traceback" not in err_second
    with open_session(url) as s:
        assert s.scalar(select(func.count()).select_from(Administration)) == 900
        duplicates = s.execute(
            select(
                Administration.participant_id, Administration.wave_id, Administration.instrument_id
            )
            .group_by(
                Administration.participant_id, Administration.wave_id, Administration.instrument_id
            )
            .having(func.count() > 1)
        ).all()
        assert duplicates == []
    # run again, the loser imports its remaining rows and skips the identical overlap
    result = run_import(url, tmp_path / "b.csv", wave="baseline")
    assert (result.administrations_new, result.administrations_unchanged) == (300, 600)


def test_an_import_during_a_bulk_load_waits_and_then_sees_its_rows(url, tmp_path):
    # a bulk load sets the keys and indexes aside under an exclusive lock: a second import reading
    # the administrations waits for its commit, then plans against what it wrote (no duplicates)
    first, _, first_go, second = overlapping_imports(url, tmp_path, bulk=True)
    first_go.write_text("go")
    out_first, err_first = first.communicate(timeout=60)
    out_second, err_second = second.communicate(timeout=60)
    assert first.returncode == 0, out_first + err_first
    assert second.returncode == 0, out_second + err_second
    assert (
        '"new": 300' in out_second
    )  # K0300-K0399 x 3 instruments; the 600 written by the first are unchanged
    with open_session(url) as s:
        assert s.scalar(select(func.count()).select_from(Administration)) == 1200
        assert (
            s.scalar(
                text(
                    "SELECT count(*) FROM pg_indexes "
                    "WHERE schemaname = current_schema() AND tablename = 'item_response'"
                )
            )
            == 1
        )
