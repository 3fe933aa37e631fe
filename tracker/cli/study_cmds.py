"""wave, cohort, model (participant: :mod:`tracker.cli.participant_cmds`)."""

from __future__ import annotations

import click

from tracker.cli import complete
from tracker.cli.common import (
    date_option,
    db_option,
    db_url,
    emit,
    format_option,
    say_changes,
    study_option,
    unit_of_work,
)
from tracker.cli.participant_cmds import participant
from tracker.vocabulary import MODEL_ROLES

# -- waves -------------------------------------------------------------------


@click.group()
def wave() -> None:
    """Survey waves (baseline, post, follow-up): add, set, remove, list."""


@wave.command("add")
@db_option
@study_option
@click.argument("name")
@click.option(
    "--day", type=int, required=True, metavar="N", help="Days after each cohort's start date."
)
@click.option(
    "--window",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Days either side the wave may be answered [default 7].",
)
def wave_add(study_name, name, day, window) -> None:
    """Add wave NAME at a day offset from the cohort start.

    Example: tracker wave add post --day 56 --window 14
    """
    from tracker.study.studies import resolve_study
    from tracker.study.waves import add_wave

    with unit_of_work() as session:
        s = resolve_study(session, study_name)
        w = add_wave(session, s, name, day=day, window=window)
        click.echo(
            f"Wave {w.name!r} added: day {w.day_offset} ± {w.window_days}, order {w.position}."
        )
        if (
            w.position == 1 and len(s.waves) > 1
        ):  # never silently: the first wave is the analyses' default baseline
            click.echo(
                f"Note: {w.name!r} is now the first wave, the default baseline for correlations, change and the RCI; "
                "if its day is wrong, correct it with `tracker wave set`."
            )


@wave.command("set")
@db_option
@study_option
@click.argument("name", shell_complete=complete.waves)
@click.option("--name", "new_name", metavar="NEW", help="New name; stored answers stay attached.")
@click.option("--day", type=int, metavar="N", help="Corrected day offset from each cohort's start.")
@click.option(
    "--window",
    type=click.IntRange(min=0),
    metavar="N",
    help="Days either side the wave may be answered.",
)
def wave_set(study_name, name, new_name, day, window) -> None:
    """Correct wave NAME: rename it, or change its day or window.

    The waves stay ordered by day (two may not share one), so a changed day can
    change the order and with it the first wave, the default baseline of the
    analyses; the command says so. `tracker due` and later imports use the
    new day and window at once.

    Example: tracker wave set post --day 56 --window 14
    """
    from tracker.study.studies import resolve_study
    from tracker.study.waves import set_wave

    with unit_of_work() as session:
        result = set_wave(
            session,
            resolve_study(session, study_name),
            name,
            new_name=new_name,
            day=day,
            window=window,
        )
    say_changes(f"Wave {name!r}", result["changes"])
    if not result["changes"]:
        return
    if result["reordered"]:
        click.echo(
            f"Wave order is now {', '.join(result['order_after'])} (was {', '.join(result['order_before'])})."
        )
    if result["first"]:
        click.echo(
            f"The first wave, the default baseline for correlations, change and the RCI, is now {result['first']!r}."
        )


@wave.command("remove")
@db_option
@study_option
@click.argument("name", shell_complete=complete.waves)
def wave_remove(study_name, name) -> None:
    """Remove wave NAME; refused while any administration uses it.

    Example: tracker wave remove midpoint
    """
    from tracker.study.studies import resolve_study
    from tracker.study.waves import remove_wave

    with unit_of_work() as session:
        remove_wave(session, resolve_study(session, study_name), name)
    click.echo(f"Wave {name!r} removed.")


@wave.command("list")
@db_option
@study_option
@format_option
def wave_list(study_name, fmt) -> None:
    """List the study's waves in order.

    JSON and CSV records: order (1 = the first wave, the analyses' default
    baseline), name, day (days after each cohort's start), window (days
    either side).

    Example: tracker wave list
    """
    from tracker.db import listing

    emit(listing.with_reader(db_url(), study_name, listing.waves), fmt)


# -- cohorts -----------------------------------------------------------------


@click.group()
def cohort() -> None:
    """Training cohorts and their arms: add, set, remove, list."""


