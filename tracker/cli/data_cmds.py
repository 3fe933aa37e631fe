"""import responses, status, due, export."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from tracker.cli.common import (
    LAYOUTS,
    date_option,
    db_option,
    db_url,
    emit,
    format_option,
    one_layout,
    one_wave_option,
    study_option,
    unit_of_work,
)
from tracker.formatting import plural

# Show a progress bar when reading plus writing counts more units than this
# (about 5,000 rows), and only on a terminal.
PROGRESS_THRESHOLD = 10_000
WARNINGS_SHOWN = 20


class _Bar:
    """A click progress bar on stderr, opened lazily once the work looks long."""

    def __init__(self) -> None:
        self.bar = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < PROGRESS_THRESHOLD or not sys.stderr.isatty():
                return
            self.bar = click.progressbar(length=total, label="Importing", file=sys.stderr)
            self.bar.__enter__()
        self.bar.length = total
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.group("import")
def import_() -> None:
    """Import survey responses (wide, long, xlsx, REDCap, Qualtrics)."""


@import_.command("responses")
@db_option
@study_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@one_wave_option("Wave of every row, when the file has no wave column.")
@click.option(
    "--layout",
    "fmt",
    type=click.Choice(LAYOUTS),
    help="The input file's layout [default: the map's format, else xlsx for .xlsx files, "
    "else wide]. (--format, its old name, still works.)",
)
@click.option("--format", "legacy_fmt", type=click.Choice(LAYOUTS), hidden=True)
@click.option(
    "--dry-run", is_flag=True, help="Validate and show what would be written; write nothing."
)
@click.option("--update", is_flag=True, help="Apply changes to stored values (each one audited).")
@click.option(
    "--map",
    "map_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Import map (TOML): which columns are which items, labels, missing codes, events, waves.",
)
@click.option(
    "--event-map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="REDCap: CSV with columns redcap_event_name,wave (or REDCap's event list plus a wave column).",
)
@click.option(
    "--id-column", metavar="NAME", help="The column holding the participant code (any format)."
)
@click.option(
    "--problems",
    "problems_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every problem (or, when the import succeeds, every warning) to this CSV: "
    "file,row,column,value,rule,message.",
)
def import_responses_cmd(
    study_name,
    file,
    wave,
    fmt,
    legacy_fmt,
    dry_run,
    update,
    map_file,
    event_map,
    id_column,
    problems_out,
) -> None:
    """Import FILE of questionnaire responses, all of it or none of it.

    Every problem in the file is reported at once; identical ones (the same
    value breaking the same rule in many cells) as one line. --problems
    FILE.csv lists each one.

    --layout names how the file is laid out (wide, long, redcap, qualtrics,
    xlsx); --format is the output format of the commands that print tables.

    \b
    Example: tracker import responses baseline.csv --wave baseline
             tracker import responses export.csv --layout redcap
               --event-map events.csv
             tracker import responses survey.csv --layout qualtrics --wave post
               --id-column ExternalReference
             tracker import responses redcap_export.csv --map redcap.map.toml
               --dry-run
    """
    from tracker.db.bulk import translate_errors
    from tracker.errors import ValidationError
    from tracker.ingest import import_responses
    from tracker.ingest.problems import ImportRefused, write_problems
    from tracker.study.studies import resolve_study

    fmt = one_layout(fmt, legacy_fmt)
    if problems_out is not None:
        from tracker.fileio import check_writable

        check_writable(problems_out)
    bar = _Bar()
    try:
        with unit_of_work() as session:
            result = import_responses(
                session,
                resolve_study(session, study_name),
                file,
                wave=wave,
                fmt=fmt,
                dry_run=dry_run,
                update=update,
                event_map=event_map,
                id_column=id_column,
                map=map_file,
                progress=bar,
            )
            with (
                translate_errors()
            ):  # a full disk at commit is an error message, and nothing is stored
                session.commit()
    except ValidationError as exc:  # the file's problems, or the map's
        if problems_out is not None:
            every = exc.all_problems if isinstance(exc, ImportRefused) else exc.problems
            write_problems(problems_out, every)
            total = exc.total if isinstance(exc, ImportRefused) else len(every)
            kept = (
                f"all {total:,}"
                if total == len(every)
                else f"the first {len(every):,} of {total:,}"
            )
            exc.summary += f"\n({kept} problems written to {problems_out})"
            exc.args = (exc.summary + "\n" + "\n".join(f"  {p}" for p in exc.problems),)
        raise
    finally:
        bar.close()
    if problems_out is not None:
        write_problems(problems_out, result.warnings)
    _report(result)


def _report(result) -> None:
    rows = plural(result.rows, "row")
    if result.unchanged:
        click.echo(
            f"{result.file}: already imported: nothing changed ({rows}, "
            f"{plural(result.administrations_unchanged, 'administration')} already stored)."
        )
        return
    what = f"{plural(result.administrations_new, 'new administration')} ({plural(result.values_written - result.values_changed, 'item value')})"
    if result.administrations_changed:
        what += (
            f", {plural(result.values_changed, 'changed value')} in "
            f"{plural(result.administrations_changed, 'administration')}"
        )
    if result.administrations_unchanged:
        what += f"; {result.administrations_unchanged:,} already stored unchanged"
    if result.dry_run:
        click.echo(
            f"Dry run: {result.file} ({result.format}, {rows}) is valid. Would write {what}. Nothing was written."
        )
    else:
        click.echo(
            f"Imported {result.file} ({result.format}, {rows}): {what}. Batch #{result.batch_id}."
        )
    if result.map_file:
        click.echo(f"Read with the map {result.map_file} (SHA-256 {result.map_sha256[:12]}…).")
    emit(
        [b for b in result.breakdown if b["new"] or b["changed"]],
        "table",
        ["wave", "instrument", "new", "changed", "unchanged"],
    )
    for change in result.changes[:WARNINGS_SHOWN]:
        participant, wave, instrument, item, old, new = change
        click.echo(
            f"  {'would change' if result.dry_run else 'changed'}: {participant} {wave} {instrument} "
            f"{item}: {old} -> {new}"
        )
    if len(result.changes) > WARNINGS_SHOWN:
        click.echo(f"  … and {len(result.changes) - WARNINGS_SHOWN:,} more changes")
    for warning in result.warnings[:WARNINGS_SHOWN]:
        click.echo(f"Warning: {warning}")
    if len(result.warnings) > WARNINGS_SHOWN:
        click.echo(f"… and {len(result.warnings) - WARNINGS_SHOWN:,} more warnings")


@click.command()
@db_option
@study_option
@format_option
def status(study_name, fmt) -> None:
    """Completion per cohort x wave x instrument: counts and % of active participants.

    The table has a row per cohort and wave, an "n/N (p%)" cell per
    instrument. JSON and CSV: a record per cohort x wave x instrument with
    cohort, arm, wave, wave_order, instrument, active (active participants),
    completed (of them, with an answer), percent (null without active
    participants), withdrawn (counted apart, never as missing).

    Example: tracker status
    """
    from tracker.db import listing

    matrix = listing.with_reader(db_url(), study_name, listing.completion)
    emit(listing.completion_grid(matrix) if fmt == "table" else matrix, fmt)


@click.command()
@db_option
@study_option
@one_wave_option("One wave [default: every wave].")
@date_option("--as-of", "as_of", help="Judge windows on this date (YYYY-MM-DD) [default: today].")
@format_option
def due(study_name, wave, as_of, fmt) -> None:
    """Who is due, overdue or not yet due for a wave, by cohort (participant codes only).

    A wave's window for a cohort is its start + the wave's day ± window.
    The table has a row per wave and cohort. JSON and CSV: a record per wave
    and outstanding active participant with cohort, arm, wave, opens,
    closes (YYYY-MM-DD; null without a cohort start), state (upcoming, due,
    overdue, unscheduled), participant (the code), missing (the instrument
    codes not yet answered, comma-separated).

    Example: tracker due --wave post
    """
    from tracker.db import listing

    today = as_of or dt.date.today()
    rows = listing.with_reader(
        db_url(), study_name, lambda r, s: listing.due(r, s, wave=wave, today=today)
    )
    if fmt != "table":
        for r in rows:
            r["opens"] = r["opens"].isoformat() if r["opens"] is not None else None
            r["closes"] = r["closes"].isoformat() if r["closes"] is not None else None
        emit(rows, fmt, [c for c in listing.DUE_COLUMNS if c != "wave_order"])
    elif not rows:
        click.echo(f"Nobody is outstanding{f' for wave {wave}' if wave else ''}.")
    else:
        emit(listing.due_by_cohort(rows), "table")


@click.group()
def export() -> None:
    """Export scores, item responses or a codebook: CSV, xlsx, SPSS, Stata, R, Parquet."""


FILE_TYPES = ".csv .xlsx .sav (SPSS) .dta (Stata) .rds (R) .parquet"


def _export_options(f):
    f = click.option(
        "--codebook",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the codebook of the exported variables (.csv or .html).",
    )(f)
    f = click.option(
        "--key-out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="With --deidentify: write the key (new code -> study code) to this CSV file. "
        "Never written otherwise.",
    )(f)
    f = click.option(
        "--deidentify",
        is_flag=True,
        help="New random participant codes, dates as days since enrolment, ages in 5-year bands, "
        "birth years and free text dropped.",
    )(f)
    f = click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        multiple=True,
        help=f"Output file: {FILE_TYPES}. Repeat for several formats of the same rows.",
    )(f)
    f = click.option(
        "--layout",
        type=click.Choice(["long", "wide"]),
        default="wide",
        show_default=True,
        help="One row per value (long) or per participant and wave (wide).",
    )(f)
    f = one_wave_option("One wave [default: every wave].")(f)
    return study_option(db_option(f))


def _run_export(name: str, study_name, **options) -> None:
    from tracker.datasets import export as library
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        result = getattr(library, name)(session, resolve_study(session, study_name), **options)
    note = " (de-identified)" if result.deidentified else ""
    for path in result.paths:
        click.echo(f"Wrote {plural(result.rows, 'row')} to {path}{note}.")
    if result.codebook_path is not None:
        click.echo(
            f"Wrote the codebook ({plural(len(result.columns), 'variable')}) to {result.codebook_path}."
        )
    if result.key_path is not None:
        click.echo(
            f"Wrote the key of the new codes to {result.key_path}: keep it apart from the data."
        )


@export.command("scores")
@_export_options
def export_scores_cmd(study_name, wave, layout, out, deidentify, key_out, codebook) -> None:
    """Write scale scores with cohort, arm, demographics, status and dates to a file.

    \b
    Example: tracker export scores --wave baseline --out baseline_scores.xlsx
             tracker export scores --out scores.sav --out scores.dta
               --codebook codebook.html
             tracker export scores --deidentify --out shared.csv --key-out key.csv
    """
    _run_export(
        "export_scores",
        study_name,
        out=list(out),
        wave=wave,
        layout=layout,
        deidentify=deidentify,
        key_out=key_out,
        codebook=codebook,
    )


@export.command("items")
@_export_options
def export_items_cmd(study_name, wave, layout, out, deidentify, key_out, codebook) -> None:
    """Write item responses to a file; the wide layout imports again as it is.

    \b
    Example: tracker export items --out all_items.csv
             tracker export items --layout long --out items.parquet
    """
    _run_export(
        "export_items",
        study_name,
        out=list(out),
        wave=wave,
        layout=layout,
        deidentify=deidentify,
        key_out=key_out,
        codebook=codebook,
    )


@export.command("codebook")
@db_option
@study_option
@click.option(
    "--of",
    "of",
    type=click.Choice(["scores", "items"]),
    default="scores",
    show_default=True,
    help="The export whose variables the codebook describes.",
)
@click.option(
    "--layout",
    type=click.Choice(["long", "wide"]),
    default="wide",
    show_default=True,
    help="The layout of that export.",
)
@one_wave_option("One wave [default: every wave].")
@click.option("--deidentify", is_flag=True, help="Describe the de-identified export's variables.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output file, .csv or .html.",
)
def export_codebook_cmd(study_name, of, layout, wave, deidentify, out) -> None:
    """Write a codebook: name, label, type, range or values, instrument, version, scoring rule, source.

    Example: tracker export codebook --out codebook.html
    """
    from tracker.datasets.export import export_codebook
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        result = export_codebook(
            session,
            resolve_study(session, study_name),
            out,
            of=of,
            wave=wave,
            layout=layout,
            deidentify=deidentify,
        )
    click.echo(f"Wrote the codebook ({plural(result.rows, 'variable')}) to {result.path}.")


COMMANDS = [import_, status, due, export]
