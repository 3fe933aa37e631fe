"""Enrolling a roster CSV: every row checked against the file and the stored participants, all or nothing.

Decisions
---------
* ``enroll_csv`` is idempotent like an import: codes already stored whose row
  agrees with what is stored are left alone ("unchanged"), new codes are
  added, and rows that differ are refused with every difference listed unless
  ``update=True``. For a stored code an empty cell (or a column the roster
  does not have) means "as stored": a roster never erases a value; clear one
  with ``tracker participant set CODE --clear FIELD``. A withdrawn
  participant on the roster stays withdrawn (``participant reinstate``).
* A column that names a direct identifier is refused
  (:func:`tracker.study.identifiers.is_identifier_column`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study
from tracker.errors import Problem, TrackerError, ValidationError
from tracker.study import audit
from tracker.study.dates import parse_date
from tracker.study.identifiers import check_code, is_identifier_column
from tracker.study.participants import (
    FIELDS,
    apply_changes,
    audit_snapshot,
    stored_by_code,
    stored_fields,
)
from tracker.study.text import NAME_MAX, text_problem

ROSTER_REQUIRED = ("code", "cohort")
ROSTER_OPTIONAL = ("enrolled", "age", "birth_year", "gender", "role")


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
            return [
                f"Nothing to change: all {n(self.unchanged)} in {self.file} are enrolled as it says."
            ]
        would = "would be " if self.dry_run else ""
        parts = []
        if self.added:
            parts.append(f"{n(len(self.added))} {would}enrolled")
        if self.updated:
            parts.append(f"{n(len(self.updated))} {would}updated")
        if self.unchanged:
            parts.append(f"{self.unchanged} already enrolled as it says")
        lines = [f"{self.file}: " + ", ".join(parts) + "."]
        lines += [
            f"  {code}: {f} {_show(old)} -> {_show(new)}" for code, f, old, new in self.changes
        ]
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
        raise TrackerError(
            f"{name} is empty; expected a header row: code,cohort,enrolled,age,gender,role"
        )
    columns = [h.strip().lower() for h in header]
    problems: list[Problem] = []
    known = set(ROSTER_REQUIRED + ROSTER_OPTIONAL)
    for col in columns:
        if col in known:
            continue
        if is_identifier_column(col):
            problems.append(
                Problem(
                    "direct identifier",
                    f"column {col!r} holds a direct identifier; remove it, only pseudonymous codes are stored",
                    file=name,
                    row=1,
                    column=col,
                )
            )
        else:
            problems.append(
                Problem(
                    "unknown column",
                    f"unknown column {col!r}; expected {', '.join(ROSTER_REQUIRED + ROSTER_OPTIONAL)}",
                    file=name,
                    row=1,
                    column=col,
                )
            )
    for col in ROSTER_REQUIRED:
        if col not in columns:
            problems.append(
                Problem(
                    "missing column",
                    f"required column {col!r} is missing",
                    file=name,
                    row=1,
                    column=col,
                )
            )
    if len(set(columns)) != len(columns):
        problems.append(
            Problem("duplicate column", "a column name appears twice", file=name, row=1)
        )
    if problems:
        raise ValidationError(problems, f"{name}: the header is wrong; nothing was enrolled")
    return columns


def _parse_rows(
    name: str,
    columns: list[str],
    lines: list[list[str]],
    cohorts: dict[str, object],
    problems: list[Problem],
) -> list[dict]:
    """Each roster row as ``{row, code, cohort, <field>: value}`` holding only the cells given."""
    rows: list[dict] = []
    seen: dict[str, int] = {}
    today = dt.date.today()
    for rownum, values in enumerate(lines, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            problems.append(
                Problem(
                    "wrong field count",
                    f"has {len(values)} fields, the header has {len(columns)}",
                    file=name,
                    row=rownum,
                )
            )
            continue
        rec = {c: v.strip() for c, v in zip(columns, values, strict=True)}

        def bad(
            col: str, message: str, rule: str, value: object = None, _row: int = rownum
        ) -> None:
            problems.append(Problem(rule, message, file=name, row=_row, column=col, value=value))

        code = rec["code"]
        reason = check_code(code)
        if reason:
            bad(
                "code",
                f"participant code {reason}",
                "invalid code",
                code if len(code) <= NAME_MAX else code[:20] + "…",
            )
        elif code in seen:
            bad("code", f"duplicate code, first seen in row {seen[code]}", "duplicate code", code)
        else:
            seen[code] = rownum
        if rec["cohort"] not in cohorts:
            bad(
                "cohort",
                f"unknown cohort; cohorts: {', '.join(sorted(cohorts)) or 'none yet (tracker cohort add)'}",
                "unknown cohort",
                rec["cohort"],
            )
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
                    bad(
                        col, problem, "too long" if problem.startswith("is ") else "contact details"
                    )
                else:
                    out[col] = rec[col]
        rows.append(out)
    return rows


def roster_problems(path: str | Path, cohorts: Iterable[str]) -> list[Problem]:
    """The roster file's own problems (header, cells, duplicate codes, cohorts not among ``cohorts``).

    What :func:`enroll_csv` checks before it compares rows with the stored
    participants; ``study.toml`` reports them with the study file's own problems.
    Raises :class:`TrackerError` when the file cannot be read.
    """
    name, lines = _read_roster(Path(path))
    try:
        columns = _check_header(name, lines[0] if lines else None)
    except ValidationError as exc:
        return exc.problems
    problems: list[Problem] = []
    rows = _parse_rows(name, columns, lines[1:], dict.fromkeys(cohorts), problems)
    if not rows and not problems:
        problems.append(Problem("no participants", "has a header but no participants", file=name))
    return problems


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
    cohorts = {
        c.name: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study.id))
    }
    names_by_id = {c.id: c.name for c in cohorts.values()}
    problems: list[Problem] = []
    rows = _parse_rows(name, columns, lines[1:], cohorts, problems)
    result = EnrollResult(file=name, dry_run=dry_run)
    stored = stored_by_code(session, study, [r["code"] for r in rows if r["code"]])
    plans: list[tuple[dict, Participant | None, dict]] = []
    for r in rows:
        p = stored.get(r["code"])
        if p is None:
            plans.append((r, None, {}))
            continue
        now = stored_fields(p, names_by_id[p.cohort_id])
        diff = {f: (now[f], r[f]) for f in FIELDS if f in r and r[f] != now[f]}
        if "enrolled" in diff and p.withdrawn_on is not None and r["enrolled"] > p.withdrawn_on:
            problems.append(
                Problem(
                    "enrolled after withdrawal",
                    f"participant {r['code']!r} was withdrawn on {p.withdrawn_on.isoformat()}, before this enrolment date",
                    file=name,
                    row=r["row"],
                    column="enrolled",
                    value=r["enrolled"].isoformat(),
                )
            )
        if diff and not update:
            for f, (old, new) in diff.items():
                problems.append(
                    Problem(
                        "differs from stored",
                        f"participant {r['code']!r} is stored with {f} {_show(old)}, the roster says {_show(new)}; "
                        "run with --update to change it",
                        file=name,
                        row=r["row"],
                        column=f,
                    )
                )
        plans.append((r, p, diff))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise ValidationError(
            problems,
            f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was enrolled",
        )
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
                    study_id=study.id,
                    cohort_id=cohort.id,
                    code=r["code"],
                    enrolled_on=r.get("enrolled", today),
                    age=r.get("age"),
                    birth_year=r.get("birth_year"),
                    gender=r.get("gender"),
                    role=r.get("role"),
                    status="active",
                )
                session.add(p)
                created.append((p, cohort.name))
        elif diff:
            result.updated.append(r["code"])
            result.changes.extend((r["code"], f, old, new) for f, (old, new) in diff.items())
            if not dry_run:
                apply_changes(
                    session,
                    study,
                    p,
                    {f: new for f, (_old, new) in diff.items()},
                    cohorts=cohorts,
                    names_by_id=names_by_id,
                    source=name,
                )
        else:
            result.unchanged += 1
    if not dry_run:
        session.flush()
        for p, cohort_name in created:
            audit.record(
                session,
                study_id=study.id,
                action="create",
                entity="participant",
                key=p.code,
                after=audit_snapshot(p, cohort_name),
            )
    return result


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)
