"""Build the report from a database session or reader: load, analyse, draw, render, write."""

from __future__ import annotations

import datetime as dt
import errno
import time
from pathlib import Path

from tracker.fileio import atomic_write, check_writable, write_error


def _instruments(reader, study) -> list[dict]:
    """Provenance rows ``code, version, sha256``: each instrument's newest stored version, by code."""
    from tracker.db import provenance, read_store

    rows = provenance.instrument_digests(reader, study.id)
    newest = read_store.newest_by_code(
        (vid, code, (version, sha)) for vid, code, version, sha in rows
    )
    return [
        {"code": code, "version": version, "sha256": sha} for code, (version, sha) in newest.items()
    ]


def report_context(
    source,
    study,
    *,
    generated_at: dt.datetime | None = None,
    scope=None,
    workers=None,
    charts_ready=None,
) -> dict:
    """The report's context dict for ``study`` (see :func:`tracker.reports.context.build_context`).

    ``source``: a SQLAlchemy session or a :class:`~tracker.db.reader.Reader` (the CLI's
    direct connection, which spares the report importing SQLAlchemy); ``study`` a
    Study or :class:`~tracker.db.reader.StudyRef`.

    ``scope``: a :class:`~tracker.reports.context.scope.ReportScope` (default: the whole study).
    ``workers``: :class:`~tracker.reports.workers.ChartWorkers` to run the mediation bootstrap
    (and, on a large study, the reliability table) in. ``charts_ready``: see
    :func:`~tracker.reports.context.build_context`.
    The primary outcomes are those marked with ``tracker model set ... --primary`` unless
    the scope names others.
    """
    from tracker.datasets import load_study_data
    from tracker.db import provenance
    from tracker.db.reader import Reader, StudyRef
    from tracker.reports.context import build_context
    from tracker.reports.context.scope import ReportScope
    from tracker.reports.offload import Reliability
    from tracker.study.corrections import corrections

    reader = source if isinstance(source, Reader) else Reader.of(source)
    study = StudyRef.of(study)
    # on a large study read directly, a worker reads the items and computes the reliability
    # table while this process reads the rest (tracker.reports.offload)
    reliability = Reliability.start(reader, study, scope or ReportScope(), workers)
    data = load_study_data(reader, study, item_waves=[] if reliability is not None else None)
    return build_context(
        data,
        generated_at=generated_at,
        instruments=_instruments(reader, study),
        database=provenance.database_description(reader),
        corrections=corrections(reader, study),
        scope=scope,
        primary=provenance.primary_measures(reader, study.id),
        workers=workers,
        reliability=reliability,
        charts_ready=charts_ready,
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
    source,
    study,
    out: str | Path,
    *,
    generated_at: dt.datetime | None = None,
    workers=None,
    parallel: bool = False,
    scope=None,
    figures: str | Path | None = None,
) -> dict:
    """Write the HTML report for ``study`` to ``out``.

    ``source``, ``study``: as :func:`report_context` takes them. When ``parallel`` is
    true (the CLI does so) :class:`~tracker.reports.workers.ChartWorkers` started here
    (or given as ``workers``, started earlier by the caller) run the mediation
    bootstrap, the reliability table of a large study and the charts while this
    process loads the study and runs the other analyses. By default everything runs
    in this process, because the worker processes are spawned and a script that calls
    this without an ``if __name__ == "__main__":`` guard would be re-imported by them.

    ``scope`` narrows the report (:class:`~tracker.reports.context.scope.ReportScope`);
    ``figures`` names a directory to which every chart is also written as its own SVG
    file (``figure-N-NAME.svg``, numbered as in the report).

    Returns a dict ``path`` (absolute), ``bytes``, ``seconds`` (a dict of the
    time spent loading and analysing, drawing -- what is left of it once the
    analyses are done -- and rendering), ``context`` and ``figures`` (the SVG
    files written, none without ``figures``).
    """
    from tracker.reports.charts import report_charts
    from tracker.reports.render import compile_templates, render, with_flow
    from tracker.reports.workers import ChartWorkers

    out = _prepare_target(
        Path(out).expanduser().resolve()
    )  # before the work: a bad --out fails at once
    t0 = time.perf_counter()
    if workers is None and parallel:
        workers = ChartWorkers()
    drawing: list = []  # the charts, started in a worker as soon as their data is known
    try:
        ctx = report_context(
            source,
            study,
            generated_at=generated_at,
            scope=scope,
            workers=workers,
            charts_ready=None
            if workers is None
            else lambda c: drawing.append(workers.draw_soon(c)),
        )
        t1 = time.perf_counter()
        if drawing:  # build_context started them
            compile_templates()  # while the worker draws
            charts = drawing[0].result()
        else:
            charts = report_charts(ctx)
    finally:
        if workers is not None:
            workers.close()
    t2 = time.perf_counter()
    charts = with_flow(ctx, charts)
    html = render(ctx, charts)
    with atomic_write(
        out
    ) as fh:  # complete or not at all (a full disk leaves the old file, or none)
        fh.write(html)
    written = write_figures(charts, figures) if figures is not None else []
    t3 = time.perf_counter()
    return {
        "path": out,
        "bytes": len(html.encode("utf-8")),
        "seconds": {"analyses": t1 - t0, "charts": t2 - t1, "render": t3 - t2},
        "context": ctx,
        "figures": written,
    }


def write_figures(charts: dict[str, str], folder: str | Path) -> list[Path]:
    """Every chart as its own SVG file in ``folder`` (created if missing), numbered as in the report.

    Files are ``figure-N-NAME.svg`` (``figure-1-flow.svg``, ...), each a complete SVG
    document a journal or a slide can take; written atomically, one by one.
    """
    from tracker.reports.render import figure_numbers, standalone_svg

    folder = Path(folder).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise write_error(folder, OSError(20, "not a directory"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    out = []
    for name, number in figure_numbers(charts).items():
        path = check_writable(folder / f"figure-{number}-{name.replace('_', '-')}.svg")
        with atomic_write(path) as fh:
            fh.write(standalone_svg(charts[name]))
        out.append(path)
    return out
