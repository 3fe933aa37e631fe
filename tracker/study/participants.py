"""Participants: pseudonymous codes in cohorts; enrolment, correction, withdrawal, listing.

One participant at a time here; a roster CSV is :mod:`tracker.study.roster`
(``enroll_csv``, also importable from here), what a code may be and which
columns are direct identifiers :mod:`tracker.study.identifiers`.

Decisions
---------
* ``set_participant`` changes only what it is given; an empty ``gender`` or
  ``role`` (``--gender ""``) or a field named in ``clear`` removes the value.
  A new enrolment date must not fall after the participant's withdrawal.
* A withdrawal is dated today unless a date is given, and is refused when
  that date is before the enrolment date either way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study
from tracker.errors import Conflict, NotFound, TrackerError
from tracker.study import audit
from tracker.study.identifiers import (
    CODE_PATTERN,
    IDENTIFIER_COLUMNS,
    check_code,
    is_identifier_column,
)
from tracker.study.studies import get_cohort
from tracker.study.text import NAME_MAX, TEXT_MAX, clean_text

__all__ = [  # what other modules import from here, the identifier checks included (enroll_csv: below)
    "CODE_PATTERN",
    "IDENTIFIER_COLUMNS",
    "add_participant",
    "check_code",
    "get_participant",
    "is_identifier_column",
    "list_participants",
    "reinstate",
    "set_participant",
    "withdraw",
]

GENDER_MAX = NAME_MAX
FIELDS = ("cohort", "enrolled", "age", "birth_year", "gender", "role")
CLEARABLE = ("age", "birth_year", "gender", "role")


def audit_snapshot(p: Participant, cohort_name: str) -> dict:
    """What the audit's ``after`` holds for a new participant."""
    return {
        "code": p.code,
        "cohort": cohort_name,
        "enrolled": p.enrolled_on,
        "age": p.age,
        "birth_year": p.birth_year,
        "gender": p.gender,
        "role": p.role,
        "status": p.status,
    }


def _check_numbers(code: str, age: int | None, birth_year: int | None) -> None:
    if age is not None and not 0 <= age <= 120:
        raise TrackerError(f"participant {code}: age {age} is outside 0-120")
    if birth_year is not None and not 1900 <= birth_year <= dt.date.today().year:
        raise TrackerError(f"participant {code}: birth year {birth_year} is not plausible")


def add_participant(
    session: Session,
    study: Study,
    code: str,
    *,
    cohort: str,
    enrolled: dt.date | None = None,
    age: int | None = None,
    birth_year: int | None = None,
    gender: str | None = None,
    role: str | None = None,
) -> Participant:
    code = (code or "").strip()
    reason = check_code(code)
    if reason:
        raise TrackerError(f"participant code {code[:20]!r} {reason}")
    _check_numbers(code, age, birth_year)
    gender = clean_text(gender, "--gender", limit=NAME_MAX)
    role = clean_text(role, "--role", limit=NAME_MAX)
    target = get_cohort(session, study, cohort)
    if _existing_codes(session, study, [code]):
        raise Conflict(f"participant {code!r} is already enrolled in study {study.name!r}")
    p = Participant(
        study_id=study.id,
        cohort_id=target.id,
        code=code,
        enrolled_on=enrolled or dt.date.today(),
        age=age,
        birth_year=birth_year,
        gender=gender,
        role=role,
        status="active",
    )
    session.add(p)
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="create",
        entity="participant",
        key=code,
        after=audit_snapshot(p, target.name),
    )
    return p


def _existing_codes(session: Session, study: Study, codes: list[str]) -> set[str]:
    return set(stored_by_code(session, study, codes))


