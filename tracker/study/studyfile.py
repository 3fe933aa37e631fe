"""``study.toml``: a whole study set-up declared in one file.

```toml
[study]
name = "Resident wellbeing 2027"
description = "8-week MBSR course vs waitlist"
instruments = ["pss10", "scs_sf", "confidence_calm_care.toml"]  # codes or paths
roster = "roster.csv"                                             # optional

[[waves]]
name = "baseline"
day = 0
window = 7            # optional, default 7

[[cohorts]]
name = "MBSR spring"
arm = "intervention"
start = 2027-03-01    # TOML date or "YYYY-MM-DD"
description = "..."   # optional

[model]               # optional: measure lists per role
modifiable = ["cams_r", "scs_sf"]
intermediate = ["cd_risc10", "pss10"]
outcome = ["flourishing", "who5"]
primary = ["flourishing"]   # optional: primary outcomes, each listed under a role too
```
Relative paths are read relative to the study file. A file is checked to the
end and refused with every problem at once (:func:`load_study_file`), before
the database is touched; the roster is checked as it is enrolled, in the
transaction that creates the study (all or nothing).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import TrackerError, ValidationError
from tracker.study.dates import parse_date
from tracker.tomlcheck import KeyProblems, closest
from tracker.vocabulary import MODEL_ROLES

_TOP = {"study", "waves", "cohorts", "model"}
_STUDY = {"name", "description", "instruments", "roster"}
_WAVE = {"name", "day", "window"}
_COHORT = {"name", "arm", "start", "description"}
_MODEL = {*MODEL_ROLES, "primary"}
_ABSENT = object()


@dataclass
class StudyFile:
    path: Path
    name: str
    description: str | None = None
    instruments: list[str] = field(default_factory=list)
    roster: Path | None = None
    waves: list[dict] = field(default_factory=list)
    cohorts: list[dict] = field(default_factory=list)
    model: dict[str, list[str]] = field(default_factory=dict)
    primary: list[str] = field(default_factory=list)


class _Checker:
    """The study file's own wording (``waves[0].day: must be ..., not 'zero'``) on the shared collector."""

    def __init__(self, path: Path):
        self.problems = KeyProblems(str(path))

    def keys(self, where: str, table: dict, allowed: set[str], required: set[str]) -> None:
        for key in table:
            if key not in allowed:
                hint = closest(key, sorted(allowed))
                self.problems.add(
                    f"{where}.{key}",
                    "unknown_key",
                    f"unknown field; allowed: {', '.join(sorted(allowed))}"
                    + (f"; did you mean {hint!r}?" if hint else ""),
                )
        for key in sorted(required - table.keys()):
            self.problems.add(f"{where}.{key}", "missing_key", "required field is missing")

    def typed(self, where: str, value, kind, what: str):
        """``value`` when it is a ``kind``, else ``_ABSENT`` with the problem recorded."""
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.add(where, "wrong_type", f"must be {what}, not {value!r}")
            return _ABSENT
        return value

    def text(self, where: str, value, *, free: bool = False):
        """A name (at most NAME_MAX characters) or free text (no contact details), else ``_ABSENT``."""
        from tracker.study.text import NAME_MAX, TEXT_MAX, text_problem

        value = self.typed(where, value, str, "text")
        if value is _ABSENT:
            return value
        plain = value.strip()
        if not free and len(plain) > NAME_MAX:
            self.problems.add(
                where,
                "too_long",
                f"is {len(plain)} characters long; names may have at most {NAME_MAX}",
            )
            return _ABSENT
        problem = text_problem(plain, limit=TEXT_MAX) if free and plain else None
        if problem:
            self.problems.add(where, "free_text", problem)
            return _ABSENT
        return value

    def tables(self, data: dict, key: str) -> list[tuple[str, dict]]:
        """``[[key]]`` as ``(where, table)``, ``where`` counting from 0; bad entries recorded and left out."""
        raw = self.typed(key, data.get(key, []), list, f"an array of tables [[{key}]]")
        out = []
        for i, table in enumerate([] if raw is _ABSENT else raw):
            if self.typed(f"{key}[{i}]", table, dict, "a table") is not _ABSENT:
                out.append((f"{key}[{i}]", table))
        return out