@cohort.command("add")
@db_option
@study_option
@click.argument("name")
@click.option("--arm", required=True, metavar="ARM", help="intervention, control, or any word.")
@date_option("--start", help="Start date, YYYY-MM-DD.")
@click.option("--description", default=None, metavar="TEXT", help="Free text.")
def cohort_add(study_name, name, arm, start, description) -> None:
    """Add cohort NAME in an arm.

    Example: tracker cohort add "MBSR spring" --arm intervention --start 2027-03-01
    """
    from tracker.study.cohorts import add_cohort
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        c = add_cohort(
            session,
            resolve_study(session, study_name),
            name,
            arm=arm,
            start=start,
            description=description,
        )
        click.echo(f"Cohort {c.name!r} added to arm {c.arm!r}.")


@cohort.command("set")
@db_option
@study_option
@click.argument("name", shell_complete=complete.cohorts)
@click.option(
    "--name", "new_name", metavar="NEW", help="New name; participants stay in the cohort."
)
@click.option("--arm", metavar="ARM", help="Corrected arm.")
@date_option("--start", help="Corrected start date, YYYY-MM-DD.")
@click.option("--description", metavar="TEXT", help='Free text; "" removes it.')
@click.option(
    "--clear",
    multiple=True,
    type=click.Choice(["start", "description"]),
    help="Remove an optional value (repeatable).",
)
def cohort_set(study_name, name, new_name, arm, start, description, clear) -> None:
    """Correct cohort NAME: rename it, or change its arm, start date or description.

    A changed start date moves the cohort's wave windows: `tracker due` and
    later imports' window checks use it at once.

    Example: tracker cohort set "MBSR spring" --start 2027-03-08
    """
    from tracker.study.cohorts import set_cohort
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        changes = set_cohort(
            session,
            resolve_study(session, study_name),
            name,
            new_name=new_name,
            arm=arm,
            start=start,
            description=description,
            clear=clear,
        )
    say_changes(f"Cohort {name!r}", changes)


@cohort.command("remove")
@db_option
@study_option
@click.argument("name", shell_complete=complete.cohorts)
def cohort_remove(study_name, name) -> None:
    """Remove cohort NAME; refused while it has participants.

    Example: tracker cohort remove "Typo cohort"
    """
    from tracker.study.cohorts import remove_cohort
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        remove_cohort(session, resolve_study(session, study_name), name)
    click.echo(f"Cohort {name!r} removed.")


@cohort.command("list")
@db_option
@study_option
@format_option
def cohort_list(study_name, fmt) -> None:
    """List cohorts with their arm, start and size.

    JSON and CSV records: name, arm, start (YYYY-MM-DD; empty without one),
    participants (enrolled, withdrawn included), description.

    Example: tracker cohort list
    """
    from tracker.db import listing

    emit(listing.with_reader(db_url(), study_name, listing.cohorts), fmt)


# -- model roles -------------------------------------------------------------


@click.group()
def model() -> None:
    """Roles of measures in the conceptual model: set, unset, show."""


@model.command("set")
@db_option
@study_option
@click.argument("measure", shell_complete=complete.measures)
@click.argument("role", type=click.Choice(MODEL_ROLES), metavar="ROLE")
@click.option(
    "--primary/--not-primary",
    "primary",
    default=None,
    help="Mark (or unmark) the measure a primary outcome: the report puts primary "
    "outcomes in their own multiplicity family. Unchanged when not given.",
)
def model_set(study_name, measure, role, primary) -> None:
    """Give MEASURE its ROLE: modifiable, intermediate or outcome.

    Example: tracker model set flourishing outcome --primary
    """
    from tracker.study.instruments import known_measures
    from tracker.study.roles import set_role
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        s = resolve_study(session, study_name)
        row = set_role(
            session,
            s,
            measure,
            role,
            known_measures=set(known_measures(session, s)),
            primary=primary,
        )
        click.echo(f"{measure} is now {role}{', a primary outcome' if row.is_primary else ''}.")


@model.command("unset")
@db_option
@study_option
@click.argument("measure", shell_complete=complete.measures)
def model_unset(study_name, measure) -> None:
    """Take MEASURE out of the conceptual model (its scores stay).

    Example: tracker model unset maas
    """
    from tracker.study.roles import unset_role
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        before = unset_role(session, resolve_study(session, study_name), measure)
    click.echo(f"{measure} no longer has a role (was {before['role']}).")


@model.command("show")
@db_option
@study_option
@format_option
def model_show(study_name, fmt) -> None:
    """Show measures by role, modifiable → intermediate → outcome.

    Example: tracker model show
    """
    from tracker.study.roles import roles
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        rows = [
            {"measure": m, "role": r}
            for m, r in roles(session, resolve_study(session, study_name)).items()
        ]
    emit(rows, fmt)


COMMANDS = [wave, cohort, participant, model]
