"""The set-up walkthrough and every bad input of the foundation, through the real CLI."""

from __future__ import annotations

import json
import textwrap

import pytest
from sqlalchemy import func, select

from tracker.db.engine import open_session
from tracker.db.models import AuditEvent, Cohort, Participant, Study, Wave

ROSTER = "code,cohort,enrolled,age,gender,role\nR001,MBSR spring,2027-02-20,29,female,PGY-1 resident\nR017,Waitlist spring,2027-02-21,31,male,PGY-2 resident\nR018,Waitlist spring,,,,\n"


def count(url, model, *where):
    with open_session(url) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def study(tracker, tmp_path):
    tracker("init", "--study", "Resident wellbeing 2027")
    tracker("wave", "add", "baseline", "--day", "0")
    tracker("wave", "add", "post", "--day", "56", "--window", "14")
    tracker("cohort", "add", "MBSR spring", "--arm", "intervention", "--start", "2027-03-01")
    tracker("cohort", "add", "Waitlist spring", "--arm", "control", "--start", "2027-03-01")
    (tmp_path / "roster.csv").write_text(ROSTER)
    tracker("participant", "enroll", "roster.csv")
    return tracker


def test_walkthrough(study):
    # dated: the roster enrols in 2027, and a withdrawal dated today may not precede enrolment
    out = study(
        "participant", "withdraw", "R017", "--reason", "left programme", "--date", "2027-04-01"
    ).output
    assert out == "Participant R017 withdrawn on 2027-04-01.\n"
    listing = study("participant", "list", "--cohort", "MBSR spring").output
    assert "R001" in listing and "R017" not in listing
    rows = study("participant", "list", "--format", "json").output
    assert '"status": "withdrawn"' in rows and '"reason": "left programme"' in rows
    assert "Resident wellbeing 2027" in study("study", "list").output
    waves = study("wave", "list").output.splitlines()
    assert waves[2].split()[:3] == ["1", "baseline", "0"] and waves[3].split() == [
        "2",
        "post",
        "56",
        "14",
    ]
    # every change was audited with the OS user and before/after values
    with open_session(study.url) as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        actions = [(e.action, e.entity) for e in events]
        assert actions.count(("create", "participant")) == 3
        withdrawal = [e for e in events if e.action == "withdraw"][0]
        assert (
            withdrawal.before["status"] == "active"
            and withdrawal.after["reason"] == "left programme"
        )
        assert all(e.os_user for e in events)


def test_init_creates_and_migrates(tracker_empty):
    out = tracker_empty("init", "--study", "S1").output
    assert "migrated to revision" in out and "Study 'S1' created." in out
    # a second study in the same database: no migration message
    out = tracker_empty("init", "--study", "S2").output
    assert out == "Study 'S2' created.\n"
    r = tracker_empty("wave", "list", expect=1)
    assert "this database holds 2 studies ('S1', 'S2'); choose one with --study NAME" in r.output
    tracker_empty("wave", "add", "baseline", "--day", "0", "--study", "S2")
    r = tracker_empty("wave", "list", "--study", "S3", expect=1)
    assert "Error: no study named 'S3'; studies here: 'S1', 'S2'" in r.output


def test_init_from_study_toml(tracker_empty, tmp_path):
    (tmp_path / "roster.csv").write_text("code,cohort\nA1,Group A\nB1,Group B\n")
    (tmp_path / "study.toml").write_text(
        textwrap.dedent("""
        [study]
        name = "From file"
        roster = "roster.csv"

        [[waves]]
        name = "baseline"
        day = 0

        [[waves]]
        name = "post"
        day = 56
        window = 14

        [[cohorts]]
        name = "Group A"
        arm = "intervention"
        start = 2027-03-01

        [[cohorts]]
        name = "Group B"
        arm = "control"
        start = "2027-03-01"
    """)
    )
    out = tracker_empty("init", "--from", str(tmp_path / "study.toml")).output
    assert "Study 'From file' created." in out and "participants: 2" in out
    assert count(tracker_empty.url, Wave) == 2
    assert count(tracker_empty.url, Cohort) == 2


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[study]\nnam = 'x'\n",
            "study.nam: unknown field; allowed: description, instruments, name, roster",
        ),
        (
            "[study]\nname = 'x'\n[[waves]]\nname = 'b'\nday = 'zero'\n",
            "waves[0].day: must be a whole number of days, not 'zero'",
        ),
        (
            "[study]\nname = 'x'\n[[cohorts]]\nname = 'A'\n",
            "cohorts[0].arm: required field is missing",
        ),
        (
            "[study]\nname = 'x'\n[[cohorts]]\nname = 'A'\narm = 'c'\nstart = '2027-02-30'\n",
            "cohorts[0].start: start date '2027-02-30' is not a real calendar date",
        ),
        ("[study\nname = 'x'\n", "is not valid TOML"),
        (
            "[study]\nname = 'x'\n[[waves]]\nname = '" + "w" * 101 + "'\nday = 0\n",
            "waves[0].name: is 101 characters long; names may have at most 100",
        ),
        (
            "[study]\nname = 'x'\n[[cohorts]]\nname = 'A'\narm = 'c'\ndescription = 'ask jo@example.org'\n",
            "cohorts[0].description: looks like it holds an e-mail address; free text is stored and printed",
        ),
    ],
)
def test_malformed_study_toml(tracker_empty, tmp_path, toml, message):
    path = tmp_path / "study.toml"
    path.write_text(toml)
    r = tracker_empty("init", "--from", str(path), expect=1)
    assert r.output.startswith(f"Error: {path}")
    assert message in r.output


