"""Participants: pseudonymous codes in cohorts; enrolment, correction, withdrawal, listing.

Only pseudonymous codes are stored. A roster with a column that looks like a
direct identifier (name, e-mail, phone, address, date of birth, record
number), however it is spelled ("Email Address", "Date of birth"), is refused
outright rather than silently dropped.

Decisions
---------
* ``enroll_csv`` is idempotent like an import: codes already stored whose row
  agrees with what is stored are left alone ("unchanged"), new codes are
  added, and rows that differ are refused with every difference listed unless
  ``update=True``. For a stored code an empty cell (or a column the roster
  does not have) means "as stored": a roster never erases a value; clear one
  with ``tracker participant set CODE --clear FIELD``. A withdrawn
  participant on the roster stays withdrawn (``participant reinstate``).
* ``set_participant`` changes only what it is given; an empty ``gender`` or
  ``role`` (``--gender ""``) or a field named in ``clear`` removes the value.
  A new enrolment date must not fall after the participant's withdrawal.
* A withdrawal is dated today unless a date is given, and is refused when
  that date is before the enrolment date either way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study
from tracker.errors import Conflict, NotFound, Problem, TrackerError, ValidationError
from tracker.study import audit
from tracker.study.dates import parse_date
from tracker.study.studies import get_cohort
from tracker.study.text import NAME_MAX, TEXT_MAX, clean_text, text_problem

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
ROSTER_REQUIRED = ("code", "cohort")
ROSTER_OPTIONAL = ("enrolled", "age", "birth_year", "gender", "role")
IDENTIFIER_COLUMNS = {
    "name", "first_name", "firstname", "last_name", "lastname", "surname", "full_name", "fullname",
    "patient_name", "given_name", "family_name", "forename",
    "email", "e-mail", "e_mail", "mail", "email_address", "phone", "telephone", "mobile", "phone_number",
    "address", "postcode", "zip", "zip_code",
    "dob", "date_of_birth", "birth_date", "birthdate", "mrn", "ssn", "nhs_number", "nhs_no", "nhs",
}
# words that make a column an identifier wherever they appear in its name ("Patient Name", "NHS number")
_IDENTIFIER_WORDS = {
    "name", "firstname", "lastname", "surname", "fullname", "forename", "email", "mail", "phone",
    "telephone", "mobile", "address", "postcode", "dob", "mrn", "ssn", "nhs",
}
GENDER_MAX = NAME_MAX
FIELDS = ("cohort", "enrolled", "age", "birth_year", "gender", "role")
CLEARABLE = ("age", "birth_year", "gender", "role")


def is_identifier_column(column: str) -> bool:
    """Whether a column header names a direct identifier, however spaced or cased.

    ``"Email Address"``, ``"Patient Name"``, ``"Date of birth"``, ``"Phone Number"``,
    ``"NHS number"`` and ``"Full Name"`` all do; ``"birth_year"`` and ``"cohort"`` do not.
    """
    norm = re.sub(r"[\s\-]+", "_", column.strip().lower())
    if norm in IDENTIFIER_COLUMNS:
        return True
    words = [w for w in re.split(r"[^a-z0-9]+", norm) if w]
    joined = "_".join(words)
    return bool(_IDENTIFIER_WORDS.intersection(words)) or any(
        phrase in joined for phrase in ("date_of_birth", "birth_date", "e_mail")
    )


def check_code(code: str) -> str | None:
    """The reason ``code`` is not an acceptable pseudonymous code, or None."""
    if not code:
        return "is empty"
    if "@" in code:
        return "looks like an e-mail address; store pseudonymous codes only"
    if len(code) > NAME_MAX:
        return f"is {len(code)} characters long; codes may have at most {NAME_MAX}"
    if not CODE_PATTERN.fullmatch(code):
        return "must be 1-100 letters, digits, '.', '_' or '-' (no spaces), starting with a letter or digit"
    return None


def _snapshot(p: Participant, cohort_name: str) -> dict:
    return {
        "code": p.code, "cohort": cohort_name, "enrolled": p.enrolled_on, "age": p.age,
        "birth_year": p.birth_year, "gender": p.gender, "role": p.role, "status": p.status,
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
        study_id=study.id, cohort_id=target.id, code=code, enrolled_on=enrolled or dt.date.today(),
        age=age, birth_year=birth_year, gender=gender, role=role, status="active",
    )
    session.add(p)
    session.flush()
    audit.record(
        session, study_id=study.id, action="create", entity="participant", key=code,
        after=_snapshot(p, target.name),
    )
    return p


def _existing_codes(session: Session, study: Study, codes: list[str]) -> set[str]:
    return set(_existing(session, study, codes))


def _existing(session: Session, study: Study, codes: list[str]) -> dict[str, Participant]:
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
                select(Participant).where(Participant.study_id == study.id, Participant.code.in_(chunk))
            )
        )
    return found


@dataclass
class EnrollResult:
    """What ``enroll_csv`` did (or, with ``dry_run``, would do).

    ``added`` and ``updated`` are participant codes; ``unchanged`` counts stored
    codes whose rows agree; ``changes`` lists ``(code, field, stored, given)``.
    """

    file: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    changes: list[tuple[str, str, object, object]] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> list[str]:
        """The result in lines for people: counts first, then each change."""

        def n(k: int) -> str:
            return f"{k} participant{'s' if k != 1 else ''}"

        if not self.added and not self.updated:
            return [f"Nothing to change: all {n(self.unchanged)} in {self.file} are enrolled as it says."]
        would = "would be " if self.dry_run else ""
        parts = []
        if self.added:
            parts.append(f"{n(len(self.added))} {would}enrolled")
        if self.updated:
            parts.append(f"{n(len(self.updated))} {would}updated")
        if self.unchanged:
            parts.append(f"{self.unchanged} already enrolled as it says")
        lines = [f"{self.file}: " + ", ".join(parts) + "."]
        lines += [f"  {code}: {f} {_show(old)} -> {_show(new)}" for code, f, old, new in self.changes]
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        return lines


def _read_roster(path: Path) -> tuple[str, list[list[str]]]:
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
    return name, list(csv.reader(io.StringIO(text, newline="")))


def _check_header(name: str, header: list[str] | None) -> list[str]:
    if not header:
        raise TrackerError(f"{name} is empty; expected a header row: code,cohort,enrolled,age,gender,role")
    columns = [h.strip().lower() for h in header]
    problems: list[Problem] = []
    known = set(ROSTER_REQUIRED + ROSTER_OPTIONAL)
    for col in columns:
        if col in known:
            continue
        if is_identifier_column(col):
            problems.append(Problem("direct identifier", f"column {col!r} holds a direct identifier; remove it, only pseudonymous codes are stored", file=name, row=1, column=col))
        else:
            problems.append(Problem("unknown column", f"unknown column {col!r}; expected {', '.join(ROSTER_REQUIRED + ROSTER_OPTIONAL)}", file=name, row=1, column=col))
    for col in ROSTER_REQUIRED:
        if col not in columns:
            problems.append(Problem("missing column", f"required column {col!r} is missing", file=name, row=1, column=col))
    if len(set(columns)) != len(columns):
        problems.append(Problem("duplicate column", "a column name appears twice", file=name, row=1))
    if problems:
        raise ValidationError(problems, f"{name}: the header is wrong; nothing was enrolled")
    return columns


def _parse_rows(name: str, columns: list[str], lines: list[list[str]], cohorts: dict[str, Cohort],
                problems: list[Problem]) -> list[dict]:
    """Each roster row as ``{row, code, cohort, <field>: value}`` holding only the cells given."""
    rows: list[dict] = []
    seen: dict[str, int] = {}
    today = dt.date.today()
    for rownum, values in enumerate(lines, start=2):
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
            bad("code", f"participant code {reason}", "invalid code", code if len(code) <= NAME_MAX else code[:20] + "…")
        elif code in seen:
            bad("code", f"duplicate code, first seen in row {seen[code]}", "duplicate code", code)
        else:
            seen[code] = rownum
        if rec["cohort"] not in cohorts:
            bad("cohort", f"unknown cohort; cohorts: {', '.join(sorted(cohorts)) or 'none yet (tracker cohort add)'}", "unknown cohort", rec["cohort"])
        out = {"row": rownum, "code": code, "cohort": rec["cohort"]}
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
            if rec.get(col):
                problem = text_problem(rec[col], limit=NAME_MAX)
                if problem:
                    # the value is not echoed: it may be the contact detail being refused
                    bad(col, problem, "too long" if problem.startswith("is ") else "contact details")
                else:
                    out[col] = rec[col]
        rows.append(out)
    return rows


def enroll_csv(
    session: Session, study: Study, path: str | Path, *, update: bool = False, dry_run: bool = False
) -> EnrollResult:
    """Enrol a roster CSV: new codes are added, stored codes checked against it; all or nothing.

    Columns: ``code`` and ``cohort`` (required); ``enrolled`` (YYYY-MM-DD,
    default today for a new code), ``age``, ``birth_year``, ``gender``,
    ``role`` (optional). Row numbers in messages count the header as row 1,
    as a spreadsheet does. A stored code whose non-empty cells differ from
    what is stored is refused, every difference listed, unless ``update``;
    ``dry_run`` checks and counts without writing. See the module's decisions.
    """
    path = Path(path)
    name, lines = _read_roster(path)
    columns = _check_header(name, lines[0] if lines else None)
    cohorts = {c.name: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study.id))}
    names_by_id = {c.id: c.name for c in cohorts.values()}
    problems: list[Problem] = []
    rows = _parse_rows(name, columns, lines[1:], cohorts, problems)
    result = EnrollResult(file=name, dry_run=dry_run)
    stored = _existing(session, study, [r["code"] for r in rows if r["code"]])
    plans: list[tuple[dict, Participant | None, dict]] = []
    for r in rows:
        p = stored.get(r["code"])
        if p is None:
            plans.append((r, None, {}))
            continue
        now = _fields(p, names_by_id[p.cohort_id])
        diff = {f: (now[f], r[f]) for f in FIELDS if f in r and r[f] != now[f]}
        if "enrolled" in diff and p.withdrawn_on is not None and r["enrolled"] > p.withdrawn_on:
            problems.append(Problem(
                "enrolled after withdrawal",
                f"participant {r['code']!r} was withdrawn on {p.withdrawn_on.isoformat()}, before this enrolment date",
                file=name, row=r["row"], column="enrolled", value=r["enrolled"].isoformat(),
            ))
        if diff and not update:
            for f, (old, new) in diff.items():
                problems.append(Problem(
                    "differs from stored",
                    f"participant {r['code']!r} is stored with {f} {_show(old)}, the roster says {_show(new)}; "
                    "run with --update to change it",
                    file=name, row=r["row"], column=f,
                ))
        plans.append((r, p, diff))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ValidationError(problems, f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was enrolled")
    if not rows:
        raise TrackerError(f"{name} has a header but no participants")

    created = []
    today = dt.date.today()
    for r, p, diff in plans:
        if p is None:
            result.added.append(r["code"])
            if not dry_run:
                cohort = cohorts[r["cohort"]]
                p = Participant(
                    study_id=study.id, cohort_id=cohort.id, code=r["code"], enrolled_on=r.get("enrolled", today),
                    age=r.get("age"), birth_year=r.get("birth_year"), gender=r.get("gender"), role=r.get("role"),
                    status="active",
                )
                session.add(p)
                created.append((p, cohort.name))
        elif diff:
            result.updated.append(r["code"])
            result.changes.extend((r["code"], f, old, new) for f, (old, new) in diff.items())
            if not dry_run:
                _apply(session, study, p, {f: new for f, (_old, new) in diff.items()}, cohorts=cohorts,
                       names_by_id=names_by_id, source=name)
        else:
            result.unchanged += 1
    if not dry_run:
        session.flush()
        for p, cohort_name in created:
            audit.record(session, study_id=study.id, action="create", entity="participant", key=p.code,
                         after=_snapshot(p, cohort_name))
    return result


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)


def _fields(p: Participant, cohort_name: str) -> dict:
    return {"cohort": cohort_name, "enrolled": p.enrolled_on, "age": p.age, "birth_year": p.birth_year,
            "gender": p.gender, "role": p.role}


def _apply(session: Session, study: Study, p: Participant, changes: dict, *, cohorts: dict[str, Cohort],
           names_by_id: dict[int, str], source: str | None = None) -> dict:
    """Write ``changes`` (field → new value) to ``p`` with one audit event; returns the diff stored."""
    now = _fields(p, names_by_id[p.cohort_id])
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
    audit.record(session, study_id=study.id, action="update", entity="participant", key=p.code,
                 before={f: now[f] for f in diff}, after=after)
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
    cohorts = {c.name: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study.id))}
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
    before = _fields(p, names_by_id[p.cohort_id])
    diff = _apply(session, study, p, changes, cohorts=cohorts, names_by_id=names_by_id)
    session.flush()
    return {f: (before[f], v) for f, v in diff.items()}


def get_participant(session: Session, study: Study, code: str) -> Participant:
    p = session.scalar(select(Participant).where(Participant.study_id == study.id, Participant.code == code))
    if p is None:
        raise NotFound(f"no participant {code!r} in study {study.name!r}")
    return p


def withdraw(session: Session, study: Study, code: str, *, reason: str, on: dt.date | None = None) -> Participant:
    reason = clean_text(reason, "--reason", limit=TEXT_MAX)
    if not reason:
        raise TrackerError("give the reason for withdrawal: --reason TEXT")
    p = get_participant(session, study, code)
    if p.status == "withdrawn":
        raise Conflict(f"participant {code!r} was already withdrawn on {p.withdrawn_on.isoformat()} ({p.withdrawal_reason})")
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
    audit.record(session, study_id=study.id, action="withdraw", entity="participant", key=code,
                 before=before, after={"status": "withdrawn", "withdrawn_on": on, "reason": reason})
    return p


def reinstate(session: Session, study: Study, code: str) -> Participant:
    """Undo a withdrawal: the participant is active again; the audit keeps the withdrawal's date and reason."""
    p = get_participant(session, study, code)
    if p.status != "withdrawn":
        raise Conflict(f"participant {code!r} is active, not withdrawn; nothing to reinstate")
    before = {"status": p.status, "withdrawn_on": p.withdrawn_on, "reason": p.withdrawal_reason}
    p.status, p.withdrawn_on, p.withdrawal_reason = "active", None, None
    session.flush()
    audit.record(session, study_id=study.id, action="reinstate", entity="participant", key=code,
                 before=before, after={"status": "active", "withdrawn_on": None, "reason": None})
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
