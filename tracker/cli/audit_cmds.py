"""audit: the study's change history."""

from __future__ import annotations

import click

from tracker.cli.common import (
    date_option,
    db_option,
    emit,
    format_option,
    study_option,
    unit_of_work,
)

ACTIONS = ["create", "update", "delete", "withdraw", "reinstate", "import", "export"]
ENTITIES = [
    "study",
    "cohort",
    "wave",
    "participant",
    "instrument",
    "model_role",
    "import_batch",
    "administration",
    "export",
]


@click.command("audit")
@db_option
@study_option
@date_option("--since", help="Only events on or after this day (UTC), YYYY-MM-DD.")
@click.option(
    "--action",
    type=click.Choice(ACTIONS),
    metavar="ACTION",
    help=f"Only this action: {', '.join(ACTIONS)}.",
)
@click.option(
    "--entity",
    type=click.Choice(ENTITIES),
    metavar="KIND",
    help=f"Only this kind of thing: {', '.join(ENTITIES)}.",
)
@format_option
def audit(study_name, since, action, entity, fmt) -> None:
    """Show every change made to the study: when, by whom, before and after.

    JSON records: at, user, action, entity, key, before, after, batch
    (before/after as objects; batch is the import batch id).

    Example: tracker audit --since 2027-03-01 --entity wave --format json
    """
    import json

    from tracker.study.audit import EVENT_COLUMNS, events
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        rows = events(
            session, resolve_study(session, study_name), since=since, action=action, entity=entity
        )
    if fmt != "json":  # a table or CSV cell holds the values as compact JSON text
        rows = [
            {
                **r,
                **{
                    k: ""
                    if r[k] is None
                    else json.dumps(r[k], ensure_ascii=False, separators=(",", ":"))
                    for k in ("before", "after")
                },
            }
            for r in rows
        ]
    emit(rows, fmt, EVENT_COLUMNS)


COMMANDS = [audit]
