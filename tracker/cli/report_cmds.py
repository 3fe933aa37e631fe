"""report, demo."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli import complete
from tracker.cli.common import db_option, db_url, study_option, wave_option


@click.command()
@db_option
@study_option
@click.option(
    "--cohort",
    "cohorts",
    multiple=True,
    metavar="NAME",
    shell_complete=complete.cohorts,
    help="Only this cohort (repeat for several). Default: every cohort.",
)
@wave_option("--from", "pre", "First wave of the comparisons (default: the first wave).")
@wave_option("--to", "post", "Second wave (default: every wave after --from, one comparison each).")
@click.option(
    "--primary",
    metavar="MEASURE,...",
    shell_complete=complete.measure_lists,
    help="Primary outcomes for this report, comma-separated (default: those marked with "
    "`tracker model set MEASURE ROLE --primary`). Primary outcomes are one Holm family; "
    "the other measures are exploratory, in their own family.",
)
@click.option(
    "--no-subscales",
    "no_subscales",
    is_flag=True,
    help="Leave subscales out (instrument totals only): fewer tests, less dilution.",
)
@click.option(
    "--figures",
    "figures",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write every chart as its own SVG file in DIR (figure-N-NAME.svg).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write.",
)
def report(study_name, cohorts, pre, post, primary, no_subscales, figures, out) -> None:
    """Write the evaluation report: one self-contained HTML file.

    A key finding calls a change clear only when its Holm-adjusted p (within
    its family: primary outcomes, or exploratory measures) is below .05;
    fewer than 10 complete pairs carry a caution.

    Example: tracker report --out report.html

    Example: tracker report --cohort "MBSR spring" --from baseline --to post
    --primary flourishing,who5 --no-subscales --figures figures --out spring.html
    """
    from tracker.db import listing
    from tracker.fileio import check_writable
    from tracker.reports import write_report
    from tracker.reports.context.scope import ReportScope

    names = None
    if primary is not None:
        names = tuple(dict.fromkeys(m.strip() for m in primary.split(",") if m.strip()))
        if not names:
            raise click.UsageError("--primary needs one or more measure codes, comma-separated")
    scope = ReportScope(
        cohorts=tuple(dict.fromkeys(cohorts)),
        pre=pre,
        post=post,
        primary=names,
        subscales=not no_subscales,
    )
    if out.expanduser().resolve().parent.exists():  # fail before the work, not after
        check_writable(out.expanduser().resolve())
    # a direct connection when it is certain to work (no SQLAlchemy to import), else a session
    written = listing.with_reader(
        db_url(),
        study_name,
        lambda reader, study: write_report(
            reader, study, out, parallel=True, scope=scope, figures=figures
        ),
    )
    click.echo(f"Report written ({written['bytes'] / 1024:.0f} KiB): {written['path']}")
    if written["figures"]:
        click.echo(f"Figures ({len(written['figures'])} SVG files): {written['figures'][0].parent}")


@click.command()
@db_option(default="DIR/demo.db, an empty database")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    default=Path("demo"),
    show_default=True,
    help="Directory for study.toml, the data files, demo.db and report.html.",
)
@click.option(
    "--participants",
    type=click.IntRange(min=4),
    metavar="N",
    default=80,
    show_default=True,
    help="Participants, half in each arm.",
)
@click.option(
    "--seed", type=int, default=2027, show_default=True, metavar="N", help="Seed of the simulation."
)
def demo(out, participants, seed) -> None:
    """Build a simulated two-arm study from nothing, analyse it and write the report.

    Uses DIR/demo.db unless --db (or TRACKER_DATABASE_URL) names a database,
    which must then be empty.

    Example: tracker demo --out demo --participants 80 --seed 2027
    """
    import time

    from tracker.demo import run_demo

    start = time.perf_counter()
    result = run_demo(
        out, url=db_url(), participants=participants, seed=seed, progress=click.echo, parallel=True
    )
    click.echo(f"Done in {time.perf_counter() - start:.1f} s. Study file: {result['study_file']}")
    click.echo(f"Report: {result['report_path']}")


COMMANDS = [report, demo]
