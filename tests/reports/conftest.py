"""A demo study built once per test session, and hostile strings for the escaping tests."""

from __future__ import annotations

import pytest

HOSTILE = "<script>alert(\"x\")</script> & 'q' $x$"


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo (40 participants) on SQLite: ``run_demo``'s result plus the report's text."""
    from tracker.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out, participants=40, seed=11)
    result["html"] = result["report_path"].read_text(encoding="utf-8")
    return result


@pytest.fixture(scope="session")
def demo_context(demo):
    """The report context of the session's demo study."""
    from tracker.db.engine import open_session
    from tracker.reports import report_context
    from tracker.study.studies import resolve_study

    with open_session(demo["db_url"]) as session:
        return report_context(session, resolve_study(session))


@pytest.fixture(scope="session")
def default_demo(tmp_path_factory):
    """``tracker demo`` with its defaults (80 participants, seed 2027): the report a user first sees."""
    from tracker.demo import run_demo

    result = run_demo(tmp_path_factory.mktemp("default-demo"), report=True)
    result["html"] = result["report_path"].read_text(encoding="utf-8")
    return result
