"""Scores read back from the database equal scores worked out independently from the raw items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from tests.factories import build_study
from tracker.datasets import load_items, load_scores, load_study_data


def pss10_by_hand(values: np.ndarray) -> float:
    """PSS-10 (Cohen & Williamson 1988): reverse items 4,5,7,8 as 4 - x, sum; up to 2 missing prorated."""
    v = values.copy()
    v[[3, 4, 6, 7]] = 4 - v[[3, 4, 6, 7]]
    answered = v[~np.isnan(v)]
    if len(v) - len(answered) > 2:
        return np.nan
    return float(answered.mean() * 10)


def who5_by_hand(values: np.ndarray) -> float:
    """WHO-5 percentage score: sum of five 0-5 items x 4; one missing item prorated."""
    answered = values[~np.isnan(values)]
    if 5 - len(answered) > 1:
        return np.nan
    return float(answered.mean() * 5 * 4)


def test_scores_match_hand_scoring(session):
    study, written = build_study(session, n_per_arm=6)
    scores = load_scores(session, study)
    assert list(scores.columns) == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "wave_order",
        "instrument",
        "measure",
        "score",
        "items_answered",
        "items_total",
        "prorated",
    ]
    assert len(scores) == len(written)
    for (code, wave, inst), values in written.items():
        row = scores[
            (scores.participant == code) & (scores.wave == wave) & (scores.measure == inst)
        ].iloc[0]
        expected = pss10_by_hand(values) if inst == "pss10" else who5_by_hand(values)
        assert row.score == pytest.approx(expected, rel=1e-12)
        assert row.items_answered == int((~np.isnan(values)).sum())
        assert bool(row.prorated) == bool(np.isnan(values).any())
        assert row.arm == ("intervention" if code.startswith("I") else "control")


def test_wave_filter_and_items(session):
    study, written = build_study(session, n_per_arm=3)
    post = load_scores(session, study, wave="post")
    assert set(post.wave) == {"post"} and len(post) == 3 * 2 * 2
    items = load_items(session, study, wave="baseline")
    assert set(items.wave) == {"baseline"}
    assert len(items) == 6 * (10 + 5)
    one = items[(items.participant == "I000") & (items.instrument == "pss10")].sort_values("item")
    np.testing.assert_array_equal(one.value.to_numpy(), written[("I000", "baseline", "pss10")])


def test_study_data_keyed_items_are_reverse_keyed(session):
    study, written = build_study(session, n_per_arm=3)
    data = load_study_data(session, study)
    keyed = data.keyed_items
    one = keyed[
        (keyed.participant == "C001") & (keyed.wave == "post") & (keyed.measure == "pss10")
    ].sort_values("item")
    raw = written[("C001", "post", "pss10")].copy()
    raw[[3, 4, 6, 7]] = 4 - raw[[3, 4, 6, 7]]
    np.testing.assert_array_equal(one.value.to_numpy(), raw)
    assert data.wave_names() == ["baseline", "post"]
    assert set(data.measures.measure) == {"pss10", "who5"}
    assert data.db_revision is not None


def test_large_ids_survive_the_packed_reads(session):
    """Ids near PostgreSQL's integer limit: the loaders pack (id, item) and (wave, measure) pairs."""
    from sqlalchemy import text

    from tracker.db.models import Administration

    big = 2_000_000_000
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ALTER SEQUENCE administration_id_seq RESTART WITH {big}"))
        session.execute(text(f"ALTER SEQUENCE wave_id_seq RESTART WITH {big // 3}"))
    study, written = build_study(session, n_per_arm=3)
    if session.get_bind().dialect.name == "sqlite":  # ids are MAX + 1: move them by hand
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        for aid in sorted(session.scalars(text("SELECT id FROM administration")), reverse=True):
            for table, column in (
                ("item_response", "administration_id"),
                ("scale_score", "administration_id"),
            ):
                session.execute(
                    text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                    {"new": aid + big, "old": aid},
                )
            session.execute(
                text("UPDATE administration SET id = :new WHERE id = :old"),
                {"new": aid + big, "old": aid},
            )
    assert min(session.scalars(text("SELECT id FROM administration"))) >= big
    scores = load_scores(session, study)
    for (code, wave, inst), values in written.items():
        row = scores[
            (scores.participant == code) & (scores.wave == wave) & (scores.measure == inst)
        ].iloc[0]
        expected = pss10_by_hand(values) if inst == "pss10" else who5_by_hand(values)
        assert row.score == pytest.approx(expected, rel=1e-12, nan_ok=True)
    items = load_items(session, study)
    assert len(items) == len(written) // 2 * (10 + 5)
    one = items[
        (items.participant == "I001") & (items.wave == "post") & (items.instrument == "pss10")
    ]
    np.testing.assert_array_equal(
        one.sort_values("item").value.to_numpy(), written[("I001", "post", "pss10")]
    )
    assert session.get(Administration, int(items.administration_id.min())) is not None


