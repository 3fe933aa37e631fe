"""The light commands' plain-SQL queries give what the ORM-and-pandas functions give."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from tests.factories import build_study
from tracker.db import listing
from tracker.db.engine import open_session
from tracker.db.reader import Reader, StudyRef, open_reader
from tracker.errors import NotFound


def _orm_study(s, study):
    """The study's cohorts, waves, instruments, participants and (participant, wave, instrument code) answered."""
    from sqlalchemy import select

    from tracker.db.models import Administration, Cohort, Instrument, Participant, Wave

    def of(model):
        return list(s.scalars(select(model).where(model.study_id == study.id)))

    codes = {i.id: i.code for i in of(Instrument)}
    answered = {
        (a.participant_id, a.wave_id, codes[a.instrument_id])
        for a in s.scalars(
            select(Administration).join(Participant).where(Participant.study_id == study.id)
        )
    }
    return of(Cohort), of(Wave), sorted(codes.values()), of(Participant), answered


def _orm_completion(s, study) -> list[dict]:
    """The completion matrix as the ORM sees it, participant by participant (the oracle: a second
    formulation, independent of listing's grouped SQL counts, which tracker.datasets.status now uses)."""
    cohorts, waves, codes, people, answered = _orm_study(s, study)
    out = []
    for c in sorted(cohorts, key=lambda c: c.name):
        members = [p for p in people if p.cohort_id == c.id]
        active = [p for p in members if p.status == "active"]
        for w in sorted(waves, key=lambda w: w.position):
            for code in codes:
                n = sum((p.id, w.id, code) in answered for p in active)
                out.append(
                    {
                        "cohort": c.name,
                        "arm": c.arm,
                        "wave": w.name,
                        "wave_order": w.position,
                        "instrument": code,
                        "active": len(active),
                        "completed": n,
                        "percent": 100.0 * n / len(active) if active else float("nan"),
                        "withdrawn": sum(p.status == "withdrawn" for p in members),
                    }
                )
    return out


def _orm_due(s, study, *, wave, today) -> list[dict]:
    """Who is outstanding, as the ORM sees it (the oracle of listing.due)."""
    cohorts, waves, codes, people, answered = _orm_study(s, study)
    by_id = {c.id: c for c in cohorts}
    out = []
    for w in waves:
        if wave is not None and w.name != wave:
            continue
        for p in people:
            missing = [c for c in codes if (p.id, w.id, c) not in answered]
            if p.status != "active" or not missing:
                continue
            cohort = by_id[p.cohort_id]
            opens = closes = None
            state = "unscheduled"
            if cohort.start_date is not None:
                opens = cohort.start_date + dt.timedelta(days=w.day_offset - w.window_days)
                closes = cohort.start_date + dt.timedelta(days=w.day_offset + w.window_days)
                state = "upcoming" if today < opens else "overdue" if today > closes else "due"
            out.append(
                {
                    "cohort": cohort.name,
                    "arm": cohort.arm,
                    "wave": w.name,
                    "wave_order": w.position,
                    "opens": opens,
                    "closes": closes,
                    "state": state,
                    "participant": p.code,
                    "missing": ", ".join(missing),
                }
            )
    return sorted(out, key=lambda r: (r["wave_order"], r["cohort"], r["participant"]))


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) and math.isnan(x[k]):
                assert isinstance(y[k], float) and math.isnan(y[k]), k
            else:
                assert x[k] == y[k], (k, x[k], y[k])


@pytest.fixture
def study_url(db_url):
    from sqlalchemy import select

    from tracker.db.models import Administration, Instrument, InstrumentVersion, Participant, Wave
    from tracker.study.cohorts import add_cohort
    from tracker.study.instruments import add_instrument
    from tracker.study.participants import add_participant, withdraw

    with open_session(db_url) as s:
        study, _ = build_study(
            s, n_per_arm=6, seed=3, waves=(("baseline", 0), ("post", 56), ("later", 120))
        )
        add_cohort(s, study, "unscheduled cohort", arm="control")
        add_cohort(s, study, "empty cohort", arm="control", start=dt.date(2027, 3, 1))
        withdraw(s, study, "I002", reason="moved", on=dt.date(2027, 3, 10))
        # someone outstanding everywhere: an instrument added after the answers, two participants
        # without answers (one in the cohort without a start), one with a single answer
        add_instrument(s, study, "flourishing")
        add_participant(
            s, study, "U001", cohort="unscheduled cohort", enrolled=dt.date(2027, 2, 20)
        )
        add_participant(
            s, study, "I900", cohort="intervention cohort", enrolled=dt.date(2027, 2, 20)
        )
        ids = {
            (type(x).__name__, x.name if hasattr(x, "name") else x.code): x.id
            for model in (Participant, Wave, Instrument)
            for x in s.scalars(select(model))
        }
        pss = s.scalar(
            select(InstrumentVersion).where(
                InstrumentVersion.instrument_id == ids["Instrument", "pss10"]
            )
        )
        s.add(
            Administration(
                participant_id=ids["Participant", "I900"],
                wave_id=ids["Wave", "baseline"],
                instrument_id=ids["Instrument", "pss10"],
                instrument_version_id=pss.id,
                completed_on=dt.date(2027, 3, 2),
            )
        )
        s.commit()
    return db_url


