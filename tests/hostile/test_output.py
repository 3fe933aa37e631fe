"""Issue 13 item 11: names are printed safely.

Terminal control characters in names (ESC starts sequences that recolour the
terminal, clear it or retitle the window; U+202E reverses the text after it)
are shown as visible escapes in every table and line; CSV printed to stdout
neutralises formula-leading text cells as exported files do, and leaves
numbers alone.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.hostile.helpers import assert_error, run

ESC_ARM = "\x1b[31mred\x1b[0m\u202eflipped"
FORMULA_ARM = '=HYPERLINK("http://x.example","open")'
RAW = ("\x1b", "\u202e", "\x07", "\u2066")


def assert_escaped(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} printed"


@pytest.fixture
def hostile(db_url):
    """A study whose two arms (and so cohorts and participant codes) carry hostile text."""
    from tests.factories import build_study
    from tracker.db.engine import make_engine

    engine = make_engine(db_url)
    with Session(engine) as session:
        build_study(session, n_per_arm=6)
        # as a study file or a typo would have them (codes are checked; names and arms are free text)
        for old, arm in (("intervention", FORMULA_ARM), ("control", ESC_ARM)):
            session.execute(
                text("UPDATE cohort SET arm = :arm, name = :name WHERE arm = :old"),
                {"arm": arm, "name": f"{arm} cohort", "old": old},
            )
        session.execute(
            text("UPDATE participant SET role = :role"), {"role": "PGY-1\x1b[8m hidden"}
        )
        session.commit()
    engine.dispose()
    return db_url


@pytest.mark.parametrize(
    "argv", [["cohort", "list"], ["participant", "list"], ["status"], ["study", "show"]]
)
def test_tables_show_control_characters_as_escapes(hostile, argv):
    result = run(["--db", hostile, *argv])
    assert result.exit_code == 0, result.output
    assert_escaped(result.output)
    assert "\\x1b[31mred\\x1b[0m\\u202eflipped" in result.output or "\\x1b[8m" in result.output


def test_cohort_list_shows_the_escaped_name_aligned(hostile):
    lines = run(["--db", hostile, "cohort", "list"]).output.splitlines()
    row = next(line for line in lines if line.startswith("\\x1b"))
    assert row.startswith("\\x1b[31mred\\x1b[0m\\u202eflipped cohort")
    header = lines[0]
    assert row.index("\\x1b[31mred", 0) == header.index("name")


def test_participant_list_escapes_cohorts_and_roles(hostile):
    out = run(["--db", hostile, "participant", "list"]).output
    assert_escaped(out)
    assert "PGY-1\\x1b[8m hidden" in out
    assert "\\x1b[31mred\\x1b[0m\\u202eflipped cohort" in out


def test_study_show_escapes_the_studys_own_name(tmp_path):
    db = str(tmp_path / "s.db")
    name = "Wellbeing\x1b]0;pwned\x07\u202e2027"
    assert run(["--db", db, "init", "--study", name]).exit_code == 0
    out = run(["--db", db, "study", "show"]).output
    assert out.splitlines()[0] == "Study: Wellbeing\\x1b]0;pwned\\x07\\u202e2027"
    assert_escaped(out)
    assert_escaped(run(["--db", db, "study", "list"]).output)


def test_error_messages_escape_the_name_they_quote(hostile):
    argv = ["--db", hostile, "participant", "withdraw", "\x1b[2JR999", "--reason", "left"]
    result = run(argv)
    assert_error(result, argv)
    assert_escaped(result.output)
    assert "\\x1b[2JR999" in result.stderr


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_analyze_csv_neutralises_formula_cells(hostile):
    result = run(
        [
            "--db",
            hostile,
            "analyze",
            "change",
            "--from",
            "baseline",
            "--to",
            "post",
            "--by",
            "arm",
            "--format",
            "csv",
        ]
    )
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    groups = {r["group"] for r in rows}
    assert "'" + FORMULA_ARM in groups
    assert FORMULA_ARM not in groups
    assert "\\x1b[31mred\\x1b[0m\\u202eflipped" in groups
    assert_escaped(result.stdout)
    diffs = [float(r["mean_diff"]) for r in rows if r["mean_diff"]]
    assert any(d < 0 for d in diffs), "negative numbers stay numbers"
    assert not any(r["mean_diff"].startswith("'") for r in rows)


def test_list_csv_neutralises_and_keeps_negative_numbers(hostile):
    assert run(["--db", hostile, "wave", "add", "pre", "--day", "-7"]).exit_code == 0
    waves = read_csv(run(["--db", hostile, "wave", "list", "--format", "csv"]).stdout)
    assert {r["day"] for r in waves if r["name"] == "pre"} == {"-7"}
    cohorts = read_csv(run(["--db", hostile, "cohort", "list", "--format", "csv"]).stdout)
    assert {r["arm"] for r in cohorts} == {"'" + FORMULA_ARM, "\\x1b[31mred\\x1b[0m\\u202eflipped"}
    participants = read_csv(run(["--db", hostile, "participant", "list", "--format", "csv"]).stdout)
    assert "'" + FORMULA_ARM + " cohort" in {r["cohort"] for r in participants}


def test_json_output_escapes_control_characters(hostile):
    out = run(["--db", hostile, "cohort", "list", "--format", "json"]).stdout
    assert_escaped(out)
    assert {r["arm"] for r in json.loads(out)} == {
        FORMULA_ARM,
        ESC_ARM,
    }  # JSON keeps the data exact


def test_the_cli_and_the_exports_neutralise_alike():
    from tracker.cli.common import FORMULA_PREFIXES, neutralise
    from tracker.datasets.export import FORMULA_PREFIXES as EXPORT_PREFIXES
    from tracker.datasets.export import neutralise as export_neutralise

    assert FORMULA_PREFIXES == EXPORT_PREFIXES
    for value in ["=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "plain", "", -3.5, 7, None]:
        assert neutralise(value) == export_neutralise(value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain ascii", "plain ascii"),
        ("Zürich 東京 🙂", "Zürich 東京 🙂"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("tab\there", "tab\\x09here"),
        ("line\nbreak", "line\\x0abreak"),
        ("\u202eabc\u2066", "\\u202eabc\\u2066"),
        ("c1\x9bcontrol\x7f", "c1\\x9bcontrol\\x7f"),
        ("sep\u2028x", "sep\\u2028x"),
    ],
)
def test_visible(text, shown):
    from tracker.cli.common import visible

    assert visible(text) == shown


def test_visible_keeps_the_lines_of_a_message():
    from tracker.cli.common import visible

    assert (
        visible("2 problems\n  row 3: \x1b[31m", keep_newlines=True)
        == "2 problems\n  row 3: \\x1b[31m"
    )


def test_init_details_and_instrument_show_escape_names_from_files(tmp_path):
    from importlib import resources

    own = (resources.files("tracker.demo") / "confidence_calm_care.toml").read_text(
        encoding="utf-8"
    )
    hostile_name = 'name = "Confidence\\u001b[2J\\u202e (study-defined)"'
    own = "\n".join(
        hostile_name if line.startswith("name = ") else line for line in own.splitlines()
    )
    (tmp_path / "own.toml").write_text(own, encoding="utf-8")
    (tmp_path / "study.toml").write_text(
        '[study]\nname = "S"\ninstruments = ["own.toml"]\n\n'
        '[[cohorts]]\nname = "Spring\\u001b[31m"\narm = "intervention\\u202e"\n',
        encoding="utf-8",
    )
    db = str(tmp_path / "s.db")
    init = run(["--db", db, "init", "--from", str(tmp_path / "study.toml")])
    assert init.exit_code == 0, init.output
    assert_escaped(init.output)
    assert "  cohorts: Spring\\x1b[31m (intervention\\u202e)" in init.output.splitlines()
    show = run(["--db", db, "instrument", "show", "confidence_calm_care"])
    assert show.exit_code == 0, show.output
    assert_escaped(show.output)
    assert "Confidence\\x1b[2J\\u202e (study-defined)" in show.output
