"""``study.toml``: every problem of the file in one pass, each naming the file, the field and the rule."""

from __future__ import annotations

import textwrap

import pytest
from sqlalchemy import func, select

from tracker.db.engine import open_session
from tracker.db.models import Cohort, Study, Wave
from tracker.errors import ValidationError
from tracker.study.studyfile import load_study_file

THREE_MISTAKES = """
    [study]
    name = "Three mistakes"
    instrumnets = ["pss10"]

    [[waves]]
    name = "baseline"
    day = "zero"

    [[cohorts]]
    name = "A"
    arm = "control"
    start = "2027-02-30"
"""


def _write(tmp_path, text: str, name: str = "study.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_three_mistakes_are_all_reported(tmp_path):
    path = _write(tmp_path, THREE_MISTAKES)
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    err = info.value
    assert [(p.file, p.rule) for p in err.problems] == [
        (str(path), "unknown_key"),
        (str(path), "wrong_type"),
        (str(path), "invalid_date"),
    ]
    assert err.summary == f"{path}: invalid study file (3 problems); nothing was written"
    assert str(err).splitlines() == [
        err.summary,
        f"  {path}: study.instrumnets: unknown field; allowed: description, instruments, name, roster; "
        "did you mean 'instruments'? [unknown_key]",
        f"  {path}: waves[0].day: must be a whole number of days, not 'zero' [wrong_type]",
        f"  {path}: cohorts[0].start: start date '2027-02-30' is not a real calendar date [invalid_date]",
    ]


def test_three_mistakes_from_the_cli_write_nothing(tracker_empty, tmp_path):
    path = _write(tmp_path, THREE_MISTAKES)
    r = tracker_empty("init", "--from", str(path), expect=1)
    assert r.output.startswith(
        f"Error: {path}: invalid study file (3 problems); nothing was written\n"
    )
    for part in (
        "study.instrumnets: unknown field",
        "waves[0].day: must be a whole number of days",
        "cohorts[0].start: start date '2027-02-30' is not a real calendar date",
    ):
        assert part in r.output
    # refused before the database is touched: an empty database stays without tables
    tracker_empty("init", "--study", "After")
    with open_session(tracker_empty.url) as s:
        assert s.scalar(select(func.count()).select_from(Study)) == 1
        assert s.scalar(select(func.count()).select_from(Wave)) == 0
        assert s.scalar(select(func.count()).select_from(Cohort)) == 0


def test_one_mistake_is_one_line(tmp_path):
    path = _write(tmp_path, '[study]\nname = "x"\n[[waves]]\nname = "b"\n')
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    assert str(info.value) == f"{path}: waves[0].day: required field is missing"
    assert [p.rule for p in info.value.problems] == ["missing_key"]


def test_problems_in_every_table_and_in_an_instrument_file(tmp_path):
    _write(
        tmp_path,
        'code = "mine"\nname = "Mine"\nitems = 3\nmin = 0\nmax = 4\nscoring = "sum"\n'
        "higher_is_better = true\nreverse = [4]\n",
        "mine.toml",
    )
    path = _write(
        tmp_path,
        """
        wave = 1

        [study]
        name = ""
        instruments = ["pss10", "pss11", "mine.toml", 3]

        [[waves]]
        name = "baseline"
        day = 0
        window = true

        [[cohorts]]
        arm = "c"
        description = "ask jo@example.org"

        [model]
        outcome = ["who5"]
        primary = ["pss10"]
    """,
    )
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    got = [(p.file, p.message.split(":")[0], p.rule) for p in info.value.problems]
    here = str(path)
    assert got == [
        (here, "(top level).wave", "unknown_key"),
        (here, "study.name", "empty"),
        (here, "study.instruments[3]", "wrong_type"),
        (here, "study.instruments[1]", "unknown_instrument"),
        (str(tmp_path / "mine.toml"), "field 'reverse'", "item_out_of_range"),
        (here, "waves[0].window", "wrong_type"),
        (here, "cohorts[0].name", "missing_key"),
        (here, "cohorts[0].description", "free_text"),
        (here, "model.primary[0]", "primary_without_role"),
    ]  # 'who5' is not checked against the measures: an instrument could not be read
    assert "no built-in instrument 'pss11'" in str(info.value)


def test_model_measures_are_checked_against_the_instruments(tmp_path):
    path = _write(
        tmp_path,
        """
        [study]
        name = "x"
        instruments = ["pss10", "who5"]

        [model]
        intermediate = ["pss_10"]
        outcome = ["who5"]
        primary = ["who5", "flourishing"]
    """,
    )
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    problems = info.value.problems
    assert [(p.message.split(":")[0], p.rule) for p in problems] == [
        ("model.intermediate[0]", "unknown_measure"),
        ("model.primary[1]", "unknown_measure"),
    ]
    assert (
        "unknown measure 'pss_10'; measures of the study's instruments: pss10, who5"
        in problems[0].message
    )


def test_a_good_file_loads(tmp_path):
    path = _write(
        tmp_path,
        """
        [study]
        name = " Good "
        instruments = ["pss10", "who5"]

        [[waves]]
        name = "baseline"
        day = 0

        [[cohorts]]
        name = "A"
        arm = "control"
        start = 2027-03-01

        [model]
        intermediate = ["pss10"]
        outcome = ["who5"]
        primary = ["who5"]
    """,
    )
    spec = load_study_file(path)
    assert spec.name == "Good"
    assert spec.instruments == ["pss10", "who5"]
    assert spec.waves == [{"name": "baseline", "day": 0, "window": None}]
    assert spec.cohorts[0]["start"].isoformat() == "2027-03-01"
    assert spec.model == {"intermediate": ["pss10"], "outcome": ["who5"]} and spec.primary == [
        "who5"
    ]


def test_clashes_within_the_file(tmp_path):
    path = _write(
        tmp_path,
        """
        [study]
        name = "x"

        [[waves]]
        name = "baseline"
        day = 0

        [[waves]]
        name = " baseline "
        day = 56
        window = -1

        [[waves]]
        name = "post"
        day = 0

        [[cohorts]]
        name = "A"
        arm = "c"

        [[cohorts]]
        name = " "
        arm = "c"

        [[cohorts]]
        name = "A"
        arm = "i"
    """,
    )
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    assert [p.message for p in info.value.problems] == [
        "waves[1].name: 'baseline' is already the name of waves[0]",
        "cohorts[1].name: must not be empty",
        "cohorts[2].name: 'A' is already the name of cohorts[0]",
        "waves[1].window: must be 0 or more days, not -1",
        "waves[2].day: day 0 is already the day of waves[0]; two waves cannot share a day",
    ]


def test_the_roster_is_checked_with_the_file(tmp_path):
    (tmp_path / "roster.csv").write_text("code,cohort,age\nA1,A,30\nA2,B,300\nA1,A,\n")
    path = _write(
        tmp_path,
        """
        [study]
        name = "x"
        roster = "roster.csv"

        [[waves]]
        name = "baseline"
        day = -0.5

        [[cohorts]]
        name = " A "
        arm = "c"
    """,
    )
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    roster = str(tmp_path / "roster.csv")
    assert [(p.file, p.row, p.column, p.rule) for p in info.value.problems] == [
        (str(path), None, None, "wrong_type"),
        (roster, 3, "cohort", "unknown cohort"),
        (roster, 3, "age", "out of range"),
        (roster, 4, "code", "duplicate code"),
    ]
    assert (
        f"  {roster}, row 3, column 'cohort': unknown cohort; cohorts: A (value 'B') [unknown cohort]"
        in str(info.value)
    )


def test_an_unreadable_roster_is_a_problem_of_the_file(tmp_path):
    path = _write(tmp_path, '[study]\nname = "x"\nroster = "absent.csv"\n')
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    assert str(info.value).startswith(
        f"{path}: study.roster: cannot read roster {tmp_path / 'absent.csv'}: "
    )
    (tmp_path / "header.csv").write_text("code,cohort\n")
    path = _write(tmp_path, '[study]\nname = "x"\nroster = "header.csv"\n')
    with pytest.raises(ValidationError) as info:
        load_study_file(path)
    assert str(info.value) == f"{tmp_path / 'header.csv'}: has a header but no participants"
