"""wave, cohort, participant, model."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.common import db_option, emit, format_option, study_option, unit_of_work


def _date(_ctx, param, value):
    if value is None:
        return None
    from tracker.study.dates import parse_date

    # a TrackerError (exit 1), not BadParameter (exit 2): a bad date is bad data, not bad usage
    return parse_date(value, what=f"--{param.name}")


# -- waves -------------------------------------------------------------------


@click.group()
def wave() -> None:
    """Survey waves (baseline, post, follow-up): add, list."""


@wave.command("add")
@db_option
@study_option
@click.argument("name")
@click.option("--day", type=int, required=True, help="Days after each cohort's start date.")
@click.option("--window", type=click.IntRange(min=0), default=None, help="Days either side the wave may be answered [default 7].")
def wave_add(study_name, name, day, window) -> None:
    """Add a wave at a day offset from the cohort start.

    Example: tracker wave add post --day 56 --window 14
    """
    from tracker.study.studies import resolve_study
    from tracker.study.waves import add_wave

    with unit_of_work() as session:
        w = add_wave(session, resolve_study(session, study_name), name, day=day, window=window)
        click.echo(f"Wave {w.name!r} added: day {w.day_offset} ± {w.window_days}, order {w.position}.")


@wave.command("list")
@db_option
@study_option
@format_option
def wave_list(study_name, fmt) -> None:
    """List the study's waves in order.

    Example: tracker wave list
    """
    from tracker.study.studies import resolve_study
    from tracker.study.waves import list_waves

    with unit_of_work() as session:
        emit(list_waves(session, resolve_study(session, study_name)), fmt)


# -- cohorts -----------------------------------------------------------------


@click.group()
def cohort() -> None:
    """Training cohorts and their arms: add, list."""


@cohort.command("add")
@db_option
@study_option
@click.argument("name")
@click.option("--arm", required=True, help="intervention, control, or any word.")
@click.option("--start", callback=_date, help="Start date, YYYY-MM-DD.")
@click.option("--description", default=None, help="Free text.")
def cohort_add(study_name, name, arm, start, description) -> None:
    """Add a cohort in an arm.

    Example: tracker cohort add "MBSR spring" --arm intervention --start 2027-03-01
    """
    from tracker.study.cohorts import add_cohort
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        c = add_cohort(session, resolve_study(session, study_name), name, arm=arm, start=start, description=description)
        click.echo(f"Cohort {c.name!r} added to arm {c.arm!r}.")


@cohort.command("list")
@db_option
@study_option
@format_option
def cohort_list(study_name, fmt) -> None:
    """List cohorts with their arm, start and size.

    Example: tracker cohort list
    """
    from tracker.study.cohorts import list_cohorts
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        emit(list_cohorts(session, resolve_study(session, study_name)), fmt)


# -- participants ------------------------------------------------------------


@click.group()
def participant() -> None:
    """Pseudonymous participants: enroll, add, withdraw, list."""


@participant.command("enroll")
@db_option
@study_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def participant_enroll(study_name, file) -> None:
    """Enrol every participant of a roster CSV (all or none).

    Columns: code,cohort[,enrolled,age,birth_year,gender,role].

    Example: tracker participant enroll roster.csv
    """
    from tracker.study.participants import enroll_csv
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        created = enroll_csv(session, resolve_study(session, study_name), file)
        click.echo(f"Enrolled {len(created)} participant{'s' if len(created) != 1 else ''} from {file}.")


@participant.command("add")
@db_option
@study_option
@click.argument("code")
@click.option("--cohort", "cohort_name", required=True, help="Cohort name.")
@click.option("--enrolled", callback=_date, help="Enrolment date, YYYY-MM-DD [default today].")
@click.option("--age", type=click.IntRange(0, 120))
@click.option("--birth-year", type=int)
@click.option("--gender")
@click.option("--role", help='e.g. "PGY-1 resident".')
def participant_add(study_name, code, cohort_name, enrolled, age, birth_year, gender, role) -> None:
    """Enrol one participant by pseudonymous code.

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
@click.argument("code")
@click.option("--reason", required=True, help="Why the participant left.")
@click.option("--date", "on", callback=_date, help="Withdrawal date, YYYY-MM-DD [default today].")
def participant_withdraw(study_name, code, reason, on) -> None:
    """Withdraw a participant; their data stay, later imports refuse them.

    Example: tracker participant withdraw R017 --reason "left programme"
    """
    from tracker.study.participants import withdraw
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        p = withdraw(session, resolve_study(session, study_name), code, reason=reason, on=on)
        click.echo(f"Participant {p.code} withdrawn on {p.withdrawn_on.isoformat()}.")


@participant.command("list")
@db_option
@study_option
@click.option("--cohort", "cohort_name", help="Only this cohort.")
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
    """Roles of measures in the conceptual model: set, show."""


@model.command("set")
@db_option
@study_option
@click.argument("measure")
@click.argument("role", type=click.Choice(["modifiable", "intermediate", "outcome"]))
@click.option("--primary/--not-primary", "primary", default=None,
              help="Mark (or unmark) the measure a primary outcome: the report puts primary "
                   "outcomes in their own multiplicity family. Unchanged when not given.")
def model_set(study_name, measure, role, primary) -> None:
    """Give a measure its role: modifiable, intermediate or outcome.

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
