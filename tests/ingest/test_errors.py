"""Every rule an import can break: the exact message, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.conftest import WIDE_HEADER, counts, run_import, write
from tracker.errors import NotFound, TrackerError, ValidationError
from tracker.ingest.cells import MAX_LISTED

DATA = Path(__file__).parent / "data"
PSS = "participant,pss4_1,pss4_2,pss4_3,pss4_4\n"


def refused(url, path, error=ValidationError, **kwargs) -> str:
    """The error's message, folders stripped from file names; asserts nothing was written."""
    before = counts(url)
    with pytest.raises(error) as info:
        run_import(url, path, **kwargs)
    assert counts(url) == before, "a refused import wrote something"
    return str(info.value).replace(f"{Path(path).parent}/", "").replace(f"{DATA}/", "")


def test_every_problem_is_listed_at_once(url, tmp_path):
    text = (
        WIDE_HEADER + "\n"
        "P001,2027-02-30,1,x,3,7,5,4,3,2,1\n"
        "P999,2027-03-02,0,1,1.5,2,,,,,\n"
        "P002,03/04/2027,NA,1,1,1,,,,,\n"
        "P002,,1,1,1,1,,,,,\n"
        ",,1,1,1,1,,,,,\n"
        "P003,,1,1,1\n"
    )
    message = refused(url, write(tmp_path, "bad.csv", text), wave="baseline")
    assert message.splitlines() == [
        "bad.csv: 9 problems; nothing was written",
        "  bad.csv, row 2, column 'completed': completion date is not a real calendar date (value '2027-02-30') [invalid_date]",
        "  bad.csv, row 2, column 'pss4_2': not a number; pss4 items take a whole number from 0 to 4 (value 'x') [not_a_number]",
        "  bad.csv, row 2, column 'pss4_4': out of range; pss4 items take a whole number from 0 to 4 (value '7') [out_of_range]",
        "  bad.csv, row 3, column 'participant': unknown participant; enrol it first (tracker participant add CODE --cohort NAME) (value 'P999') [unknown_participant]",
        "  bad.csv, row 3, column 'pss4_3': not a whole number; pss4 items take a whole number from 0 to 4 (value '1.5') [not_integer]",
        "  bad.csv, row 4, column 'completed': completion date is not a date in the form YYYY-MM-DD (value '03/04/2027') [invalid_date]",
        "  bad.csv, row 4, column 'pss4_1': not a number; pss4 items take a whole number from 0 to 4; leave the cell empty for an unanswered item (value 'NA') [not_a_number]",
        "  bad.csv, row 6, column 'participant': no participant code [missing_participant]",
        "  bad.csv, row 7: has 5 fields, the header has 11 [wrong_field_count]",
    ]


def test_duplicate_administration_in_file(url, tmp_path):
    text = PSS + "P001,1,1,1,1\nP002,2,2,2,2\nP001,1,1,1,1\n"
    message = refused(url, write(tmp_path, "d.csv", text), wave="baseline")
    assert (
        "d.csv, row 4, column 'participant': participant P001, wave baseline, pss4 is already in row 2 "
        "(value 'P001') [duplicate_administration]"
    ) in message


def test_same_participant_twice_is_fine_for_different_waves_or_instruments(url, tmp_path):
    text = "participant,wave,pss4_1,who5_1\nP001,baseline,1,\nP001,baseline,,2\nP001,post,1,\n"
    assert run_import(url, write(tmp_path, "ok.csv", text)).administrations_new == 3


