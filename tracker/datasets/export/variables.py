"""What each exported column is: :class:`Variable`, and the study facts that describe it.

The codebook's half of :mod:`tracker.datasets.export.tables` (which builds the rows):
each column's kind (text, category, integer, number, boolean, date), its label and,
for the codebook, its range or values, instrument, versions, scoring rule and citation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

PARTICIPANT_COLUMNS = [
    "enrolled",
    "age",
    "birth_year",
    "gender",
    "role",
    "status",
    "withdrawn_on",
    "withdrawal_reason",
]
KINDS = ("text", "category", "integer", "number", "boolean", "date")


@dataclass(frozen=True)
class Variable:
    """One exported column: what it holds, for the format writers and the codebook.

    ``kind`` is one of :data:`KINDS`. A ``category`` column holds text from
    ``categories`` (in that order): SPSS and Stata get integer codes 1..k with
    value labels, R a factor, Parquet a dictionary column.
    """

    name: str
    label: str
    kind: str
    categories: tuple[str, ...] = ()
    values: str = ""  # range or values, as the codebook shows them
    instrument: str = ""
    version: str = ""
    scoring: str = ""
    citation: str = ""


@dataclass
class StudyFacts:
    """The study's participants, waves, cohorts and instrument versions, read once per export."""

    study_id: int
    study_name: str
    participants: pd.DataFrame  # participant + PARTICIPANT_COLUMNS, cohort, arm
    waves: list[str]  # in wave order
    cohorts: list[str]
    arms: list[str]
    versions: dict[str, list[tuple[str, object]]] = field(
        default_factory=dict
    )  # instrument -> [(version, def)]

    def definition(self, instrument: str):
        """The newest exported version's definition of ``instrument``."""
        return self.versions[instrument][-1][1]

    def version_text(self, instrument: str) -> str:
        return ", ".join(v for v, _ in self.versions.get(instrument, []))


def load_facts(session, study, wave: str | None = None) -> StudyFacts:
    """Read what the variables' descriptions need (participants, waves, versions used at ``wave``)."""
    from tracker.datasets.loaders import load_study_data
    from tracker.db import read_store
    from tracker.db.reader import Reader, StudyRef
    from tracker.instruments import InstrumentDef

    ref = StudyRef.of(study)
    data = load_study_data(session, ref, score_waves=(), item_waves=(), administrations=False)
    reader = Reader.of(session)
    used = read_store.used_versions(reader, ref.id, wave)
    versions: dict[str, list[tuple[str, object]]] = {}
    stored_versions = []
    for vid, code, version, stored in read_store.instrument_versions(reader, ref.id):
        definition = InstrumentDef.from_stored(stored, f"stored {code}@{version}")
        stored_versions.append((vid, code, (version, definition)))
        if vid in used:
            versions.setdefault(code, []).append((version, definition))
    for code, pair in read_store.newest_by_code(
        stored_versions
    ).items():  # an instrument no exported row used: describe its newest version
        versions.setdefault(code, [pair])
    return StudyFacts(
        study_id=ref.id,
        study_name=ref.name,
        participants=data.participants,
        waves=data.wave_names(),
        cohorts=sorted(data.cohorts["cohort"]),
        arms=sorted(set(data.cohorts["arm"])),
        versions=dict(sorted(versions.items())),
    )


def _item_span(items: tuple[int, ...]) -> str:
    if items and list(items) == list(range(items[0], items[0] + len(items))):
        return f"{items[0]}–{items[-1]}" if len(items) > 1 else str(items[0])
    return ", ".join(str(i) for i in items)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def scoring_rule(measure) -> str:
    """The scoring rule of a :class:`~tracker.instruments.definition.MeasureDef`, in words."""
    k = measure.n_items
    rule = (
        f"{measure.scoring} of items {_item_span(measure.items)} "
        f"(each {_number(measure.item_min)}–{_number(measure.item_max)})"
    )
    if measure.reverse:
        rule += (
            f"; reverse-scored items {_item_span(measure.reverse)} (as {_number(measure.item_min)} + "
            f"{_number(measure.item_max)} − value)"
        )
    if measure.max_missing:
        how = (
            f"mean of the answered items × {k}"
            if measure.scoring == "sum"
            else "mean of the answered items"
        )
        rule += (
            f"; prorated when at most {measure.max_missing} item{'s are' if measure.max_missing > 1 else ' is'}"
            f" missing ({how}), else missing"
        )
    else:
        rule += "; missing when any item is missing"
    if measure.multiplier != 1:
        rule += f"; × {_number(measure.multiplier)}"
    return rule + f"; higher is {'better' if measure.higher_is_better else 'worse'}"