def test_the_direct_reader_reads_what_the_session_reads(session, db_url):
    """tracker analyze's own connection (no SQLAlchemy) gives the same StudyData as the session."""
    from tracker.db.reader import open_reader

    study, _ = build_study(session, n_per_arm=4)
    session.commit()
    through_session = load_study_data(session, study)
    reader = open_reader(db_url)
    assert reader is not None
    try:
        direct = load_study_data(reader, reader.study(None))
    finally:
        reader.close()
    for name in (
        "waves",
        "cohorts",
        "participants",
        "scores",
        "keyed_items",
        "measures",
        "batches",
        "administrations",
    ):
        pd.testing.assert_frame_equal(
            getattr(direct, name), getattr(through_session, name), obj=name
        )
    assert direct.db_revision == through_session.db_revision


def test_trajectory_tables_share_one_fit_per_measure(session, monkeypatch):
    # the report asks for the fixed effects and the model means: each model is fitted once
    import importlib

    from tracker.analysis import estimated_means, trajectory
    from tracker.datasets import analyses

    trajectory_module = importlib.import_module("tracker.analysis.trajectory")

    study, _ = build_study(session, n_per_arm=6)
    data = load_study_data(session, study)
    fitted = []
    original = trajectory_module._fit_measure
    monkeypatch.setattr(
        trajectory_module, "_fit_measure", lambda *a: fitted.append(1) or original(*a)
    )
    effects, means = analyses.trajectory(data), analyses.trajectory_means(data)
    assert len(fitted) == 2  # pss10 and who5, not 4
    order = effects["measure"].unique().tolist()
    assert sorted(order) == ["pss10", "who5"]
    pd.testing.assert_frame_equal(effects, trajectory(data.scores, measures=order, arm="arm"))
    pd.testing.assert_frame_equal(means, estimated_means(data.scores, measures=order, arm="arm"))
    assert analyses.trajectory(data, measure="who5")["measure"].unique().tolist() == ["who5"]
    assert len(fitted) == 2 + 4 + 1  # the two direct calls fitted again; one measure is its own key


def test_scores_come_sorted_by_participant_code_wave_and_measure(session):
    # the loader sorts on integer ranks; the result must be the order sorting the strings gives
    study, _ = build_study(session, n_per_arm=4)
    scores = load_scores(session, study)
    ids = [
        row[0] for row in session.execute(text("SELECT code FROM participant ORDER BY id")).all()
    ]
    assert ids != sorted(ids)  # enrolled in an order that is not the codes' order
    expected = scores.sort_values(["participant", "wave_order", "measure"], ignore_index=True)
    pd.testing.assert_frame_equal(scores, expected)
    assert scores["participant"].iloc[0] == min(ids)


