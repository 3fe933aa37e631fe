"""The report's reliability table computed in a worker on its own connection (tracker.reports.offload).

The worker's table must be the one this process would compute: same snapshot (checked
by the audit trail's change mark), same rows; anything else falls back to computing here.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

AT = dt.datetime(2027, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def copy_url(demo, tmp_path) -> str:
    """A copy of the session's demo database (these tests write to it)."""
    source = demo["db_url"].removeprefix("sqlite:///")
    target = tmp_path / "demo.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def _gender_changed(url: str) -> None:
    """One correction committed through the tracker (it writes an audit event)."""
    from sqlalchemy import text

    from tracker.db.engine import open_session
    from tracker.study.participants import set_participant
    from tracker.study.studies import resolve_study

    with open_session(url) as session:
        study = resolve_study(session)
        code = session.execute(
            text("SELECT code FROM participant ORDER BY code LIMIT 1")
        ).scalar_one()
        set_participant(session, study, code, gender="non-binary")
        session.commit()


def test_the_report_with_the_table_from_a_worker_is_the_report_computed_here(copy_url, monkeypatch):
    import tracker.reports.offload as offload
    from tracker.db.engine import open_session
    from tracker.db.reader import open_reader
    from tracker.reports import report_context, write_report
    from tracker.reports.workers import ChartWorkers
    from tracker.study.studies import resolve_study

    with open_session(copy_url) as session:
        here = report_context(session, resolve_study(session), generated_at=AT)
    monkeypatch.setattr(offload, "OFFLOAD_ADMINISTRATIONS", 0)  # the small demo counts as large

    def not_here(*args, **kwargs):  # the worker process has its own, untouched module
        raise AssertionError("the reliability table was computed in the main process")

    monkeypatch.setattr(offload, "_computed", not_here)
    reader = open_reader(copy_url)
    try:
        with ChartWorkers() as workers:
            there = report_context(reader, reader.study(None), generated_at=AT, workers=workers)
            # worker 0 took the table (the small demo's bootstrap stays here: OFFLOAD_ROWS)
            assert workers._used == {workers.jobs[0][0].pid}
    finally:
        reader.close()
    assert there["reliability"]["rows"] and there == here

    # the whole report, with its charts started early in a worker, is the one drawn here
    monkeypatch.undo()
    monkeypatch.setattr(offload, "OFFLOAD_ADMINISTRATIONS", 0)
    reader = open_reader(copy_url)
    try:
        parallel = write_report(
            reader, reader.study(None), copy_url.removeprefix("sqlite:///") + ".a.html",
            generated_at=AT, parallel=True,
        )  # fmt: skip
    finally:
        reader.close()
    with open_session(copy_url) as session:
        serial = write_report(
            session, resolve_study(session), copy_url.removeprefix("sqlite:///") + ".b.html",
            generated_at=AT,
        )  # fmt: skip
    assert parallel["path"].read_text() == serial["path"].read_text()


def test_a_change_committed_between_the_two_snapshots_is_caught(copy_url):
    from tracker.db import provenance
    from tracker.db.reader import open_reader
    from tracker.reports.context.scope import ReportScope
    from tracker.reports.offload import _computed, reliability_rows

    reader = open_reader(copy_url)  # this snapshot starts now
    try:
        study, mark = reader.study(None), provenance.change_mark(reader)
        rows, error, _ = _computed(reader, study, ReportScope())
        assert rows and error is None
        assert reliability_rows(copy_url, study, ReportScope(), mark) == (rows, None)
        _gender_changed(copy_url)
        assert provenance.change_mark(reader) == mark  # this snapshot does not see it
        # the worker's snapshot does: its table is not used
        assert reliability_rows(copy_url, study, ReportScope(), mark) is None
        later = open_reader(copy_url)
        try:
            assert provenance.change_mark(later) == (mark[0] + 1, mark[1] + 1)
        finally:
            later.close()
    finally:
        reader.close()


def test_a_worker_that_fails_or_refuses_leaves_the_table_to_this_process(copy_url):
    from tracker.db.reader import open_reader
    from tracker.reports.context.scope import ReportScope
    from tracker.reports.offload import Reliability, _computed

    class Refused:
        def result(self):
            return None  # a changed database, or a URL the worker could not open

    class Failed:
        def result(self):
            raise OSError("the worker process ended")

    reader = open_reader(copy_url)
    try:
        study, scope = reader.study(None), ReportScope(subscales=False)
        rows, error, keyed = _computed(reader, study, scope)
        for pending in (Refused(), Failed()):
            got_rows, got_error, got_keyed = Reliability(reader, study, scope, pending).collect()
            assert (got_rows, got_error) == (rows, error) and got_keyed.equals(keyed)
        assert not any("." in r["measure"] for r in rows)  # the scope was applied
    finally:
        reader.close()


def test_a_small_study_or_a_session_keeps_the_table_here(copy_url):
    from tracker.db.engine import open_session
    from tracker.db.reader import Reader, open_reader
    from tracker.reports.context.scope import ReportScope
    from tracker.reports.offload import OFFLOAD_ADMINISTRATIONS, Reliability
    from tracker.reports.workers import ChartWorkers
    from tracker.study.studies import resolve_study

    reader = open_reader(copy_url)
    try:
        with ChartWorkers() as workers:
            # the demo's 40 participants hold far fewer administrations than the threshold
            assert OFFLOAD_ADMINISTRATIONS > 1_000
            assert Reliability.start(reader, reader.study(None), ReportScope(), workers) is None
            with open_session(copy_url) as session:  # no URL to hand a worker
                under = Reader.of(session)
                assert under.url is None
                study = resolve_study(session)
                assert Reliability.start(under, study, ReportScope(), workers) is None
            assert not workers._used
    finally:
        reader.close()