def test_listing_equals_the_orm_functions(study_url):
    from tracker.datasets.status import completion, due
    from tracker.study.cohorts import list_cohorts
    from tracker.study.studies import list_studies, resolve_study
    from tracker.study.waves import list_waves

    with open_session(study_url) as s:
        study = resolve_study(s)
        ref = StudyRef.of(study)
        reader = Reader.of(s)
        _same(listing.studies(reader), list_studies(s))
        _same(listing.waves(reader, ref), list_waves(s, study))
        _same(listing.cohorts(reader, ref), list_cohorts(s, study))
        matrix = listing.completion(reader, ref)
        assert {r["withdrawn"] for r in matrix} == {0, 1} and any(r["completed"] for r in matrix)
        assert any(r["percent"] != r["percent"] for r in matrix)  # the cohort without participants
        _same(matrix, _orm_completion(s, study))
        _same(completion(s, study).to_dict("records"), matrix)  # the DataFrame for Python users
        states = set()
        for wave in (None, "post"):
            for today in (dt.date(2027, 1, 1), dt.date(2027, 4, 26), dt.date(2028, 1, 1)):
                rows = listing.due(reader, ref, wave=wave, today=today)
                states |= {r["state"] for r in rows}
                _same(rows, _orm_due(s, study, wave=wave, today=today))
                _same(due(s, study, wave=wave, today=today).to_dict("records"), rows)
        assert states == {"upcoming", "due", "overdue", "unscheduled"}
        i900 = [
            r["missing"]
            for r in listing.due(reader, ref, today=dt.date(2027, 4, 26))
            if r["participant"] == "I900"
        ]
        assert i900 == ["flourishing, who5", "flourishing, pss10, who5", "flourishing, pss10, who5"]
        with pytest.raises(NotFound, match="no wave named 'nope'"):
            listing.due(reader, ref, wave="nope")


def test_the_direct_and_the_session_paths_agree(study_url):
    direct = open_reader(study_url)
    assert direct is not None
    try:
        ref = direct.study(None)
        via_direct = listing.completion(direct, ref)
    finally:
        direct.close()
    _same(listing.with_reader(study_url, None, listing.completion), via_direct)
    # a URL with options never takes the direct path, and still answers
    url = (
        study_url
        + ("&" if "?" in study_url else "?")
        + ("connect_timeout=5" if "postgresql" in study_url else "timeout=5")
    )
    assert open_reader(url) is None
    assert [w["name"] for w in listing.with_reader(url, None, listing.waves)] == [
        "baseline",
        "post",
        "later",
    ]
    with pytest.raises(NotFound):
        listing.with_reader(study_url, "No such study", listing.waves)


PARTS_ONLY = """code = "parts"
name = "Two parts, no total"
version = "1"
items = 4
min = 0
max = 3
scoring = "sum"
higher_is_better = true
total = false

[[subscales]]
code = "first"
items = [1, 2]

[[subscales]]
code = "second"
items = [3, 4]
"""


def test_completion_names_are_the_studys_names(db_url, tmp_path):
    """listing.names (shell completion) gives the ORM's measures (totals, subscales, none for total = false),
    the waves in order, and nothing at all where the direct reader cannot go."""
    from tracker.study.instruments import add_instrument, known_measures

    (tmp_path / "parts.toml").write_text(PARTS_ONLY, encoding="utf-8")
    with open_session(db_url) as s:
        study, _ = build_study(s, n_per_arm=2, waves=(("pre", 0), ("mid", 28), ("post", 56)))
        add_instrument(s, study, "scs_sf")
        add_instrument(s, study, str(tmp_path / "parts.toml"))
        s.commit()
        expected = known_measures(s, study)
    measures = listing.names(db_url, None, "measure")
    assert (
        sorted(measures) == sorted(expected)
        and "parts" not in measures
        and "parts.first" in measures
    )
    assert listing.names(db_url, "Factory study", "wave") == ["pre", "mid", "post"]
    assert listing.names(db_url, None, "cohort") == ["control cohort", "intervention cohort"]
    assert listing.names(db_url, None, "study") == ["Factory study"]
    assert listing.names(db_url, None, "instrument") == ["parts", "pss10", "scs_sf", "who5"]
    assert listing.names(db_url, "Nope", "wave") == []
    assert listing.names(f"sqlite:///{tmp_path / 'missing.db'}", None, "wave") == []
    assert not (tmp_path / "missing.db").exists()