def test_long_duplicates_and_conflicting_dates(url, tmp_path):
    text = (
        "participant,wave,instrument,item,value,completed\n"
        "P001,baseline,pss4,1,1,2027-03-02\nP001,baseline,pss4,pss4_1,2,2027-03-02\n"
        "P001,baseline,pss4,2,2,2027-03-03\nP001,baseline,gad7,1,1,\nP001,baseline,pss4,9,1,\n"
        "P001,someday,pss4,3,1,\n"
    )
    message = refused(url, write(tmp_path, "l.csv", text), fmt="long")
    assert message.splitlines()[1:] == [
        "  l.csv, row 3, column 'item': item 1 of participant P001, wave baseline, pss4 is already given in row 2 [duplicate_row]",
        "  l.csv, row 4, column 'completed': completion date differs from another row of the same administration (participant P001, wave baseline, pss4) (value '2027-03-03') [conflicting_dates]",
        "  l.csv, row 5, column 'instrument': unknown instrument: add it to the study first with `tracker instrument add gad7` (value 'gad7') [unknown_instrument]",
        "  l.csv, row 6, column 'item': unknown item; pss4 has items 1 to 4 (value '9') [unknown_item]",
        "  l.csv, row 7, column 'wave': unknown wave; waves: baseline, post (value 'someday') [unknown_wave]",
    ]


def test_header_problems_with_hints(url, tmp_path):
    text = "participant,pss4_1,pss_4_2,pss4_5,gad7_1,email,notes,pss4_1\nP001,1,1,1,1,a@b.c,x,1\n"
    message = refused(url, write(tmp_path, "h.csv", text), wave="baseline")
    assert message.splitlines()[1:] == [
        "  h.csv, row 1, column 'pss_4_2': unknown column 'pss_4_2'; did you mean 'pss4_2'? [unknown_column]",
        "  h.csv, row 1, column 'pss4_5': unknown item; pss4 has items 1 to 4 [unknown_item]",
        "  h.csv, row 1, column 'gad7_1': unknown instrument 'gad7': add it to the study first with `tracker instrument add gad7` [unknown_instrument]",
        "  h.csv, row 1, column 'email': column 'email' holds a direct identifier; remove it: only pseudonymous codes are stored [direct_identifier]",
        "  h.csv, row 1, column 'notes': unknown column 'notes'; expected participant, wave, completed and item columns <instrument>_<n> [unknown_column]",
        "  h.csv, row 1, column 'pss4_1': column 'pss4_1' appears twice (first as column 2) [duplicate_column]",
    ]


def test_wave_problems(url, tmp_path):
    text = "participant,wave,pss4_1\nP001,baseline,1\nP002,,1\nP003,week 9,1\n"
    message = refused(url, write(tmp_path, "w.csv", text))
    assert "w.csv, row 3, column 'wave': no wave; fill the wave column [missing_wave]" in message
    assert (
        "w.csv, row 4, column 'wave': unknown wave; waves: baseline, post (value 'week 9') [unknown_wave]"
        in message
    )
    assert refused(
        url, write(tmp_path, "p.csv", PSS + "P001,1,1,1,1\n"), NotFound, wave="week 9"
    ) == ("no wave named 'week 9' in study 'Ingest'; waves: 'baseline', 'post'")
    assert refused(url, write(tmp_path, "n.csv", PSS + "P001,1,1,1,1\n"), TrackerError) == (
        "n.csv: which wave? add a 'wave' column or give --wave NAME (waves: baseline, post)"
    )
    assert refused(url, write(tmp_path, "w2.csv", text), TrackerError, wave="post") == (
        "w2.csv has a 'wave' column: give either that column or --wave, not both"
    )


def test_withdrawn_participant(url, tmp_path):
    text = "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4\nW001,,1,1,1,1\nW001,2027-03-11,1,1,1,1\n"
    message = refused(
        url,
        write(
            tmp_path,
            "w.csv",
            "participant,wave,completed,pss4_1\nW001,baseline,,1\nW001,post,2027-03-11,1\n",
        ),
    )
    assert message.splitlines()[1:] == [
        "  w.csv, row 2, column 'participant': participant withdrew on 2027-03-10; only pss4 answers completed on or before that date can be imported (this row has no completion date) (value 'W001') [withdrawn_participant]",
        "  w.csv, row 3, column 'participant': participant withdrew on 2027-03-10; only pss4 answers completed on or before that date can be imported (completed 2027-03-11) (value 'W001') [withdrawn_participant]",
    ]
    # answers given before the withdrawal are data like any other
    ok = "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4\nW001,2027-03-10,1,1,1,1\n"
    assert run_import(url, write(tmp_path, "ok.csv", ok), wave="baseline").administrations_new == 1
    # and a later, cumulative file that still holds them imports cleanly
    assert run_import(
        url, write(tmp_path, "again.csv", ok.replace("2027-03-10", "")), wave="baseline"
    ).unchanged
    assert text  # the undated row alone is refused too
    refused(url, write(tmp_path, "w3.csv", text.replace("2027-03-11", "")), wave="post")


