"""instrument from-redcap, the library side: a dictionary form -> instrument TOML and map."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tracker.errors import NotFound, TrackerError
from tracker.ingest.redcap import parse_dictionary, read_dictionary
from tracker.instruments import ItemRange, loads_toml
from tracker.instruments.redcap_form import build_redcap_form, default_code

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def fields():
    return read_dictionary(DATA / "dictionary.csv")


def test_pss_form(fields):
    r = build_redcap_form(fields, "pss", source="dictionary.csv")
    d = r.definition
    assert (d.code, d.items, d.min, d.max, d.integer, d.scoring, d.reverse) == (
        "pss",
        4,
        0,
        4,
        True,
        "sum",
        (),
    )
    assert d.item_ranges == ()
    assert [(x.field, x.reason) for x in r.left_out] == [
        ("pss_intro", "descriptive text, not a question"),
        ("pss_comment", "free text"),
    ]
    assert loads_toml(r.instrument_toml) == d
    assert (
        "# Reverse keying and the scoring rule cannot be read from a data dictionary:"
        in r.instrument_toml
    )
    assert "#     2  pss_q2 (radio, 0-4)  Stress item two with a line break\n" in r.instrument_toml
    m = tomllib.loads(r.map_toml)
    assert m == {
        "format": "redcap",
        "id_column": "record_id",
        "other_columns": "ignore",
        "identifiers": ["first_name", "email", "dob", "wb_phone"],
        "items": [
            {
                "instrument": "pss",
                "columns": ["pss_q1", "pss_q2", "pss_q3", "pss_q4"],
                "completed": "pss_timestamp",
                "labels": {
                    "Never": 0,
                    "Almost never": 1,
                    "Sometimes": 2,
                    "Fairly often": 3,
                    "Very often": 4,
                },
            }
        ],
    }


def test_mixed_form_items_get_their_own_ranges(fields):
    r = build_redcap_form(fields, "wellbeing", code="wb")
    assert [(i.number, i.field, i.min, i.max, i.values) for i in r.items] == [
        (1, "wb_sleep", 0, 24, None),  # integer text, validation 0-24
        (2, "wb_vas", 0, 100, None),  # slider without bounds: REDCap's 0-100
        (3, "wb_yes", 0, 1, None),
        (4, "wb_tf", 0, 1, None),
        (5, "wb_drink", 0, 4, (0, 2, 4)),  # codes skip 1 and 3
        (6, "wb_often", 0, 4, (0, 3, 4)),
        (7, "wb_hours", 0, 12.5, None),  # number text: continuous
    ]
    d = r.definition
    # the commonest range (0-1, items 3 and 4) is the instrument's; the others are item ranges
    assert (d.code, d.min, d.max, d.integer) == ("wb", 0, 1, False)
    assert d.item_ranges == (
        ItemRange((1,), 0, 24),
        ItemRange((2,), 0, 100),
        ItemRange((5,), 0, 4, (0, 2, 4)),
        ItemRange((6,), 0, 4, (0, 3, 4)),
        ItemRange((7,), 0, 12.5),
    )
    assert [(x.field, x.field_type) for x in r.left_out] == [
        ("wb_check", "checkbox"),
        ("wb_calc", "calc"),
        ("wb_age", "text"),
        ("wb_phone", "text"),
        ("wb_letter", "radio"),
        ("wb_free", "text"),
    ]
    reasons = {x.field: x.reason for x in r.left_out}
    assert reasons["wb_phone"] == "identifier (Identifier? = y): never read"
    assert reasons["wb_letter"] == "choice codes are not numbers ('a', 'b')"
    assert reasons["wb_age"].startswith("integer field without Text Validation Min and Max")
    m = tomllib.loads(r.map_toml)
    assert m["items"][0]["labels"] == {
        "No": 0,
        "Yes": 1,
        "False": 0,
        "True": 1,
        "Yes, but not in the last year": 2,
        "Yes, during the last year": 4,
        "Never": 4,
        "Sometimes": 3,
        "Always": 0,
    }
    assert (
        m["items"][0]["columns"] == [i.field for i in r.items]
        and m["items"][0]["instrument"] == "wb"
    )


def test_identifiers_and_the_record_id_are_never_items(fields):
    r = build_redcap_form(fields, "enrollment")
    assert [i.field for i in r.items] == ["role"]
    assert [(x.field, x.reason) for x in r.left_out][:2] == [
        ("record_id", "the record id (the map's id_column)"),
        ("first_name", "identifier (Identifier? = y): never read"),
    ]


HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number",'
    '"Text Validation Min","Text Validation Max","Identifier?"'
)


def _dictionary(*rows: str) -> list:
    return parse_dictionary(HEADER + "\n" + "\n".join(rows) + "\n")


def test_a_label_meaning_two_codes_is_left_out_of_the_map():
    fields = _dictionary(
        "record_id,f,,text,Record,,,,,,",
        'q1,f,,radio,One,"0, Never | 1, Often",,,,,',
        'q2,f,,radio,Two,"1, never | 0, Often | 2, Sometimes",,,,,',
    )
    r = build_redcap_form(fields, "f")
    assert r.label_conflicts == [
        "'Never' stands for 0 and 1 in different fields",
        "'Often' stands for 0 and 1 in different fields",
    ]
    assert tomllib.loads(r.map_toml)["items"][0]["labels"] == {"Sometimes": 2}
    assert "# label left out: 'Never' stands for 0 and 1 in different fields" in r.map_toml


def test_slider_bounds_and_labels_with_toml_specials():
    fields = _dictionary(
        "record_id,f,,text,Record,,,,,,",
        'vas,f,,slider,VAS,"Low | High",,number,1,10,',
        'q,f,,dropdown,Q,"1, Say ""no"" \\ back | 2, Tab\there",,,,,',
    )
    r = build_redcap_form(fields, "f", code="f2")
    assert (r.items[0].min, r.items[0].max) == (1, 10)
    assert tomllib.loads(r.map_toml)["items"][0]["labels"] == {
        'Say "no" \\ back': 1,
        "Tab\there": 2,
    }
    assert r.definition.item_range(2) == (1, 2)


def test_errors(fields):
    with pytest.raises(
        NotFound,
        match=r"dd.csv has no form 'PSS' \(did you mean 'pss'\?\)\. Its forms: enrollment, pss, "
        r"wellbeing",
    ):
        build_redcap_form(fields, "PSS", source="dd.csv")
    with pytest.raises(TrackerError, match="--code 'PSS-10' is not an instrument code"):
        build_redcap_form(fields, "pss", code="PSS-10")
    with pytest.raises(TrackerError, match="--code 'pss\\\\n' is not an instrument code"):
        build_redcap_form(fields, "pss", code="pss\n")
    only_text = _dictionary("record_id,f,,text,Record,,,,,,", "note,f,,notes,Note,,,,,,")
    with pytest.raises(
        TrackerError,
        match=r"form 'f' in dictionary.csv has no field that can be an item: "
        r"record_id \(the record id \(the map's id_column\)\); note \(free text\)",
    ):
        build_redcap_form(only_text, "f")


@pytest.mark.parametrize(
    ("form", "code"),
    [("pss", "pss"), ("My Form-2", "my_form_2"), ("2nd visit", "f_2nd_visit"), ("***", "form")],
)
def test_default_code(form, code):
    assert default_code(form) == code


def test_number_fields_with_unreadable_bounds_are_left_out():
    fields = _dictionary(
        "record_id,f,,text,Record,,,,,,",
        'hrs,f,,text,Hours,,,number_comma_decimal,"0,5",10,',
        "n,f,,text,N,,,integer,0,7,",
    )
    r = build_redcap_form(fields, "f")
    assert [i.field for i in r.items] == ["n"]
    assert (
        r.left_out[1].reason
        == "Text Validation Min/Max '0,5' not a number: its range is unknown (add the item "
        "to the TOML by hand)"
    )
    assert (
        'completed = "f_timestamp"   # exported when the form is a survey; otherwise delete this line\n'
        in r.map_toml
    )
