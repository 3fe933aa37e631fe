"""tracker map draft: the command as a user runs it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import Runner

QUALTRICS = Path(__file__).parents[1] / "ingest" / "data" / "qualtrics" / "current.csv"


@pytest.fixture
def files(tmp_path) -> Runner:
    """The CLI without a database: these commands read and write files only."""
    return Runner("sqlite:///unused.db", tmp_path)


def test_draft_from_a_qualtrics_export(files, tmp_path):
    out = tmp_path / "survey.map.toml"
    r = files("map", "draft", str(QUALTRICS), "--out", str(out))
    assert r.output == (
        f"{QUALTRICS}: 21 columns, format qualtrics (current export)\n"
        "  id column: ExternalReference\n"
        "  date column: EndDate\n"
        "  items q1: 2 (Q1_1 .. Q1_2)\n"
        "  identifiers (never read): IPAddress, RecipientLastName, RecipientFirstName, RecipientEmail, "
        "LocationLatitude, LocationLongitude\n"
        "  other columns: 11\n"
        f"wrote {out}: check every guess before importing with it\n"
    )
    m = tomllib.loads(out.read_text())
    assert m["format"] == "qualtrics" and m["items"] == [
        {"instrument": "q1", "columns": ["Q1_1", "Q1_2"]}
    ]


def test_draft_from_xlsx_and_forced_format(files, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["participant", "completed", "pss10_1", "pss10_2", "pss10_3"])
    wb.active.append(["P001", "2027-03-01", 1, 2, 3])
    wb.save(tmp_path / "wide.xlsx")
    out = tmp_path / "wide.map.toml"
    r = files("map", "draft", str(tmp_path / "wide.xlsx"), "--out", str(out))
    assert "format xlsx" in r.output
    m = tomllib.loads(out.read_text())
    assert m["format"] == "xlsx" and m["items"][0] == {
        "instrument": "pss10",
        "columns": ["pss10_1", "pss10_2", "pss10_3"],
    }
    csv = tmp_path / "e.csv"
    csv.write_text("record_id,pss_1,pss_2\n1,2,3\n")
    files("map", "draft", str(csv), "--format", "wide", "--out", str(tmp_path / "e.map.toml"))
    assert tomllib.loads((tmp_path / "e.map.toml").read_text())["format"] == "wide"


def test_refusals(files, tmp_path):
    out = tmp_path / "m.toml"
    out.write_text("# mine\n")
    r = files("map", "draft", str(QUALTRICS), "--out", str(out), expect=1)
    assert r.output == (
        f"Error: {out} already exists; move it away or choose another --out (a drafted map is meant "
        "to be edited, so it is never overwritten)\n"
    )
    assert out.read_text() == "# mine\n"
    r = files(
        "map", "draft", str(tmp_path / "none.csv"), "--out", str(tmp_path / "n.toml"), expect=1
    )
    assert r.output == f"Error: file '{tmp_path / 'none.csv'}' does not exist\n"
    r = files("map", "draft", str(QUALTRICS), "--out", str(tmp_path / "no" / "m.toml"), expect=1)
    assert (
        r.output == f"Error: cannot write {tmp_path / 'no' / 'm.toml'}: the folder does not exist\n"
    )
    r = files(
        "map",
        "draft",
        str(QUALTRICS),
        "--format",
        "sav",
        "--out",
        str(tmp_path / "x.toml"),
        expect=2,
    )
    assert "Invalid value for '--format'" in r.output