def _rules(facts: StudyFacts, instrument: str, describe) -> str:
    """``describe(definition)`` for each exported version; one text when the versions agree."""
    texts = [(v, describe(d)) for v, d in facts.versions.get(instrument, [])]
    if len({t for _, t in texts}) <= 1:
        return texts[0][1] if texts else ""
    return " | ".join(f"version {v}: {t}" for v, t in texts)


def _measure_variable(facts: StudyFacts, code: str) -> Variable:
    instrument = code.split(".", 1)[0]
    if instrument not in facts.versions:
        return Variable(code, code, "number")
    definition = facts.definition(instrument)
    measure = definition.measure(code)
    label = definition.name if measure.subscale is None else f"{definition.name}: {measure.name}"
    return Variable(
        code,
        label,
        "number",
        values=f"{_number(measure.score_min)}–{_number(measure.score_max)}",
        instrument=instrument,
        version=facts.version_text(instrument),
        scoring=_rules(facts, instrument, lambda d: scoring_rule(d.measure(code))),
        citation=definition.citation,
    )


def _item_variable(facts: StudyFacts, name: str) -> Variable:
    instrument, _, number = name.rpartition("_")
    if instrument not in facts.versions or not number.isdigit():
        return Variable(name, name, "number")
    definition, item = facts.definition(instrument), int(number)

    def keyed(d) -> str:
        return "reverse-scored in the total" if item in d.reverse else "scored as answered"

    return Variable(
        name,
        f"{definition.name}, item {item}",
        "integer" if definition.integer else "number",
        values=f"{_number(definition.min)}–{_number(definition.max)}",
        instrument=instrument,
        version=facts.version_text(instrument),
        scoring=_rules(facts, instrument, keyed),
        citation=definition.citation,
    )


def _completed_variable(name: str, instrument: str = "") -> Variable:
    what = f"the {instrument} questionnaire" if instrument else "the questionnaire"
    return Variable(
        name, f"Date {what} was completed", "date", values="YYYY-MM-DD", instrument=instrument
    )


def _fixed_variables(
    facts: StudyFacts, measures: list[str], instruments: list[str]
) -> dict[str, Variable]:
    return {
        "participant": Variable("participant", "Participant code (pseudonymous)", "text"),
        "cohort": Variable("cohort", "Cohort (training group)", "category", tuple(facts.cohorts)),
        "arm": Variable("arm", "Study arm", "category", tuple(facts.arms)),
        "wave": Variable("wave", "Survey wave", "category", tuple(facts.waves)),
        "measure": Variable(
            "measure", "Measure (instrument total or subscale)", "category", tuple(measures)
        ),
        "instrument": Variable("instrument", "Instrument", "category", tuple(instruments)),
        "score": Variable(
            "score", "Score", "number", values="the measure's range (see the wide layout)"
        ),
        "items_answered": Variable("items_answered", "Items answered", "integer"),
        "prorated": Variable("prorated", "Score prorated from the items answered", "boolean"),
        "item": Variable("item", "Item number", "integer"),
        "value": Variable("value", "Item response", "number", values="the instrument's item range"),
        "completed": _completed_variable("completed"),
        "enrolled": Variable("enrolled", "Date of enrolment", "date", values="YYYY-MM-DD"),
        "age": Variable("age", "Age in years", "integer", values="0–120"),
        "birth_year": Variable("birth_year", "Year of birth", "integer", values="1900–2100"),
        "gender": Variable("gender", "Gender", "text"),
        "role": Variable("role", "Role (e.g. PGY-1 resident)", "text"),
        "status": Variable("status", "Participation status", "category", ("active", "withdrawn")),
        "withdrawn_on": Variable("withdrawn_on", "Date of withdrawal", "date", values="YYYY-MM-DD"),
        "withdrawal_reason": Variable(
            "withdrawal_reason", "Reason for withdrawal (free text)", "text"
        ),
    }


def describe(
    facts: StudyFacts, columns: list[str], *, measures: list[str] = (), instruments: list[str] = ()
) -> list[Variable]:
    """One :class:`Variable` per column name, in order."""
    fixed = _fixed_variables(facts, list(measures), list(instruments))
    out = []
    for name in columns:
        if name in fixed:
            variable = fixed[name]
            if variable.kind == "category":
                variable = replace(variable, values="; ".join(variable.categories))
            out.append(variable)
        elif name.endswith("_completed"):
            out.append(_completed_variable(name, name.removesuffix("_completed")))
        elif name in measures:
            out.append(_measure_variable(facts, name))
        else:
            out.append(_item_variable(facts, name))
    return out