def test_redcap_rules(url, tmp_path):
    text = (
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,pss4_1,pss4_2,pss4_3,pss4_4\n"
        "P001,baseline_arm_1,,,1,1,1,1\nP001,week_12_arm_1,,,1,1,1,1\nP002,baseline_arm_1,pss4,2,1,1,1,1\n"
        "P003,screening_arm_1,,,1,1,1,1\n"
    )
    message = refused(
        url, write(tmp_path, "r.csv", text), fmt="redcap", event_map=DATA / "events.csv"
    )
    assert message.splitlines()[1:] == [
        "  r.csv, row 3, column 'redcap_event_name': REDCap event not in the event map events.csv; add a row 'event,wave' for it (an empty wave skips the event) (value 'week_12_arm_1') [unmapped_event]",
        "  r.csv, row 4, column 'redcap_repeat_instance': repeat instance other than 1: the tracker stores one administration per participant, wave and instrument; map repeated data to waves of their own (value '2') [repeat_instance]",
    ]
    assert refused(url, write(tmp_path, "r2.csv", text), TrackerError, fmt="redcap") == (
        "r2.csv has REDCap events (redcap_event_name): map them to waves with --event-map FILE (columns redcap_event_name,wave)"
    )


def test_bad_event_map(url, tmp_path):
    events = write(
        tmp_path,
        "e.csv",
        "redcap_event_name,wave\nbaseline_arm_1,baseline\nbaseline_arm_1,post\nx_arm_1,week 9\n",
    )
    message = refused(url, DATA / "redcap.csv", fmt="redcap", event_map=events)
    assert message.replace(f"{tmp_path}/", "").splitlines() == [
        "e.csv: the event map has 2 problems; nothing was written",
        "  e.csv, row 3, column 'redcap_event_name': event already mapped in row 2 (value 'baseline_arm_1') [duplicate_event]",
        "  e.csv, row 4, column 'wave': unknown wave; waves: baseline, post (value 'week 9') [unknown_wave]",
    ]


