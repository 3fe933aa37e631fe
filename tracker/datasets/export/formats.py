"""Writing an export table as CSV, xlsx, SPSS, Stata, R or Parquet.

The file type comes from the name's suffix. Every file is written to a
temporary file beside the target and renamed when complete
(:mod:`tracker.fileio`), so a failed export leaves nothing behind.

=========  ==================  ===================================================
suffix     library             what the format holds
=========  ==================  ===================================================
.csv       (standard library)  UTF-8 text; dates as YYYY-MM-DD; missing = empty
.xlsx      openpyxl            numbers as numbers (16 significant digits, as
                               openpyxl writes them; Excel shows 15), dates as
                               dates, missing = empty; at most 1,048,575 rows
.sav       pyreadstat          variable labels; cohort, arm, wave, status, measure,
                               instrument and prorated as numeric codes with value
                               labels; dates as SPSS dates; missing = system missing
.dta       pyreadstat          as .sav (Stata value labels on the codes); names made
                               Stata-safe (``scs_sf.self_kindness`` ->
                               ``scs_sf_self_kindness``, at most 32 characters);
                               labels cut to Stata's 80 characters
.rds       (our own writer)    a data.frame: categories as factors, prorated as
                               logical, integers as integer, missing = NA, dates
                               of class Date, each column's label as its ``label``
                               attribute (:mod:`tracker.datasets.export.rds`;
                               pyreadr writes dates as text and no labels)
.parquet   pyarrow             categories as dictionary columns, dates as date32,
                               missing = null; each field's label in its metadata
                               (``label``), the variables as JSON in the schema's
                               ``tracker.variables`` metadata
=========  ==================  ===================================================

.sav, .dta and .parquet need the ``export`` extra (``pip install 'prepost-tracker[export]'``).

Formula injection: the text formats a spreadsheet opens (.csv, .xlsx) write a
text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return with a leading ``'`` (numbers are never touched); the importer removes
it again. The binary formats keep the text exactly as stored: SPSS, Stata, R
and Parquet never evaluate a cell, and an analyst's data must not change.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.datasets.export.tables import FORMULA_PREFIXES, ExportTable, Variable, neutralise
from tracker.errors import TrackerError

FORMATS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".sav": "sav",
    ".dta": "dta",
    ".rds": "rds",
    ".parquet": "parquet",
}
LIBRARIES = {"xlsx": "openpyxl", "sav": "pyreadstat", "dta": "pyreadstat", "parquet": "pyarrow"}
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows less the header
STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
SPSS_NAME_MAX = 64
SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
SPSS_EPOCH = dt.date(1582, 10, 14)  # SPSS dates: seconds since the Gregorian calendar's start
STATA_EPOCH = dt.date(1960, 1, 1)  # Stata %td dates: days since 1960
BOOLEAN_LABELS = {
    0: "False",
    1: "True",
}  # as the CSV writes them, so a labelled read-back equals it


def format_of(path: str | Path) -> str:
    """``csv``, ``xlsx``, ``sav``, ``dta``, ``rds`` or ``parquet`` from the file name."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise TrackerError(f"cannot tell the file type of {path}: name it {', '.join(FORMATS)}")
    return kind


def require_library(kind: str):
    """The library that writes ``kind``; a clear error naming the extra when it is not installed."""
    import importlib

    name = LIBRARIES.get(kind)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        raise TrackerError(
            f"writing .{kind} files needs the Python package {name}, which is not installed: "
            f"pip install 'prepost-tracker[export]' (or pip install {name})"
        ) from None


def write(table: ExportTable, path: str | Path) -> Path:
    """Write ``table`` to ``path`` in the format its suffix names; all or nothing."""
    from tracker.fileio import atomic_path

    path = Path(path)
    check(table, path)
    with atomic_path(path) as tmp:
        write_file(table, tmp, format_of(path))
    return path


def check(table: ExportTable, path: Path) -> None:
    """Refuse what cannot be written (no library, too many rows for a worksheet) before writing anything."""
    kind = format_of(path)
    require_library(kind)
    if kind == "xlsx" and len(table.frame) > XLSX_MAX_ROWS:
        raise TrackerError(
            f"cannot write {path}: {len(table.frame):,} rows do not fit in an Excel worksheet "
            f"(at most {XLSX_MAX_ROWS:,}); write .csv or .parquet, or export one wave (--wave)"
        )


