"""REDCap's own files: the data dictionary, choices, bookkeeping columns and the event list."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.errors import NotFound, ValidationError
from tracker.ingest.redcap import (
    DICTIONARY_COLUMNS,
    forms,
    identifier_fields,
    is_bookkeeping,
    parse_choices,
    parse_dictionary,
    parse_event_list,
    read_dictionary,
    read_event_list,
    record_id_field,
)

DATA = Path(__file__).parents[1] / "instruments" / "data"
HEADER = ",".join(f'"{c}"' if "," in c else c for c in DICTIONARY_COLUMNS)


def _row(*cells: str) -> str:
    cells = list(cells) + [""] * (18 - len(cells))
    return ",".join(f'"{c}"' if ("," in c or '"' in c) else c for c in cells)


def test_reads_the_fixture_dictionary():
    fields = read_dictionary(DATA / "dictionary.csv")  # BOM, CRLF, quoted line break in a label
    assert [f.name for f in fields][:6] == [
        "record_id",
        "first_name",
        "email",
        "dob",
        "role",
        "pss_intro",
    ]
    assert forms(fields) == ["enrollment", "pss", "wellbeing"]
    assert record_id_field(fields) == "record_id"
    assert identifier_fields(fields) == ["first_name", "email", "dob", "wb_phone"]
    q1 = next(f for f in fields if f.name == "pss_q1")
    assert q1.form == "pss" and q1.field_type == "radio" and q1.row == 8
    assert q1.choices == (
        ("0", "Never"),
        ("1", "Almost never"),
        ("2", "Sometimes"),
        ("3", "Fairly often"),
        ("4", "Very often"),
    )
    q2 = next(f for f in fields if f.name == "pss_q2")
    assert q2.label == "Stress item two\nwith a line break"
    sleep = next(f for f in fields if f.name == "wb_sleep")
    assert (sleep.validation, sleep.vmin, sleep.vmax, sleep.identifier) == (
        "integer",
        "0",
        "24",
        False,
    )
    vas = next(f for f in fields if f.name == "wb_vas")
    assert vas.choices == () and vas.slider_labels == "Bad | | Good"


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("0, Never | 1, Almost never", (("0", "Never"), ("1", "Almost never"))),
        (
            "0, No | 2, Yes, but not in the last year",
            (("0", "No"), ("2", "Yes, but not in the last year")),
        ),
        ("1,A|2,B", (("1", "A"), ("2", "B"))),
        ("1, One\n2, Two", (("1", "One"), ("2", "Two"))),
        ("-99, Prefer not to say | 1, Yes |", (("-99", "Prefer not to say"), ("1", "Yes"))),
        ("yes", (("yes", "yes"),)),
        ("", ()),
    ],
)
def test_parse_choices(text, choices):
    assert parse_choices(text) == choices


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("symptoms___1", True),
        ("symptoms___oth", True),
        ("pss_complete", True),
        ("redcap_event_name", True),
        ("redcap_repeat_instance", True),
        ("redcap_survey_identifier", True),
        ("pss_timestamp", True),
        ("REDCAP_DATA_ACCESS_GROUP", True),
        ("pss_q1", False),
        ("record_id", False),
        ("q__1", False),
        ("completed", False),
        ("timestamp_1", False),
    ],
)
def test_is_bookkeeping(column, expected):
    assert is_bookkeeping(column) is expected


def test_dictionary_problems_are_all_reported():
    text = (
        "\n".join(
            [
                HEADER,
                _row("record_id", "f", "", "text", "Record"),
                _row("q1", "f", "", "radio", "Q1", "0, No | 0, Yes"),
                _row("q1", "f", "", "radio", "Q1 again", "0, No"),
                _row("", "f", "", "text", "no name"),
            ]
        )
        + "\n"
    )
    with pytest.raises(ValidationError) as info:
        parse_dictionary(text, source="dd.csv")
    got = {(p.rule, p.row) for p in info.value.problems}
    assert got == {("duplicate_choice", 3), ("duplicate_field", 4), ("missing_value", 5)}
    assert "dd.csv: 3 problems in the data dictionary" in str(info.value)
    assert "field 'q1' is defined again (first on row 3)" in str(info.value)


def test_not_a_dictionary_names_the_missing_columns():
    with pytest.raises(ValidationError) as info:
        parse_dictionary("record_id,pss_q1\n1,2\n", source="export.csv")
    assert str(info.value).startswith(
        "export.csv: not a REDCap data dictionary (download it from REDCap's Data "
        "Dictionary page; 9 of its columns missing)"
    )
    assert "no column 'Variable / Field Name'" in str(info.value)


def test_older_dictionary_without_the_newer_columns_is_read():
    text = (
        ",".join(f'"{c}"' if "," in c else c for c in DICTIONARY_COLUMNS[:13])
        + "\n"
        + ",".join(["record_id", "f", "", "text", "Record"] + [""] * 8)
        + "\n"
    )
    assert [f.name for f in parse_dictionary(text)] == ["record_id"]


def test_unreadable_files(tmp_path):
    with pytest.raises(NotFound, match="data dictionary '.*nope.csv' does not exist"):
        read_dictionary(tmp_path / "nope.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + b"\nrecord_id,f,,text,R\xe9cord\n")
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        read_dictionary(latin)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValidationError, match="the file is empty, not a REDCap data dictionary"):
        read_dictionary(tmp_path / "empty.csv")


def test_event_list():
    events = read_event_list(DATA / "events.csv")
    assert [
        (e.unique_event_name, e.event_name, e.arm_num, e.custom_event_label, e.event_id)
        for e in events
    ] == [
        ("enrollment_arm_1", "Enrollment", 1, "", 41),
        ("baseline_arm_1", "Baseline", 1, "Week 0", 42),
        ("post_arm_1", "Post", 1, "Week 8", 43),
    ]
    # custom_event_label and event_id are optional columns
    short = parse_event_list("event_name,arm_num,unique_event_name\nDay 1,2,day_1_arm_2\n")
    assert (short[0].arm_num, short[0].event_id, short[0].custom_event_label) == (2, None, "")


def test_event_list_problems():
    text = (
        "event_name,arm_num,unique_event_name,custom_event_label,event_id\n"
        "Baseline,one,baseline_arm_1,,\n"
        "Post,1,post_arm_1,,x\n"
        "Post again,1,post_arm_1,,\n"
        ",1,follow_arm_1,,\n"
    )
    with pytest.raises(ValidationError) as info:
        parse_event_list(text, source="events.csv")
    got = {(p.rule, p.row, p.column) for p in info.value.problems}
    assert got == {
        ("not_a_number", 2, "arm_num"),
        ("not_a_number", 3, "event_id"),
        ("duplicate_event", 4, "unique_event_name"),
        ("missing_value", 5, "event_name"),
    }
    with pytest.raises(ValidationError, match="not a REDCap event list"):
        parse_event_list("redcap_event_name,wave\nbaseline_arm_1,baseline\n", source="map.csv")
