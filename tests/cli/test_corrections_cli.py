"""Correcting and keeping a study, through the real CLI, on SQLite and PostgreSQL.

Each correction is checked for what it changes (and what it must keep: answers
stay attached through renames and moves), for its audit event, and each refused
correction for its message and for leaving the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text

from tests.study.dump import dump
from tracker.db.engine import open_session
from tracker.db.models import Administration, AuditEvent, ItemResponse, Participant, Wave

ROSTER = (
    "code,cohort,enrolled,age,gender,role\n"
    "R001,MBSR spring,2027-02-20,29,female,PGY-1 resident\n"
    "R017,Waitlist spring,2027-02-21,31,male,PGY-2 resident\n"
    "R018,Waitlist spring,2027-02-21,,,\n"
)
BASELINE = "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4\nR001,2027-03-02,1,2,3,4\nR017,2027-03-03,0,1,1,2\n"


def audit_count(url) -> int:
    with open_session(url) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def audit(run, *args) -> list[dict]:
    return json.loads(run("audit", "--format", "json", *args).output)


@pytest.fixture
def study(tracker, tmp_path):
    tracker("init", "--study", "Resident wellbeing 2027")
    tracker("wave", "add", "baseline", "--day", "0")
    tracker("wave", "add", "post", "--day", "56", "--window", "14")
    tracker("cohort", "add", "MBSR spring", "--arm", "intervention", "--start", "2027-03-01")
    tracker("cohort", "add", "Waitlist spring", "--arm", "control", "--start", "2027-03-01")
    tracker("instrument", "add", "pss4")
    (tmp_path / "roster.csv").write_text(ROSTER)
    tracker("participant", "enroll", "roster.csv")
    (tmp_path / "baseline.csv").write_text(BASELINE)
    tracker("import", "responses", "baseline.csv", "--wave", "baseline")
    return tracker


def refused(run, *args, message: str) -> None:
    """The command exits 1 with exactly ``message`` and the database is byte-for-byte as before."""
    before, events = dump(run.url), audit_count(run.url)
    r = run(*args, expect=1)
    assert r.output == f"Error: {message}\n"
    assert dump(run.url) == before
    assert audit_count(run.url) == events


# -- waves --------------------------------------------------------------------------------


def test_a_wave_typed_at_the_wrong_day_is_corrected(study):
    # typed -28 instead of 28: it silently became the first wave, the default baseline
    out = study("wave", "add", "midpoint", "--day", "-28").output
    assert out == (
        "Wave 'midpoint' added: day -28 ± 7, order 1.\n"
        "Note: 'midpoint' is now the first wave, the default baseline for correlations, change and the RCI; "
        "if its day is wrong, correct it with `tracker wave set`.\n"
    )
    assert [r["name"] for r in json.loads(study("wave", "list", "--format", "json").output)] == [
        "midpoint",
        "baseline",
        "post",
    ]
    out = study("wave", "set", "midpoint", "--day", "28").output
    assert out == (
        "Wave 'midpoint' updated: day -28 -> 28.\n"
        "Wave order is now baseline, midpoint, post (was midpoint, baseline, post).\n"
        "The first wave, the default baseline for correlations, change and the RCI, is now 'baseline'.\n"
    )
    waves = json.loads(study("wave", "list", "--format", "json").output)
    assert waves == [
        {"order": 1, "name": "baseline", "day": 0, "window": 7},
        {"order": 2, "name": "midpoint", "day": 28, "window": 7},
        {"order": 3, "name": "post", "day": 56, "window": 14},
    ]
    (event,) = audit(study, "--entity", "wave", "--action", "update")
    assert event["key"] == "midpoint"
    assert event["before"] == {"day": -28, "order": ["midpoint", "baseline", "post"]}
    assert event["after"] == {"day": 28, "order": ["baseline", "midpoint", "post"]}


def test_wave_rename_keeps_every_answer(study):
    with open_session(study.url) as s:
        before = sorted(
            s.execute(
                select(
                    Administration.participant_id,
                    Administration.wave_id,
                    ItemResponse.item,
                    ItemResponse.value,
                ).join(ItemResponse, ItemResponse.administration_id == Administration.id)
            ).all()
        )
    out = study("wave", "set", "baseline", "--name", "pre", "--window", "10").output
    assert out == "Wave 'baseline' updated: name 'baseline' -> 'pre', window 7 -> 10.\n"
    with open_session(study.url) as s:
        after = sorted(
            s.execute(
                select(
                    Administration.participant_id,
                    Administration.wave_id,
                    ItemResponse.item,
                    ItemResponse.value,
                ).join(ItemResponse, ItemResponse.administration_id == Administration.id)
            ).all()
        )
        assert s.scalar(select(Wave.name).where(Wave.position == 1)) == "pre"
    assert after == before and len(after) == 8
    # the stored file imports again under the new name as "already imported"
    assert (
        "already imported: nothing changed"
        in study("import", "responses", "baseline.csv", "--wave", "pre").output
    )
    (event,) = audit(study, "--entity", "wave", "--action", "update")
    assert event["before"] == {"name": "baseline", "window": 7} and event["after"] == {
        "name": "pre",
        "window": 10,
    }


def test_wave_set_refusals_change_nothing(study):
    refused(
        study,
        "wave",
        "set",
        "post",
        "--day",
        "0",
        message="wave 'post' cannot move to day 0: wave 'baseline' is on day 0; two waves may not share a day",
    )
    refused(
        study,
        "wave",
        "set",
        "post",
        "--name",
        "baseline",
        message="wave 'baseline' already exists in study 'Resident wellbeing 2027'; choose another --name",
    )
    refused(
        study,
        "wave",
        "set",
        "post",
        message="nothing to change: give --name NEW, --day N or --window N",
    )
    refused(
        study,
        "wave",
        "set",
        "nope",
        "--day",
        "3",
        message="no wave named 'nope' in study 'Resident wellbeing 2027'; waves: 'baseline', 'post'",
    )
    refused(
        study,
        "wave",
        "set",
        "post",
        "--name",
        "p" * 101,
        message="a wave's name 'pppppppppppppppppppp'… is 101 characters long; names may have at most 100",
    )
    assert (
        study("wave", "set", "post", "--day", "56").output
        == "Wave 'post' already has those values; nothing changed.\n"
    )


def test_wave_remove(study):
    refused(
        study,
        "wave",
        "remove",
        "baseline",
        message="wave 'baseline' has 2 administrations and cannot be removed; "
        "rename it with `tracker wave set NAME --name NEW` if its name is wrong",
    )
    study("wave", "add", "typo", "--day", "30")
    assert study("wave", "remove", "typo").output == "Wave 'typo' removed.\n"
    assert [r["order"] for r in json.loads(study("wave", "list", "--format", "json").output)] == [
        1,
        2,
    ]
    (event,) = audit(study, "--action", "delete")
    assert (event["entity"], event["key"], event["before"], event["after"]) == (
        "wave",
        "typo",
        {"name": "typo", "day": 30, "window": 7},
        None,
    )


# -- cohorts ------------------------------------------------------------------------------


def test_cohort_start_set_later_schedules_due(study):
    study("cohort", "add", "Autumn", "--arm", "intervention")
    study("participant", "add", "A1", "--cohort", "Autumn", "--enrolled", "2027-08-20")
    rows = json.loads(
        study("due", "--wave", "baseline", "--as-of", "2027-09-03", "--format", "json").output
    )
    autumn = [r for r in rows if r["cohort"] == "Autumn"]
    assert [(r["state"], r["opens"], r["closes"]) for r in autumn] == [("unscheduled", None, None)]
    out = study("cohort", "set", "Autumn", "--start", "2027-09-01").output
    assert out == "Cohort 'Autumn' updated: start (none) -> 2027-09-01.\n"
    rows = json.loads(
        study("due", "--wave", "baseline", "--as-of", "2027-09-03", "--format", "json").output
    )
    autumn = [r for r in rows if r["cohort"] == "Autumn"]
    assert [(r["state"], r["opens"], r["closes"]) for r in autumn] == [
        ("due", "2027-08-25", "2027-09-08")
    ]
    # a corrected start moves the windows again, and later imports' window checks with them
    study("cohort", "set", "Autumn", "--start", "2027-10-01")
    rows = json.loads(
        study("due", "--wave", "baseline", "--as-of", "2027-09-03", "--format", "json").output
    )
    assert [(r["state"], r["opens"]) for r in rows if r["cohort"] == "Autumn"] == [
        ("upcoming", "2027-09-24")
    ]


def test_changed_wave_day_moves_import_window_checks(study, tmp_path):
    (tmp_path / "post.csv").write_text(
        "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4\nR001,2027-04-26,1,2,1,3\n"
    )
    out = study("import", "responses", "post.csv", "--wave", "post", "--dry-run").output
    assert "outside wave" not in out  # day 56 ± 14 from 2027-03-01: 2027-04-12 to 2027-05-10
    study("wave", "set", "post", "--day", "84")
    out = study("import", "responses", "post.csv", "--wave", "post", "--dry-run").output
    assert "outside wave post's window 2027-05-10 to 2027-06-07" in out


def test_cohort_rename_arm_description_and_clear(study):
    out = study(
        "cohort",
        "set",
        "MBSR spring",
        "--name",
        "MBSR 2027",
        "--arm",
        "mindfulness",
        "--description",
        "8-week course",
    ).output
    assert (
        out
        == "Cohort 'MBSR spring' updated: name 'MBSR spring' -> 'MBSR 2027', arm 'intervention' -> 'mindfulness', description (none) -> '8-week course'.\n"
    )
    rows = json.loads(
        study("participant", "list", "--cohort", "MBSR 2027", "--format", "json").output
    )
    assert [r["code"] for r in rows] == ["R001"] and rows[0]["arm"] == "mindfulness"
    out = study("cohort", "set", "MBSR 2027", "--description", "", "--clear", "start").output
    assert (
        out
        == "Cohort 'MBSR 2027' updated: start 2027-03-01 -> (none), description '8-week course' -> (none).\n"
    )
    events = audit(study, "--entity", "cohort", "--action", "update")
    assert [e["key"] for e in events] == ["MBSR spring", "MBSR 2027"]
    assert events[1]["before"] == {"start": "2027-03-01", "description": "8-week course"}
    assert events[1]["after"] == {"start": None, "description": None}


def test_cohort_refusals_change_nothing(study):
    refused(
        study,
        "cohort",
        "remove",
        "Waitlist spring",
        message="cohort 'Waitlist spring' has 2 participants and cannot be removed; "
        "move them with `tracker participant set CODE --cohort NAME` first",
    )
    refused(
        study,
        "cohort",
        "set",
        "MBSR spring",
        "--name",
        "Waitlist spring",
        message="cohort 'Waitlist spring' already exists in study 'Resident wellbeing 2027'; choose another --name",
    )
    refused(
        study,
        "cohort",
        "set",
        "MBSR spring",
        "--description",
        "contact jo.bloggs@example.org",
        message="cohort 'MBSR spring': --description looks like it holds an e-mail address; free text is stored "
        "and printed in reports, so it must not hold contact details or other identifiers",
    )
    refused(
        study,
        "cohort",
        "set",
        "MBSR spring",
        "--start",
        "2027-03-08",
        "--clear",
        "start",
        message="give either --start or --clear start, not both",
    )
    refused(
        study,
        "cohort",
        "set",
        "MBSR spring",
        "--arm",
        "a" * 101,
        message="cohort 'MBSR spring': --arm 'aaaaaaaaaaaaaaaaaaaa'… is 101 characters long; names may have at most 100",
    )


def test_cohort_remove_after_moving_its_participants(study):
    study("participant", "set", "R017", "--cohort", "MBSR spring")
    study("participant", "set", "R018", "--cohort", "MBSR spring")
    assert (
        study("cohort", "remove", "Waitlist spring").output == "Cohort 'Waitlist spring' removed.\n"
    )
    (event,) = audit(study, "--action", "delete")
    assert event["before"] == {
        "name": "Waitlist spring",
        "arm": "control",
        "start": "2027-03-01",
        "description": None,
    }


# -- participants -------------------------------------------------------------------------


def test_participant_set_moves_and_clears(study):
    with open_session(study.url) as s:
        answers = s.scalar(select(func.count()).select_from(Administration))
    out = study(
        "participant",
        "set",
        "R017",
        "--cohort",
        "MBSR spring",
        "--enrolled",
        "2027-02-22",
        "--gender",
        "",
        "--clear",
        "age",
    ).output
    assert (
        out
        == "Participant R017 updated: cohort 'Waitlist spring' -> 'MBSR spring', enrolled 2027-02-21 -> 2027-02-22, age 31 -> (none), gender 'male' -> (none).\n"
    )
    (row,) = [
        r
        for r in json.loads(study("participant", "list", "--format", "json").output)
        if r["code"] == "R017"
    ]
    assert (row["cohort"], row["arm"], row["enrolled"], row["age"], row["gender"], row["role"]) == (
        "MBSR spring",
        "intervention",
        "2027-02-22",
        "",
        "",
        "PGY-2 resident",
    )
    with open_session(study.url) as s:
        assert s.scalar(select(func.count()).select_from(Administration)) == answers
    (event,) = audit(study, "--entity", "participant", "--action", "update")
    assert event["before"] == {
        "cohort": "Waitlist spring",
        "enrolled": "2027-02-21",
        "age": 31,
        "gender": "male",
    }
    assert event["after"] == {
        "cohort": "MBSR spring",
        "enrolled": "2027-02-22",
        "age": None,
        "gender": None,
    }


def test_participant_refusals_change_nothing(study):
    refused(
        study,
        "participant",
        "set",
        "R017",
        "--role",
        "ring me on 07700 900123",
        message="--role looks like it holds a phone number; free text is stored and printed in reports, "
        "so it must not hold contact details or other identifiers",
    )
    refused(
        study,
        "participant",
        "set",
        "R017",
        "--gender",
        "jo@example.org",
        message="--gender looks like it holds an e-mail address; free text is stored and printed in reports, "
        "so it must not hold contact details or other identifiers",
    )
    refused(
        study,
        "participant",
        "set",
        "R017",
        "--age",
        "40",
        "--clear",
        "age",
        message="give either --age or --clear age, not both",
    )
    refused(
        study,
        "participant",
        "set",
        "R017",
        message="nothing to change: give --cohort, --enrolled, --age, --birth-year, --gender, --role or --clear FIELD",
    )
    refused(
        study,
        "participant",
        "set",
        "R017",
        "--cohort",
        "Nope",
        message="no cohort named 'Nope' in study 'Resident wellbeing 2027'; cohorts: 'MBSR spring', 'Waitlist spring'",
    )
    refused(
        study,
        "participant",
        "add",
        "R099",
        "--cohort",
        "MBSR spring",
        "--role",
        "r" * 101,
        message="--role is 101 characters long; at most 100 are allowed",
    )
    refused(
        study,
        "participant",
        "add",
        "R" * 101,
        "--cohort",
        "MBSR spring",
        message="participant code 'RRRRRRRRRRRRRRRRRRRR' is 101 characters long; codes may have at most 100",
    )
    study("participant", "withdraw", "R017", "--reason", "left", "--date", "2027-04-01")
    refused(
        study,
        "participant",
        "set",
        "R017",
        "--enrolled",
        "2027-04-02",
        message="participant 'R017': enrolment date 2027-04-02 would fall after the withdrawal on 2027-04-01; "
        "reinstate the participant first or choose another date",
    )


def test_withdrawal_before_enrolment_refused_with_or_without_date(study):
    # the roster enrols in 2027; the machine's today is earlier, so an undated withdrawal precedes enrolment
    import datetime as dt

    today = dt.date.today()
    assert today < dt.date(2027, 2, 21)
    refused(
        study,
        "participant",
        "withdraw",
        "R017",
        "--reason",
        "left",
        message=f"withdrawal date (today: no --date was given) {today.isoformat()} is before R017's enrolment "
        "on 2027-02-21; give the withdrawal date with --date YYYY-MM-DD",
    )
    refused(
        study,
        "participant",
        "withdraw",
        "R017",
        "--reason",
        "left",
        "--date",
        "2027-02-20",
        message="withdrawal date 2027-02-20 is before R017's enrolment on 2027-02-21",
    )


def test_withdrawal_reason_with_contact_details_refused(study):
    refused(
        study,
        "participant",
        "withdraw",
        "R017",
        "--date",
        "2027-04-01",
        "--reason",
        "moved; new contact jo.bloggs@example.org, +44 7700 900123",
        message="--reason looks like it holds an e-mail address; free text is stored and printed in reports, "
        "so it must not hold contact details or other identifiers",
    )
    refused(
        study,
        "participant",
        "withdraw",
        "R017",
        "--date",
        "2027-04-01",
        "--reason",
        "x" * 501,
        message="--reason is 501 characters long; at most 500 are allowed",
    )


def test_reinstate(study):
    study("participant", "withdraw", "R017", "--reason", "left programme", "--date", "2027-04-01")
    assert study("participant", "reinstate", "R017").output == "Participant R017 is active again.\n"
    (row,) = [
        r
        for r in json.loads(study("participant", "list", "--format", "json").output)
        if r["code"] == "R017"
    ]
    assert (row["status"], row["withdrawn"], row["reason"]) == ("active", "", "")
    (event,) = audit(study, "--action", "reinstate")
    assert event["before"] == {
        "status": "withdrawn",
        "withdrawn_on": "2027-04-01",
        "reason": "left programme",
    }
    refused(
        study,
        "participant",
        "reinstate",
        "R017",
        message="participant 'R017' is active, not withdrawn; nothing to reinstate",
    )


# -- enrolling a roster again ---------------------------------------------------------------


def test_enroll_same_roster_again_changes_nothing(study):
    before = dump(study.url)
    out = study("participant", "enroll", "roster.csv").output
    assert out == "Nothing to change: all 3 participants in roster.csv are enrolled as it says.\n"
    assert dump(study.url) == before


def test_enroll_grown_roster_adds_the_new_codes(study, tmp_path):
    (tmp_path / "grown.csv").write_text(
        ROSTER + "R019,MBSR spring,2027-02-25,40,,\nR020,Waitlist spring,,,,\n"
    )
    before = dump(study.url)
    out = study("participant", "enroll", "grown.csv", "--dry-run").output
    assert (
        out
        == "grown.csv: 2 participants would be enrolled, 3 already enrolled as it says.\nDry run: nothing was written.\n"
    )
    assert dump(study.url) == before
    out = study("participant", "enroll", "grown.csv").output
    assert out == "grown.csv: 2 participants enrolled, 3 already enrolled as it says.\n"
    assert [e["key"] for e in audit(study, "--entity", "participant")] == [
        "R001",
        "R017",
        "R018",
        "R019",
        "R020",
    ]


def test_enroll_differences_refused_unless_update(study, tmp_path):
    changed = ROSTER.replace(
        "R017,Waitlist spring,2027-02-21,31,male", "R017,MBSR spring,2027-02-21,32,male"
    )
    # an empty cell never erases: R001's role left blank is "as stored"
    changed = changed.replace("29,female,PGY-1 resident", "29,female,")
    (tmp_path / "changed.csv").write_text(changed + "R030,MBSR spring,,,,\n")
    before = dump(study.url)
    r = study("participant", "enroll", "changed.csv", expect=1)
    assert r.output == (
        "Error: changed.csv: 2 problems; nothing was enrolled\n"
        "  changed.csv, row 3, column 'cohort': participant 'R017' is stored with cohort 'Waitlist spring', "
        "the roster says 'MBSR spring'; run with --update to change it [differs from stored]\n"
        "  changed.csv, row 3, column 'age': participant 'R017' is stored with age 31, the roster says 32; "
        "run with --update to change it [differs from stored]\n"
    )
    assert dump(study.url) == before
    out = study("participant", "enroll", "changed.csv", "--update", "--dry-run").output
    assert out == (
        "changed.csv: 1 participant would be enrolled, 1 participant would be updated, 2 already enrolled as it says.\n"
        "  R017: cohort 'Waitlist spring' -> 'MBSR spring'\n"
        "  R017: age 31 -> 32\n"
        "Dry run: nothing was written.\n"
    )
    assert dump(study.url) == before
    out = study("participant", "enroll", "changed.csv", "--update").output
    assert out.startswith(
        "changed.csv: 1 participant enrolled, 1 participant updated, 2 already enrolled as it says.\n"
    )
    (event,) = audit(study, "--entity", "participant", "--action", "update")
    assert event["key"] == "R017"
    assert event["before"] == {"cohort": "Waitlist spring", "age": 31}
    assert event["after"] == {"cohort": "MBSR spring", "age": 32, "source": "changed.csv"}
    rows = {
        r["code"]: r for r in json.loads(study("participant", "list", "--format", "json").output)
    }
    assert rows["R001"]["role"] == "PGY-1 resident" and rows["R017"]["cohort"] == "MBSR spring"
    assert "Nothing to change" in study("participant", "enroll", "changed.csv").output


def test_roster_identifier_headers_with_spaces(study, tmp_path):
    (tmp_path / "ids.csv").write_text(
        "code,cohort,Email Address,Patient Name,Date of birth,Phone Number,NHS number,Full Name,notes\nX1,MBSR spring,,,,,,,\n"
    )
    r = study("participant", "enroll", "ids.csv", expect=1)
    for column in (
        "email address",
        "patient name",
        "date of birth",
        "phone number",
        "nhs number",
        "full name",
    ):
        assert f"row 1, column {column!r}: column {column!r} holds a direct identifier" in r.output
    assert "row 1, column 'notes': unknown column 'notes'" in r.output


def test_roster_cells_with_contact_details(study, tmp_path):
    (tmp_path / "r.csv").write_text(
        "code,cohort,gender,role\nX1,MBSR spring,x@y.org,\nX2,MBSR spring,,+44 7700 900123\n"
    )
    r = study("participant", "enroll", "r.csv", expect=1)
    assert "r.csv, row 2, column 'gender': looks like it holds an e-mail address;" in r.output
    assert "r.csv, row 3, column 'role': looks like it holds a phone number;" in r.output
    assert "x@y.org" not in r.output and "7700" not in r.output  # the refused value is not echoed


# -- names: one length limit, on both backends ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cohort", "add", "c" * 101, "--arm", "control"),
            "a cohort's name 'cccccccccccccccccccc'… is 101 characters long; names may have at most 100",
        ),
        (
            ("wave", "add", "w" * 101, "--day", "3"),
            "a wave's name 'wwwwwwwwwwwwwwwwwwww'… is 101 characters long; names may have at most 100",
        ),
        (
            ("cohort", "add", "Long", "--arm", "control", "--description", "d" * 501),
            "cohort 'Long': --description is 501 characters long; at most 500 are allowed",
        ),
        (
            ("participant", "add", "R100", "--cohort", "MBSR spring", "--gender", "g" * 101),
            "--gender is 101 characters long; at most 100 are allowed",
        ),
    ],
)
def test_long_values_refused_before_writing(study, args, message):
    refused(study, *args, message=message)


def test_long_study_name(tracker_empty):
    r = tracker_empty("init", "--study", "s" * 101, expect=1)
    assert (
        r.output
        == "Error: a study's name 'ssssssssssssssssssss'… is 101 characters long; names may have at most 100\n"
    )


# -- model roles --------------------------------------------------------------------------


def test_model_unset(study):
    study("model", "set", "pss4", "intermediate")
    assert (
        study("model", "unset", "pss4").output == "pss4 no longer has a role (was intermediate).\n"
    )
    assert study("model", "show").output == "(none)\n"
    (event,) = audit(study, "--entity", "model_role", "--action", "delete")
    assert event["key"] == "pss4" and event["before"]["role"] == "intermediate"
    refused(
        study,
        "model",
        "unset",
        "pss4",
        message="measure 'pss4' has no role to unset; measures with a role: none",
    )


# -- the audit ------------------------------------------------------------------------------


def test_audit_records_and_filters(study):
    events = audit(study)
    assert all(
        list(e) == ["at", "user", "action", "entity", "key", "before", "after", "batch"]
        for e in events
    )
    kinds = [(e["action"], e["entity"]) for e in events]
    assert kinds == [
        ("create", "study"),
        ("create", "wave"),
        ("create", "wave"),
        ("create", "cohort"),
        ("create", "cohort"),
        ("create", "instrument"),
        ("create", "participant"),
        ("create", "participant"),
        ("create", "participant"),
        ("import", "import_batch"),
    ]
    assert events[-1]["batch"] == 1 and events[0]["batch"] is None
    assert all(e["at"].endswith("Z") and e["user"] for e in events)
    assert [e["key"] for e in audit(study, "--entity", "wave")] == ["baseline", "post"]
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    assert len(audit(study, "--since", today.isoformat())) == len(
        events
    )  # the day boundary is UTC midnight
    assert audit(study, "--since", (today + dt.timedelta(days=1)).isoformat()) == []
    csv_out = study("audit", "--format", "csv", "--action", "import").output.splitlines()
    assert csv_out[0] == "at,user,action,entity,key,before,after,batch"
    assert len(csv_out) == 2 and csv_out[1].endswith(",1")
    r = study("audit", "--since", "2027-02-30", expect=1)
    assert r.output == "Error: --since '2027-02-30' is not a real calendar date\n"


# -- the report ---------------------------------------------------------------------------


def test_report_withholds_reasons_with_contact_details_and_lists_corrections(study):
    from tracker.reports import report_context
    from tracker.study.studies import resolve_study

    study("participant", "withdraw", "R017", "--reason", "left programme", "--date", "2027-04-01")
    study("participant", "withdraw", "R018", "--reason", "moving", "--date", "2027-04-01")
    study("wave", "set", "post", "--day", "63")
    study("participant", "set", "R001", "--gender", "non-binary")
    (study.cwd / "fix.csv").write_text(
        "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4\nR001,2027-03-02,1,2,3,3\n"
    )
    study("import", "responses", "fix.csv", "--wave", "baseline", "--update")
    with open_session(study.url) as s:  # a reason stored before contact details were refused
        s.execute(
            text("UPDATE participant SET withdrawal_reason = :r WHERE code = 'R018'"),
            {"r": "moved; new contact jo.bloggs@example.org, +44 7700 900123"},
        )
        s.commit()
        ctx = report_context(s, resolve_study(s))
    (waitlist,) = [c for c in ctx["flow"]["cohorts"] if c["cohort"] == "Waitlist spring"]
    assert waitlist["reasons"] == [
        {"reason": "left programme", "n": 1},
        {"reason": "reason withheld (it held contact details)", "n": 1},
    ]
    changes = [
        (c["action"], c["entity"], c["key"], c["change"]) for c in ctx["provenance"]["corrections"]
    ]
    assert changes == [
        ("update", "wave", "post", "day 56 → 63"),
        ("update", "participant", "R001", "gender changed"),  # an individual's value is not printed
        ("import", "import batch", "fix.csv", "--update changed 1 administration (1 item value)"),
    ]
    # the administration's own event is in the audit, with the old and new value
    (changed,) = audit(study, "--entity", "administration")
    assert (changed["key"], changed["before"], changed["after"], changed["batch"]) == (
        "R001/baseline/pss4",
        {"pss4_4": 4},
        {"pss4_4": 3},
        2,
    )
    with open_session(study.url) as s:
        assert (
            s.scalar(select(Participant.gender).where(Participant.code == "R001")) == "non-binary"
        )
    from tracker.reports.render import render

    html = render(ctx, {})
    assert "<h3>Corrections and updates</h3>" in html
    assert "<td>update</td><td>wave <code>post</code></td><td>day 56 → 63</td>" in html
    assert "left programme (1); reason withheld (it held contact details) (1)" in html
    for hidden in ("jo.bloggs", "7700 900123"):
        assert hidden not in html
    # the characteristics table shows categories (counts suppressed); the provenance names no one's value
    assert "non-binary" not in html[html.index('<section id="provenance">') :]
    # `tracker report` reads on a direct connection where it can: the same context as a session's
    from tracker.db.reader import open_reader

    at = dt.datetime(2027, 5, 1, tzinfo=dt.UTC)
    with open_session(study.url) as s:
        through_session = report_context(s, resolve_study(s), generated_at=at)
    reader = open_reader(study.url)  # None for the PostgreSQL test schemas (URL options)
    try:
        direct = report_context(reader, reader.study(None), generated_at=at) if reader else None
    finally:
        if reader is not None:
            reader.close()
    assert through_session["provenance"]["corrections"] == ctx["provenance"]["corrections"]
    if direct is not None:
        assert direct == through_session


def test_values_at_the_limit_are_stored_on_both_backends(study):
    # the columns are at least as wide as the limits: 100-character names and 500-character text fit
    name, arm, code = "c" * 100, "a" * 100, "R" * 100
    study("cohort", "add", name, "--arm", arm, "--description", "d" * 500)
    study("wave", "add", "w" * 100, "--day", "90")
    study(
        "participant",
        "add",
        code,
        "--cohort",
        name,
        "--gender",
        "g" * 100,
        "--role",
        "r" * 100,
        "--enrolled",
        "2027-01-01",
    )
    study("participant", "withdraw", code, "--reason", "x" * 500, "--date", "2027-02-01")
    study("cohort", "set", name, "--name", "n" * 100)
    (row,) = [
        r
        for r in json.loads(study("participant", "list", "--format", "json").output)
        if r["code"] == code
    ]
    assert (row["cohort"], row["arm"], row["gender"], row["role"], row["reason"]) == (
        "n" * 100,
        arm,
        "g" * 100,
        "r" * 100,
        "x" * 500,
    )
