"""The study loader's fast reads give, bit for bit, the frames of its plain reads.

The plain reads are the loader as it was: every item response and
administration as a row of numbers, the keyed items through
``frames.keyed_items`` and ``frames.attach``. The fast ones: item responses as
text of packed integers (SQLite), the administrations' keys packed into one
number, the keyed items built from arrays (``frames.keyed_frame``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from tests.factories import build_study
from tracker.datasets import frames, load_study_data
from tracker.db import read_store
from tracker.db.reader import Reader

FRAMES = (
    "waves",
    "cohorts",
    "participants",
    "scores",
    "keyed_items",
    "measures",
    "batches",
    "administrations",
)
OPTIONS = [
    {},
    {"item_waves": ["post"], "score_waves": ["baseline"]},
    {"item_instruments": ["who5"], "administrations": False, "score_counts": False},
    {"administrations": False, "item_waves": ["baseline"]},
    {"item_waves": []},
]


def _plain_reads(monkeypatch) -> None:
    monkeypatch.setattr(
        read_store,
        "_sqlite_item_responses",
        lambda reader, template, study_id, waves, ids: read_store._filtered(
            reader, template, study_id, waves, ids, width=2
        ),
    )
    monkeypatch.setattr(read_store, "_id_widths", lambda reader: [64] * 5)
    monkeypatch.setattr(frames, "keyed_frame", frames._keyed_reference)


def _assert_same_loads(session, study, monkeypatch) -> None:
    fast = [load_study_data(session, study, **options) for options in OPTIONS]
    with monkeypatch.context() as m:
        _plain_reads(m)
        plain = [load_study_data(session, study, **options) for options in OPTIONS]
    for options, got, want in zip(OPTIONS, fast, plain, strict=True):
        for name in FRAMES:
            if getattr(want, name) is None:
                assert getattr(got, name) is None
                continue
            pd.testing.assert_frame_equal(
                getattr(got, name),
                getattr(want, name),
                check_dtype=True,
                check_exact=True,
                obj=f"{name} {options}",
            )


def _awkward(session) -> None:
    """Unanswered items, items without a row, an administration without any item row."""
    session.execute(
        text("UPDATE item_response SET value = NULL WHERE (administration_id + item) % 5 = 0")
    )
    session.execute(text("DELETE FROM item_response WHERE (administration_id * 7 + item) % 11 = 0"))
    first = session.execute(text("SELECT MIN(administration_id) FROM item_response")).scalar()
    session.execute(text("DELETE FROM item_response WHERE administration_id = :a"), {"a": first})


@pytest.mark.parametrize("chunk", [None, 3])
def test_fast_and_plain_reads_load_the_same_frames(session, monkeypatch, chunk):
    if chunk:  # many texts of packed item responses, some empty
        monkeypatch.setattr(read_store, "_CHUNK_IDS", chunk)
    study, _ = build_study(session, n_per_arm=3)
    _awkward(session)
    _assert_same_loads(session, study, monkeypatch)


def test_one_participant_loads_the_same_frames(session, monkeypatch):
    study, _ = build_study(session, n_per_arm=1)
    session.execute(text("DELETE FROM participant WHERE code LIKE 'C%'"))
    _assert_same_loads(session, study, monkeypatch)


def test_the_demo_loads_the_same_frames(tmp_path, monkeypatch):
    """The demo study: several instruments, subscales, reverse keying, three waves."""
    from tracker.db.engine import open_session
    from tracker.demo.run import run_demo
    from tracker.study.studies import resolve_study

    url = run_demo(tmp_path / "demo", participants=24, seed=5, report=False)["db_url"]
    with open_session(url) as session:
        _awkward(session)
        _assert_same_loads(session, resolve_study(session), monkeypatch)


AWKWARD_VALUES = [
    None,
    0.0,
    -0.0,  # SQLite stores a whole REAL as an integer: read back as 0.0 on both paths
    2.5,
    0.1 + 0.2,
    -2047.0,
    -2048.0,
    2046.0,
    2047.0,
    1e300,
    -1e300,
    float("inf"),
    3.0,
    -7.0,
]


def test_item_responses_read_the_values_the_plain_read_gives(session, monkeypatch):
    """Whole values in the packed range, fractions, range edges, huge values, NULL: same bits."""
    monkeypatch.setattr(read_store, "_CHUNK_IDS", 2)
    study, _ = build_study(session, n_per_arm=2)
    rows = session.execute(
        text("SELECT administration_id, item FROM item_response ORDER BY administration_id, item")
    ).all()
    for (aid, item), value in zip(rows, AWKWARD_VALUES * len(rows), strict=False):
        session.execute(
            text("UPDATE item_response SET value = :v WHERE administration_id = :a AND item = :i"),
            {"v": value, "a": aid, "i": item},
        )
    reader = Reader.of(session)
    waves = [r[0] for r in session.execute(text("SELECT name FROM wave"))]
    instruments = [r[0] for r in session.execute(text("SELECT id FROM instrument"))]
    for filters in [(None, None), (waves[:1], None), (None, instruments[:1]), (waves, instruments)]:
        got = read_store.item_responses(reader, study.id, *filters)
        template = (
            read_store._RESPONSE_SQL_ALL if filters == (None, None) else read_store._RESPONSE_SQL
        )
        want = read_store._filtered(reader, template, study.id, *filters, width=2)
        if filters != (None, None):  # a join: the order is the plan's
            got, want = got[np.argsort(got[:, 0])], want[np.argsort(want[:, 0])]
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), filters
    assert len(read_store.item_responses(reader, study.id, None, [])) == 0


@pytest.mark.parametrize("dates", [True, False])
def test_packed_administration_keys_are_the_plain_read(session, dates):
    study, _ = build_study(session, n_per_arm=2)
    reader = Reader.of(session)
    days = f", COALESCE({read_store._DAYS[reader.dialect]}, {{null}})" if dates else ""
    want = read_store._filtered(
        reader, read_store._ADMIN_SQL.replace("{dates}", days), study.id, None, width=5 + dates
    )
    got = read_store.administrations(reader, study.id, None, dates=dates)
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("too_big", [False, True])
def test_counts_packed_with_the_score_key_are_the_plain_read(session, too_big):
    """Scores read as two numbers (counts inside the key) or, when a count does not fit, three."""
    from tracker.datasets.lookups import Lookups

    study, _ = build_study(session, n_per_arm=3)
    if too_big:  # a count no packing holds: the three-number read is taken
        session.execute(text("UPDATE scale_score SET items_total = 5000000 WHERE items_total = 10"))
    reader = Reader.of(session)
    codes = Lookups(reader, study).measure_codes()
    cases = " ".join(f"WHEN ? THEN {n}" for n in range(len(codes)))
    sql = read_store._SCORE_SQL.format(
        key=read_store._SCORE_KEY[True], counts=read_store._SCORE_COUNTS
    )
    for waves in (None, ["post"]):
        want = read_store._filtered(
            reader, sql, study.id, waves, lead=codes, measure_cases=cases, width=3, join="JOIN"
        )
        got = read_store.scale_scores(reader, study.id, waves, codes, packed=True, counts=True)
        order_got, order_want = np.lexsort(got.T[::-1]), np.lexsort(want.T[::-1])
        assert got[order_got].tobytes() == want[order_want].tobytes()
