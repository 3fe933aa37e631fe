"""Issue 13: imports that lost, blanked or half-wrote data without a word.

Each test here failed on the code before the fix: a stale xlsx dimension
tag, a formula without a saved value, a long-format correction, problems
reported in stages, a device as input, an impossible time, a full disk.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import pytest

from tests.ingest.conftest import counts, run_import, stored, write
from tracker.db.engine import open_session
from tracker.errors import TrackerError, ValidationError

PSS = "participant,pss4_1,pss4_2,pss4_3,pss4_4\n"


def refused(url, path, error=ValidationError, **kwargs) -> str:
    before = counts(url)
    with pytest.raises(error) as info:
        run_import(url, path, **kwargs)
    assert counts(url) == before, "a refused import wrote something"
    return str(info.value).replace(f"{Path(path).parent}/", "")


def workbook(path: Path, rows: list[list], *, dimension: str | None = None) -> Path:
    """An .xlsx written by openpyxl; ``dimension`` replaces the sheet's ``<dimension ref>`` tag."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    if dimension is not None:
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        xml = members["xl/worksheets/sheet1.xml"].decode()
        xml, n = re.subn(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', xml)
        assert n == 1
        members["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
    return path


HEADER = ["participant", "pss4_1", "pss4_2", "pss4_3", "pss4_4"]
ROWS = [["P001", 1, 2, 3, 4], ["P002", 0, 1, 2, 3], ["P003", 4, 4, 3, 2]]


def _values(url, code):
    return stored(url)[(code, "baseline", "pss4")]["values"]


# -- 2. a stale <dimension ref> ---------------------------------------------------------


def test_xlsx_with_a_stale_dimension_tag_imports_every_row(url, tmp_path):
    path = workbook(tmp_path / "short.xlsx", [HEADER, *ROWS], dimension="A1:E2")
    result = run_import(url, path, wave="baseline")
    assert (result.rows, result.administrations_new) == (3, 3)
    for code, *values in ROWS:
        assert _values(url, code) == dict(enumerate(map(float, values), start=1))


def test_xlsx_with_a_stale_dimension_tag_imports_every_column(url, tmp_path):
    path = workbook(tmp_path / "narrow.xlsx", [HEADER, *ROWS], dimension="A1:C4")
    run_import(url, path, wave="baseline")
    assert _values(url, "P003") == {1: 4.0, 2: 4.0, 3: 3.0, 4: 2.0}
    # and again with --update: nothing blanked, nothing to change
    again = run_import(url, path, wave="baseline", update=True)
    assert again.unchanged and _values(url, "P003") == {1: 4.0, 2: 4.0, 3: 3.0, 4: 2.0}


# -- 3. a formula without a saved value ------------------------------------------------------


def test_xlsx_formula_without_a_saved_value_is_refused_naming_the_cell(url, tmp_path):
    path = workbook(
        tmp_path / "f.xlsx", [HEADER, ["P001", 1, "=1+1", 3, 4], ["P002", 0, 1, 2, "=B3*2"]]
    )
    message = refused(url, path, wave="baseline")
    advice = (
        "holds a formula with no saved value, so there is nothing to import; open the workbook in Excel or "
        "LibreOffice and save it (that stores the values), or paste values over the formulas"
    )
    assert message.splitlines() == [
        "f.xlsx: 2 problems; nothing was written",
        f"  f.xlsx, row 2, column 'pss4_2': cell C2 {advice} (value '=1+1') [formula_without_value]",
        f"  f.xlsx, row 3, column 'pss4_4': cell E3 {advice} (value '=B3*2') [formula_without_value]",
    ]


def test_xlsx_formula_with_a_saved_value_imports_the_value(url, tmp_path):
    path = workbook(tmp_path / "saved.xlsx", [HEADER, ["P001", 1, "=1+1", 3, 4]])
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    assert "<f>1+1</f><v />" in sheet  # as openpyxl writes it: no value
    members["xl/worksheets/sheet1.xml"] = sheet.replace(
        "<f>1+1</f><v />", "<f>1+1</f><v>2</v>"
    ).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    run_import(url, path, wave="baseline")
    assert _values(url, "P001") == {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}


# -- 4. a long-format correction -------------------------------------------------------------

LONG = "participant,wave,instrument,item,value\n"


def test_long_correction_changes_only_the_items_it_names(url, tmp_path):
    run_import(url, write(tmp_path, "w.csv", PSS + "P001,1,1,1,1\n"), wave="baseline")
    result = run_import(
        url, write(tmp_path, "fix.csv", LONG + "P001,baseline,pss4,2,0\n"), fmt="long", update=True
    )
    assert result.changes == [("P001", "baseline", "pss4", 2, 1, 0)]
    assert _values(url, "P001") == {1: 1.0, 2: 0.0, 3: 1.0, 4: 1.0}


def test_long_correction_without_update_lists_only_that_item(url, tmp_path):
    run_import(url, write(tmp_path, "w.csv", PSS + "P001,1,1,1,1\n"), wave="baseline")
    message = refused(
        url, write(tmp_path, "fix.csv", LONG + "P001,baseline,pss4,2,0\n"), fmt="long"
    )
    assert message.splitlines() == [
        "fix.csv: 1 stored value would change; nothing was written; import with --update to apply the changes",
        "  fix.csv, row 2, column 'value': participant P001, wave baseline, pss4 item 2: stored 1 -> 0 "
        "(value 0) [changed_value]",
    ]


def test_long_explicit_empty_value_clears_a_stored_answer(url, tmp_path):
    run_import(url, write(tmp_path, "w.csv", PSS + "P001,1,1,1,1\n"), wave="baseline")
    result = run_import(
        url, write(tmp_path, "clear.csv", LONG + "P001,baseline,pss4,3,\n"), fmt="long", update=True
    )
    assert result.changes == [("P001", "baseline", "pss4", 3, 1, None)]
    assert _values(url, "P001") == {1: 1.0, 2: 1.0, 3: None, 4: 1.0}


def test_long_rows_that_only_clear_create_no_administration(url, tmp_path):
    result = run_import(
        url,
        write(tmp_path, "c.csv", LONG + "P002,baseline,pss4,3,\nP001,baseline,pss4,1,2\n"),
        fmt="long",
    )
    assert result.administrations_new == 1
    assert set(stored(url)) == {("P001", "baseline", "pss4")}


def test_wide_file_lacking_an_item_column_leaves_the_stored_item(url, tmp_path):
    run_import(url, write(tmp_path, "w.csv", PSS + "P001,1,1,1,1\n"), wave="baseline")
    result = run_import(
        url,
        write(tmp_path, "three.csv", "participant,pss4_1,pss4_2,pss4_3\nP001,1,2,1\n"),
        wave="baseline",
        update=True,
    )
    assert result.changes == [("P001", "baseline", "pss4", 2, 1, 2)]
    assert _values(url, "P001") == {1: 1.0, 2: 2.0, 3: 1.0, 4: 1.0}


# -- 8. every problem at once ------------------------------------------------------------------


def test_every_kind_of_problem_in_one_refusal(url, tmp_path):
    run_import(url, write(tmp_path, "first.csv", PSS + "P004,1,1,1,1\n"), wave="baseline")
    text = (
        PSS + "P999,1,1,1,1\n"  # unknown participant
        "P001,7,1,1,1\n"  # out of range
        "P002,x,1,1,1\n"  # not a number
        "P003,1,1,1,1\nP003,1,1,1,1\n"  # duplicate
        "W001,1,1,1,1\n"  # withdrawn (no completion date)
        "P004,2,1,1,1\n"
    )  # changes a stored value
    message = refused(url, write(tmp_path, "all.csv", text), wave="baseline")
    assert message.splitlines() == [
        "all.csv: 6 problems; nothing was written; 1 of them is a stored value that would change "
        "(import with --update to apply changes)",
        "  all.csv, row 2, column 'participant': unknown participant; enrol it first (tracker participant add "
        "CODE --cohort NAME) (value 'P999') [unknown_participant]",
        "  all.csv, row 3, column 'pss4_1': out of range; pss4 items take a whole number from 0 to 4 "
        "(value '7') [out_of_range]",
        "  all.csv, row 4, column 'pss4_1': not a number; pss4 items take a whole number from 0 to 4 "
        "(value 'x') [not_a_number]",
        "  all.csv, row 6, column 'participant': participant P003, wave baseline, pss4 is already in row 5 "
        "(value 'P003') [duplicate_administration]",
        "  all.csv, row 7, column 'participant': participant withdrew on 2027-03-10; only pss4 answers completed "
        "on or before that date can be imported (this row has no completion date) (value 'W001') "
        "[withdrawn_participant]",
        "  all.csv, row 8, column 'pss4_1': participant P004, wave baseline, pss4 item 1: stored 1 -> 2 "
        "(value 2) [changed_value]",
    ]


def test_a_bad_cell_is_not_reported_as_a_change(url, tmp_path):
    run_import(url, write(tmp_path, "first.csv", PSS + "P001,1,1,1,1\n"), wave="baseline")
    message = refused(
        url, write(tmp_path, "bad.csv", PSS + "P001,x,1,1,1\n"), wave="baseline", update=True
    )
    assert "changed_value" not in message and "[not_a_number]" in message


def test_problems_file_lists_every_problem_formula_safe(cli, tmp_path):
    rows = "".join("P001,=1+2,1,1,1\n" for _ in range(5)) + "P999,1,1,1,1\n"
    path = write(tmp_path, "bad.csv", PSS + rows)
    out = tmp_path / "problems.csv"
    result = cli("import", "responses", path, "--wave", "baseline", "--problems", out, expect=1)
    lines = result.output.splitlines()
    assert lines[0] == f"Error: {path}: 10 problems; nothing was written"
    assert lines[1] == f"(all 10 problems written to {out})"
    assert lines[2] == (
        f"  {path}: '=1+2' in 5 cells, rows 2–6, column pss4_1: not a number; pss4 items take a "
        "whole number from 0 to 4 [not_a_number]"
    )
    with out.open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["file", "row", "column", "value", "rule", "message"]
    assert len(table) == 1 + 10
    assert table[1] == [
        str(path),
        "2",
        "pss4_1",
        "'=1+2",
        "not_a_number",
        "not a number; pss4 items take a whole number from 0 to 4",
    ]
    assert sum(r[4] == "duplicate_administration" for r in table) == 4
    assert table[-1][1:5] == ["7", "participant", "P999", "unknown_participant"]


def test_problems_file_after_a_successful_import_holds_the_warnings(cli, tmp_path):
    path = write(tmp_path, "ok.csv", PSS + "P001,2,2,2,2\n")
    out = tmp_path / "warnings.csv"
    cli("import", "responses", path, "--wave", "baseline", "--problems", out)
    with out.open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert [r[4] for r in table[1:]] == ["straight_lining"]


# -- 11. not a file; impossible times; a full disk --------------------------------------------


def test_a_device_is_refused_without_reading_it(url):  # "refused" strips the folder: /dev/
    assert refused(url, Path("/dev/zero"), TrackerError, wave="baseline") == (
        "zero is a device, not a regular file; save the data to a file and import that"
    )


def test_a_named_pipe_is_refused(url, tmp_path):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert refused(url, fifo, TrackerError, wave="baseline") == (
        "pipe.csv is a named pipe, not a regular file; save the data to a file and import that"
    )


@pytest.mark.parametrize(
    "when",
    ["2027-03-01 25:00", "2027-03-01 12:60", "2027-03-01T10:00:61", "2027-03-01 10:00+25:00"],
)
def test_impossible_completion_times_are_refused(url, tmp_path, when):
    message = refused(
        url,
        write(tmp_path, "t.csv", "participant,completed,pss4_1\nP001," + when + ",1\n"),
        wave="baseline",
    )
    assert message.splitlines()[1] == (
        "  t.csv, row 2, column 'completed': completion date is not a real time of day (hours 0-23, minutes and "
        f"seconds 0-59) (value '{when}') [invalid_date]"
    )


def test_possible_completion_times_give_their_date(url, tmp_path):
    run_import(
        url,
        write(
            tmp_path,
            "t.csv",
            "participant,completed,pss4_1\nP001,2027-03-01 23:59:59,1\nP002,2027-03-02T00:00,1\n",
        ),
        wave="baseline",
    )
    got = {k[0]: v["completed"].isoformat() for k, v in stored(url).items()}
    assert got == {"P001": "2027-03-01", "P002": "2027-03-02"}


def test_a_full_disk_is_a_clear_error_and_nothing_is_written(url, tmp_path, monkeypatch):
    from tracker.ingest import import_responses
    from tracker.study.participants import add_participant
    from tracker.study.studies import resolve_study

    with open_session(url) as s:  # enough answers to need new pages
        study = resolve_study(s, None)
        for i in range(300):
            add_participant(s, study, f"F{i:03d}", cohort="A")
        s.commit()
    header = "participant,wave," + ",".join(
        [f"pss4_{k}" for k in range(1, 5)] + [f"who5_{k}" for k in range(1, 6)]
    )
    rows = "".join(
        f"F{p:03d},{w}," + ",".join(str((p + k) % 5) for k in range(9)) + "\n"
        for p in range(300)
        for w in ("baseline", "post")
    )
    path = write(tmp_path, "big.csv", header + "\n" + rows)
    before = counts(url)
    session = open_session(url)
    try:
        if session.bind.dialect.name == "postgresql":
            import psycopg

            def full(*args, **kwargs):
                raise psycopg.errors.DiskFull(
                    'could not extend file "base/16384/16999": No space left on device'
                )

            monkeypatch.setattr("tracker.ingest.writer._insert_items", full)
        else:  # SQLite's own "database or disk is full": no page may be added
            pages = session.connection().exec_driver_sql("PRAGMA page_count").scalar()
            session.connection().exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(TrackerError) as info:
            import_responses(session, None, path)
        session.rollback()
    finally:
        session.close()
    message = str(info.value)
    assert message.startswith("the database could not be written (")
    assert message.endswith(
        "); nothing was written. Free disk space (or fix what the message says) and import again"
    )
    assert "database or disk is full" in message or "No space left on device" in message
    assert counts(url) == before