def test_the_rci_takes_the_first_waves_alphas_of_the_reliability_table_when_given(
    session, monkeypatch
):
    # `tracker analyze all` and the report compute reliability, then pass the first wave's
    # alphas to change explicitly (pss10 has a published reliability; who5 uses its alpha);
    # without them change computes the same numbers itself: no dependence on call order
    from tracker import analysis
    from tracker.datasets import analyses

    study, _ = build_study(session, n_per_arm=8, seed=5)
    fresh = analyses.baseline_reliability(load_study_data(session, study))
    assert set(fresh) == {"pss10", "who5"} and fresh["pss10"] == 0.78

    data = load_study_data(session, study)
    table = analyses.reliability(data, wave="baseline")
    who5 = table[table["measure"] == "who5"]["alpha"].item()
    alphas = analyses.alphas_at(table, "baseline")
    calls = []
    original = analysis.reliability
    monkeypatch.setattr(
        analysis, "reliability", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    assert analyses.baseline_reliability(data, alphas=alphas) == fresh
    assert fresh["who5"] == who5
    assert calls == []  # no second alpha computation
    # computing reliability first changes nothing when the alphas are not passed
    assert analyses.baseline_reliability(data) == fresh and len(calls) == 1
    # the change table is the same either way
    with_alphas = analyses.change(data, pre="baseline", post="post", baseline_alphas=alphas)
    pd.testing.assert_frame_equal(
        with_alphas, analyses.change(load_study_data(session, study), pre="baseline", post="post")
    )


@pytest.mark.parametrize("big_participant_ids", [False, True])
def test_scores_read_as_two_or_three_numbers_are_the_hand_scored_values(
    session, big_participant_ids
):
    """Participant ids below 2^21 go into one number with the wave and measure; larger ones do not."""
    from tracker.datasets.loaders import SCORE_COLUMNS

    big = 2**21 + 7
    postgres = session.get_bind().dialect.name == "postgresql"
    if big_participant_ids and postgres:
        session.execute(text(f"ALTER SEQUENCE participant_id_seq RESTART WITH {big}"))
    study, written = build_study(session, n_per_arm=3)
    if big_participant_ids and not postgres:  # ids are MAX + 1: move them by hand
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        session.execute(text(f"UPDATE administration SET participant_id = participant_id + {big}"))
        session.execute(text(f"UPDATE participant SET id = id + {big}"))
    ids = list(session.scalars(text("SELECT id FROM participant")))
    assert (min(ids) >= 2**21) == big_participant_ids
    data = load_study_data(session, study)
    lean = load_study_data(session, study, score_counts=False)
    assert list(data.scores.columns) == SCORE_COLUMNS
    assert list(lean.scores.columns) == SCORE_COLUMNS[:-3]
    pd.testing.assert_frame_equal(lean.scores, data.scores[SCORE_COLUMNS[:-3]])
    scores = data.scores
    assert len(scores) == len(written)
    for (code, wave, inst), values in written.items():
        row = scores[
            (scores.participant == code) & (scores.wave == wave) & (scores.measure == inst)
        ].iloc[0]
        expected = pss10_by_hand(values) if inst == "pss10" else who5_by_hand(values)
        assert row.score == pytest.approx(expected, rel=1e-12, nan_ok=True)
        assert row.items_total == len(values) and row.items_answered == np.count_nonzero(
            ~np.isnan(values)
        )


def test_administrations_carry_their_completion_dates(session):
    """The dates are read as day numbers: a NULL, a date before 1970 and a leap day come back as written."""
    import datetime as dt

    from sqlalchemy import select

    from tracker.db.models import Administration

    study, _ = build_study(session, n_per_arm=2)
    admins = list(session.scalars(select(Administration).order_by(Administration.id)))
    written = [None, dt.date(1969, 12, 31), dt.date(2028, 2, 29), dt.date(1970, 1, 1)]
    for adm, day in zip(admins, written, strict=False):
        adm.completed_on = day
    session.flush()
    expected = [a.completed_on for a in admins]
    data = load_study_data(session, study)
    got = data.administrations.sort_values("administration_id")["completed_on"].tolist()
    assert got[:4] == written and got == expected
    assert all(d is None or type(d) is dt.date for d in got)