def test_bad_roster_in_study_toml_leaves_nothing(tracker, tmp_path):
    (tmp_path / "roster.csv").write_text("code,cohort\nA1,Nope\n")
    (tmp_path / "study.toml").write_text(
        '[study]\nname = "X"\nroster = "roster.csv"\n[[cohorts]]\nname = "A"\narm = "c"\n'
    )
    r = tracker("init", "--from", str(tmp_path / "study.toml"), expect=1)
    assert "row 2, column 'cohort': unknown cohort" in r.output
    assert count(tracker.url, Study) == 0 and count(tracker.url, Cohort) == 0


def test_duplicate_codes_in_file_and_stored(study, tmp_path):
    # a stored code is checked against its row (enrolling is idempotent): R001 is stored in MBSR spring
    (tmp_path / "more.csv").write_text(
        "code,cohort\nR001,Waitlist spring\nN1,MBSR spring\nN1,Waitlist spring\n"
    )
    r = study("participant", "enroll", "more.csv", expect=1)
    assert (
        "more.csv, row 2, column 'cohort': participant 'R001' is stored with cohort 'MBSR spring', "
        "the roster says 'Waitlist spring'; run with --update to change it [differs from stored]"
    ) in r.output
    assert (
        "more.csv, row 4, column 'code': duplicate code, first seen in row 3 (value 'N1') [duplicate code]"
        in r.output
    )
    assert "nothing was enrolled" in r.output
    assert count(study.url, Participant) == 3


def test_roster_with_bad_columns_lists_them_all(study, tmp_path):
    (tmp_path / "bad.csv").write_text("code,cohrt,email\nX1,MBSR spring,a@b.c\n")
    r = study("participant", "enroll", "bad.csv", expect=1)
    assert "row 1, column 'cohrt': unknown column 'cohrt'" in r.output
    assert "row 1, column 'email': column 'email' holds a direct identifier" in r.output
    assert "row 1, column 'cohort': required column 'cohort' is missing" in r.output


def test_roster_bad_rows_all_listed(study, tmp_path):
    (tmp_path / "bad.csv").write_text(
        "code,cohort,enrolled,age\nX1,Nowhere,2027-01-01,30\nX2,MBSR spring,2027-13-01,30\nX3,MBSR spring,,abc\nx@y.org,MBSR spring,,\n"
    )
    r = study("participant", "enroll", "bad.csv", expect=1)
    assert "Error: bad.csv: 4 problems; nothing was enrolled" in r.output
    assert "row 2, column 'cohort': unknown cohort" in r.output
    assert (
        "row 3, column 'enrolled': enrolment date '2027-13-01' is not a real calendar date"
        in r.output
    )
    assert "row 4, column 'age': is not a whole number (value 'abc')" in r.output
    assert "row 5, column 'code': participant code looks like an e-mail address" in r.output
    assert count(study.url, Participant) == 3


def test_not_utf8_roster(study, tmp_path):
    (tmp_path / "latin1.csv").write_bytes("code,cohort\nZ1,Café\n".encode("latin-1"))
    r = study("participant", "enroll", "latin1.csv", expect=1)
    assert "latin1.csv is not UTF-8" in r.output


def test_unknown_cohort_on_add(study):
    r = study("participant", "add", "R099", "--cohort", "Nope", expect=1)
    assert (
        r.output
        == "Error: no cohort named 'Nope' in study 'Resident wellbeing 2027'; cohorts: 'MBSR spring', 'Waitlist spring'\n"
    )


