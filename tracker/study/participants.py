"""Participants: pseudonymous codes in cohorts; enrolment, withdrawal, listing.

Only pseudonymous codes are stored. A roster with a column that looks like a
direct identifier (name, e-mail, phone, address, date of birth, record
number) is refused outright rather than silently dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study
from tracker.errors import Conflict, NotFound, Problem, TrackerError, ValidationError
from tracker.study import audit
from tracker.study.dates import parse_date
from tracker.study.studies import get_cohort

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
ROSTER_REQUIRED = ("code", "cohort")
ROSTER_OPTIONAL = ("enrolled", "age", "birth_year", "gender", "role")
IDENTIFIER_COLUMNS = {
    "name", "first_name", "firstname", "last_name", "lastname", "surname", "full_name",
    "email", "e-mail", "e_mail", "mail", "phone", "telephone", "mobile", "address",
    "dob", "date_of_birth", "birth_date", "birthdate", "mrn", "ssn", "nhs_number",
}
GENDER_MAX = 100


def check_code(code: str) -> str | None:
    """The reason ``code`` is not an acceptable pseudonymous code, or None."""
    if not code:
        return "is empty"
    if "@" in code:
        return "looks like an e-mail address; store pseudonymous codes only"
    if not CODE_PATTERN.match(code):
        return "must be 1-100 letters, digits, '.', '_' or '-' (no spaces), starting with a letter or digit"
    return None


def _snapshot(p: Participant, cohort_name: str) -> dict:
    return {
        "code": p.code, "cohort": cohort_name, "enrolled": p.enrolled_on, "age": p.age,
        "birth_year": p.birth_year, "gender": p.gender, "role": p.role, "status": p.status,
    }


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
        raise TrackerError(f"participant code {code!r} {reason}")
    if age is not None and not 0 <= age <= 120:
        raise TrackerError(f"participant {code}: age {age} is outside 0-120")
    if birth_year is not None and not 1900 <= birth_year <= dt.date.today().year:
        raise TrackerError(f"participant {code}: birth year {birth_year} is not plausible")
    target = get_cohort(session, study, cohort)
    if _existing_codes(session, study, [code]):
        raise Conflict(f"participant {code!r} is already enrolled in study {study.name!r}")
    p = Participant(
        study_id=study.id, cohort_id=target.id, code=code, enrolled_on=enrolled or dt.date.today(),
        age=age, birth_year=birth_year, gender=gender or None, role=role or None, status="active",
    )
    session.add(p)
    session.flush()
    audit.record(
        session, study_id=study.id, action="create", entity="participant", key=code,
        after=_snapshot(p, target.name),
    )
    return p


def _existing_codes(session: Session, study: Study, codes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found.update(
            session.scalars(
                select(Participant.code).where(Participant.study_id == study.id, Participant.code.in_(chunk))
            )
        )
    return found


def enroll_csv(session: Session, study: Study, path: str | Path) -> list[Participant]:
    """Enrol every row of a roster CSV, or none.

    Columns: ``code`` and ``cohort`` (required); ``enrolled`` (YYYY-MM-DD,
    default today), ``age``, ``birth_year``, ``gender``, ``role`` (optional).
    Row numbers in messages count the header as row 1, as a spreadsheet does.
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrackerError(f"cannot read roster {name}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrackerError(
            f"{name} is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' and try again"
        ) from None
    # a file object, not splitlines(): a quoted cell may hold a newline
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise TrackerError(f"{name} is empty; expected a header row: code,cohort,enrolled,age,gender,role")
    columns = [h.strip().lower() for h in header]
    problems: list[Problem] = []
    known = set(ROSTER_REQUIRED + ROSTER_OPTIONAL)
    for col in columns:
        if col in IDENTIFIER_COLUMNS:
            problems.append(Problem("direct identifier", f"column {col!r} holds a direct identifier; remove it, only pseudonymous codes are stored", file=name, row=1, column=col))
        elif col not in known:
            problems.append(Problem("unknown column", f"unknown column {col!r}; expected {', '.join(ROSTER_REQUIRED + ROSTER_OPTIONAL)}", file=name, row=1, column=col))
    for col in ROSTER_REQUIRED:
        if col not in columns:
            problems.append(Problem("missing column", f"required column {col!r} is missing", file=name, row=1, column=col))
    if len(set(columns)) != len(columns):
        problems.append(Problem("duplicate column", "a column name appears twice", file=name, row=1))
    if problems:
        raise ValidationError(problems, f"{name}: the header is wrong; nothing was enrolled")

    cohorts = {c.name: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study.id))}
    rows: list[dict] = []
    seen: dict[str, int] = {}
    today = dt.date.today()
    for rownum, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            problems.append(Problem("wrong field count", f"has {len(values)} fields, the header has {len(columns)}", file=name, row=rownum))
            continue
        rec = {c: v.strip() for c, v in zip(columns, values, strict=True)}

        def bad(col: str, message: str, rule: str, value: object = None, _row: int = rownum) -> None:
            problems.append(Problem(rule, message, file=name, row=_row, column=col, value=value))

        code = rec["code"]
        reason = check_code(code)
        if reason:
            bad("code", f"participant code {reason}", "invalid code", code)
        elif code in seen:
            bad("code", f"duplicate code, first seen in row {seen[code]}", "duplicate code", code)
        else:
            seen[code] = rownum
        if rec["cohort"] not in cohorts:
            bad("cohort", f"unknown cohort; cohorts: {', '.join(sorted(cohorts)) or 'none yet (tracker cohort add)'}", "unknown cohort", rec["cohort"])
        out = {"row": rownum, "code": code, "cohort": rec["cohort"], "enrolled": today,
               "age": None, "birth_year": None, "gender": rec.get("gender") or None, "role": rec.get("role") or None}
        if rec.get("enrolled"):
            try:
                out["enrolled"] = parse_date(rec["enrolled"], what="enrolment date")
            except TrackerError as exc:
                bad("enrolled", str(exc), "invalid date", rec["enrolled"])
        for col, low, high in (("age", 0, 120), ("birth_year", 1900, today.year)):
            if rec.get(col):
                try:
                    number = int(rec[col])
                except ValueError:
                    bad(col, "is not a whole number", "not a number", rec[col])
                    continue
                if not low <= number <= high:
                    bad(col, f"must be between {low} and {high}", "out of range", number)
                else:
                    out[col] = number
        for col in ("gender", "role"):
            if rec.get(col) and len(rec[col]) > GENDER_MAX * (2 if col == "role" else 1):
                bad(col, "is too long", "too long", rec[col][:20] + "…")
        rows.append(out)

    already = _existing_codes(session, study, [r["code"] for r in rows if r["code"]])
    for r in rows:
        if r["code"] in already:
            problems.append(Problem("duplicate code", f"participant {r['code']!r} is already enrolled in study {study.name!r}", file=name, row=r["row"], column="code", value=r["code"]))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ValidationError(problems, f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was enrolled")
    if not rows:
        raise TrackerError(f"{name} has a header but no participants")

    created = []
    for r in rows:
        cohort = cohorts[r["cohort"]]
        p = Participant(
            study_id=study.id, cohort_id=cohort.id, code=r["code"], enrolled_on=r["enrolled"],
            age=r["age"], birth_year=r["birth_year"], gender=r["gender"], role=r["role"], status="active",
        )
        session.add(p)
        created.append((p, cohort.name))
    session.flush()
    for p, cohort_name in created:
        audit.record(session, study_id=study.id, action="create", entity="participant", key=p.code, after=_snapshot(p, cohort_name))
    return [p for p, _ in created]


def get_participant(session: Session, study: Study, code: str) -> Participant:
    p = session.scalar(select(Participant).where(Participant.study_id == study.id, Participant.code == code))
    if p is None:
        raise NotFound(f"no participant {code!r} in study {study.name!r}")
    return p


def withdraw(session: Session, study: Study, code: str, *, reason: str, on: dt.date | None = None) -> Participant:
    reason = (reason or "").strip()
    if not reason:
        raise TrackerError("give the reason for withdrawal: --reason TEXT")
    p = get_participant(session, study, code)
    if p.status == "withdrawn":
        raise Conflict(f"participant {code!r} was already withdrawn on {p.withdrawn_on.isoformat()} ({p.withdrawal_reason})")
    if on is not None and p.enrolled_on and on < p.enrolled_on:
        raise TrackerError(f"withdrawal date {on.isoformat()} is before {code}'s enrolment on {p.enrolled_on.isoformat()}")
    on = on or dt.date.today()
    before = {"status": p.status, "withdrawn_on": None, "reason": None}
    p.status, p.withdrawn_on, p.withdrawal_reason = "withdrawn", on, reason
    session.flush()
    audit.record(session, study_id=study.id, action="withdraw", entity="participant", key=code,
                 before=before, after={"status": "withdrawn", "withdrawn_on": on, "reason": reason})
    return p


def list_participants(session: Session, study: Study, *, cohort: str | None = None, status: str | None = None) -> list[dict]:
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
            "code": p.code, "cohort": c.name, "arm": c.arm,
            "enrolled": p.enrolled_on.isoformat() if p.enrolled_on else "",
            "age": p.age if p.age is not None else "", "gender": p.gender or "", "role": p.role or "",
            "status": p.status,
            "withdrawn": p.withdrawn_on.isoformat() if p.withdrawn_on else "",
            "reason": p.withdrawal_reason or "",
        }
        for p, c in session.execute(stmt)
    ]
