"""The export tables: which columns, in which order, with which values, and what each column is.

Layouts
-------
scores, long
    ``participant, cohort, arm, wave, measure, score, items_answered, prorated``,
    then the analyst columns: ``completed`` (the administration's completion
    date), ``enrolled, age, birth_year, gender, role, status, withdrawn_on,
    withdrawal_reason``.
scores, wide
    ``participant, cohort, arm, wave`` then one score column per measure; one
    row per participant and wave; then ``enrolled, age, birth_year, gender,
    role, status, withdrawn_on, withdrawal_reason`` and one
    ``<instrument>_completed`` date per instrument.
items, long
    ``participant, cohort, arm, wave, instrument, item, value``.
items, wide
    The wide *import* layout, so that an export imports again unchanged:
    ``participant, wave, completed`` then ``<code>_<n>`` for every item. When
    the instruments of a row were completed on different dates, ``completed``
    is replaced by one ``<code>_completed`` column per instrument.

Decision: the item exports keep the import layout exactly and gain no
columns (an importer would refuse, or have to skip, participant columns); the
analyst columns (demographics, status, dates) go to the score exports only.

Rows are ordered by participant, wave order, then measure or item. Missing
values are empty cells; whole-number item values are written as integers.

Each table comes with one :class:`Variable` per column: its kind (text,
category, integer, number, boolean, date), its label and, for the codebook,
its range or values, instrument, versions, scoring rule and citation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracker.datasets.export.variables import (  # noqa: F401  (re-exported: the codebook's side)
    KINDS,
    PARTICIPANT_COLUMNS,
    StudyFacts,
    Variable,
    describe,
    load_facts,
    scoring_rule,
)
from tracker.errors import TrackerError
from tracker.formatting import FORMULA_PREFIXES, neutralise  # noqa: F401  (one rule for every text output)

LAYOUTS = ("long", "wide")
SCORES_LONG_COLUMNS = [
    "participant",
    "cohort",
    "arm",
    "wave",
    "measure",
    "score",
    "items_answered",
    "prorated",
]
ITEMS_LONG_COLUMNS = ["participant", "cohort", "arm", "wave", "instrument", "item", "value"]


@dataclass
class ExportTable:
    """An export's rows (``frame``, one column per variable, in order) and its variables."""

    what: str  # scores | items
    layout: str  # long | wide
    frame: pd.DataFrame
    variables: list[Variable]
    deidentified: bool = False
    wave: str | None = None
    deidentifier: object = field(default=None, repr=False)  # the Deidentifier that made it, if any

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise TrackerError(f"unknown layout {layout!r}; layouts: {', '.join(LAYOUTS)}")


# ---- the pure tables of the first stage (their columns come first) ----------


def scores_table(scores: pd.DataFrame, layout: str = "wide") -> pd.DataFrame:
    """The export table from :func:`tracker.datasets.load_scores` output (pure)."""
    if layout == "long":
        return scores[SCORES_LONG_COLUMNS].reset_index(drop=True)
    keys = ["participant", "cohort", "arm", "wave", "wave_order"]
    if scores.empty:
        return pd.DataFrame(columns=keys[:-1])
    measures = _measure_order(scores)
    wide = scores.pivot(index=keys, columns="measure", values="score").reset_index()
    wide = wide.sort_values(["participant", "wave_order"], ignore_index=True)
    wide.columns.name = None
    return wide[keys[:-1] + measures]


def _measure_order(scores: pd.DataFrame) -> list[str]:
    """The measures of ``scores`` by instrument, then measure code (one look at each distinct pair)."""
    pairs = (
        scores[["instrument", "measure"]].drop_duplicates().sort_values(["instrument", "measure"])
    )
    return pairs["measure"].tolist()


