"""init, db, study."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.common import (
    db_option,
    db_url,
    echo,
    emit,
    format_option,
    study_option,
    unit_of_work,
)


@click.command()
@db_option
@click.option("--study", "study_name", metavar="NAME", help="Name of the study to create.")
@click.option(
    "--from",
    "from_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Create the study declared in a study.toml.",
)
def init(study_name: str | None, from_file: Path | None) -> None:
    """Create or upgrade the database and add a study.

    \b
    Example: tracker init --study "Resident wellbeing 2027"
             tracker init --from study.toml
    """
    from tracker.config import redact_url
    from tracker.errors import TrackerError
    from tracker.study.setup import init_database

    if bool(study_name) == bool(from_file):
        raise TrackerError("give either --study NAME or --from study.toml")
    result = init_database(db_url(), study_name=study_name, study_file=from_file)
    if result["migrated_from"] != result["revision"]:
        click.echo(
            f"Database {redact_url(result['url'])} migrated to revision {result['revision']}."
        )
    click.echo(f"Study {result['study']!r} created.")
    for line in result["details"]:
        echo(f"  {line}")


@click.group()
def db() -> None:
    """Database migrations and stored scores: upgrade, current, rescore."""


@db.command("upgrade")
@db_option
def db_upgrade() -> None:
    """Migrate the database to the newest revision (back it up first).

    Example: tracker db upgrade
    """
    from tracker.config import redact_url
    from tracker.db.engine import check_reachable, make_engine
    from tracker.db.migrate import upgrade

    engine = make_engine(db_url())
    try:
        check_reachable(engine)
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    where = redact_url(engine.url.render_as_string(hide_password=False))
    if before == after:
        click.echo(f"{where} is already at the newest revision ({after}).")
    else:
        click.echo(f"{where} upgraded from {before or 'empty'} to {after}.")


@db.command("current")
@db_option
@format_option
def db_current(fmt) -> None:
    """Show the database's migration revision and whether it is the newest.

    \b
    The table format is one line for people. JSON and CSV: one record with
      url       the database, password hidden
      revision  the stamped revision (null/empty: none)
      head      this tracker's newest revision
      state     missing (no such SQLite file), empty, newest, behind (run
                `tracker db upgrade`) or unknown (a newer tracker wrote it)
      advice    what to do, as the line says it

    Example: tracker db current --format json
    """
    from tracker.config import redact_url
    from tracker.db.engine import check_reachable, make_engine, missing_sqlite_file
    from tracker.db.migrate import current_revision, head_revision, revision_state

    engine = make_engine(db_url())
    where = redact_url(engine.url.render_as_string(hide_password=False))
    head = head_revision()
    if (missing := missing_sqlite_file(engine)) is not None:  # looked at, not created
        engine.dispose()
        advice = "empty: run `tracker init --study NAME`"
        if fmt == "table":
            click.echo(f"{where}: no database file at {missing}; revision none ({advice})")
        else:
            emit(
                [
                    {
                        "url": where,
                        "revision": None,
                        "head": head,
                        "state": "missing",
                        "advice": f"no database file at {missing}; run `tracker init --study NAME`",
                    }
                ],
                fmt,
            )
        return
    try:
        check_reachable(engine)
        current = current_revision(engine)
    finally:
        engine.dispose()
    state = revision_state(current)
    advice = {
        "empty": "empty: run `tracker init --study NAME`",
        "newest": "newest",
        "behind": f"behind {head}: run `tracker db upgrade`",
        "unknown": f"newer than this tracker's {head}, unknown to it: upgrade prepost-tracker",
    }[state]
    if fmt == "table":
        click.echo(f"{where}: revision {current or 'none'} ({advice})")
    else:
        emit(
            [{"url": where, "revision": current, "head": head, "state": state, "advice": advice}],
            fmt,
        )


@db.command("rescore")
@db_option
@study_option
@click.option("--all-studies", is_flag=True, help="Every study in the database.")
def db_rescore(study_name, all_studies) -> None:
    """Score every administration again from its stored items and instrument version.

    Imports store each administration's scores; run this after upgrading to a
    tracker whose scoring changed, or after writing responses outside
    `tracker import` (the analyses refuse a study with unscored administrations).

    Example: tracker db rescore
    """
    from tracker.ingest.rescore import rescore_all
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        study_id = None if all_studies else resolve_study(session, study_name).id
        admins, scores = rescore_all(session, study_id)
    click.echo(f"Rescored {admins:,} administrations ({scores:,} scores).")


@click.group()
def study() -> None:
    """Studies in this database: list, show."""


@study.command("list")
@db_option
@format_option
def study_list(fmt) -> None:
    """List the studies in the database.

    JSON and CSV records: name, participants (enrolled, withdrawn included),
    created (YYYY-MM-DD).

    Example: tracker study list --format json
    """
    from tracker.db import listing

    emit(listing.with_reader(db_url(), None, listing.studies, needs_study=False), fmt)


@study.command("show")
@db_option
@study_option
@format_option
def study_show(study_name: str | None, fmt: str) -> None:
    """Show a study's cohorts, waves, instruments and counts.

    \b
    JSON: an array of one record with
      name, description, created (YYYY-MM-DDTHH:MM:SS)
      participants (withdrawn included), withdrawn
      administrations, import_batches
      waves        wave names in order
      instruments  instrument codes
      cohorts      records {name, arm, start} (start: YYYY-MM-DD or null)
    CSV: the same record on one row; waves, instruments and cohorts give
    the names, separated by "; " (`tracker cohort list --format csv` has
    the cohorts' details).

    Example: tracker study show --study "Resident wellbeing 2027" --format json
    """
    from tracker.study.studies import resolve_study, study_summary

    with unit_of_work() as session:
        s = study_summary(session, resolve_study(session, study_name))
    if fmt == "json":
        emit([{k: s[k] for k in STUDY_FIELDS}], fmt)
        return
    if fmt == "csv":
        flat = {k: s[k] for k in STUDY_FIELDS}
        flat.update(
            waves="; ".join(s["waves"]),
            instruments="; ".join(s["instruments"]),
            cohorts="; ".join(c["name"] for c in s["cohorts"]),
        )
        emit([flat], fmt)
        return
    echo(f"Study: {s['name']}")
    if s["description"]:
        echo(f"  {s['description']}")
    echo(f"Created: {s['created']}")
    echo(f"Participants: {s['participants']} ({s['withdrawn']} withdrawn)")
    echo(f"Waves: {', '.join(s['waves']) or 'none'}")
    echo(f"Instruments: {', '.join(s['instruments']) or 'none'}")
    echo(f"Administrations: {s['administrations']} from {s['import_batches']} import(s)")
    echo("Cohorts:")
    emit(s["cohorts"])


STUDY_FIELDS = [
    "name",
    "description",
    "created",
    "participants",
    "withdrawn",
    "administrations",
    "import_batches",
    "waves",
    "instruments",
    "cohorts",
]


COMMANDS = [init, db, study]
