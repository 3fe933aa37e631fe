"""Build the report from a database session: load, analyse, draw, render, write."""

from __future__ import annotations

import datetime as dt
import errno
import time
from pathlib import Path

from sqlalchemy.orm import Session

from tracker.db.models import Study
from tracker.fileio import atomic_write, check_writable, write_error


def _database(session: Session) -> str:
    bind = session.get_bind()
    dialect = bind.dialect
    version = ".".join(str(v) for v in (dialect.server_version_info or ()))
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(dialect.name, dialect.name)
    return f"{name} {version}".strip()


def _instruments(session: Session, study: Study) -> list[dict]:
    from tracker.study.instruments import current_versions

    return [
        {"code": code, "version": v.version, "sha256": v.sha256}
        for code, v in sorted(current_versions(session, study).items())
    ]


def report_context(
    session: Session, study: Study, *, generated_at: dt.datetime | None = None
) -> dict:
    """The report's context dict for ``study`` (see :func:`tracker.reports.context.build_context`)."""
    from tracker.datasets import load_study_data
    from tracker.reports.context import build_context
    from tracker.study.audit import corrections

    data = load_study_data(session, study)
    return build_context(
        data,
        generated_at=generated_at,
        instruments=_instruments(session, study),
        database=_database(session),
        corrections=corrections(session, study),
    )


def _prepare_target(out: Path) -> Path:
    """Create ``out``'s missing folders and check that ``out`` can be written (TrackerError if not).

    A missing folder is created, as the report always did; a path through a
    file, a folder without write permission, or ``out`` being a folder is refused.
    """
    if not out.parent.exists():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise write_error(out, OSError(errno.ENOTDIR, "not a directory")) from None
        except OSError as exc:
            raise write_error(out, exc) from None
    return check_writable(out)


def write_report(
    session: Session,
    study: Study,
    out: str | Path,
    *,
    generated_at: dt.datetime | None = None,
    workers=None,
    parallel: bool = False,
) -> dict:
    """Write the HTML report for ``study`` to ``out``.

    The charts are drawn by :class:`~tracker.reports.charts.ChartWorkers` started
    here (or given as ``workers``, started earlier by the caller) while the study
    is loaded and analysed when ``parallel`` is true (the CLI does so); by default
they are drawn in this process, because the worker processes are spawned and a
script that calls this without an ``if __name__ == "__main__":`` guard would be
re-imported by them.

    Returns a dict ``path`` (absolute), ``bytes``, ``seconds`` (a dict of the
    time spent loading and analysing, drawing -- what is left of it once the
    analyses are done -- and rendering) and ``context``.
    """
    from tracker.reports.charts import ChartWorkers, report_charts
    from tracker.reports.render import render

    out = _prepare_target(Path(out).expanduser().resolve())  # before the work: a bad --out fails at once
    t0 = time.perf_counter()
    if workers is None and parallel:
        workers = ChartWorkers()
    try:
        ctx = report_context(session, study, generated_at=generated_at)
        t1 = time.perf_counter()
        charts = workers.draw(ctx) if workers is not None else report_charts(ctx)
    finally:
        if workers is not None:
            workers.close()
    t2 = time.perf_counter()
    html = render(ctx, charts)
    with atomic_write(out) as fh:  # complete or not at all (a full disk leaves the old file, or none)
        fh.write(html)
    t3 = time.perf_counter()
    return {
        "path": out,
        "bytes": len(html.encode("utf-8")),
        "seconds": {"analyses": t1 - t0, "charts": t2 - t1, "render": t3 - t2},
        "context": ctx,
    }
