"""wave, cohort, participant, model."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli import complete
from tracker.cli.common import (
    date_option,
    db_option,
    db_url,
    emit,
    format_option,
    study_option,
    unit_of_work,
)
from tracker.vocabulary import MODEL_ROLES

# -- waves -------------------------------------------------------------------


@click.group()
def wave() -> None:
    """Survey waves (baseline, post, follow-up): add, set, remove, list."""


@wave.command("add")
@db_option
@study_option
@click.argument("name")
@click.option("--day", type=int, required=True, metavar="N", help="Days after each cohort's start date.")
@click.option("--window", type=click.IntRange(min=0), default=None, metavar="N",
              help="Days either side the wave may be answered [default 7].")
def wave_add(study_name, name, day, window) -> None:
    """Add wave NAME at a day offset from the cohort start.

    Example: tracker wave add post --day 56 --window 14
    """
    from tracker.study.studies import resolve_study
    from tracker.study.waves import add_wave

    with unit_of_work() as session:
        s = resolve_study(session, study_name)
        w = add_wave(session, s, name, day=day, window=window)
        click.echo(f"Wave {w.name!r} added: day {w.day_offset} ± {w.window_days}, order {w.position}.")
        if w.position == 1 and len(s.waves) > 1:  # never silently: the first wave is the analyses' default baseline
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
@click.option("--window", type=click.IntRange(min=0), metavar="N", help="Days either side the wave may be answered.")
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
        result = set_wave(session, resolve_study(session, study_name), name, new_name=new_name, day=day, window=window)
    changes = result["changes"]
    if not changes:
        click.echo(f"Wave {name!r} already has those values; nothing changed.")
        return
    shown = ", ".join(f"{f} {old!r} -> {new!r}" if f == "name" else f"{f} {old} -> {new}" for f, (old, new) in changes.items())
    click.echo(f"Wave {name!r} updated: {shown}.")
    if result["reordered"]:
        click.echo(f"Wave order is now {', '.join(result['order_after'])} (was {', '.join(result['order_before'])}).")
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
        c = add_cohort(session, resolve_study(session, study_name), name, arm=arm, start=start, description=description)
        click.echo(f"Cohort {c.name!r} added to arm {c.arm!r}.")


@cohort.command("set")
@db_option
@study_option
@click.argument("name", shell_complete=complete.cohorts)
@click.option("--name", "new_name", metavar="NEW", help="New name; participants stay in the cohort.")
@click.option("--arm", metavar="ARM", help="Corrected arm.")
@date_option("--start", help="Corrected start date, YYYY-MM-DD.")
@click.option("--description", metavar="TEXT", help='Free text; "" removes it.')
@click.option("--clear", multiple=True, type=click.Choice(["start", "description"]), help="Remove an optional value (repeatable).")
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
            session, resolve_study(session, study_name), name, new_name=new_name, arm=arm, start=start,
            description=description, clear=clear,
        )
    _say_changes(f"Cohort {name!r}", changes)


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


def _say_changes(what: str, changes: dict) -> None:
    if not changes:
        click.echo(f"{what} already has those values; nothing changed.")
        return

    def show(value) -> str:
        if value is None:
            return "(none)"
        return value.isoformat() if hasattr(value, "isoformat") else repr(value)

    click.echo(f"{what} updated: " + ", ".join(f"{f} {show(a)} -> {show(b)}" for f, (a, b) in changes.items()) + ".")


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


# -- participants ------------------------------------------------------------


class _Participants(click.Group):
    """``participant enroll`` still runs ``participant enrol``: the one spelling is "enrol"
    (enrolment, n_to_enrol), and scripts written with the other keep working; only
    ``enrol`` is listed."""

    ALIASES = {"enroll": "enrol"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.ALIASES.get(cmd_name, cmd_name))


@click.group(cls=_Participants)
def participant() -> None:
    """Pseudonymous participants: enrol, add, set, withdraw, reinstate, list."""


@participant.command("enrol")
@db_option
@study_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--update", is_flag=True, help="Apply rows that differ from what is stored (each change audited).")
@click.option("--dry-run", is_flag=True, help="Check and count only; write nothing.")
def participant_enroll(study_name, file, update, dry_run) -> None:
    """Enrol the roster CSV FILE: new codes are added, known codes checked (all or none).

    Columns: code,cohort[,enrolled,age,birth_year,gender,role]. Enrolling the
    same roster again changes nothing; a grown roster adds its new codes. A
    known code whose row differs from what is stored is refused, every
    difference listed, unless --update. An empty cell never erases a stored
    value (use `tracker participant set CODE --clear FIELD`).

    Example: tracker participant enrol roster.csv --dry-run
    """
    from tracker.study.participants import enroll_csv
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        result = enroll_csv(session, resolve_study(session, study_name), file, update=update, dry_run=dry_run)
        if dry_run:
            session.rollback()
    for line in result.summary():
        click.echo(line)


@participant.command("add")
@db_option
@study_option
@click.argument("code")
@click.option("--cohort", "cohort_name", required=True, metavar="NAME", shell_complete=complete.cohorts,
              help="Cohort name.")
@date_option("--enrolled", help="Enrolment date, YYYY-MM-DD [default today].")
@click.option("--age", type=click.IntRange(0, 120), metavar="N", help="Age in years.")
@click.option("--birth-year", type=int, metavar="YEAR", help="Year of birth, e.g. 1996.")
@click.option("--gender", metavar="TEXT", help="Gender, as the participant gives it (free text).")
@click.option("--role", metavar="TEXT", help='Role in the programme, e.g. "PGY-1 resident".')
def participant_add(study_name, code, cohort_name, enrolled, age, birth_year, gender, role) -> None:
    """Enrol one participant by pseudonymous CODE (no names or other identifiers).

    Example: tracker participant add R031 --cohort "MBSR spring" --role "PGY-1 resident"
    """
    from tracker.study.participants import add_participant
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        p = add_participant(
            session, resolve_study(session, study_name), code, cohort=cohort_name, enrolled=enrolled,
            age=age, birth_year=birth_year, gender=gender, role=role,
        )
        click.echo(f"Participant {p.code} enrolled in {cohort_name!r}.")


@participant.command("withdraw")
@db_option
@study_option
@click.argument("code", shell_complete=complete.participants)
@click.option("--reason", required=True, metavar="TEXT", help="Why the participant left.")
@date_option("--date", "on", help="Withdrawal date, YYYY-MM-DD [default today].")
def participant_withdraw(study_name, code, reason, on) -> None:
    """Withdraw participant CODE; their data stay, later imports refuse them.

    Example: tracker participant withdraw R017 --reason "left programme"
    """
    from tracker.study.participants import withdraw
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        p = withdraw(session, resolve_study(session, study_name), code, reason=reason, on=on)
        click.echo(f"Participant {p.code} withdrawn on {p.withdrawn_on.isoformat()}.")


@participant.command("set")
@db_option
@study_option
@click.argument("code", shell_complete=complete.participants)
@click.option("--cohort", "cohort_name", metavar="NAME", shell_complete=complete.cohorts,
              help="Move to this cohort; answers stay attached.")
@date_option("--enrolled", help="Corrected enrolment date, YYYY-MM-DD.")
@click.option("--age", type=click.IntRange(0, 120), metavar="N", help="Corrected age in years.")
@click.option("--birth-year", type=int, metavar="YEAR", help="Corrected year of birth.")
@click.option("--gender", metavar="TEXT", help='Corrected gender (free text); "" removes it.')
@click.option("--role", metavar="TEXT", help='Corrected role; "" removes it.')
@click.option("--clear", multiple=True, type=click.Choice(["age", "birth_year", "gender", "role"]), help="Remove an optional value (repeatable).")
def participant_set(study_name, code, cohort_name, enrolled, age, birth_year, gender, role, clear) -> None:
    """Correct participant CODE: cohort, enrolment date or demographics.

    Example: tracker participant set R017 --cohort "Waitlist spring" --clear age
    """
    from tracker.study.participants import set_participant
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        changes = set_participant(
            session, resolve_study(session, study_name), code, cohort=cohort_name, enrolled=enrolled, age=age,
            birth_year=birth_year, gender=gender, role=role, clear=clear,
        )
    _say_changes(f"Participant {code}", changes)


@participant.command("reinstate")
@db_option
@study_option
@click.argument("code", shell_complete=complete.participants)
def participant_reinstate(study_name, code) -> None:
    """Undo the withdrawal of participant CODE (the audit keeps its date and reason).

    Example: tracker participant reinstate R017
    """
    from tracker.study.participants import reinstate
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        p = reinstate(session, resolve_study(session, study_name), code)
        click.echo(f"Participant {p.code} is active again.")


@participant.command("list")
@db_option
@study_option
@click.option("--cohort", "cohort_name", metavar="NAME", shell_complete=complete.cohorts, help="Only this cohort.")
@click.option("--status", type=click.Choice(["active", "withdrawn"]), help="Only this status.")
@format_option
def participant_list(study_name, cohort_name, status, fmt) -> None:
    """List participants (codes only, no identifiers).

    Example: tracker participant list --cohort "MBSR spring"
    """
    from tracker.study.participants import list_participants
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        rows = list_participants(session, resolve_study(session, study_name), cohort=cohort_name, status=status)
    emit(rows, fmt)


# -- model roles -------------------------------------------------------------


@click.group()
def model() -> None:
    """Roles of measures in the conceptual model: set, unset, show."""


@model.command("set")
@db_option
@study_option
@click.argument("measure", shell_complete=complete.measures)
@click.argument("role", type=click.Choice(MODEL_ROLES), metavar="ROLE")
@click.option("--primary/--not-primary", "primary", default=None,
              help="Mark (or unmark) the measure a primary outcome: the report puts primary "
                   "outcomes in their own multiplicity family. Unchanged when not given.")
def model_set(study_name, measure, role, primary) -> None:
    """Give MEASURE its ROLE: modifiable, intermediate or outcome.

    Example: tracker model set flourishing outcome --primary
    """
    from tracker.study.instruments import known_measures
    from tracker.study.roles import set_role
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        s = resolve_study(session, study_name)
        row = set_role(session, s, measure, role, known_measures=set(known_measures(session, s)),
                       primary=primary)
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
        rows = [{"measure": m, "role": r} for m, r in roles(session, resolve_study(session, study_name)).items()]
    emit(rows, fmt)


COMMANDS = [wave, cohort, participant, model]
