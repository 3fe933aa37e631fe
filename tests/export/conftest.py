"""A study to export, on SQLite and PostgreSQL, and readers for every export format.

The ingest test study (:func:`tests.ingest.conftest.build_study`: waves
baseline and post, cohorts A (intervention) and B (control), P001-P005 and
W001, withdrawn "moved away" on 2027-03-10, all enrolled 2027-03-01) plus:
demographics on some participants (an age of 92 for the 90+ band, a birth
year, a role that a spreadsheet would run as a formula), and an instrument
"mood" whose subscale ``mood.calm`` has a name Stata cannot hold.
"""

from __future__ import annotations

import csv
import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import select

from tests.ingest.conftest import build_study, run_import, write
from tracker.db.engine import open_session
from tracker.db.models import Participant

MOOD_TOML = """code = "mood"
name = "Mood check"
version = "2"
citation = "Made up for the tests (2027)"
items = 3
min = 1
max = 5
reverse = [3]
scoring = "mean"
max_missing = 1
higher_is_better = true

[[subscales]]
code = "calm"
name = "calm"
items = [1, 3]
scoring = "sum"
"""

EVIL_ROLE = "=cmd|' /C calc'!A0"

DATA = (
    "participant,wave,completed,pss4_1,pss4_2,pss4_3,pss4_4,who5_1,who5_2,who5_3,who5_4,who5_5,"
    "sleep_1,sleep_2,mood_1,mood_2,mood_3\n"
    "P001,baseline,2027-03-05,1,2,3,4,5,4,3,2,1,7.5,,2,3,4\n"
    "P002,baseline,,0,1,,2,,,,,,,,5,,1\n"
    "P001,post,2027-04-27,2,2,2,3,,,,,,8,6.25,,,\n"
    "P004,baseline,2027-03-03,4,4,3,4,0,1,0,1,0,,,3,3,3\n"
    "P005,post,2027-04-30,0,0,0,0,5,5,5,5,5,9,9,1,1,1\n"
)

DEMOGRAPHICS = {
    "P001": {"age": 27, "gender": "woman", "role": "PGY-1 resident"},
    "P002": {"age": 92, "birth_year": 1935},
    "P004": {"birth_year": 1990, "role": EVIL_ROLE},
    "W001": {"age": 34},
}


def build_export_study(url: str, folder) -> None:
    from tracker.study.instruments import add_instrument
    from tracker.study.studies import resolve_study

    build_study(url, folder)
    (folder / "mood.toml").write_text(MOOD_TOML)
    with open_session(url) as s:
        add_instrument(s, resolve_study(s), str(folder / "mood.toml"))
        for p in s.scalars(select(Participant)):
            for key, value in DEMOGRAPHICS.get(p.code, {}).items():
                setattr(p, key, value)
        s.commit()
    run_import(url, write(folder, "data.csv", DATA))


@pytest.fixture
def url(db_url, tmp_path) -> str:
    build_export_study(db_url, tmp_path)
    return db_url


@pytest.fixture
def cli(url, tracker):
    return tracker


def read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def read_back(path) -> pd.DataFrame:
    """A written export read with the format's own reader, labels applied (codes -> text)."""
    import pyarrow.parquet as pq
    import pyreadr
    import pyreadstat

    suffix = path.suffix
    if suffix == ".sav":
        return pyreadstat.read_sav(str(path), apply_value_formats=True)[0]
    if suffix == ".dta":
        return pyreadstat.read_dta(str(path), apply_value_formats=True)[0]
    if suffix == ".rds":
        return pyreadr.read_r(str(path))[None].reset_index(drop=True)
    if suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    raise AssertionError(suffix)


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def canonical(value, kind: str, *, from_csv: bool) -> str:
    """One cell as comparable text: numbers as floats, dates as ISO, booleans as True/False, missing as ""."""
    from tracker.datasets.export import neutralise

    if _missing(value) or value == "":
        return ""
    if kind in ("integer", "number"):
        return repr(float(value))
    if kind == "boolean":
        return value if isinstance(value, str) else str(bool(value))
    if kind == "date":
        if isinstance(value, str):
            return value
        if isinstance(value, dt.datetime | pd.Timestamp):
            return value.date().isoformat()
        return value.isoformat()
    return str(value) if from_csv else neutralise(str(value))
