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
Relative paths are read relative to the study file.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import TrackerError
from tracker.study.dates import parse_date
from tracker.vocabulary import MODEL_ROLES


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


def _fail(path: Path, where: str, reason: str) -> TrackerError:
    return TrackerError(f"{path}: {where}: {reason}")


def _check_keys(path: Path, where: str, table: dict, allowed: set[str], required: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise _fail(path, f"{where}.{key}", f"unknown field; allowed: {', '.join(sorted(allowed))}")
    for key in sorted(required - table.keys()):
        raise _fail(path, f"{where}.{key}", "required field is missing")


def _typed(path: Path, where: str, value, kind, what: str):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(path, where, f"must be {what}, not {value!r}")
    return value


def load_study_file(path: str | Path) -> StudyFile:
    """Read and validate ``study.toml``; errors name the file and the field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrackerError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TrackerError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TrackerError(f"{path} is not valid TOML: {exc}") from None
    _check_keys(path, "(top level)", data, {"study", "waves", "cohorts", "model"}, {"study"})
    study = _typed(path, "study", data["study"], dict, "a table [study]")
    _check_keys(path, "study", study, {"name", "description", "instruments", "roster"}, {"name"})
    base = path.parent
    out = StudyFile(path=path, name=_typed(path, "study.name", study["name"], str, "text").strip())
    if not out.name:
        raise _fail(path, "study.name", "must not be empty")
    if "description" in study:
        out.description = _typed(path, "study.description", study["description"], str, "text")
    for i, item in enumerate(_typed(path, "study.instruments", study.get("instruments", []), list, "a list")):
        _typed(path, f"study.instruments[{i}]", item, str, "a code or a .toml path")
        out.instruments.append(str(base / item) if item.endswith(".toml") else item)
    if "roster" in study:
        out.roster = base / _typed(path, "study.roster", study["roster"], str, "a CSV path")

    for i, wave in enumerate(_typed(path, "waves", data.get("waves", []), list, "an array of tables [[waves]]")):
        where = f"waves[{i}]"
        _typed(path, where, wave, dict, "a table")
        _check_keys(path, where, wave, {"name", "day", "window"}, {"name", "day"})
        out.waves.append({
            "name": _typed(path, f"{where}.name", wave["name"], str, "text"),
            "day": _typed(path, f"{where}.day", wave["day"], int, "a whole number of days"),
            "window": _typed(path, f"{where}.window", wave["window"], int, "a whole number of days")
            if "window" in wave else None,
        })
    for i, cohort in enumerate(_typed(path, "cohorts", data.get("cohorts", []), list, "an array of tables [[cohorts]]")):
        where = f"cohorts[{i}]"
        _typed(path, where, cohort, dict, "a table")
        _check_keys(path, where, cohort, {"name", "arm", "start", "description"}, {"name", "arm"})
        start = cohort.get("start")
        if isinstance(start, str):
            try:
                start = parse_date(start, what="start date")
            except TrackerError as exc:
                raise _fail(path, f"{where}.start", str(exc)) from None
        elif start is not None and not (isinstance(start, dt.date) and not isinstance(start, dt.datetime)):
            raise _fail(path, f"{where}.start", f"must be a date (2027-03-01), not {start!r}")
        out.cohorts.append({
            "name": _typed(path, f"{where}.name", cohort["name"], str, "text"),
            "arm": _typed(path, f"{where}.arm", cohort["arm"], str, "text"),
            "start": start,
            "description": _typed(path, f"{where}.description", cohort["description"], str, "text")
            if "description" in cohort else None,
        })
    model = _typed(path, "model", data.get("model", {}), dict, "a table [model]")
    _check_keys(path, "model", model, {*MODEL_ROLES, "primary"}, set())
    for role, measures in model.items():
        _typed(path, f"model.{role}", measures, list, "a list of measure codes")
        for j, m in enumerate(measures):
            _typed(path, f"model.{role}[{j}]", m, str, "a measure code")
        if role != "primary":
            out.model[role] = list(measures)
    with_role = {m for measures in out.model.values() for m in measures}
    for j, m in enumerate(model.get("primary", [])):
        if m not in with_role:
            raise _fail(path, f"model.primary[{j}]", f"{m!r} has no role: list it under "
                        "model.modifiable, model.intermediate or model.outcome as well")
        out.primary.append(m)
    _check_texts(path, out)
    return out


def _check_texts(path: Path, spec: StudyFile) -> None:
    """Names and free text within their limits (and free text without contact details), named by field."""
    from tracker.study.text import NAME_MAX, text_problem

    fields = [("study.name", spec.name, False), ("study.description", spec.description, True)]
    fields += [(f"waves[{i}].name", w["name"], False) for i, w in enumerate(spec.waves)]
    for i, c in enumerate(spec.cohorts):
        fields += [(f"cohorts[{i}].name", c["name"], False), (f"cohorts[{i}].arm", c["arm"], False),
                   (f"cohorts[{i}].description", c["description"], True)]
    for where, value, free in fields:
        value = (value or "").strip()
        if not free and len(value) > NAME_MAX:
            raise _fail(path, where, f"is {len(value)} characters long; names may have at most {NAME_MAX}")
        problem = text_problem(value, limit=500) if free and value else None
        if problem:
            raise _fail(path, where, problem)


def apply_study_file(session, spec: StudyFile):
    """Create the study ``spec`` declares, with everything in it, in the caller's transaction."""
    from tracker.study.cohorts import add_cohort
    from tracker.study.instruments import add_instrument, known_measures
    from tracker.study.participants import enroll_csv
    from tracker.study.roles import set_role
    from tracker.study.studies import create_study
    from tracker.study.waves import add_wave

    study = create_study(session, spec.name, spec.description)
    for wave in spec.waves:
        add_wave(session, study, wave["name"], day=wave["day"], window=wave["window"])
    for cohort in spec.cohorts:
        add_cohort(session, study, cohort["name"], arm=cohort["arm"], start=cohort["start"],
                   description=cohort["description"])
    for code in spec.instruments:
        add_instrument(session, study, code)
    if spec.model:
        measures = set(known_measures(session, study))
        for role, names in spec.model.items():
            for measure in names:
                set_role(session, study, measure, role, known_measures=measures,
                         primary=True if measure in spec.primary else None)
    if spec.roster is not None:
        enroll_csv(session, study, spec.roster)
    session.refresh(study)
    return study
