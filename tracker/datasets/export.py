"""Export scores and item responses as tidy CSV or xlsx files.

Layouts
-------
scores, long
    ``participant, cohort, arm, wave, measure, score, items_answered, prorated``.
scores, wide
    ``participant, cohort, arm, wave`` then one score column per measure; one
    row per participant and wave.
items, long
    ``participant, cohort, arm, wave, instrument, item, value``.
items, wide
    The wide *import* layout, so that an export imports again unchanged:
    ``participant, wave, completed`` then ``<code>_<n>`` for every item. When
    the instruments of a row were completed on different dates, ``completed``
    is replaced by one ``<code>_completed`` column per instrument.

Rows are ordered by participant, wave order, then measure or item. Missing
values are empty cells; whole-number item values are written as integers.

Spreadsheet formula injection: a text cell beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is written with a leading ``'`` so that no
spreadsheet runs it (numbers are written as numbers and never touched). The
importer removes that ``'`` again from participant codes and wave names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from tracker.db.models import Study
from tracker.errors import TrackerError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LAYOUTS = ("long", "wide")
SCORES_LONG_COLUMNS = ["participant", "cohort", "arm", "wave", "measure", "score", "items_answered", "prorated"]
ITEMS_LONG_COLUMNS = ["participant", "cohort", "arm", "wave", "instrument", "item", "value"]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    columns: list[str]


def neutralise(value: object) -> object:
    """``'`` + text for text a spreadsheet would run as a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _kind(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise TrackerError(f"cannot tell the file type of {out}: name it .csv or .xlsx")
    return suffix[1:]


def _check(session: Session, study: Study, wave: str | None, layout: str) -> None:
    if layout not in LAYOUTS:
        raise TrackerError(f"unknown layout {layout!r}; layouts: {', '.join(LAYOUTS)}")
    if wave is not None:
        from tracker.study.studies import get_wave

        get_wave(session, study, wave)


def scores_table(scores: pd.DataFrame, layout: str = "wide") -> pd.DataFrame:
    """The export table from :func:`tracker.datasets.load_scores` output (pure)."""
    if layout == "long":
        return scores[SCORES_LONG_COLUMNS].reset_index(drop=True)
    keys = ["participant", "cohort", "arm", "wave", "wave_order"]
    if scores.empty:
        return pd.DataFrame(columns=keys[:-1])
    measures = list(dict.fromkeys(scores.sort_values(["instrument", "measure"])["measure"]))
    wide = scores.pivot(index=keys, columns="measure", values="score").reset_index()
    wide = wide.sort_values(["participant", "wave_order"], ignore_index=True)
    wide.columns.name = None
    return wide[keys[:-1] + measures]


def items_table(items: pd.DataFrame, layout: str = "wide", item_counts: dict[str, int] | None = None) -> pd.DataFrame:
    """The export table from :func:`tracker.datasets.load_items` output (pure).

    ``item_counts`` (instrument -> number of items) makes the wide layout list
    every item of an instrument even when some were never answered.
    """
    if layout == "long":
        out = items[["participant", "cohort", "arm", "wave", "instrument", "item", "value"]].copy()
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
    admins = admins.assign(completed=[
        d.isoformat() if d is not None and not pd.isna(d) else "" for d in admins["completed_on"]
    ])
    # NaN: not administered; "": administered without a date
    per = admins.pivot(index=keys, columns="instrument", values="completed").reindex(values.index)
    out = values.reset_index()
    front = out[["participant", "wave"]].copy()
    if bool(per.apply(lambda r: r.dropna().nunique() <= 1, axis=1).all()):
        front["completed"] = [next(iter(r.dropna()), "") or None for _, r in per.iterrows()]
    else:
        for code in sorted(counts):
            front[f"{code}_completed"] = [v or None for v in per[code].fillna("")] if code in per else None
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


def write_table(table: pd.DataFrame, out: Path) -> ExportResult:
    """Write ``table`` to ``out`` (.csv UTF-8 or .xlsx), text cells neutralised."""
    kind = _kind(out)
    safe = table.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            cells = safe[col].to_numpy(dtype=object)
            # element-wise into an object column: Series.map would re-infer 3 and 6.25 as floats
            safe[col] = pd.Series([neutralise(v) for v in cells], index=safe.index, dtype=object)
    try:
        if kind == "csv":
            safe.to_csv(out, index=False, lineterminator="\n")
        else:
            _write_xlsx(safe, out)
    except OSError as exc:
        raise TrackerError(f"cannot write {out}: {exc.strerror or exc}") from None
    return ExportResult(out, len(table), [str(c) for c in table.columns])


def _xlsx_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and np.isnan(value):
            return None
    return value


def _write_xlsx(table: pd.DataFrame, out: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append([neutralise(str(c)) for c in table.columns])
    for row in table.itertuples(index=False, name=None):
        sheet.append([_xlsx_value(v) for v in row])
    workbook.save(out)


def export_scores(session: Session, study: Study, out: str | Path, *, wave: str | None = None,
                  layout: str = "wide") -> ExportResult:
    """Write scale scores to ``out`` (.csv or .xlsx); see the module docstring for layouts."""
    from tracker.datasets.loaders import load_scores

    out = Path(out)
    _kind(out)
    _check(session, study, wave, layout)
    return write_table(scores_table(load_scores(session, study, wave=wave), layout), out)


def export_items(session: Session, study: Study, out: str | Path, *, wave: str | None = None,
                 layout: str = "wide") -> ExportResult:
    """Write item responses to ``out`` (.csv or .xlsx); ``wide`` re-imports with ``tracker import responses``."""
    from tracker.datasets.loaders import load_items
    from tracker.study.instruments import definitions

    out = Path(out)
    _kind(out)
    _check(session, study, wave, layout)
    counts = {code: d.items for code, d in definitions(session, study).items()}
    return write_table(items_table(load_items(session, study, wave=wave), layout, counts), out)
