"""Degenerate studies through the CLI (issue 13): `analyze all` and `tracker report` end with
exit 0 (nulls with notes) or a clear `Error:`, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

WHO5_ITEMS = [f"who5_{i}" for i in range(1, 6)]


def write_wide(path, answers: dict[str, list[float]]) -> None:
    lines = ["participant," + ",".join(WHO5_ITEMS)]
    lines += [code + "," + ",".join(f"{v:g}" for v in values) for code, values in answers.items()]
    path.write_text("\n".join(lines) + "\n")


def set_up(tracker, tmp_path, kind: str):
    """A WHO-5 study (two arms unless ``kind`` says otherwise) made degenerate as ``kind`` says."""
    rng = np.random.default_rng(5)
    tracker("init", "--study", "Degenerate")
    waves = ["baseline"] if kind == "single_wave" else ["baseline", "post", "followup"]
    for day, wave in zip((0, 56, 90), waves, strict=False):
        tracker("wave", "add", wave, "--day", str(day))
    tracker("instrument", "add", "who5")
    per_arm = {"one_per_arm": 1, "n2": 1}.get(kind, 6)
    arms = ["control"] if kind == "n2" else ["control", "intervention"]
    codes = []
    for arm in arms:
        tracker("cohort", "add", f"{arm} group", "--arm", arm)
        for k in range(per_arm if kind != "n2" else 2):
            code = f"{arm[0].upper()}{k:02d}"
            tracker("participant", "add", code, "--cohort", f"{arm} group")
            codes.append(code)
    baseline = {c: list(rng.integers(0, 6, 5).astype(float)) for c in codes}
    if kind == "constant":
        baseline = {c: [3.0] * 5 for c in codes}
    for wave in waves:
        answers = baseline
        if kind == "collinear" and wave != "baseline":
            answers = {c: [5.0 - v for v in vals] for c, vals in baseline.items()}  # post = 5 - pre
        elif kind not in ("post_equals_pre", "constant", "collinear") and wave != "baseline":
            answers = {c: list(rng.integers(0, 6, 5).astype(float)) for c in codes}
        if kind == "missing_wave" and wave == "post":
            continue  # nobody answered the post wave
        path = tmp_path / f"{wave}.csv"
        write_wide(path, answers)  # post_equals_pre: the baseline answers imported again as post
        tracker("import", "responses", str(path), "--wave", wave)


KINDS = [
    "post_equals_pre",
    "constant",
    "one_per_arm",
    "n2",
    "missing_wave",
    "collinear",
    "single_wave",
]


@pytest.mark.parametrize("kind", KINDS)
def test_degenerate_studies_analyse_and_report(tracker, tmp_path, kind):
    set_up(tracker, tmp_path, kind)
    span = ["--from", "baseline", "--to", "post"]
    if kind == "single_wave":
        r = tracker("analyze", "all", *span, expect=1)
        assert r.output == "Error: no wave named 'post'; waves: baseline\n"
        span = ["--from", "baseline", "--to", "baseline"]
    r = tracker(
        "analyze", "all", *span, "--format", "json", expect=1 if kind == "single_wave" else 0
    )
    if kind == "single_wave":
        assert r.output.startswith("Error: ")
        r = tracker("analyze", "trajectory", "--format", "json")
        assert [t["term"] for t in json.loads(r.stdout)] == [
            "Intercept",
            "arm[intervention]",
            "var(intercept)",
            "var(residual)",
            "ICC",
        ]
        tracker("analyze", "reliability", "--format", "json")
        tracker("analyze", "correlations", "--format", "json")
    # exit 0 above: the Runner re-raises any exception, so no traceback got through
    everything = {} if kind == "single_wave" else json.loads(r.stdout)
    if everything:
        assert list(everything) == [
            "correlations",
            "change",
            "compare",
            "trajectory",
            "reliability",
            "mediation",
        ]
    if kind == "post_equals_pre":
        (row,) = [c for c in everything["compare"] if c["measure"] == "who5"]
        assert row["adj_diff"] is None and row["partial_eta_sq"] is None
        assert "post is fitted exactly by pre and arm" in r.stderr
    out = tmp_path / "report.html"
    tracker("report", "--out", str(out))
    assert out.read_text().startswith("<!DOCTYPE html>")
    r = tracker("analyze", "compare", *span,
                expect=1 if kind in ("n2", "single_wave") else 0)  # fmt: skip
    if kind == "n2":
        assert r.output.startswith("Error: comparing arms needs at least two arms")
    elif kind == "single_wave":
        assert r.output.startswith("Error: the pre and post waves are both 'baseline'")
    elif kind == "missing_wave":
        assert "measure not recorded at wave post" in r.output