def test_qualtrics_rules(url, tmp_path):
    assert refused(url, DATA / "qualtrics.csv", TrackerError, fmt="qualtrics", wave="post") == (
        "a Qualtrics import needs --id-column NAME: the column holding the participant code (e.g. ExternalReference)"
    )
    assert refused(
        url, DATA / "qualtrics.csv", TrackerError, fmt="qualtrics", wave="post", id_column="Code"
    ) == ("qualtrics.csv: there is no 'code' column for the participant code")
    plain = write(tmp_path, "plain.csv", PSS + "P001,1,1,1,1\nP002,1,1,1,1\n")
    assert "does not look like a Qualtrics CSV export" in refused(
        url, plain, TrackerError, fmt="qualtrics", wave="post", id_column="participant"
    )
    # --id-column names the code column in every format (SPEC, second stage)
    coded = write(tmp_path, "coded.csv", "code,pss4_1,pss4_2,pss4_3,pss4_4\nP001,1,1,1,1\n")
    assert run_import(url, coded, wave="post", id_column="code").administrations_new == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "{path} is empty; expected a header row and one row per response set"),
        (
            "participant,pss4_1\nP001,caf\xe9\n".encode("latin-1"),
            "{path} is not UTF-8: byte 0xe9 on line 2 cannot be decoded (Latin-1 or Windows-1252?); save the file as 'CSV UTF-8' and import it again",
        ),
        (
            "participant,pss4_1\n".encode("utf-16"),
            "{path} is UTF-16 text, not UTF-8; save it as 'CSV UTF-8' and import it again",
        ),
        (
            b"PK\x03\x04\x00\x00binary",
            "{path} contains NUL bytes, so it is not a CSV text file (for an Excel workbook use --layout xlsx)",
        ),
        (
            b"participant;pss4_1\nP001;1\n",
            "{path}: the header is one column separated by ';'; the tracker reads comma-separated files: save it as 'CSV UTF-8 (comma delimited)'",
        ),
        (b"participant,pss4_1,pss4_2\n", "{path} holds no answers: every item cell is empty"),
        (
            b"participant,pss4_1\nP001,\nP002,  \n",
            "{path} holds no answers: every item cell is empty",
        ),
        (b"\n\nparticipant,pss4_1\n", "{path}: row 1 (the header) is empty"),
        (
            b"participant,completed\nP001,2027-03-01\n",
            "{path} has no item columns; expected columns <instrument>_<n> for the study's instruments (pss4, sleep, who5)",
        ),
        (
            b"code,pss4_1\nP001,1\n",
            "{path}: there is no 'participant' column for the participant code",
        ),
        (
            b'participant,pss4_1\nP001,"1\n',
            "{path}: row 2 cannot be read as CSV: unexpected end of data",
        ),
        (
            b'participant,pss4_1\nP001,1\nP002,"2"x\n',
            "{path}: row 3 cannot be read as CSV: ',' expected after '\"'",
        ),
    ],
    ids=[
        "empty",
        "latin1",
        "utf16",
        "binary",
        "semicolons",
        "header-only",
        "all-blank",
        "blank-header",
        "no-items",
        "no-participant",
        "open-quote",
        "bad-quote",
    ],
)
def test_unreadable_files(url, tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert refused(url, path, TrackerError, wave="baseline") == message.format(path="f.csv")


def test_bad_xlsx(url, tmp_path):
    path = write(tmp_path, "f.xlsx", "participant,pss4_1\nP001,1\n")
    assert refused(url, path, TrackerError, wave="baseline").startswith(
        "f.xlsx is not a readable .xlsx workbook ("
    )


def test_missing_file_and_unknown_format(url, tmp_path):
    (tmp_path / "sub").mkdir()
    assert refused(url, tmp_path / "nope.csv", TrackerError, wave="baseline") == (
        "cannot read nope.csv: No such file or directory"
    )
    assert (
        refused(url, tmp_path / "sub", TrackerError, wave="baseline")
        == "sub is a directory, not a file"
    )
    assert refused(url, tmp_path / "x.csv", TrackerError, fmt="sav") == (
        "unknown import format 'sav'; formats: wide, long, redcap, qualtrics, xlsx"
    )


def test_thousands_of_problems_are_counted_and_the_first_listed(url, tmp_path):
    # 400 rows x 4 cells, each cell a different non-number: nothing to group
    rows = "".join(f"P00{1 + i % 5},{i}a,{i}b,{i}c,{i}d\n" for i in range(400))
    message = refused(url, write(tmp_path, "many.csv", PSS + rows), wave="baseline")
    lines = message.splitlines()
    # 1,600 bad values + 395 duplicate administrations (5 participants, 400 rows)
    assert (
        lines[0]
        == f"many.csv: 1,995 problems (first {MAX_LISTED} lines listed); nothing was written"
    )
    assert len(lines) == MAX_LISTED + 1


def test_identical_problems_are_one_line(url, tmp_path):
    rows = "".join("P001,9,9,9,9\n" for _ in range(400))
    message = refused(url, write(tmp_path, "many.csv", PSS + rows), wave="baseline")
    lines = message.splitlines()
    # 1,600 bad values and 399 duplicates of row 2: one line each
    assert lines == [
        "many.csv: 1,999 problems; nothing was written",
        "  many.csv: '9' in 1,600 cells, rows 2–401, columns pss4_1, pss4_2, pss4_3…: out of range; "
        "pss4 items take a whole number from 0 to 4 [out_of_range]",
        "  many.csv: 'P001' in 399 cells, rows 3–401, column participant: participant P001, wave baseline, pss4 "
        "is already in row 2 [duplicate_administration]",
    ]
