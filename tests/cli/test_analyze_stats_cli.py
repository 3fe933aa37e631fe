"""Issue 16 through the CLI: an instrument's norm_sd / norm_mean in the reliable change, the
omega bootstrap CI on request, the trajectory's extra rows, and the report showing them."""

from __future__ import annotations

import json

import numpy as np
import pytest

TOML = """
code = "calm"
name = "Calm scale"
items = 4
min = 0
max = 4
higher_is_better = true
scoring = "sum"
reliability = 0.8
norm_mean = 11.0
norm_sd = 2.5
"""


@pytest.fixture
def study(tracker, tmp_path):
    rng = np.random.default_rng(16)
    (tmp_path / "calm.toml").write_text(TOML)
    tracker("init", "--study", "Norms")
    for day, wave in ((0, "baseline"), (56, "post"), (90, "followup")):
        tracker("wave", "add", wave, "--day", str(day))
    tracker("instrument", "add", str(tmp_path / "calm.toml"))
    tracker("cohort", "add", "course", "--arm", "intervention")
    tracker("cohort", "add", "waitlist", "--arm", "control")
    codes = [f"P{k:02d}" for k in range(16)]
    for k, code in enumerate(codes):
        tracker("participant", "add", code, "--cohort", "course" if k % 2 else "waitlist")
    answers = {}
    for w, wave in enumerate(("baseline", "post", "followup")):
        lines = ["participant,calm_1,calm_2,calm_3,calm_4"]
        for k, code in enumerate(codes):
            if wave == "followup" and k % 3 == 0:
                continue  # some never seen at follow-up
            trait = k % 4 + (w if k % 2 else 0)
            values = np.clip(trait + rng.integers(-1, 2, 4), 0, 4)
            answers[(code, wave)] = values
            lines.append(code + "," + ",".join(str(int(v)) for v in values))
        (tmp_path / f"{wave}.csv").write_text("\n".join(lines) + "\n")
        tracker("import", "responses", str(tmp_path / f"{wave}.csv"), "--wave", wave)
    return tracker, codes, answers


def test_change_uses_the_normative_sd_and_criterion_c(study):
    tracker, codes, answers = study
    r = tracker("analyze", "change", "--from", "baseline", "--to", "post", "--format", "json")
    (row,) = json.loads(r.stdout)
    pre = np.array([answers[(c, "baseline")].sum() for c in codes], dtype=float)
    post = np.array([answers[(c, "post")].sum() for c in codes], dtype=float)
    # by hand: RCI = d / (2.5 sqrt 2 sqrt(1 - 0.8)); c = (sd_pre 11 + 2.5 mean_pre) / (sd_pre + 2.5)
    rci = (post - pre) / (2.5 * np.sqrt(2) * np.sqrt(0.2))
    c = (pre.std(ddof=1) * 11.0 + 2.5 * pre.mean()) / (pre.std(ddof=1) + 2.5)
    assert row["n_reliably_improved"] == (rci > 1.959964).sum() > 0
    assert row["n_reliably_worse"] == (rci < -1.959964).sum()
    assert "note: calm / all: RCI on the normative SD 2.5 (norm_sd), not sd_pre" in r.stderr
    # the JSON records hold the SPEC's fields; the percentages, the SD used and criterion c are
    # in the change table the report and the terminal table show
    assert "pct_reliably_improved" not in row and "criterion_c" not in row
    from tracker.datasets import analyses
    from tracker.datasets.run import load_for

    full = analyses.change(
        load_for("change", tracker.url, pre="baseline", post="post"), pre="baseline", post="post"
    ).iloc[0]
    assert full["n_reliably_improved"] == row["n_reliably_improved"]
    assert full["pct_reliably_improved"] == pytest.approx(100 * (rci > 1.959964).sum() / 16)
    assert full["rci_sd"] == 2.5 and full["criterion_c"] == pytest.approx(c, rel=1e-12)
    assert full["n_recovered"] == ((rci > 1.959964) & (post > c) & (pre <= c)).sum()


def test_omega_bootstrap_ci_on_request(study):
    tracker = study[0]
    plain = json.loads(
        tracker("analyze", "reliability", "--wave", "baseline", "--format", "json").stdout
    )
    assert list(plain[0]) == [
        "measure",
        "wave",
        "n",
        "k",
        "alpha",
        "alpha_std",
        "ci_low",
        "ci_high",
        "omega",
    ]
    args = [
        "analyze",
        "reliability",
        "--wave",
        "baseline",
        "--boot",
        "300",
        "--seed",
        "3",
        "--format",
        "json",
    ]
    first = json.loads(tracker(*args).stdout)
    assert list(first[0]) == list(plain[0]) + ["omega_ci_low", "omega_ci_high"]
    assert first == json.loads(tracker(*args).stdout)  # seeded
    row = first[0]
    assert row["omega_ci_low"] <= row["omega"] <= row["omega_ci_high"]
    table = tracker("analyze", "reliability", "--boot", "50").output
    assert "omega_ci_low" in table.splitlines()[0]
    r = tracker("analyze", "reliability", "--boot", "-1", expect=2)
    assert "Invalid value for '--boot'" in r.output


def test_trajectory_extra_rows_and_report(study, tmp_path):
    tracker = study[0]
    records = json.loads(tracker("analyze", "trajectory", "--format", "json").stdout)
    assert all(
        list(r) == ["measure", "term", "estimate", "se", "ci_low", "ci_high", "p"] for r in records
    )
    terms = [r["term"] for r in records]
    assert terms[-4:] == ["wave x arm (Wald F)", "var(intercept)", "var(residual)", "ICC"]
    icc = records[-1]["estimate"]
    tau2, sigma2 = records[-3]["estimate"], records[-2]["estimate"]
    assert icc == pytest.approx(tau2 / (tau2 + sigma2))
    out = tmp_path / "report.html"
    tracker("report", "--out", str(out))
    html = out.read_text()
    assert "Reliably improved, n (%)" in html and "RCI on the normative SD 2.5 (norm_sd)" in html
    assert "wave x arm (Wald F)" in html and "summary(nlme::lme(...))" in html
