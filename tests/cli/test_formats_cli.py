"""``--format table|csv|json`` on the commands that list or show something: exact output."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tracker.db.engine import open_session
from tracker.db.models import Study

ROSTER = "code,cohort\nR001,MBSR spring\nR002,MBSR spring\nW001,Waitlist spring\n"


@pytest.fixture
def study(tracker, tmp_path):
    tracker("init", "--study", "Resident wellbeing 2027")
    tracker("init", "--study", "=Other study")  # formula-leading: neutralised in CSV
    s = "Resident wellbeing 2027"
    tracker("wave", "add", "baseline", "--day", "0", "--study", s)
    tracker("wave", "add", "post", "--day", "56", "--window", "14", "--study", s)
    tracker(
        "cohort",
        "add",
        "MBSR spring",
        "--arm",
        "intervention",
        "--start",
        "2027-03-01",
        "--study",
        s,
    )
    tracker("cohort", "add", "Waitlist spring", "--arm", "control", "--study", s)
    tracker("instrument", "add", "who5", "pss10", "--study", s)
    (tmp_path / "roster.csv").write_text(ROSTER)
    tracker("participant", "enroll", "roster.csv", "--study", s)
    tracker(
        "participant", "withdraw", "W001", "--reason", "moved", "--date", "2027-04-01", "--study", s
    )
    return tracker


def created(url, name):
    with open_session(url) as s:
        return s.scalar(select(Study.created_at).where(Study.name == name))


def test_study_list(study):
    day = created(study.url, "Resident wellbeing 2027").date().isoformat()
    other = created(study.url, "=Other study").date().isoformat()
    assert json.loads(study("study", "list", "--format", "json").output) == [
        {"name": "=Other study", "participants": 0, "created": other},
        {"name": "Resident wellbeing 2027", "participants": 3, "created": day},
    ]
    assert study("study", "list", "--format", "csv").output == (
        f"name,participants,created\n'=Other study,0,{other}\nResident wellbeing 2027,3,{day}\n"
    )
    table = study("study", "list").output.splitlines()
    assert table[0].split() == ["name", "participants", "created"]
    assert table[3].split() == ["Resident", "wellbeing", "2027", "3", day]


def test_study_show(study):
    when = created(study.url, "Resident wellbeing 2027").isoformat(timespec="seconds")
    argv = ["study", "show", "--study", "Resident wellbeing 2027"]
    assert json.loads(study(*argv, "--format", "json").output) == [
        {
            "name": "Resident wellbeing 2027",
            "description": None,
            "created": when,
            "participants": 3,
            "withdrawn": 1,
            "administrations": 0,
            "import_batches": 0,
            "waves": ["baseline", "post"],
            "instruments": ["pss10", "who5"],
            "cohorts": [
                {"name": "MBSR spring", "arm": "intervention", "start": "2027-03-01"},
                {"name": "Waitlist spring", "arm": "control", "start": None},
            ],
        }
    ]
    assert study(*argv, "--format", "csv").output == (
        "name,description,created,participants,withdrawn,administrations,import_batches,waves,instruments,cohorts\n"
        f"Resident wellbeing 2027,,{when},3,1,0,0,baseline; post,pss10; who5,MBSR spring; Waitlist spring\n"
    )
    table = study(*argv).output
    assert table.startswith("Study: Resident wellbeing 2027\nCreated: ")
    assert (
        "Participants: 3 (1 withdrawn)\nWaves: baseline, post\nInstruments: pss10, who5\n" in table
    )
    assert (
        study("study", "show", "--study", "=Other study", "--format", "csv")
        .output.splitlines()[1]
        .startswith("'=Other study,,")
    )


def test_instrument_show(study):
    argv = ["instrument", "show", "--study", "Resident wellbeing 2027"]
    who5 = json.loads(study(*argv, "who5", "--format", "json").output)
    assert len(who5) == 1
    sha = who5[0].pop("sha256")
    assert (
        len(sha) == 12
        and sha in study("instrument", "list", "--study", "Resident wellbeing 2027").output
    )
    assert who5 == [
        {
            "instrument": "who5",
            "version": "1",
            "source": "study",
            "measure": "who5",
            "subscale": None,
            "name": "WHO-5 Well-Being Index (percentage score)",
            "items": [1, 2, 3, 4, 5],
            "reverse": [],
            "scoring": "sum",
            "multiplier": 4,
            "item_min": 0,
            "item_max": 5,
            "score_min": 0,
            "score_max": 100,
            "higher_is_better": True,
            "max_missing": 1,
            "reliability": None,  # who5.toml: max_missing = 1, multiplier = 4
        }
    ]
    # not in the study: the built-in definition, said so in the source column; subscales one row each
    lines = study(*argv, "scs_sf", "--format", "csv").output.splitlines()
    assert lines[0] == (
        "instrument,version,sha256,source,measure,subscale,name,items,reverse,scoring,multiplier,"
        "item_min,item_max,score_min,score_max,higher_is_better,max_missing,reliability"
    )
    assert len(lines) == 8
    first = lines[1].split(",")
    assert first[:4] == ["scs_sf", "1", first[2], "built-in"]
    assert first[4:12] == [
        "scs_sf",
        "",
        "Self-Compassion Scale - Short Form",
        "1 2 3 4 5 6 7 8 9 10 11 12",
        "1 4 8 9 11 12",
        "mean",
        "1",
        "1",
    ]
    assert lines[2].split(",")[4:9] == [
        "scs_sf.self_kindness",
        "self_kindness",
        "Self-kindness",
        "2 6",
        "",
    ]
    # the table is the description for people, unchanged
    assert study(*argv, "scs_sf").output.endswith(
        "(built-in library definition; not yet added to this study: tracker instrument add scs_sf)\n"
    )


def test_db_current(study, tmp_path):
    line = study("db", "current").output
    assert line.endswith(": revision 0005 (newest)\n")
    where = line.split(": revision ")[0]
    assert json.loads(study("db", "current", "--format", "json").output) == [
        {"url": where, "revision": "0005", "head": "0005", "state": "newest", "advice": "newest"}
    ]
    assert study("db", "current", "--format", "csv").output == (
        f"url,revision,head,state,advice\n{where},0005,0005,newest,newest\n"
    )


def test_db_current_of_a_missing_file(tracker, tmp_path):
    missing = tmp_path / "nowhere.db"
    out = tracker("--db", str(missing), "db", "current", "--format", "json", db=False).output
    assert json.loads(out) == [
        {
            "url": f"sqlite:///{missing}",
            "revision": None,
            "head": "0005",
            "state": "missing",
            "advice": f"no database file at {missing}; run `tracker init --study NAME`",
        }
    ]
    assert not missing.exists()
    out = tracker("--db", str(missing), "db", "current", "--format", "csv", db=False).output
    assert out == (
        f"url,revision,head,state,advice\nsqlite:///{missing},,0005,missing,"
        f"no database file at {missing}; run `tracker init --study NAME`\n"
    )


def test_the_light_commands_records(study):
    s = ["--study", "Resident wellbeing 2027"]
    assert (
        study("wave", "list", *s, "--format", "csv").output
        == "order,name,day,window\n1,baseline,0,7\n2,post,56,14\n"
    )
    assert json.loads(study("cohort", "list", *s, "--format", "json").output) == [
        {
            "name": "MBSR spring",
            "arm": "intervention",
            "start": "2027-03-01",
            "participants": 2,
            "description": "",
        },
        {
            "name": "Waitlist spring",
            "arm": "control",
            "start": "",
            "participants": 1,
            "description": "",
        },
    ]
    status = json.loads(study("status", *s, "--format", "json").output)
    assert [
        (
            r["cohort"],
            r["wave"],
            r["instrument"],
            r["active"],
            r["completed"],
            r["percent"],
            r["withdrawn"],
        )
        for r in status
    ] == [
        ("MBSR spring", "baseline", "pss10", 2, 0, 0.0, 0),
        ("MBSR spring", "baseline", "who5", 2, 0, 0.0, 0),
        ("MBSR spring", "post", "pss10", 2, 0, 0.0, 0),
        ("MBSR spring", "post", "who5", 2, 0, 0.0, 0),
        ("Waitlist spring", "baseline", "pss10", 0, 0, None, 1),
        ("Waitlist spring", "baseline", "who5", 0, 0, None, 1),
        ("Waitlist spring", "post", "pss10", 0, 0, None, 1),
        ("Waitlist spring", "post", "who5", 0, 0, None, 1),
    ]
    # baseline: 2027-03-01 ± 7 is open on 03-05; post: 03-01 + 56 ± 14 = 04-12..05-10, not yet
    assert study("due", *s, "--as-of", "2027-03-05", "--format", "csv").output == (
        "cohort,arm,wave,opens,closes,state,participant,missing\n"
        'MBSR spring,intervention,baseline,2027-02-22,2027-03-08,due,R001,"pss10, who5"\n'
        'MBSR spring,intervention,baseline,2027-02-22,2027-03-08,due,R002,"pss10, who5"\n'
        'MBSR spring,intervention,post,2027-04-12,2027-05-10,upcoming,R001,"pss10, who5"\n'
        'MBSR spring,intervention,post,2027-04-12,2027-05-10,upcoming,R002,"pss10, who5"\n'
    )
    table = study(
        "due", *s, "--as-of", "2027-03-05"
    ).output  # for people: a row per wave and cohort
    assert table.splitlines()[2].split() == [
        "baseline",
        "MBSR",
        "spring",
        "intervention",
        "2027-02-22",
        "2027-03-08",
        "due",
    ]
    assert "R001 R002" in table and "upcoming" in table