def write_file(table: ExportTable, path: Path, kind: str) -> None:
    """Write ``table`` as ``kind`` straight to ``path`` (the caller makes it atomic)."""
    if kind == "csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            _text_frame(table).to_csv(fh, index=False, lineterminator="\n")
        return
    writer = {
        "xlsx": _write_xlsx,
        "sav": _write_sav,
        "dta": _write_dta,
        "rds": _write_rds,
        "parquet": _write_parquet,
    }[kind]
    writer(table, path)


# ---- text formats ----------------------------------------------------------------


def _text_frame(table: ExportTable) -> pd.DataFrame:
    """The CSV cells: dates as ISO text, text neutralised, numbers untouched."""
    out = {}
    for variable in table.variables:
        values = table.frame[variable.name]
        if variable.kind == "date":
            out[variable.name] = pd.Series(
                [_iso(v) for v in values], dtype=object, index=values.index
            )
        elif variable.kind in ("text", "category"):
            out[variable.name] = neutralise_column(values)
        else:
            out[variable.name] = values
    return pd.DataFrame(out, index=table.frame.index, columns=[v.name for v in table.variables])


def neutralise_column(values: pd.Series) -> pd.Series:
    """:func:`neutralise` on every cell of a text column (vectorised; None stays None)."""
    cells = pd.Series(values.to_numpy(dtype=object), dtype=object, index=values.index)
    risky = cells.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
    if risky.any():
        cells[risky] = ["'" + v for v in cells[risky]]
    return cells


def _iso(value) -> str | None:
    return (
        value.isoformat()
        if value is not None and not (isinstance(value, float) and np.isnan(value))
        else None
    )


def _xlsx_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return neutralise(value)


