"""report, demo."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.common import db_option, db_url, study_option, unit_of_work


@click.command()
@db_option
@study_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write.",
)
def report(study_name, out) -> None:
    """Write the evaluation report: one self-contained HTML file.

    Example: tracker report --out report.html
    """
    from tracker.reports import write_report
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        written = write_report(session, resolve_study(session, study_name), out, parallel=True)
    click.echo(f"Report written ({written['bytes'] / 1024:.0f} KiB): {written['path']}")


@click.command()
@db_option(default="DIR/demo.db, an empty database")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="Directory for study.toml, the data files, demo.db and report.html.",
)
@click.option(
    "--participants",
    type=click.IntRange(min=4),
    default=80,
    show_default=True,
    help="Participants, half in each arm.",
)
@click.option("--seed", type=int, default=2027, show_default=True, help="Seed of the simulation.")
def demo(out, participants, seed) -> None:
    """Build a simulated two-arm study from nothing, analyse it and write the report.

    Uses DIR/demo.db unless --db (or TRACKER_DATABASE_URL) names a database,
    which must then be empty.

    Example: tracker demo --out demo --participants 80 --seed 2027
    """
    import time

    from tracker.demo import run_demo

    start = time.perf_counter()
    result = run_demo(out, url=db_url(), participants=participants, seed=seed, progress=click.echo,
                      parallel=True)
    click.echo(f"Done in {time.perf_counter() - start:.1f} s. Study file: {result['study_file']}")
    click.echo(f"Report: {result['report_path']}")


COMMANDS = [report, demo]