def stored_by_code(session: Session, study: Study, codes: list[str]) -> dict[str, Participant]:
    """The study's participants among ``codes``, by code."""
    if len(codes) > 200:
        # a roster: one scan of the study's participants beats 500-code IN lists (slow on
        # PostgreSQL: BENCHMARKS.md, design figures)
        wanted = set(codes)
        return {
            p.code: p
            for p in session.scalars(select(Participant).where(Participant.study_id == study.id))
            if p.code in wanted
        }
    found: dict[str, Participant] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found.update(
            (p.code, p)
            for p in session.scalars(
                select(Participant).where(
                    Participant.study_id == study.id, Participant.code.in_(chunk)
                )
            )
        )
    return found


def stored_fields(p: Participant, cohort_name: str) -> dict:
    """The correctable fields (:data:`FIELDS`) of ``p`` as stored."""
    return {
        "cohort": cohort_name,
        "enrolled": p.enrolled_on,
        "age": p.age,
        "birth_year": p.birth_year,
        "gender": p.gender,
        "role": p.role,
    }


def apply_changes(
    session: Session,
    study: Study,
    p: Participant,
    changes: dict,
    *,
    cohorts: dict[str, Cohort],
    names_by_id: dict[int, str],
    source: str | None = None,
) -> dict:
    """Write ``changes`` (field → new value) to ``p`` with one audit event; returns the diff stored."""
    now = stored_fields(p, names_by_id[p.cohort_id])
    diff = {f: v for f, v in changes.items() if now[f] != v}
    if not diff:
        return {}
    enrolled = diff.get("enrolled", p.enrolled_on)
    if p.withdrawn_on is not None and enrolled is not None and enrolled > p.withdrawn_on:
        raise TrackerError(
            f"participant {p.code!r}: enrolment date {enrolled.isoformat()} would fall after the "
            f"withdrawal on {p.withdrawn_on.isoformat()}; reinstate the participant first or choose another date"
        )
    for f, v in diff.items():
        if f == "cohort":
            p.cohort_id = cohorts[v].id
        elif f == "enrolled":
            p.enrolled_on = v
        else:
            setattr(p, f, v)
    after = {f: v for f, v in diff.items()}
    if source:
        after["source"] = source
    audit.record(
        session,
        study_id=study.id,
        action="update",
        entity="participant",
        key=p.code,
        before={f: now[f] for f in diff},
        after=after,
    )
    return diff


def set_participant(
    session: Session,
    study: Study,
    code: str,
    *,
    cohort: str | None = None,
    enrolled: dt.date | None = None,
    age: int | None = None,
    birth_year: int | None = None,
    gender: str | None = None,
    role: str | None = None,
    clear: tuple[str, ...] | list[str] = (),
) -> dict:
    """Correct a participant's cohort, enrolment date or demographics; one audit event.

    Only the values given change. An empty ``gender``/``role`` or a field in
    ``clear`` (``age``, ``birth_year``, ``gender``, ``role``) removes the
    value. Returns ``{field: (before, after)}`` of what changed (empty when
    nothing did). Moving to another cohort keeps every answer attached.
    """
    p = get_participant(session, study, code)
    for f in clear:
        if f not in CLEARABLE:
            raise TrackerError(f"--clear {f!r}: only {', '.join(CLEARABLE)} can be cleared")
    changes: dict = {}
    for f, value in (("gender", gender), ("role", role), ("age", age), ("birth_year", birth_year)):
        if value is not None and f in clear:
            raise TrackerError(f"give either --{f.replace('_', '-')} or --clear {f}, not both")
    _check_numbers(p.code, age, birth_year)
    cohorts = {
        c.name: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study.id))
    }
    names_by_id = {c.id: c.name for c in cohorts.values()}
    if cohort is not None:
        changes["cohort"] = get_cohort(session, study, cohort).name
    if enrolled is not None:
        changes["enrolled"] = enrolled
    if age is not None:
        changes["age"] = age
    if birth_year is not None:
        changes["birth_year"] = birth_year
    if gender is not None:
        changes["gender"] = clean_text(gender, "--gender", limit=NAME_MAX)
    if role is not None:
        changes["role"] = clean_text(role, "--role", limit=NAME_MAX)
    for f in clear:
        changes[f] = None
    changes = {f: changes[f] for f in FIELDS if f in changes}
    if not changes:
        raise TrackerError(
            "nothing to change: give --cohort, --enrolled, --age, --birth-year, --gender, --role or --clear FIELD"
        )
    before = stored_fields(p, names_by_id[p.cohort_id])
    diff = apply_changes(session, study, p, changes, cohorts=cohorts, names_by_id=names_by_id)
    session.flush()
    return {f: (before[f], v) for f, v in diff.items()}


