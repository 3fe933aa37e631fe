"""participant: enrol, add, set, withdraw, reinstate, list."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli import complete
from tracker.cli.common import (
    date_option,
    db_option,
    emit,
    format_option,
    say_changes,
    study_option,
    unit_of_work,
)

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
@click.option(
    "--update",
    is_flag=True,
    help="Apply rows that differ from what is stored (each change audited).",
)
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
        result = enroll_csv(
            session, resolve_study(session, study_name), file, update=update, dry_run=dry_run
        )
        if dry_run:
            session.rollback()
    for line in result.summary():
        click.echo(line)


@participant.command("add")
@db_option
@study_option
@click.argument("code")
@click.option(
    "--cohort",
    "cohort_name",
    required=True,
    metavar="NAME",
    shell_complete=complete.cohorts,
    help="Cohort name.",
)
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
            session,
            resolve_study(session, study_name),
            code,
            cohort=cohort_name,
            enrolled=enrolled,
            age=age,
            birth_year=birth_year,
            gender=gender,
            role=role,
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
@click.option(
    "--cohort",
    "cohort_name",
    metavar="NAME",
    shell_complete=complete.cohorts,
    help="Move to this cohort; answers stay attached.",
)
@date_option("--enrolled", help="Corrected enrolment date, YYYY-MM-DD.")
@click.option("--age", type=click.IntRange(0, 120), metavar="N", help="Corrected age in years.")
@click.option("--birth-year", type=int, metavar="YEAR", help="Corrected year of birth.")
@click.option("--gender", metavar="TEXT", help='Corrected gender (free text); "" removes it.')
@click.option("--role", metavar="TEXT", help='Corrected role; "" removes it.')
@click.option(
    "--clear",
    multiple=True,
    type=click.Choice(["age", "birth_year", "gender", "role"]),
    help="Remove an optional value (repeatable).",
)
def participant_set(
    study_name, code, cohort_name, enrolled, age, birth_year, gender, role, clear
) -> None:
    """Correct participant CODE: cohort, enrolment date or demographics.

    Example: tracker participant set R017 --cohort "Waitlist spring" --clear age
    """
    from tracker.study.participants import set_participant
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        changes = set_participant(
            session,
            resolve_study(session, study_name),
            code,
            cohort=cohort_name,
            enrolled=enrolled,
            age=age,
            birth_year=birth_year,
            gender=gender,
            role=role,
            clear=clear,
        )
    say_changes(f"Participant {code}", changes)


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
@click.option(
    "--cohort",
    "cohort_name",
    metavar="NAME",
    shell_complete=complete.cohorts,
    help="Only this cohort.",
)
@click.option("--status", type=click.Choice(["active", "withdrawn"]), help="Only this status.")
@format_option
def participant_list(study_name, cohort_name, status, fmt) -> None:
    """List participants (codes only, no identifiers).

    Example: tracker participant list --cohort "MBSR spring"
    """
    from tracker.study.participants import list_participants
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        rows = list_participants(
            session, resolve_study(session, study_name), cohort=cohort_name, status=status
        )
    emit(rows, fmt)