def load_study_file(path: str | Path) -> StudyFile:
    """Read and check ``study.toml``: every problem of the file at once, or the study it declares.

    Each problem names the file, the field (``waves[0].day``) and the rule
    broken. Instruments are resolved (a built-in code, or a definition file
    checked in full) and ``[model]`` measures looked up among them, so a typo
    anywhere is reported before the database is touched.

    Raises
    ------
    ValidationError
        One problem: its line is the message; more: a count, then a line each.
    TrackerError
        The file cannot be read, is not UTF-8 or is not TOML.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrackerError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TrackerError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TrackerError(f"{path} is not valid TOML: {exc}") from None
    check = _Checker(path)
    check.keys("(top level)", data, _TOP, {"study"})
    out = StudyFile(path=path, name="")
    measures: set[str] | None = (
        None  # unknown: no [study] table, or an instrument that cannot be read
    )
    study = (
        check.typed("study", data["study"], dict, "a table [study]") if "study" in data else _ABSENT
    )
    if study is not _ABSENT:
        measures = _instrument_measures(check, _study_table(check, path.parent, study, out))
    for where, wave in check.tables(data, "waves"):
        check.keys(where, wave, _WAVE, {"name", "day"})
        days = "a whole number of days"
        out.waves.append(
            {
                "name": check.text(f"{where}.name", wave["name"]) if "name" in wave else _ABSENT,
                "day": check.typed(f"{where}.day", wave["day"], int, days)
                if "day" in wave
                else _ABSENT,
                "window": check.typed(f"{where}.window", wave["window"], int, days)
                if "window" in wave
                else None,
            }
        )
    for where, cohort in check.tables(data, "cohorts"):
        check.keys(where, cohort, _COHORT, {"name", "arm"})
        out.cohorts.append(
            {
                "name": check.text(f"{where}.name", cohort["name"])
                if "name" in cohort
                else _ABSENT,
                "arm": check.text(f"{where}.arm", cohort["arm"]) if "arm" in cohort else _ABSENT,
                "start": _start(check, where, cohort.get("start")),
                "description": check.text(f"{where}.description", cohort["description"], free=True)
                if "description" in cohort
                else None,
            }
        )
    _no_clashes(check, out)
    if out.roster is not None and all(isinstance(c["name"], str) for c in out.cohorts):
        _roster(check, out)
    model = check.typed("model", data.get("model", {}), dict, "a table [model]")
    if model is not _ABSENT:
        _model_table(check, model, measures, out)
    if check.problems:
        raise check.problems.error("invalid study file", advice="; nothing was written", brief=True)
    return out


def _no_clashes(check: _Checker, out: StudyFile) -> None:
    """Within the file: names given, each wave's name and day and each cohort's name once, windows not negative.

    The same rules :func:`~tracker.study.waves.add_wave` and
    :func:`~tracker.study.cohorts.add_cohort` enforce, checked here so that they
    are reported with the file's other problems rather than one at a time.
    """
    for table, entries in (("waves", out.waves), ("cohorts", out.cohorts)):
        names: dict[str, int] = {}
        for i, entry in enumerate(entries):
            name = entry["name"]
            if not isinstance(name, str):
                continue
            if not name.strip():
                check.problems.add(f"{table}[{i}].name", "empty", "must not be empty")
            elif name.strip() in names:
                check.problems.add(
                    f"{table}[{i}].name",
                    "duplicate_name",
                    f"{name.strip()!r} is already the name of {table}[{names[name.strip()]}]",
                )
            else:
                names[name.strip()] = i
    days: dict[int, int] = {}
    for i, wave in enumerate(out.waves):
        if isinstance(wave["window"], int) and wave["window"] < 0:
            check.problems.add(
                f"waves[{i}].window",
                "window_range",
                f"must be 0 or more days, not {wave['window']}",
            )
        if not isinstance(wave["day"], int):
            continue
        if wave["day"] in days:
            check.problems.add(
                f"waves[{i}].day",
                "duplicate_day",
                f"day {wave['day']} is already the day of waves[{days[wave['day']]}]; "
                "two waves cannot share a day",
            )
        else:
            days[wave["day"]] = i


def _roster(check: _Checker, out: StudyFile) -> None:
    """The roster's own problems (each naming the roster, its row and column), against the file's cohorts."""
    from tracker.study.roster import roster_problems

    try:
        check.problems.items.extend(
            roster_problems(out.roster, [c["name"].strip() for c in out.cohorts])
        )
    except TrackerError as exc:
        check.problems.add("study.roster", "unreadable", str(exc))


def _study_table(check: _Checker, base: Path, study: dict, out: StudyFile) -> list[tuple[int, str]]:
    """Fill ``out`` from ``[study]``; returns the instruments as ``(position in the list, code or path)``."""
    check.keys("study", study, _STUDY, {"name"})
    if "name" in study:
        name = check.text("study.name", study["name"])
        if name is not _ABSENT and not name.strip():
            check.problems.add("study.name", "empty", "must not be empty")
        elif name is not _ABSENT:
            out.name = name.strip()
    if "description" in study:
        description = check.text("study.description", study["description"], free=True)
        out.description = None if description is _ABSENT else description
    instruments = check.typed("study.instruments", study.get("instruments", []), list, "a list")
    entries = []
    for i, item in enumerate([] if instruments is _ABSENT else instruments):
        if (
            check.typed(f"study.instruments[{i}]", item, str, "a code or a .toml path")
            is not _ABSENT
        ):
            entries.append((i, str(base / item) if item.endswith(".toml") else item))
    out.instruments = [code for _, code in entries]
    if "roster" in study:
        roster = check.typed("study.roster", study["roster"], str, "a CSV path")
        if roster is not _ABSENT:
            out.roster = base / roster
    return entries


def _start(check: _Checker, where: str, start):
    if isinstance(start, str):
        try:
            return parse_date(start, what="start date")
        except TrackerError as exc:
            check.problems.add(f"{where}.start", "invalid_date", str(exc))
            return _ABSENT
    if start is not None and not (
        isinstance(start, dt.date) and not isinstance(start, dt.datetime)
    ):
        check.problems.add(
            f"{where}.start", "wrong_type", f"must be a date (2027-03-01), not {start!r}"
        )
        return _ABSENT
    return start


def _model_table(check: _Checker, model: dict, measures: set[str] | None, out: StudyFile) -> None:
    """Roles and primary outcomes, each measure one of ``measures`` (when they are known)."""
    check.keys("model", model, _MODEL, set())
    for role, names in model.items():
        names = check.typed(f"model.{role}", names, list, "a list of measure codes")
        good = []
        for j, m in enumerate([] if names is _ABSENT else names):
            if check.typed(f"model.{role}[{j}]", m, str, "a measure code") is _ABSENT:
                continue
            if measures is not None and m not in measures:
                listed = (
                    ", ".join(sorted(measures)) or "none; list instruments under study.instruments"
                )
                check.problems.add(
                    f"model.{role}[{j}]",
                    "unknown_measure",
                    f"unknown measure {m!r}; measures of the study's instruments: {listed}",
                )
                continue
            good.append(m)
        if role in _MODEL - {"primary"}:
            out.model[role] = good
    with_role = {m for names in out.model.values() for m in names}
    primary = model.get("primary", [])
    for j, m in enumerate(primary if isinstance(primary, list) else []):
        if not isinstance(m, str) or (measures is not None and m not in measures):
            continue  # recorded above
        if m not in with_role:
            check.problems.add(
                f"model.primary[{j}]",
                "primary_without_role",
                f"{m!r} has no role: list it under model.modifiable, model.intermediate "
                "or model.outcome as well",
            )
        else:
            out.primary.append(m)


def _instrument_measures(check: _Checker, instruments: list[tuple[int, str]]) -> set[str] | None:
    """The measures of ``instruments``; ``None`` when one of them cannot be read (its problems recorded)."""
    from tracker.instruments import resolve

    measures: set[str] = set()
    ok = True
    for i, code in instruments:
        try:
            definition = resolve(code)
        except ValidationError as exc:  # the definition file's own problems, each naming that file
            check.problems.items.extend(exc.problems)
            ok = False
        except TrackerError as exc:
            check.problems.add(f"study.instruments[{i}]", "unknown_instrument", str(exc))
            ok = False
        else:
            measures.update(m.code for m in definition.measures)
    return measures if ok else None


def apply_study_file(session, spec: StudyFile):
    """Create the study ``spec`` declares, with everything in it, in the caller's transaction."""
    from tracker.study.cohorts import add_cohort
    from tracker.study.instruments import add_instrument, known_measures
    from tracker.study.roles import set_role
    from tracker.study.roster import enroll_csv
    from tracker.study.studies import create_study
    from tracker.study.waves import add_wave

    study = create_study(session, spec.name, spec.description)
    for wave in spec.waves:
        add_wave(session, study, wave["name"], day=wave["day"], window=wave["window"])
    for cohort in spec.cohorts:
        add_cohort(
            session,
            study,
            cohort["name"],
            arm=cohort["arm"],
            start=cohort["start"],
            description=cohort["description"],
        )
    for code in spec.instruments:
        add_instrument(session, study, code)
    if spec.model:
        measures = set(known_measures(session, study))
        for role, names in spec.model.items():
            for measure in names:
                set_role(
                    session,
                    study,
                    measure,
                    role,
                    known_measures=measures,
                    primary=True if measure in spec.primary else None,
                )
    if spec.roster is not None:
        enroll_csv(session, study, spec.roster)
    session.refresh(study)
    return study
