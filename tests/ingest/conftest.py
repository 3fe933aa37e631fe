"""A small study to import into, on SQLite and PostgreSQL, and helpers to look inside.

Study "Ingest": waves baseline (day 0 ± 7) and post (day 56 ± 14); cohorts
A (intervention) and B (control), both starting 2027-03-01; participants
P001-P003 in A, P004-P005 in B, W001 in A withdrawn on 2027-03-10;
instruments pss4 (4 items, 0-4, integers), who5 (5 items, 0-5) and "sleep"
(2 items, 0-24 hours, not integers).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tracker.db.engine import open_session
from tracker.db.models import Administration, AuditEvent, ImportBatch, ItemResponse, ScaleScore

SLEEP_TOML = """code = "sleep"
name = "Sleep hours"
items = 2
min = 0
max = 24
integer = false
scoring = "mean"
higher_is_better = true
"""

WIDE_HEADER = "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4,who5_1,who5_2,who5_3,who5_4,who5_5"


def build_study(url: str, folder: Path) -> None:
    from tracker.study.cohorts import add_cohort
    from tracker.study.instruments import add_instrument
    from tracker.study.participants import add_participant, withdraw
    from tracker.study.studies import create_study
    from tracker.study.waves import add_wave

    (folder / "sleep.toml").write_text(SLEEP_TOML)
    session = open_session(url)
    try:
        study = create_study(session, "Ingest")
        add_wave(session, study, "baseline", day=0, window=7)
        add_wave(session, study, "post", day=56, window=14)
        start = dt.date(2027, 3, 1)
        add_cohort(session, study, "A", arm="intervention", start=start)
        add_cohort(session, study, "B", arm="control", start=start)
        for code, cohort in [
            ("P001", "A"),
            ("P002", "A"),
            ("P003", "A"),
            ("P004", "B"),
            ("P005", "B"),
            ("W001", "A"),
        ]:
            add_participant(session, study, code, cohort=cohort, enrolled=start)
        withdraw(session, study, "W001", reason="moved away", on=dt.date(2027, 3, 10))
        for code in ("pss4", "who5", str(folder / "sleep.toml")):
            add_instrument(session, study, code)
        session.commit()
    finally:
        session.close()


@pytest.fixture
def url(db_url, tmp_path) -> str:
    """A database holding the study above (on each backend)."""
    build_study(db_url, tmp_path)
    return db_url


@pytest.fixture
def cli(url, tracker):
    """The CLI runner on the study database."""
    return tracker


def counts(url: str) -> dict[str, int]:
    with open_session(url) as s:
        return {
            name: s.scalar(select(func.count()).select_from(model))
            for name, model in [
                ("administrations", Administration),
                ("items", ItemResponse),
                ("scores", ScaleScore),
                ("batches", ImportBatch),
                ("audit", AuditEvent),
            ]
        }


def assert_scores_current(session) -> int:
    """``scale_score`` holds exactly what scoring the stored items with each administration's version gives.

    The expected scores are computed here by hand from the stored items and the
    stored definition (reverse keying, proration, multiplier), not by
    ``tracker.scoring``. Returns the number of scores compared.
    """
    import math

    from tracker.db.models import InstrumentVersion, ScaleScore

    items: dict[int, dict[int, float | None]] = {}
    for aid, item, value in session.execute(
        select(ItemResponse.administration_id, ItemResponse.item, ItemResponse.value)
    ):
        items.setdefault(aid, {})[item] = value
    stored_scores = {
        (aid, m): (score, answered, total, prorated)
        for aid, m, score, answered, total, prorated in session.execute(
            select(
                ScaleScore.administration_id,
                ScaleScore.measure,
                ScaleScore.score,
                ScaleScore.items_answered,
                ScaleScore.items_total,
                ScaleScore.prorated,
            )
        )
    }
    expected = {}
    for aid, version_id in session.execute(
        select(Administration.id, Administration.instrument_version_id)
    ):
        d = session.get(InstrumentVersion, version_id).definition
        low, high, k = d["min"], d["max"], d["items"]
        reverse = set(d.get("reverse", []))
        values = {i: items.get(aid, {}).get(i) for i in range(1, k + 1)}
        keyed = {
            i: (None if v is None else (low + high - v if i in reverse else v))
            for i, v in values.items()
        }
        answered = [v for v in keyed.values() if v is not None]
        if d.get("subscales"):  # the ingest study's instruments have none; say so rather than guess
            raise AssertionError("assert_scores_current handles totals only")
        if len(answered) and k - len(answered) <= d.get("max_missing", 0):
            mean = sum(answered) / len(answered)
            score = (mean * k if d.get("scoring", "sum") == "sum" else mean) * d.get(
                "multiplier", 1
            )
        else:
            score = None
        expected[(aid, d["code"])] = (score, len(answered), k, bool(answered) and len(answered) < k)
    assert stored_scores.keys() == expected.keys()
    for key, (score, answered, total, prorated) in expected.items():
        got = stored_scores[key]
        assert (got[1], got[2]) == (answered, total), key
        if score is None:
            assert got[0] is None or math.isnan(got[0]), key
        else:
            assert got[0] is not None and math.isclose(got[0], score, rel_tol=1e-12), (
                key,
                got,
                score,
            )
            assert bool(got[3]) == prorated, key
    return len(expected)


def stored(url: str) -> dict[tuple[str, str, str], dict]:
    """(participant, wave, instrument) -> {"completed": date|None, "values": {item: value}}."""
    from tracker.db.models import Instrument, Participant, Wave

    out: dict = {}
    with open_session(url) as s:
        rows = s.execute(
            select(
                Participant.code,
                Wave.name,
                Instrument.code,
                Administration.completed_on,
                ItemResponse.item,
                ItemResponse.value,
            )
            .join(Participant, Participant.id == Administration.participant_id)
            .join(Wave, Wave.id == Administration.wave_id)
            .join(Instrument, Instrument.id == Administration.instrument_id)
            .join(ItemResponse, ItemResponse.administration_id == Administration.id)
        ).all()
    for p, w, i, completed, item, value in rows:
        entry = out.setdefault((p, w, i), {"completed": completed, "values": {}})
        entry["values"][item] = value
    return out


def run_import(url: str, path, **kwargs):
    """``import_responses`` in its own committed unit of work."""
    from tracker.ingest import import_responses

    session = open_session(url)
    try:
        result = import_responses(session, None, path, **kwargs)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def write(folder: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path
