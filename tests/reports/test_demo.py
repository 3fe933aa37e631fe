"""``tracker demo``: seeded, deterministic, the seed study's pattern, the real workflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracker.demo.run import DEMO_STUDY, INSTRUMENTS, run_demo
from tracker.demo.simulate import SimulationSettings, simulate
from tracker.instruments import load_toml, resolve


def definitions():
    from importlib import resources

    with resources.as_file(resources.files("tracker.demo") / "confidence_calm_care.toml") as own:
        return [resolve(c) for c in INSTRUMENTS] + [load_toml(own)]


def scores_of(url: str) -> pd.DataFrame:
    from tracker.datasets import load_study_data
    from tracker.db.engine import open_session
    from tracker.study.studies import resolve_study

    with open_session(url) as session:
        data = load_study_data(session, resolve_study(session))
    return data.scores.sort_values(["participant", "wave_order", "measure"], ignore_index=True)


def test_the_demo_builds_everything_from_nothing(demo):
    out = demo["report_path"].parent
    for name in (
        "study.toml",
        "roster.csv",
        "confidence_calm_care.toml",
        "demo.db",
        "report.html",
        "data/baseline.csv",
        "data/post.csv",
        "data/followup-3mo.csv",
    ):
        assert (out / name).exists(), name
    assert demo["db_url"] == f"sqlite:///{out / 'demo.db'}"
    toml = (out / "study.toml").read_text()
    assert (
        'instruments = ["cams_r", "scs_sf", "cd_risc10", "pss10", "flourishing", "who5", "confidence_calm_care.toml"]'
        in toml
    )
    header = (out / "data" / "post.csv").read_text().splitlines()[0].split(",")
    assert (
        header[:3] == ["participant", "completed", "cams_r_1"]
        and "confidence_calm_care_5" in header
    )
    assert demo["imported"]["baseline"] == 40 and demo["imported"]["post"] < 40
    html = demo["html"]
    assert DEMO_STUDY in html and "confidence_calm_care" in html and "followup-3mo" in html
    for batch in (
        "baseline.csv",
        "post.csv",
        "followup-3mo.csv",
    ):  # imported through tracker.ingest
        assert batch in html


def test_same_seed_same_data_other_seed_other_data(demo, tmp_path):
    again = run_demo(tmp_path / "again", participants=40, seed=11, report=False)
    first, second = scores_of(demo["db_url"]), scores_of(again["db_url"])
    pd.testing.assert_frame_equal(first, second)
    for name in ("roster.csv", "study.toml", "data/baseline.csv", "data/followup-3mo.csv"):
        assert (demo["report_path"].parent / name).read_bytes() == (
            tmp_path / "again" / name
        ).read_bytes()
    other = run_demo(tmp_path / "other", participants=40, seed=12, report=False)
    assert not scores_of(other["db_url"])["score"].equals(first["score"])


def test_simulation_is_deterministic_without_a_database():
    a = simulate(definitions(), SimulationSettings(participants=30, seed=5))
    b = simulate(definitions(), SimulationSettings(participants=30, seed=5))
    for wave in a.responses:
        pd.testing.assert_frame_equal(a.responses[wave], b.responses[wave])
    pd.testing.assert_frame_equal(a.roster, b.roster)
    pd.testing.assert_frame_equal(a.withdrawals, b.withdrawals)


@pytest.fixture(scope="module")
def big_simulation():
    """A large simulated sample scored with the real scoring engine: its pattern, not its luck."""
    from tracker.scoring import score_wide

    defs = definitions()
    sim = simulate(defs, SimulationSettings(participants=1200, seed=3))
    totals = {}
    for wave, frame in sim.responses.items():
        wide = frame.set_index("participant")
        columns = {}
        for d in defs:
            scored = score_wide(wide, d)
            columns[d.code] = scored[scored["measure"] == d.code].set_index("administration_id")[
                "score"
            ]
        totals[wave] = pd.DataFrame(columns)
    arm = sim.roster.set_index("code")["arm"]
    return sim, totals, arm


def test_baseline_correlations_follow_the_seed_pattern(big_simulation):
    _, totals, _ = big_simulation
    r = totals["baseline"].corr()
    positive = ["cams_r", "scs_sf", "cd_risc10", "confidence_calm_care", "flourishing", "who5"]
    for i, a in enumerate(positive):
        for b in positive[i + 1 :]:
            assert 0.55 < r.loc[a, b] < 0.95, (a, b, r.loc[a, b])
        assert -0.95 < r.loc["pss10", a] < -0.55, (a, r.loc["pss10", a])
    # mindfulness relates to confidence more strongly than flourishing does (seed: r = 0.91)
    assert r.loc["cams_r", "confidence_calm_care"] > r.loc["flourishing", "confidence_calm_care"]


def test_the_intervention_arm_improves_and_the_control_arm_does_not(big_simulation):
    sim, totals, arm = big_simulation
    change = (totals["post"] - totals["baseline"]).dropna(how="all")
    sd = totals["baseline"].std()
    by_arm = change.groupby(arm.reindex(change.index).to_numpy()).mean() / sd
    better = {d.code: 1 if d.higher_is_better else -1 for d in definitions()}
    for measure, sign in better.items():
        assert 0.3 < sign * by_arm.loc["intervention", measure] < 1.0, measure
        assert abs(by_arm.loc["control", measure]) < 0.15, measure
    kept = (totals["followup-3mo"] - totals["baseline"]).dropna(how="all")
    follow = kept.groupby(arm.reindex(kept.index).to_numpy()).mean() / sd
    for measure, sign in better.items():  # partly kept at follow-up
        assert (
            0
            < sign * follow.loc["intervention", measure]
            < sign * by_arm.loc["intervention", measure]
        )


def test_attrition_withdrawals_and_missing_items(big_simulation):
    sim, _, _ = big_simulation
    n = len(sim.roster)
    assert 0.06 < 1 - len(sim.responses["post"]) / n < 0.14
    assert 0.15 < 1 - len(sim.responses["followup-3mo"]) / n < 0.25
    assert set(sim.responses["followup-3mo"]["participant"]) <= set(
        sim.responses["post"]["participant"]
    )
    assert 0.2 < len(sim.withdrawals) / (n - len(sim.responses["followup-3mo"])) < 0.5
    items = sim.responses["baseline"].drop(columns=["participant", "completed"])
    assert 0.01 < items.isna().to_numpy().mean() < 0.03
    # reverse-keyed items are written reversed: they correlate negatively with the others
    assert items["pss10_1"].corr(items["pss10_4"]) < -0.3
    assert items["pss10_1"].corr(items["pss10_2"]) > 0.3
    # every answer is a whole number on the instrument's scale
    for d in definitions():
        block = items[[f"{d.code}_{i}" for i in range(1, d.items + 1)]].to_numpy()
        values = block[~np.isnan(block)]
        assert (
            values.min() >= d.min and values.max() <= d.max and (values == np.round(values)).all()
        )


def test_demo_on_an_empty_database_given_by_db(tracker_empty, tmp_path):
    result = tracker_empty(
        "demo", "--out", str(tmp_path / "d"), "--participants", "12", "--seed", "3"
    )
    lines = result.output.strip().splitlines()
    assert lines[-1] == f"Report: {tmp_path / 'd' / 'report.html'}"
    assert "Imported data/baseline.csv: 12 rows" in result.output
    assert not (tmp_path / "d" / "demo.db").exists()
    assert (tmp_path / "d" / "report.html").exists()


def test_demo_refuses_a_database_that_is_not_empty(tracker, tmp_path):
    result = tracker("demo", "--out", str(tmp_path / "d"), expect=1)
    assert "must be empty" in result.output and "tables" in result.output


def test_demo_default_database_is_replaced_on_a_second_run(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tracker.cli import cli

    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["demo", "--out", str(tmp_path / "d"), "--participants", "8"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "demo.db").exists()
    assert len(scores_of(f"sqlite:///{tmp_path / 'd' / 'demo.db'}")["participant"].unique()) == 8
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "demo.db").write_text("not a database")
    result = runner.invoke(cli, ["demo", "--out", str(tmp_path / "e")])
    assert result.exit_code == 1 and "not a database made by `tracker demo`" in result.output
