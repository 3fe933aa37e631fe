"""Fuzzing the importers: every input imports exactly what it says or is refused cleanly.

Each example runs one import in a session on the test's database. A refusal
must be a :class:`TrackerError` (never another exception) and leave the
transaction without a single written row; an acceptance must store exactly
what an independent oracle reads from the file. Either way the session is
rolled back, so every example starts from the same database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.ingest.conftest import assert_scores_current
from tracker.db.engine import open_session
from tracker.db.models import (
    Administration,
    AuditEvent,
    ImportBatch,
    Instrument,
    ItemResponse,
    Participant,
    ScaleScore,
    Wave,
)
from tracker.errors import TrackerError
from tracker.ingest import import_responses

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TABLES = (Administration, ItemResponse, ScaleScore, ImportBatch, AuditEvent)
KNOWN = ["P001", "P002", "P003", "P004", "P005", "W001"]
WITHDRAWN_ON = dt.date(2027, 3, 10)
SPEC = {"pss4": (4, 0.0, 4.0, True), "sleep": (2, 0.0, 24.0, False)}  # items, min, max, integer
# ASCII digits only: Python's \d and float() also take other scripts' digits ("١"),
# which the importer refuses as not a number (a deliberate rule, found by this fuzz)
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)  # an ISO date-time gives its date


def table_counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in TABLES)


def attempt(url: str, path, **kwargs):
    """Import in a session and roll back; returns (result or error, stored content or None)."""
    session = open_session(url)
    try:
        before = table_counts(session)
        try:
            result = import_responses(session, None, path, **kwargs)
        except TrackerError as exc:
            assert table_counts(session) == before, "a refused import left rows in its transaction"
            assert str(exc).strip(), "a refusal must say why"
            return exc, None
        assert_scores_current(session)
        return result, content(session)
    finally:
        session.rollback()
        session.close()


def content(session) -> dict:
    rows = session.execute(
        select(
            Participant.code,
            Wave.name,
            Instrument.code,
            Administration.completed_on,
            ItemResponse.item,
            ItemResponse.value,
        )
        .join(Participant, Participant.id == Administration.participant_id)
        .join(Wave, Wave.id == Administration.wave_id)
        .join(Instrument, Instrument.id == Administration.instrument_id)
        .join(ItemResponse, ItemResponse.administration_id == Administration.id)
    ).all()
    out: dict = {}
    for p, w, i, completed, item, value in rows:
        out.setdefault((p, w, i), {"completed": completed, "values": {}})["values"][item] = value
    return out


# -- random bytes ---------------------------------------------------------------------------


@FUZZ
@given(
    data=st.binary(max_size=600),
    fmt=st.sampled_from(["wide", "long", "redcap", "qualtrics", "xlsx"]),
)
def test_random_bytes(url, tmp_path, data, fmt):
    path = tmp_path / ("f.xlsx" if fmt == "xlsx" else "f.csv")
    path.write_bytes(data)
    kwargs = {"fmt": fmt, "wave": "baseline"}
    if fmt == "qualtrics":
        kwargs["id_column"] = "participant"
    outcome, _ = attempt(url, path, **kwargs)
    assert isinstance(outcome, TrackerError)  # random bytes never make a valid study file


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_after_a_valid_header(url, tmp_path, data):
    path = tmp_path / "f.csv"
    path.write_bytes(b"participant,pss4_1,pss4_2,pss4_3,pss4_4\nP001,1,2,3,4\n" + data)
    outcome, stored = attempt(url, path, wave="baseline")
    if not isinstance(outcome, TrackerError):
        assert ("P001", "baseline", "pss4") in stored


# -- random CSV shapes ----------------------------------------------------------------------

COLUMNS = [
    "participant",
    "wave",
    "completed",
    "pss4_1",
    "pss4_2",
    "pss4_3",
    "pss4_4",
    "pss4_9",
    "sleep_1",
    "sleep_2",
    "who5_1",
    "gad7_1",
    "email",
    "",
    "Participant",
    "pss_4_1",
    "notes",
]
CELLS = [
    "",
    " ",
    "1",
    "2",
    "4",
    "5",
    "-1",
    "2.5",
    "x",
    "NA",
    "P001",
    "P999",
    "W001",
    "baseline",
    "post",
    "2027-03-02",
    "2027-02-30",
    '"',
    ",",
    "\n",
    "=1+1",
    "é",
    "\x00",
]


@FUZZ
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8),
    rows=st.lists(st.lists(st.sampled_from(CELLS), max_size=9), max_size=6),
    fixed_wave=st.booleans(),
)
def test_random_csv_shapes(url, tmp_path, header, rows, fixed_wave):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "shape.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    outcome, stored = attempt(url, path, wave="baseline" if fixed_wave else None)
    if not isinstance(outcome, TrackerError):
        assert stored, "an accepted file stores something"
        assert outcome.administrations_new == len(stored)


# -- random values in a valid layout: an independent oracle decides ---------------------------


def cell_value(text: str, instrument: str) -> tuple[bool, float | None]:
    """(valid, value) for a cell, as the import rules say, computed independently."""
    _, low, high, integer = SPEC[instrument]
    s = text.strip()
    if not s:
        return True, None
    if not NUMBER.match(s):
        return False, None
    v = float(s)
    if not math.isfinite(v) or v < low or v > high or (integer and v != int(v)):
        return False, None
    return True, v


def oracle(rows: list[list[str]]) -> dict | None:
    """What the file says, or None when it must be refused."""
    expected: dict = {}
    for code, completed, *cells in rows:
        answered = {"pss4": cells[:4], "sleep": cells[4:]}
        if not any(c.strip() for c in cells):
            continue
        date = None
        if completed.strip():
            match = DATE.match(completed.strip())
            if not match:
                return None
            try:
                date = dt.date.fromisoformat(match.group(1))
            except ValueError:
                return None
        if code.strip() not in KNOWN:
            return None
        for instrument, texts in answered.items():
            if not any(t.strip() for t in texts):
                continue
            parsed = [cell_value(t, instrument) for t in texts]
            if not all(ok for ok, _ in parsed):
                return None
            key = (code.strip(), "baseline", instrument)
            if key in expected:
                return None  # duplicate in the file
            if code.strip() == "W001" and (date is None or date > WITHDRAWN_ON):
                return None
            expected[key] = {
                "completed": date,
                "values": {i + 1: v for i, (_, v) in enumerate(parsed)},
            }
    return expected


value_text = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "1",
            "4",
            "5",
            "-0",
            "+2",
            "1.0",
            "2.5",
            "24",
            "24.5",
            "1e0",
            "nan",
            "inf",
            "x",
            "NA",
            "١",
        ]
    ),
    st.integers(-3, 30).map(str),
    st.floats(-5, 30, allow_nan=False).map(repr),
)
row_strategy = st.tuples(
    st.sampled_from(KNOWN + ["P999", "", " P002 "]),
    st.sampled_from(["", "2027-03-02", "2027-03-11", "2027-02-30", "3/2/2027", "2027-03-02 10:00"]),
    value_text,
    value_text,
    value_text,
    value_text,
    value_text,
    value_text,
).map(list)


@FUZZ
@given(rows=st.lists(row_strategy, min_size=1, max_size=7))
def test_random_values_import_exactly_what_the_file_says(url, tmp_path, rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["participant", "completed", "pss4_1", "pss4_2", "pss4_3", "pss4_4", "sleep_1", "sleep_2"]
    )
    writer.writerows(rows)
    path = tmp_path / "values.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    expected = oracle(rows)
    outcome, stored = attempt(url, path, wave="baseline")
    if expected is None or not expected:
        assert isinstance(outcome, TrackerError), f"should have been refused: {rows}"
    else:
        assert not isinstance(outcome, TrackerError), f"{outcome}\n{rows}"
        assert stored == expected


@FUZZ
@given(rows=st.lists(row_strategy, min_size=1, max_size=5))
def test_long_format_agrees_with_wide(url, tmp_path, rows):
    """The same answers as a long file import to the same content as the wide file (or both are refused)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["participant", "completed", "instrument", "item", "value"])
    for code, completed, *cells in rows:
        for n, t in enumerate(cells[:4], start=1):
            writer.writerow([code, completed, "pss4", n, t])
        for n, t in enumerate(cells[4:], start=1):
            writer.writerow([code, completed, "sleep", n, t])
    path = tmp_path / "long.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    expected = oracle(rows)
    outcome, stored = attempt(url, path, fmt="long", wave="baseline")
    if expected:
        assert not isinstance(outcome, TrackerError), f"{outcome}\n{rows}"
        assert stored == expected
    else:
        assert isinstance(outcome, TrackerError)