def test_duplicate_code_on_add(study):
    r = study("participant", "add", "R001", "--cohort", "MBSR spring", expect=1)
    assert (
        r.output
        == "Error: participant 'R001' is already enrolled in study 'Resident wellbeing 2027'\n"
    )


def test_impossible_dates(study):
    r = study("cohort", "add", "Late", "--arm", "control", "--start", "2027-02-30", expect=1)
    assert r.output == "Error: --start '2027-02-30' is not a real calendar date\n"
    r = study("cohort", "add", "Late", "--arm", "control", "--start", "03/01/2027", expect=1)
    assert r.output == "Error: --start '03/01/2027' is not a date in the form YYYY-MM-DD\n"
    assert count(study.url, Cohort) == 2


def test_withdraw_twice_or_unknown(study):
    study("participant", "withdraw", "R017", "--reason", "left", "--date", "2027-04-01")
    r = study("participant", "withdraw", "R017", "--reason", "again", expect=1)
    assert r.output == "Error: participant 'R017' was already withdrawn on 2027-04-01 (left)\n"
    r = study("participant", "withdraw", "NOPE", "--reason", "x", expect=1)
    assert r.output == "Error: no participant 'NOPE' in study 'Resident wellbeing 2027'\n"


def test_colliding_wave_days(study):
    r = study("wave", "add", "midpoint", "--day", "56", expect=1)
    assert (
        r.output
        == "Error: wave 'midpoint' would fall on day 56, the day of wave 'post'; choose another --day\n"
    )
    # a wave between the others takes its place in the order
    study("wave", "add", "midpoint", "--day", "28")
    names = [line.split()[1] for line in study("wave", "list").output.splitlines()[2:]]
    assert names == ["baseline", "midpoint", "post"]


def test_no_study_yet(tracker):
    r = tracker("wave", "add", "baseline", "--day", "0", expect=1)
    assert (
        r.output
        == "Error: this database holds no study yet; create one with `tracker init --study NAME`\n"
    )


def test_init_needs_a_name(tracker):
    r = tracker("init", expect=1)
    assert r.output == "Error: give either --study NAME or --from study.toml\n"


def test_duplicate_study(tracker):
    tracker("init", "--study", "S")
    r = tracker("init", "--study", "S", expect=1)
    assert r.output == "Error: study 'S' already exists in this database\n"


def test_model_roles(study):
    r = study("model", "set", "nonexistent", "modifiable", expect=1)
    assert "unknown measure 'nonexistent'" in r.output
    r = study("model", "set", "x", "mediator", expect=2)  # a usage mistake: Click's choice
    assert "Invalid value for" in r.output


def test_unreachable_database_hides_password(tmp_path):
    from tests.conftest import Runner

    runner = Runner("postgresql+psycopg://alice:s3cr3t@127.0.0.1:1/nowhere", tmp_path)
    r = runner("study", "list", expect=1)
    assert r.output.startswith(
        "Error: cannot connect to postgresql+psycopg://alice:***@127.0.0.1:1/nowhere: "
    )
    assert "s3cr3t" not in r.output


def test_db_upgrade_and_current(tracker_empty):
    out = tracker_empty("db", "current").output
    assert "revision none (empty: run `tracker init --study NAME`)" in out
    assert "upgraded from empty to" in tracker_empty("db", "upgrade").output
    assert "already at the newest revision" in tracker_empty("db", "upgrade").output
    assert "(newest)" in tracker_empty("db", "current").output


def test_database_from_environment(tmp_path, monkeypatch):
    from tests.conftest import Runner

    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    runner = Runner(url, tmp_path)
    runner("init", "--study", "Env", db=False)
    assert (tmp_path / "env.db").exists()
    assert "Env" in runner("study", "list", db=False).output


def test_roster_quoted_newline_stays_in_its_cell(study, tmp_path):
    (tmp_path / "quoted.csv").write_text(
        'code,cohort,role\nQ1,MBSR spring,"PGY-1\nresident"\nQ2,Nowhere,x\n'
    )
    r = study("participant", "enroll", "quoted.csv", expect=1)
    # the embedded newline neither splits Q1's row nor shifts Q2's row number
    assert "quoted.csv, row 3, column 'cohort': unknown cohort" in r.output
    (tmp_path / "quoted.csv").write_text('code,cohort,role\nQ1,MBSR spring,"PGY-1\nresident"\n')
    study("participant", "enroll", "quoted.csv")
    rows = json.loads(study("participant", "list", "--format", "json").output)
    assert (
        next(p for p in rows if p["code"] == "Q1")["role"] == "PGY-1\nresident"
    )  # not "PGY-1resident"
