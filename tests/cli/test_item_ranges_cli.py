"""Per-item ranges end to end: add an instrument with [[item_ranges]], show it, import into it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.db.engine import open_session
from tracker.db.models import InstrumentVersion

AUDIT = """code = "audit"
name = "AUDIT-shaped"
items = 10
min = 0
max = 4
scoring = "sum"
higher_is_better = false

[[item_ranges]]
items = [9, 10]
min = 0
max = 4
values = [0, 2, 4]
"""

HEADER = "participant,completed," + ",".join(f"audit_{i}" for i in range(1, 11))


@pytest.fixture
def study(tracker, tmp_path):
    (tmp_path / "audit.toml").write_text(AUDIT)
    tracker("init", "--study", "S")
    tracker("wave", "add", "baseline", "--day", "0")
    tracker("cohort", "add", "A", "--arm", "intervention", "--start", "2027-03-01")
    tracker("participant", "add", "P001", "--cohort", "A")
    tracker("participant", "add", "P002", "--cohort", "A")
    tracker("instrument", "add", str(tmp_path / "audit.toml"))
    return tracker


def test_show_lists_the_item_range_and_the_snapshot_keeps_it(study):
    shown = study("instrument", "show", "audit").output
    assert "  item range   items 9, 10: 0-4, values 0, 2, 4\n" in shown
    listing = study("instrument", "list").output
    assert "0-4 (own ranges for some items)" in listing
    with open_session(study.url) as s:
        stored = s.scalars(select(InstrumentVersion)).one()
        assert stored.definition["item_ranges"] == [
            {"items": [9, 10], "min": 0, "max": 4, "values": [0, 2, 4]}
        ]


def test_import_checks_each_cell_against_its_items_range(study, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "\n"
        "P001,2027-03-02,3,3,3,3,3,3,3,3,3,2\n"  # item 9 = 3: allowed for items 1-8 only
        "P002,2027-03-02,4,4,4,4,4,4,4,4,4,1\n"  # item 10 = 1
    )
    r = study("import", "responses", str(bad), "--wave", "baseline", expect=1)
    assert (
        "row 2, column 'audit_9': not one of the allowed values; audit item 9 takes 0, 2 or 4 (value '3')"
        in r.output
    )
    assert (
        "row 3, column 'audit_10': not one of the allowed values; audit item 10 takes 0, 2 or 4 (value '1')"
        in r.output
    )
    assert "audit_1'" not in r.output  # 3 and 4 are fine on items 1-8

    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\nP001,2027-03-02,3,3,3,3,3,3,3,3,2,4\n")
    study("import", "responses", str(good), "--wave", "baseline")
    study("export", "scores", "--layout", "long", "--out", str(tmp_path / "s.csv"))
    lines = (tmp_path / "s.csv").read_text().splitlines()
    # the SPEC's columns first (the analyst columns that follow are tested with the exports)
    assert lines[0].startswith("participant,cohort,arm,wave,measure,score,items_answered,prorated,")
    assert lines[1].split(",")[:8] == "P001,A,intervention,baseline,audit,30.0,10,False".split(
        ","
    )  # 8x3 + 2 + 4


def test_long_import_uses_the_item_of_each_row(study, tmp_path):
    long = tmp_path / "long.csv"
    long.write_text(
        "participant,wave,instrument,item,value\nP001,baseline,audit,1,3\nP001,baseline,audit,9,3\n"
    )
    r = study("import", "responses", str(long), "--format", "long", expect=1)
    assert (
        "row 3, column 'value': not one of the allowed values; audit item 9 takes 0, 2 or 4"
        in r.output
    )
    assert "row 2" not in r.output


def test_a_file_with_some_item_columns_checks_each_against_its_own_item(study, tmp_path):
    part = tmp_path / "part.csv"
    part.write_text(
        "participant,completed,audit_9,audit_1\nP001,2027-03-02,3,3\n"
    )  # item 9 first, items 2-8 absent
    r = study("import", "responses", str(part), "--wave", "baseline", "--dry-run", expect=1)
    assert (
        "row 2, column 'audit_9': not one of the allowed values; audit item 9 takes 0, 2 or 4 (value '3')"
        in r.output
    )
    assert "'audit_1'" not in r.output
