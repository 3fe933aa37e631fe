"""An input file's layout is --layout; --format is only ever the output format (issue 15).

`--format` on `import responses` and `map draft` (its name before) is a hidden
alias that keeps old scripts working; given with --layout, the two must agree.
"""

from __future__ import annotations

import tomllib

from tests.factories import build_study
from tracker.db.engine import open_session

LONG = "participant,wave,instrument,item,value\nN001,baseline,who5,1,3\n"


def test_import_layout_and_its_old_name(tracker):
    with open_session(tracker.url) as s:
        build_study(s, n_per_arm=2)
        s.commit()
    tracker("participant", "add", "N001", "--cohort", "intervention cohort")
    (tracker.cwd / "long.csv").write_text(LONG, encoding="utf-8")
    new = tracker("import", "responses", "long.csv", "--layout", "long", "--dry-run").output
    assert new.startswith("Dry run: long.csv (long, 1 row) is valid.")
    assert tracker("import", "responses", "long.csv", "--format", "long", "--dry-run").output == new
    assert (
        tracker(
            "import", "responses", "long.csv", "--layout", "long", "--format", "long", "--dry-run"
        ).output
        == new
    )
    r = tracker("import", "responses", "long.csv", "--layout", "long", "--format", "wide", expect=2)
    assert "Error: --layout long and --format wide disagree: give --layout only" in r.output
    r = tracker("import", "responses", "long.csv", "--layout", "csv", expect=2)
    assert "'csv' is not one of 'wide', 'long', 'redcap', 'qualtrics', 'xlsx'" in r.output
    help_text = tracker("import", "responses", "--help", db=False).output
    assert (
        "--layout [wide|long|redcap|qualtrics|xlsx]" in help_text and "--format [" not in help_text
    )


def test_map_draft_layout_and_its_old_name(tmp_path, tracker):
    csv = tmp_path / "e.csv"
    csv.write_text("record_id,pss_1,pss_2\n1,2,3\n", encoding="utf-8")
    for i, flag in enumerate(("--layout", "--format")):
        out = tmp_path / f"e{i}.map.toml"
        tracker("map", "draft", str(csv), flag, "long", "--out", str(out), db=False)
        assert tomllib.loads(out.read_text(encoding="utf-8"))["format"] == "long"
