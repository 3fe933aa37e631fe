"""What may be typed into names and free text: contact details and identifier columns are recognised."""

from __future__ import annotations

import pytest

from tracker.errors import TrackerError
from tracker.study.participants import is_identifier_column
from tracker.study.text import NAME_MAX, clean_name, clean_text, contact_details


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("moved; new contact jo.bloggs@example.org, +44 7700 900123", "an e-mail address"),
        ("+44 7700 900123", "a phone number"),
        ("07700 900123", "a phone number"),
        ("07700900123", "a phone number"),
        ("(020) 7946 0958", "a phone number"),
        ("tel: 0161 496 0000", "a phone number"),
        ("555-123-4567", "a phone number"),
        ("+1 202.555.0143", "a phone number"),
        ("ring +4915123", "a phone number"),  # + and 7 digits
        ("NHS 943 476 5919", "a phone number"),  # a 10-digit record number is refused as well
        ("Jo.Bloggs@Example.ORG", "an e-mail address"),
    ],
)
def test_contact_details_are_found(text, found):
    assert contact_details(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "left programme",
        "PGY-1 resident",
        "moved away on 2027-03-01",
        "off 2027-03-01 2027-04-01 and 2027-05-01",  # dates side by side are not a phone number
        "cohort 12, 34 people",
        "wave 3 of 12345678",  # 8 digits
        "a@b",  # not an address
        "",
        None,
    ],
)
def test_ordinary_text_passes(text):
    assert contact_details(text) is None


def test_clean_text_says_why():
    with pytest.raises(TrackerError) as e:
        clean_text("call 07700 900123", "--reason")
    assert str(e.value) == (
        "--reason looks like it holds a phone number; free text is stored and printed in reports, "
        "so it must not hold contact details or other identifiers"
    )
    with pytest.raises(TrackerError) as e:
        clean_text("x" * 501, "--reason")
    assert str(e.value) == "--reason is 501 characters long; at most 500 are allowed"
    assert clean_text("  ", "--reason") is None
    assert clean_text(" left ", "--reason") == "left"


def test_clean_name_limit():
    assert clean_name(" " + "n" * NAME_MAX + " ", "a wave's name") == "n" * NAME_MAX
    with pytest.raises(TrackerError) as e:
        clean_name("n" * (NAME_MAX + 1), "a wave's name")
    assert (
        str(e.value)
        == "a wave's name 'nnnnnnnnnnnnnnnnnnnn'… is 101 characters long; names may have at most 100"
    )
    with pytest.raises(TrackerError, match="must not be empty"):
        clean_name("   ", "a wave's name")


@pytest.mark.parametrize(
    "column",
    [
        "Email Address",
        "Patient Name",
        "Date of birth",
        "Phone Number",
        "NHS number",
        "Full Name",
        "email",
        "E-mail",
        "first name",
        "surname",
        "DOB",
        "Mobile",
        "postcode",
        "MRN",
    ],
)
def test_identifier_columns_however_spelled(column):
    assert is_identifier_column(column)


@pytest.mark.parametrize(
    "column",
    ["code", "cohort", "enrolled", "age", "birth_year", "gender", "role", "cohrt", "notes"],
)
def test_other_columns_are_not_identifiers(column):
    assert not is_identifier_column(column)
