"""Every import format stores exactly what the file says, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.ingest.conftest import WIDE_HEADER, counts, run_import, stored, write
from tracker.db.engine import open_session
from tracker.db.models import ImportBatch

DATA = Path(__file__).parent / "data"
WIDE = (
    WIDE_HEADER
    + "\nP001,2027-03-02,1,2,3,4,5,4,3,2,1\nP002,,0,1,,2,,,,,\nP004,2027-03-03,4,4,3,4,0,1,0,1,0\n"
)


def expect_wide(url):
    data = stored(url)
    assert set(data) == {
        ("P001", "baseline", "pss4"),
        ("P001", "baseline", "who5"),
        ("P002", "baseline", "pss4"),
        ("P004", "baseline", "pss4"),
        ("P004", "baseline", "who5"),
    }
    assert data[("P001", "baseline", "pss4")] == {
        "completed": dt.date(2027, 3, 2),
        "values": {1: 1, 2: 2, 3: 3, 4: 4},
    }
    # a missing item is stored as NULL; an all-empty block is not administered
    assert data[("P002", "baseline", "pss4")] == {
        "completed": None,
        "values": {1: 0, 2: 1, 3: None, 4: 2},
    }
    assert data[("P004", "baseline", "who5")]["values"] == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0}


@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
def test_wide_csv(url, tmp_path, bom):
    path = write(tmp_path, "baseline.csv", WIDE, bom=bom)
    result = run_import(url, path, wave="baseline")
    assert (result.format, result.rows, result.administrations_new, result.values_written) == (
        "wide",
        3,
        5,
        22,
    )
    assert result.batch_id is not None and not result.unchanged and not result.dry_run
    expect_wide(url)
    with open_session(url) as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert (batch.file_name, batch.format, batch.row_count, batch.item_count) == (
            "baseline.csv",
            "wide",
            3,
            22,
        )
        assert batch.sha256 == result.sha256 and len(batch.sha256) == 64 and batch.os_user


def test_wide_with_wave_column_crlf_and_blank_lines(url, tmp_path):
    text = "participant,wave,pss4_1,pss4_2,pss4_3,pss4_4\r\nP001,baseline,1,1,1,2\r\n\r\nP001,post,2,2,2,3\r\n,,,,,\r\n"
    result = run_import(url, write(tmp_path, "w.csv", text))
    assert result.administrations_new == 2 and result.rows == 2
    data = stored(url)
    assert data[("P001", "post", "pss4")]["values"] == {1: 2, 2: 2, 3: 2, 4: 3}


def test_wide_column_names_are_case_and_blank_insensitive(url, tmp_path):
    text = " Participant ,PSS4_1,pss4_2 ,pss4_3,pss4_4\nP001,1,2,3,4\n"
    assert run_import(url, write(tmp_path, "w.csv", text), wave="baseline").administrations_new == 1


def test_missing_item_columns_are_unanswered_with_a_warning(url, tmp_path):
    result = run_import(
        url, write(tmp_path, "w.csv", "participant,pss4_1,pss4_2\nP001,1,2\n"), wave="baseline"
    )
    assert stored(url)[("P001", "baseline", "pss4")]["values"] == {1: 1, 2: 2, 3: None, 4: None}
    assert [w.rule for w in result.warnings] == ["missing_item_columns"]
    assert (
        "2 of 4 pss4 item columns are missing (pss4_3, pss4_4); those items are stored as unanswered"
        in str(result.warnings[0])
    )


def test_per_instrument_completion_dates(url, tmp_path):
    text = (
        "participant,completed,who5_completed,pss4_1,pss4_2,pss4_3,pss4_4,who5_1,who5_2,who5_3,who5_4,who5_5\n"
        "P001,2027-03-02,2027-03-05,1,2,3,4,5,4,3,2,1\nP002,2027-03-02,,1,1,1,2,1,2,3,4,5\n"
    )
    run_import(url, write(tmp_path, "w.csv", text), wave="baseline")
    data = stored(url)
    assert data[("P001", "baseline", "pss4")]["completed"] == dt.date(2027, 3, 2)
    assert data[("P001", "baseline", "who5")]["completed"] == dt.date(2027, 3, 5)
    assert data[("P002", "baseline", "who5")]["completed"] == dt.date(2027, 3, 2)


def test_continuous_instrument_takes_fractions(url, tmp_path):
    run_import(
        url,
        write(tmp_path, "s.csv", "participant,sleep_1,sleep_2\nP001,7.5,6.25\n"),
        wave="baseline",
    )
    assert stored(url)[("P001", "baseline", "sleep")]["values"] == {1: 7.5, 2: 6.25}


def test_xlsx(url, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(WIDE_HEADER.split(","))
    ws.append(["P001", dt.date(2027, 3, 2), 1, 2, 3, 4, 5, 4, 3, 2, 1])
    ws.append(["P002", None, 0, 1.0, None, 2, None, None, None, None, None])
    ws.append([None] * 11)
    ws.append(["P004", dt.datetime(2027, 3, 3, 14, 30), 4, 4, 3, 4, 0, 1, 0, 1, 0])
    wb.create_sheet("ignored").append(["participant", "pss4_1"])
    path = tmp_path / "baseline.xlsx"
    wb.save(path)
    result = run_import(url, path, wave="baseline")  # format inferred from the extension
    assert (result.format, result.rows, result.administrations_new) == ("xlsx", 3, 5)
    expect_wide(url)
    assert stored(url)[("P004", "baseline", "pss4")]["completed"] == dt.date(2027, 3, 3)


def test_long(url, tmp_path):
    text = (
        "participant,wave,instrument,item,value,completed\n"
        "P001,baseline,pss4,1,1,2027-03-02\nP001,baseline,pss4,2,2,2027-03-02\n"
        "P001,baseline,pss4,pss4_3,3,\nP001,baseline,pss4,4,4,2027-03-02\n"
        "P002,post,who5,5,5,\nP002,post,who5,1,,\nP003,post,PSS4,1,2,\n"
    )
    result = run_import(url, write(tmp_path, "answers.csv", text), fmt="long")
    assert (result.rows, result.administrations_new, result.values_written) == (7, 3, 13)
    data = stored(url)
    assert data[("P001", "baseline", "pss4")] == {
        "completed": dt.date(2027, 3, 2),
        "values": {1: 1, 2: 2, 3: 3, 4: 4},
    }
    assert data[("P002", "post", "who5")]["values"] == {1: None, 2: None, 3: None, 4: None, 5: 5}
    assert data[("P003", "post", "pss4")]["values"] == {1: 2, 2: None, 3: None, 4: None}


def test_long_with_fixed_wave(url, tmp_path):
    text = "participant,instrument,item,value\nP001,pss4,1,1\n"
    run_import(url, write(tmp_path, "a.csv", text), fmt="long", wave="post")
    assert set(stored(url)) == {("P001", "post", "pss4")}


def test_redcap(url, tmp_path):
    result = run_import(url, DATA / "redcap.csv", fmt="redcap", event_map=DATA / "events.csv")
    assert result.administrations_new == 7
    data = stored(url)
    assert set(data) == {
        ("P001", "baseline", "pss4"),
        ("P001", "baseline", "who5"),
        ("P001", "post", "pss4"),
        ("P001", "post", "who5"),
        ("P002", "baseline", "pss4"),
        ("P004", "baseline", "pss4"),
        ("P004", "baseline", "who5"),
    }
    assert data[("P001", "post", "who5")]["values"] == {1: 4, 2: 4, 3: 5, 4: 5, 5: 5}
    # the repeating instrument's instance 1 is an ordinary administration
    assert data[("P004", "baseline", "who5")]["values"] == {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
    assert data[("P002", "baseline", "pss4")]["values"] == {1: 3, 2: None, 3: 2, 4: 2}


def test_redcap_classic_project_takes_wave(url, tmp_path):
    text = "record_id,pss4_1,pss4_2,pss4_3,pss4_4,pss4_complete\nP001,1,2,3,4,2\n"
    run_import(url, write(tmp_path, "r.csv", text), fmt="redcap", wave="post")
    assert set(stored(url)) == {("P001", "post", "pss4")}


def test_qualtrics(url, tmp_path):
    path = tmp_path / "survey.csv"
    shutil.copy(DATA / "qualtrics.csv", path)
    result = run_import(url, path, fmt="qualtrics", wave="post", id_column="ExternalReference")
    assert result.rows == 4 and result.administrations_new == 2
    assert [(w.rule, w.row, w.message) for w in result.warnings] == [
        (
            "responses_skipped",
            None,
            "1 of 4 responses skipped (1 survey preview, by Status or DistributionChannel)",
        )
    ]
    data = stored(url)
    assert data == {
        ("P001", "post", "pss4"): {
            "completed": dt.date(2027, 4, 25),
            "values": {1: 1, 2: 2, 3: 3, 4: 0},
        },
        ("P004", "post", "pss4"): {
            "completed": dt.date(2027, 4, 27),
            "values": {1: 2, 2: None, 3: 1, 4: 3},
        },
    }


def test_qualtrics_identifiers_are_never_stored(url, tmp_path):
    run_import(
        url, DATA / "qualtrics.csv", fmt="qualtrics", wave="post", id_column="ExternalReference"
    )
    from sqlalchemy import text

    with open_session(url) as s:
        for table in (
            "administration",
            "item_response",
            "import_batch",
            "audit_event",
            "participant",
        ):
            dump = repr(s.execute(text(f"SELECT * FROM {table}")).all())
            for secret in ("jane@example.org", "Jane", "Doe", "192.0.2.1", "R_1aaa"):
                assert secret not in dump


def test_dry_run_writes_nothing(url, tmp_path):
    before = counts(url)
    result = run_import(url, write(tmp_path, "b.csv", WIDE), wave="baseline", dry_run=True)
    assert result.dry_run and result.batch_id is None
    assert (result.administrations_new, result.values_written) == (5, 22)
    assert counts(url) == before