def _write_xlsx(table: ExportTable, out: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append([neutralise(v.name) for v in table.variables])
    for row in table.frame.itertuples(index=False, name=None):
        sheet.append([_xlsx_value(v) for v in row])
    workbook.save(out)


# ---- SPSS and Stata ------------------------------------------------------------------


def safe_names(names: list[str], *, stata: bool) -> dict[str, str]:
    """Each column's name in SPSS (``stata=False``) or Stata, unique, keeping the name where it is legal.

    Stata: letters, digits and ``_``, not starting with a digit, at most 32
    characters. SPSS also allows ``.`` (not last), up to 64 bytes, and no
    reserved word (``ALL``, ``AND``, ``BY``...).
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        legal = re.sub(r"[^A-Za-z0-9_]" if stata else r"[^A-Za-z0-9_.]", "_", name)
        if not stata:
            legal = legal.rstrip(".")
        if not legal or not legal[0].isalpha():
            legal = "v" + legal
        if not stata and legal.upper() in SPSS_RESERVED:
            legal += "_"
        limit = STATA_NAME_MAX if stata else SPSS_NAME_MAX
        candidate, n = legal[:limit], 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{legal[: limit - len(str(n)) - 1]}_{n}"
        used.add(candidate.lower())
        out[name] = candidate
    return out


def _coded(table: ExportTable, *, stata: bool):
    """(frame, names, variable labels, value labels, SPSS formats) for pyreadstat."""
    names = safe_names([v.name for v in table.variables], stata=stata)
    columns, labels, value_labels, formats = {}, {}, {}, {}
    for variable in table.variables:
        name = names[variable.name]
        values = table.frame[variable.name].to_numpy(dtype=object)
        labels[name] = variable.label[:STATA_LABEL_MAX] if stata else variable.label
        if variable.kind == "category":
            categories = list(variable.categories)
            categories += sorted({v for v in values if isinstance(v, str)} - set(categories))
            code = {c: float(i) for i, c in enumerate(categories, start=1)}
            columns[name] = np.asarray([code.get(v, np.nan) for v in values], dtype=np.float64)
            value_labels[name] = {i: c for i, c in enumerate(categories, start=1)}
            formats[name] = "F8.0"
        elif variable.kind == "boolean":
            columns[name] = np.asarray(
                [np.nan if v is None else float(bool(v)) for v in values], dtype=np.float64
            )
            value_labels[name] = dict(BOOLEAN_LABELS)
            formats[name] = "F1.0"
        elif variable.kind in ("integer", "number"):
            columns[name] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
                dtype=np.float64
            )
            if variable.kind == "integer":
                formats[name] = "F8.0"
        elif variable.kind == "date":  # as the format stores dates: a number with a date format
            epoch, unit = (STATA_EPOCH, 1.0) if stata else (SPSS_EPOCH, 86400.0)
            columns[name] = np.asarray(
                [(v - epoch).days * unit if isinstance(v, dt.date) else np.nan for v in values],
                dtype=np.float64,
            )
            formats[name] = "%td" if stata else "DATE11"
        else:  # text: neither format has a missing string, so missing is ""
            columns[name] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
    frame = pd.DataFrame(columns, columns=[names[v.name] for v in table.variables])
    return frame, labels, value_labels, formats


def _write_sav(table: ExportTable, out: Path) -> None:
    import pyreadstat

    frame, labels, value_labels, formats = _coded(table, stata=False)
    pyreadstat.write_sav(
        frame,
        str(out),
        column_labels=labels,
        variable_value_labels=value_labels,
        variable_format=formats,
    )


def _write_dta(table: ExportTable, out: Path) -> None:
    import pyreadstat

    frame, labels, value_labels, formats = _coded(table, stata=True)
    dates = {name: f for name, f in formats.items() if f == "%td"}
    pyreadstat.write_dta(
        frame,
        str(out),
        column_labels=labels,
        variable_value_labels=value_labels,
        variable_format=dates,
    )


# ---- Parquet (and R) ---------------------------------------------------------------------


def _typed(table: ExportTable) -> pd.DataFrame:
    """A frame with pandas types the Parquet writer understands."""
    columns = {}
    for variable in table.variables:
        values = table.frame[variable.name].to_numpy(dtype=object)
        if variable.kind == "category":
            cells = pd.Series(values, dtype=object)
            categories = list(variable.categories)
            categories += sorted(
                {v for v in pd.unique(cells) if isinstance(v, str)} - set(categories)
            )
            columns[variable.name] = pd.Categorical(
                cells.where(cells.map(lambda v: isinstance(v, str))), categories=categories
            )
        elif variable.kind == "boolean":
            columns[variable.name] = pd.array(
                [None if v is None else bool(v) for v in values], dtype="boolean"
            )
        elif variable.kind in ("integer", "number"):
            numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
            columns[variable.name] = pd.array(
                numbers, dtype="Float64" if variable.kind == "number" else "Int64"
            )
        elif variable.kind == "date":
            columns[variable.name] = pd.Series(values, dtype=object)
        else:
            columns[variable.name] = pd.Series(
                [None if v is None else str(v) for v in values], dtype=object
            )
    return pd.DataFrame(columns, columns=[v.name for v in table.variables])


def _write_rds(table: ExportTable, out: Path) -> None:
    from tracker.datasets.export.rds import write_rds

    write_rds(table, out)


def _write_parquet(table: ExportTable, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _typed(table)
    fields = []
    for variable in table.variables:
        values = frame[variable.name]
        if variable.kind == "date":
            array = pa.array(list(values), type=pa.date32())
        elif variable.kind == "text":
            array = pa.array(list(values), type=pa.string())
        else:
            array = pa.array(values, from_pandas=True)
        fields.append(
            (pa.field(variable.name, array.type, metadata={"label": variable.label}), array)
        )
    schema = pa.schema(
        [f for f, _ in fields],
        metadata={
            "tracker.variables": json.dumps([asdict(v) for v in table.variables]),
            "tracker.export": json.dumps(
                {
                    "what": table.what,
                    "layout": table.layout,
                    "wave": table.wave,
                    "deidentified": table.deidentified,
                }
            ),
        },
    )
    pq.write_table(pa.Table.from_arrays([a for _, a in fields], schema=schema), str(out))


def variable_names(variables: list[Variable]) -> dict[str, dict[str, str]]:
    """Each variable's name per format: ``{"stata": {...}, "spss": {...}}`` (the codebook shows them)."""
    names = [v.name for v in variables]
    return {"stata": safe_names(names, stata=True), "spss": safe_names(names, stata=False)}