def items_table(
    items: pd.DataFrame, layout: str = "wide", item_counts: dict[str, int] | None = None
) -> pd.DataFrame:
    """The export table from :func:`tracker.datasets.load_items` output (pure).

    ``item_counts`` (instrument -> number of items) makes the wide layout list
    every item of an instrument even when some were never answered.
    """
    if layout == "long":
        out = items[ITEMS_LONG_COLUMNS].copy()
        out["value"] = _tidy_numbers(out["value"])
        return out.reset_index(drop=True)
    keys = ["participant", "wave", "wave_order"]
    if items.empty:
        return pd.DataFrame(columns=["participant", "wave", "completed"])
    counts = dict(items.groupby("instrument")["item"].max())
    for code, k in (item_counts or {}).items():
        if code in counts:
            counts[code] = max(counts[code], k)
    columns = [f"{code}_{n}" for code in sorted(counts) for n in range(1, int(counts[code]) + 1)]
    named = items.assign(column=items["instrument"] + "_" + items["item"].astype(str))
    values = named.pivot(index=keys, columns="column", values="value")
    values = values.reindex(columns=columns)
    admins = items.drop_duplicates(["participant", "wave", "instrument"])
    admins = admins.assign(
        completed=[
            d.isoformat() if d is not None and not pd.isna(d) else ""
            for d in admins["completed_on"]
        ]
    )
    # NaN: not administered; "": administered without a date
    per = admins.pivot(index=keys, columns="instrument", values="completed").reindex(values.index)
    out = values.reset_index()
    front = out[["participant", "wave"]].copy()
    # one completed column when every row's instruments agree on the date (stack drops the NaN)
    stacked = per.stack()
    agree = (
        stacked.groupby(level=list(range(len(keys)))).nunique().le(1).all()
        if len(stacked)
        else True
    )
    if agree:
        cells = per.to_numpy(dtype=object)
        first = (
            cells[np.arange(len(cells)), np.argmax(~pd.isna(cells), axis=1)]
            if cells.shape[1]
            else np.full(len(cells), None)
        )
        front["completed"] = [v if isinstance(v, str) and v else None for v in first]
    else:
        for code in sorted(counts):
            front[f"{code}_completed"] = (
                [v or None for v in per[code].fillna("")] if code in per else None
            )
    body = out[columns].apply(_tidy_numbers)
    table = pd.concat([front, body], axis=1)
    order = np.lexsort((out["wave_order"].to_numpy(), out["participant"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def _tidy_numbers(values: pd.Series) -> pd.Series:
    """Whole numbers as integers (3, not 3.0), fractions as they are, NaN as missing.

    Decided per value, so that one continuous instrument does not turn every
    other value of a long column into ``3.0``; the values stay numbers (xlsx
    cells are numeric).
    """
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    whole = np.isfinite(numeric) & (numeric == np.floor(numeric)) & (np.abs(numeric) < 2**53)
    out = np.empty(len(numeric), dtype=object)
    out[:] = numeric.tolist()
    out[whole] = numeric[whole].astype(np.int64).tolist()
    out[np.isnan(numeric)] = None
    return pd.Series(out, index=values.index, dtype=object, name=values.name)


# ---- what the study says about its columns -----------------------------------


# ---- the tables an export writes ---------------------------------------------


def _none_for_missing(values) -> np.ndarray:
    """An object array with None where ``values`` is missing (NaN, NA, None)."""
    out = np.asarray(values, dtype=object).copy()
    out[pd.isna(out)] = None
    return out


def _participant_columns(facts: StudyFacts, codes: pd.Series) -> pd.DataFrame:
    """PARTICIPANT_COLUMNS for each code in ``codes`` (python values: dates, ints or None)."""
    people = facts.participants.set_index("participant")[PARTICIPANT_COLUMNS]
    position = pd.Index(people.index).get_indexer(codes.to_numpy())
    out = {}
    for col in PARTICIPANT_COLUMNS:
        values = _none_for_missing(people[col].to_numpy(dtype=object))
        if col in ("age", "birth_year"):
            values = np.asarray([None if v is None else int(v) for v in values], dtype=object)
        out[col] = pd.Series(values[position], dtype=object, index=codes.index)
    return pd.DataFrame(out, index=codes.index)


def _completion_dates(admins: pd.DataFrame, keys: pd.DataFrame) -> pd.Series:
    """The completion date of the administration of each row of ``keys`` (participant, wave, instrument)."""
    dates = admins[["participant", "wave", "instrument"]].assign(
        _date=_none_for_missing(admins["completed_on"])
    )
    found = keys.merge(dates, on=["participant", "wave", "instrument"], how="left")
    return pd.Series(_none_for_missing(found["_date"]), dtype=object, index=keys.index)


def _as_dates(values) -> list:
    return [
        v
        if isinstance(v, dt.date)
        else (dt.date.fromisoformat(v) if isinstance(v, str) and v else None)
        for v in values
    ]


def build_scores(
    session,
    study,
    *,
    wave: str | None = None,
    layout: str = "wide",
    facts: StudyFacts | None = None,
) -> ExportTable:
    """The scores export table (see the module docstring for its columns)."""
    from tracker.datasets.loaders import load_study_data

    check_layout(layout)
    facts = facts or load_facts(session, study, wave)
    data = load_study_data(
        session, study, score_waves=None if wave is None else (wave,), item_waves=()
    )
    scores = data.scores
    measures = _measure_order(scores) if len(scores) else []
    instruments = sorted(scores["instrument"].unique().tolist()) if len(scores) else []
    admins = data.administrations
    table = scores_table(scores, layout)
    if layout == "long":
        table = table.astype({"items_answered": object, "prorated": object})
        table["items_answered"] = table["items_answered"].to_numpy(dtype=np.int64).tolist()
        table["prorated"] = table["prorated"].to_numpy(dtype=bool).tolist()
        keys = pd.DataFrame(
            {
                "participant": scores["participant"].to_numpy(),
                "wave": scores["wave"].to_numpy(),
                "instrument": scores["instrument"].to_numpy(),
            },
            index=table.index,
        )
        table["completed"] = _completion_dates(admins, keys)
        table = pd.concat([table, _participant_columns(facts, table["participant"])], axis=1)
    else:
        table = pd.concat([table, _participant_columns(facts, table["participant"])], axis=1)
        for code in instruments:
            keys = table[["participant", "wave"]].assign(instrument=code)
            table[f"{code}_completed"] = _completion_dates(admins, keys)
    variables = describe(
        facts, [str(c) for c in table.columns], measures=measures, instruments=instruments
    )
    return ExportTable("scores", layout, table, variables, wave=wave)


def build_items(
    session,
    study,
    *,
    wave: str | None = None,
    layout: str = "wide",
    facts: StudyFacts | None = None,
) -> ExportTable:
    """The item export table (the first stage's columns exactly: see the module docstring)."""
    from tracker.datasets.loaders import load_items

    check_layout(layout)
    facts = facts or load_facts(session, study, wave)
    counts = {code: versions[-1][1].items for code, versions in facts.versions.items()}
    items = load_items(session, study, wave=wave)
    table = items_table(items, layout, counts)
    for col in table.columns:
        if col == "completed" or str(col).endswith("_completed"):
            table[col] = pd.Series(_as_dates(table[col]), dtype=object, index=table.index)
    instruments = sorted(items["instrument"].unique().tolist()) if len(items) else []
    variables = describe(facts, [str(c) for c in table.columns], instruments=instruments)
    return ExportTable("items", layout, table, variables, wave=wave)
