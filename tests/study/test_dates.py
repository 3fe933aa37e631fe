"""The one date contract: :func:`check_date`, and its two faces (raising, and the import's tuple)."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.errors import TrackerError
from tracker.ingest.cells import parse_date as cell_date
from tracker.study.dates import NOT_CALENDAR, NOT_ISO, NOT_TIME, check_date, parse_date


@pytest.mark.parametrize(
    ("text", "time", "expected"),
    [
        ("2027-03-04", False, (dt.date(2027, 3, 4), None)),
        (" 2027-03-04\n", False, (dt.date(2027, 3, 4), None)),
        ("2027-03-04T09:30", False, (None, NOT_ISO)),
        ("2027-03-04T09:30", True, (dt.date(2027, 3, 4), None)),
        ("2027-03-04 09:30:15.5+01:00", True, (dt.date(2027, 3, 4), None)),
        ("2027-03-04Z", True, (None, NOT_ISO)),
        ("03/04/2027", True, (None, NOT_ISO)),
        ("", False, (None, NOT_ISO)),
        ("2027-02-30", False, (None, NOT_CALENDAR)),
        ("2027-02-30T10:00", True, (None, NOT_CALENDAR)),
        ("2027-03-04 25:00", True, (None, NOT_TIME)),
        ("2027-03-04T10:00+24:00", True, (None, NOT_TIME)),
    ],
)
def test_check_date(text, time, expected):
    assert check_date(text, time=time) == expected


def test_parse_date_raises_the_reason_with_the_text_and_what():
    assert parse_date("2027-03-04") == dt.date(2027, 3, 4)
    with pytest.raises(TrackerError) as caught:
        parse_date(" 2027-02-30 ", what="start date")
    assert str(caught.value) == f"start date '2027-02-30' is {NOT_CALENDAR}"


@pytest.mark.parametrize(
    "text", ["2027-03-04", "2027-03-04 09:30", "2027-02-30", "03/04/2027", "2027-03-04T25:00"]
)
def test_the_import_adapter_agrees_with_the_parser(text):
    date, reason = check_date(text, time=True)
    assert cell_date(text) == ((-1, reason) if date is None else (date.toordinal(), None))


@pytest.mark.parametrize("text", ["", "  ", "[not completed]", "[Not Completed]"])
def test_the_import_adapter_takes_an_empty_cell(text):
    assert cell_date(text) == (0, None)
