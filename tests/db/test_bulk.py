"""The bulk writer: what it writes is what it was given, on either path, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from tracker.db.bulk import BulkWriter
from tracker.db.models import ImportBatch, Instrument, Participant
from tracker.db.sql import driver_sql, marks
from tracker.study.instruments import current_versions
from tracker.study.waves import add_wave


def test_one_placeholder_convention():
    sql = "SELECT a FROM t WHERE b = ? AND c LIKE 'x%' AND d IN (" + marks(3) + ")"
    assert driver_sql(sql, "sqlite") == sql
    assert (
        driver_sql(sql, "postgresql")
        == "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%' AND d IN (%s, %s, %s)"
    )


def _new_administrations(session, n_wanted: int):
    from tests.factories import build_study

    study, _ = build_study(session, n_per_arm=6, instruments=("pss10",))
    wave = add_wave(session, study, "later", day=200)
    session.flush()
    instrument = session.scalars(select(Instrument).where(Instrument.code == "pss10")).one()
    version_id = current_versions(session, study)["pss10"].id
    people = session.scalars(select(Participant.id).order_by(Participant.id)).all()[:n_wanted]
    batch = ImportBatch(
        study_id=study.id,
        file_name="f.csv",
        sha256="0" * 64,
        format="wide",
        row_count=0,
        item_count=0,
        os_user="test",
    )
    session.add(batch)
    session.flush()
    bulk = BulkWriter.of(session)
    ids = bulk.insert_administrations(
        list(people),
        [wave.id] * len(people),
        instrument.id,
        version_id,
        [0] * len(people),
        batch.id,
    )
    return bulk, ids


@pytest.mark.parametrize("kind", ["whole", "fractions", "extremes"])
def test_item_values_come_back_exactly(session, kind):
    bulk, ids = _new_administrations(session, 12)
    rng = np.random.default_rng(4)
    values = rng.integers(0, 5, size=(len(ids), 10)).astype(np.float64)
    if kind == "fractions":  # not whole: the executemany path
        values = values + rng.random(values.shape) / 3
    if kind == "extremes":  # whole, and as large as the JSON path takes, and beyond
        values[0, :3] = [-0.0, 1e15 - 1, -(1e15 - 1)]
        values[1, :2] = [1e15, 2.0**60]
    values[rng.random(values.shape) < 0.2] = np.nan
    bulk.insert_items(ids, values)
    got_ids, got_items, got_values = bulk.items_of(ids)
    back = np.full_like(values, -1.0)
    back[np.searchsorted(ids, got_ids), got_items - 1] = got_values
    assert len(got_ids) == values.size
    both_nan = np.isnan(values) & np.isnan(back)
    assert (both_nan | (values == back)).all()
    session.rollback()


@pytest.mark.parametrize("kind", ["whole", "unscored", "prorated", "not_consecutive"])
def test_scores_come_back_as_given(session, monkeypatch, kind):
    """Subscales, missing and prorated scores: the JSON path (SQLite, whole numbers) stores what executemany
    would; fractions and any other shape of frame take executemany."""
    from tracker.db import scores
    from tracker.instruments import InstrumentDef
    from tracker.scoring.engine import score_matrix_frame

    bulk, ids = _new_administrations(session, 12)
    definition = InstrumentDef.from_dict(
        {
            "code": "t",
            "name": "T",
            "items": 6,
            "min": 0,
            "max": 4,
            "scoring": "sum",
            "higher_is_better": True,
            "reverse": [2],
            "max_missing": 0 if kind == "unscored" else 1,
            "subscales": [
                {"code": "a", "items": [1, 2, 3]},
                {"code": "b", "items": [4, 5, 6], "scoring": "mean"},
            ],
        }
    )
    rng = np.random.default_rng(9)
    values = rng.integers(0, 5, size=(len(ids), definition.items)).astype(np.float64)
    values[:, 3:] = values[:, 3:4]  # subscale b's mean is whole
    if kind != "whole":
        values[rng.random(values.shape) < 0.15] = np.nan  # not scored, or prorated (fractions)
    if kind == "unscored":
        values[:, 3:] = values[
            :, 3:4
        ]  # b's mean stays whole; the total and a are whole or not scored
    chosen = ids if kind != "not_consecutive" else ids[::2]
    frame = score_matrix_frame(chosen, values[: len(chosen)], definition)
    paths = []
    whole = scores._insert_whole_scores
    monkeypatch.setattr(
        scores, "_insert_whole_scores", lambda *a: paths.append(whole(*a)) or paths[-1]
    )
    scores.insert_scores(bulk, frame)
    if bulk.dialect == "sqlite":
        assert paths == [kind in ("whole", "unscored")]
    score_rows = scores.score_rows
    got = bulk.rows(
        "SELECT administration_id, measure, score, items_answered, items_total, prorated "
        "FROM scale_score WHERE administration_id >= ? ORDER BY administration_id, measure",
        int(ids[0]),
    )
    want = sorted(score_rows(frame), key=lambda r: (r[0], r[1]))
    assert [(*r[:5], bool(r[5])) for r in got] == want
    assert kind != "whole" or all(r[2] is not None for r in want)
    session.rollback()
