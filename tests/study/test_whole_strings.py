"""Patterns match the whole string: ``$`` also matches before a trailing newline."""

from __future__ import annotations

import pytest

from tracker.errors import TrackerError
from tracker.study.dates import parse_date
from tracker.study.participants import check_code


@pytest.mark.parametrize("code", ["P01\n", "P01\r\n", "\nP01"])
def test_a_code_with_a_newline_is_refused(code):
    assert check_code(code) is not None
    assert check_code(code.strip()) is None


@pytest.mark.parametrize("text", ["2027-03-01\nx", "2027-03-01T", "2027-03-01 10:00"])
def test_a_date_with_anything_after_it_is_refused(text):
    with pytest.raises(TrackerError, match="is not a date in the form YYYY-MM-DD"):
        parse_date(text)


def test_surrounding_blanks_of_a_date_are_dropped_on_purpose():
    # a spreadsheet cell or a typed option often carries them; the date itself is whole
    assert str(parse_date(" 2027-03-01\n")) == "2027-03-01"
