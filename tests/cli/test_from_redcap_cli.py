"""tracker instrument from-redcap: the command as a user runs it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import Runner

DICTIONARY = Path(__file__).parents[1] / "instruments" / "data" / "dictionary.csv"


@pytest.fixture
def files(tmp_path) -> Runner:
    """The CLI without a database: these commands read and write files only."""
    return Runner("sqlite:///unused.db", tmp_path)


def test_writes_instrument_and_map_and_lists_what_was_left_out(files, tmp_path):
    out = tmp_path / "instruments"
    r = files(
        "instrument",
        "from-redcap",
        str(DICTIONARY),
        "--form",
        "wellbeing",
        "--code",
        "wb",
        "--out",
        str(out),
    )
    assert r.output.splitlines()[:9] == [
        "form wellbeing: 7 items -> instrument wb",
        "    1  wb_sleep  text  0-24",
        "    2  wb_vas  slider  0-100",
        "    3  wb_yes  yesno  0-1",
        "    4  wb_tf  truefalse  0-1",
        "    5  wb_drink  radio  0, 2, 4",
        "    6  wb_often  radio  0, 3, 4",
        "    7  wb_hours  text  0-12.5",
        "left out (6):",
    ]
    assert "  wb_phone  text: identifier (Identifier? = y): never read\n" in r.output
    assert "identifiers (never read by the import): first_name, email, dob, wb_phone\n" in r.output
    assert f"wrote {out / 'wb.toml'}\nwrote {out / 'wb.map.toml'}\n" in r.output
    definition = tomllib.loads((out / "wb.toml").read_text())
    assert (
        definition["items"] == 7 and definition["scoring"] == "sum" and definition["reverse"] == []
    )
    assert {"items": [5], "min": 0, "max": 4, "values": [0, 2, 4]} in definition["item_ranges"]
    m = tomllib.loads((out / "wb.map.toml").read_text())
    assert m["format"] == "redcap" and m["items"][0]["completed"] == "wellbeing_timestamp"


def test_generated_instrument_can_be_added(tracker, tmp_path):
    tracker("init", "--study", "S")
    tracker(
        "instrument",
        "from-redcap",
        str(DICTIONARY),
        "--form",
        "pss",
        "--out",
        str(tmp_path),
        db=False,
    )
    r = tracker("instrument", "add", str(tmp_path / "pss.toml"))
    assert r.output.startswith("pss (version 1, sha256 ") and r.output.endswith(": added\n")


def test_refuses_to_overwrite_and_bad_targets(files, tmp_path):
    args = ("instrument", "from-redcap", str(DICTIONARY), "--form", "pss", "--out")
    files(*args, str(tmp_path))
    (tmp_path / "pss.toml").write_text("# edited by hand\n")
    r = files(*args, str(tmp_path), expect=1)
    assert r.output == (
        f"Error: {tmp_path / 'pss.toml'} and {tmp_path / 'pss.map.toml'} already exist; move them away "
        "or choose another --out (generated files are never overwritten)\n"
    )
    assert (tmp_path / "pss.toml").read_text() == "# edited by hand\n"
    r = files(*args, str(tmp_path / "no" / "such"), expect=1)
    assert (
        r.output == f"Error: cannot write {tmp_path / 'no' / 'such'}: the folder does not exist\n"
    )
    r = files(
        "instrument",
        "from-redcap",
        str(DICTIONARY),
        "--form",
        "nope",
        "--out",
        str(tmp_path),
        expect=1,
    )
    assert r.output == (
        f"Error: {DICTIONARY} has no form 'nope'. Its forms: enrollment, pss, wellbeing\n"
    )
    r = files(
        "instrument",
        "from-redcap",
        str(tmp_path / "missing.csv"),
        "--form",
        "pss",
        "--out",
        str(tmp_path),
        expect=1,
    )
    assert r.output == f"Error: data dictionary '{tmp_path / 'missing.csv'}' does not exist\n"