def get_participant(session: Session, study: Study, code: str) -> Participant:
    p = session.scalar(
        select(Participant).where(Participant.study_id == study.id, Participant.code == code)
    )
    if p is None:
        raise NotFound(f"no participant {code!r} in study {study.name!r}")
    return p


def withdraw(
    session: Session, study: Study, code: str, *, reason: str, on: dt.date | None = None
) -> Participant:
    reason = clean_text(reason, "--reason", limit=TEXT_MAX)
    if not reason:
        raise TrackerError("give the reason for withdrawal: --reason TEXT")
    p = get_participant(session, study, code)
    if p.status == "withdrawn":
        raise Conflict(
            f"participant {code!r} was already withdrawn on {p.withdrawn_on.isoformat()} ({p.withdrawal_reason})"
        )
    given = on is not None
    on = on or dt.date.today()
    if p.enrolled_on and on < p.enrolled_on:
        what = "withdrawal date" if given else "withdrawal date (today: no --date was given)"
        hint = "" if given else "; give the withdrawal date with --date YYYY-MM-DD"
        raise TrackerError(
            f"{what} {on.isoformat()} is before {code}'s enrolment on {p.enrolled_on.isoformat()}{hint}"
        )
    before = {"status": p.status, "withdrawn_on": None, "reason": None}
    p.status, p.withdrawn_on, p.withdrawal_reason = "withdrawn", on, reason
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="withdraw",
        entity="participant",
        key=code,
        before=before,
        after={"status": "withdrawn", "withdrawn_on": on, "reason": reason},
    )
    return p


def reinstate(session: Session, study: Study, code: str) -> Participant:
    """Undo a withdrawal: the participant is active again; the audit keeps the withdrawal's date and reason."""
    p = get_participant(session, study, code)
    if p.status != "withdrawn":
        raise Conflict(f"participant {code!r} is active, not withdrawn; nothing to reinstate")
    before = {"status": p.status, "withdrawn_on": p.withdrawn_on, "reason": p.withdrawal_reason}
    p.status, p.withdrawn_on, p.withdrawal_reason = "active", None, None
    session.flush()
    audit.record(
        session,
        study_id=study.id,
        action="reinstate",
        entity="participant",
        key=code,
        before=before,
        after={"status": "active", "withdrawn_on": None, "reason": None},
    )
    return p


def list_participants(
    session: Session, study: Study, *, cohort: str | None = None, status: str | None = None
) -> list[dict]:
    stmt = (
        select(Participant, Cohort)
        .join(Cohort, Cohort.id == Participant.cohort_id)
        .where(Participant.study_id == study.id)
        .order_by(Participant.code)
    )
    if cohort is not None:
        stmt = stmt.where(Participant.cohort_id == get_cohort(session, study, cohort).id)
    if status is not None:
        stmt = stmt.where(Participant.status == status)
    return [
        {
            "code": p.code,
            "cohort": c.name,
            "arm": c.arm,
            "enrolled": p.enrolled_on.isoformat() if p.enrolled_on else "",
            "age": p.age if p.age is not None else "",
            "gender": p.gender or "",
            "role": p.role or "",
            "status": p.status,
            "withdrawn": p.withdrawn_on.isoformat() if p.withdrawn_on else "",
            "reason": p.withdrawal_reason or "",
        }
        for p, c in session.execute(stmt)
    ]


def __getattr__(name: str):
    # enroll_csv lived here before roster.py; roster imports this module, so it is looked up on first use
    if name in ("enroll_csv", "EnrollResult"):
        from tracker.study import roster

        return getattr(roster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
