"""tracker instrument add | list | show, versioned snapshots, and model roles on real measures."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.db.engine import open_session
from tracker.db.models import InstrumentVersion

OWN = """
code = "confidence"
name = "Confidence in providing calm, compassionate care"
construct = "confidence"
items = 3
min = 0
max = 10
scoring = "mean"
higher_is_better = true
max_missing = 1
"""


@pytest.fixture
def study(tracker):
    tracker("init", "--study", "S")
    return tracker


def test_add_builtin_and_own(study, tmp_path):
    (tmp_path / "confidence.toml").write_text(OWN)
    out = study("instrument", "add", "pss10", "scs_sf", "confidence.toml").output
    assert "pss10 (version 1, sha256 " in out and out.count(": added") == 3
    listing = study("instrument", "list", env={"COLUMNS": "200"}).output
    assert [line.split()[0] for line in listing.splitlines()[2:]] == [
        "confidence",
        "pss10",
        "scs_sf",
    ]
    narrow = study("instrument", "list").output  # 80 columns: blocks, each led by the code
    for block in narrow.strip().split("\n\n"):
        assert [line.split()[0] for line in block.splitlines()[2:] if not line.startswith(" ")] == [
            "confidence",
            "pss10",
            "scs_sf",
        ]
    shown = study("instrument", "show", "scs_sf").output
    assert "scs_sf.self_kindness" in shown
    # adding the same definition again is a no-op
    assert "already stored, unchanged" in study("instrument", "add", "pss10").output
    with open_session(study.url) as s:
        snapshot = s.scalars(select(InstrumentVersion)).all()
        assert len(snapshot) == 3
        assert all(len(v.sha256) == 64 and v.definition["code"] for v in snapshot)


def test_changed_definition_needs_a_new_version(study, tmp_path):
    path = tmp_path / "confidence.toml"
    path.write_text(OWN)
    study("instrument", "add", str(path))
    path.write_text(OWN.replace("max_missing = 1", "max_missing = 0"))
    r = study("instrument", "add", str(path), expect=1)
    assert (
        "instrument 'confidence' version '1' is already stored with a different definition"
        in r.output
    )
    assert "give the changed definition a new `version`" in r.output
    path.write_text('version = "2"\n' + OWN.replace("max_missing = 1", "max_missing = 0"))
    assert "added as a new version" in study("instrument", "add", str(path)).output
    with open_session(study.url) as s:
        assert sorted(v.version for v in s.scalars(select(InstrumentVersion))) == ["1", "2"]


def test_bad_instrument_file_names_file_and_field(study, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        OWN.replace("max = 10", "max = 0").replace('scoring = "mean"', 'scoring = "median"')
    )
    r = study("instrument", "add", str(path), expect=1)
    assert str(path) in r.output and "scoring" in r.output and "min" in r.output
    r = study("instrument", "add", "nosuchcode", expect=1)
    assert "nosuchcode" in r.output and "pss10" in r.output  # lists what is available


def test_model_roles_use_real_measures(study):
    study("instrument", "add", "cams_r", "scs_sf", "pss10")
    study("model", "set", "pss10", "intermediate")
    study("model", "set", "cams_r", "modifiable")
    study("model", "set", "scs_sf.self_kindness", "modifiable")
    study("model", "set", "pss10", "outcome")  # changing a role is allowed and audited
    rows = [line.split() for line in study("model", "show").output.splitlines()[2:]]
    assert rows == [
        ["cams_r", "modifiable"],
        ["scs_sf.self_kindness", "modifiable"],
        ["pss10", "outcome"],
    ]


def test_library_listing_needs_no_study(study):
    out = study("instrument", "list", "--library").output
    for code in [
        "pss10",
        "pss4",
        "scs_sf",
        "cams_r",
        "maas",
        "flourishing",
        "who5",
        "cd_risc10",
        "phq9",
        "gad7",
    ]:
        assert f"\n{code} " in out
