"""map draft, the library side: every column of a file placed once in a valid TOML map."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tracker.errors import TrackerError
from tracker.ingest.draft import draft_map, guess_format, read_first_rows
from tracker.instruments.tomltext import toml_string

DATA = Path(__file__).parent / "data"


def _check_every_column_once(draft, columns):
    """The draft is valid TOML and names each column exactly once, as a quoted string."""
    parsed = tomllib.loads(draft.text)
    for c in columns:
        assert draft.text.count(toml_string(c)) == 1, (c, draft.text)
    return parsed


def test_wide_runs_become_item_blocks():
    header = [
        "participant",
        "completed",
        "stress1",
        "stress2",
        "stress3",
        "Q5_1",
        "Q5_2",
        "Q5_4",
        "mood",
        "note_7",
        "email",
        "wave",
    ]
    d = draft_map([header], source="survey.csv")
    m = _check_every_column_once(d, header)
    assert d.fmt == "wide"
    assert (m["format"], m["id_column"], m["completed"], m["other_columns"]) == (
        "wide",
        "participant",
        "completed",
        "ignore",
    )
    assert m["identifiers"] == ["email"]
    assert m["items"] == [
        {"instrument": "stress", "columns": ["stress1", "stress2", "stress3"]},
        {"instrument": "q5", "columns": ["Q5_1", "Q5_2", "", "Q5_4"]},  # no Q5_3: item 3 is ""
    ]
    assert dict(d.others) == {
        "mood": "not numbered like an item",
        "note_7": "a single numbered column: not guessed as an item block",
        "wave": "the wave of each row (the import reads it)",
    }
    assert (
        '[[items]]                                # guessed: Q5_1 .. Q5_4: items 1..4 (no column for item 3: "")'
        in d.text
    )
    assert "# guessed code: use an instrument of the study" in d.text


def test_numbering_from_elsewhere_and_code_guesses():
    header = ["ID", "pss_q3", "pss_q4", "pss_q5", "10item1", "10item2", "Date of visit"]
    d = draft_map([header])
    m = _check_every_column_once(d, header)
    assert m["id_column"] == "ID" and m["completed"] == "Date of visit"
    assert m["items"][0] == {"instrument": "pss", "columns": ["pss_q3", "pss_q4", "pss_q5"]}
    assert m["items"][1]["instrument"] == "q10item"
    assert "are numbered from 3: taken as items 1..3 in numeric order" in d.text
    assert "# guessed from the name: the participant code" in d.text


def test_redcap_file():
    rows = read_first_rows(DATA / "redcap.csv")
    d = draft_map(rows, source="redcap.csv")
    m = _check_every_column_once(d, rows[0])
    assert d.fmt == "redcap" and m["id_column"] == "record_id"
    assert [b["instrument"] for b in m["items"]] == ["pss4", "who5"]
    assert all(why == "REDCap bookkeeping" for c, why in d.others)
    assert "# [events]" in d.text


def test_redcap_timestamps_go_to_their_forms_blocks():
    header = [
        "record_id",
        "redcap_event_name",
        "pss_timestamp",
        "pss_1",
        "pss_2",
        "pss_complete",
        "sleep_timestamp",
        "sleep_1",
        "sleep_2",
        "symptoms___1",
        "symptoms___2",
        "first_name",
    ]
    d = draft_map([header], "redcap")
    m = _check_every_column_once(d, header)
    assert m["completed"] == "pss_timestamp"
    assert m["items"] == [
        {"instrument": "pss", "columns": ["pss_1", "pss_2"]},
        {"instrument": "sleep", "columns": ["sleep_1", "sleep_2"], "completed": "sleep_timestamp"},
    ]
    assert m["identifiers"] == ["first_name"]
    assert {c for c, _ in d.others} == {
        "redcap_event_name",
        "pss_complete",
        "symptoms___1",
        "symptoms___2",
    }


@pytest.mark.parametrize("name", ["current.csv", "v2016.csv", "legacy.csv"])
def test_qualtrics_exports(name):
    rows = read_first_rows(DATA / "qualtrics" / name)
    d = draft_map(rows, source=name)
    assert (
        d.fmt == "qualtrics"
        and d.variant
        == {"current.csv": "current", "v2016.csv": "2016", "legacy.csv": "legacy"}[name]
    )
    m = _check_every_column_once(d, d.columns)
    assert m["completed"] == "EndDate"
    assert m["id_column"] in ("ExternalReference", "ExternalDataReference")
    assert m["items"][0]["columns"][:2] == ["Q1_1", "Q1_2"]
    if name == "current.csv":
        assert "RecipientEmail" in m["identifiers"]
        assert (
            "Q12 Side by side#1_1",
            "a single numbered column: not guessed as an item block",
        ) in d.others
    if (
        name == "legacy.csv"
    ):  # V1..V10 read under their row-2 names; the trailing empty column is not a column
        assert d.columns[0] == "ResponseID" and len(d.columns) == 16


def test_long_file():
    header = ["participant", "wave", "instrument", "item", "value"]
    d = draft_map([header])
    m = _check_every_column_once(d, header)
    assert d.fmt == "long" and "items" not in m and m["id_column"] == "participant"


def test_no_id_column_and_no_blocks_still_valid():
    header = ["who", "answer"]
    d = draft_map([header], "wide")
    m = _check_every_column_once(d, header)
    assert "id_column" not in m and "items" not in m
    assert "# no participant-code column found: name it here" in d.text


def test_awkward_names_are_quoted_safely():
    header = ["participant", 'say "hi"_1', 'say "hi"_2', "back\\slash", "tab\there"]
    d = draft_map([header])
    m = _check_every_column_once(d, header)
    assert m["items"][0]["columns"] == ['say "hi"_1', 'say "hi"_2']


def test_duplicate_and_empty_names():
    header = ["participant", "q1", "q2", "q1", ""]
    d = draft_map([header])
    tomllib.loads(d.text)
    assert ("q1", "a second column named 'q1': the import refuses duplicate names") in d.others
    assert d.columns == [
        "participant",
        "q1",
        "q2",
        "q1",
    ]  # a trailing unnamed column is not a column


def test_guess_format():
    assert guess_format(["participant", "x_1"], [["participant", "x_1"]], "f.xlsx") == "xlsx"
    assert guess_format(["record_id"], [["record_id"]]) == "redcap"
    assert guess_format(["participant", "instrument", "item", "value"], [[]]) == "long"
    assert guess_format(["participant"], [["participant"]]) == "wide"


def test_errors(tmp_path):
    with pytest.raises(TrackerError, match="row 1 \\(the header\\) is empty"):
        draft_map([[""]], source="e.csv")
    with pytest.raises(TrackerError, match="does not look like a Qualtrics CSV export"):
        draft_map([["participant", "q1"]], "qualtrics", source="p.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"participant,r\xe9ponse_1\n")
    with pytest.raises(TrackerError, match="not UTF-8 text"):
        read_first_rows(latin)
