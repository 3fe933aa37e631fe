"""Report scope (cohorts, wave pair, primary outcomes, subscales), multiplicity families, honest findings.

The family-wise adjustment is checked against statsmodels' ``multipletests(..., "holm")``,
an implementation independent of :func:`tracker.analysis.adjust_p`.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from statsmodels.stats.multitest import multipletests

from tests.factories import build_study
from tracker.datasets import load_study_data
from tracker.errors import NotFound, TrackerError
from tracker.reports import report_context, write_report
from tracker.reports.context import build_context
from tracker.reports.context.findings import SMALL_N, change_finding
from tracker.reports.context.scope import ReportScope
from tracker.study.roles import set_role

INSTRUMENTS = ("pss10", "who5", "cd_risc10", "scs_sf")


@pytest.fixture
def study(session):
    s, _ = build_study(
        session,
        n_per_arm=14,
        waves=(("baseline", 0), ("post", 56), ("followup", 140)),
        instruments=INSTRUMENTS,
        effect=0.6,
    )
    session.commit()
    return s


def holm_by(rows, group_key):
    """Holm within (group, family), by statsmodels."""
    out = {}
    keys = {(r[group_key], r["family"]) for r in rows}
    for key in keys:
        mine = [r for r in rows if (r[group_key], r["family"]) == key and r["p"] is not None]
        adjusted = multipletests([r["p"] for r in mine], method="holm")[1]
        out.update({(r["measure"], r[group_key]): a for r, a in zip(mine, adjusted, strict=True)})
    return out


def test_primary_and_exploratory_are_separate_holm_families(session, study):
    ctx = report_context(session, study, scope=ReportScope(primary=("who5", "pss10")))
    assert ctx["families"]["primary"] == ["pss10", "who5"]
    assert len(ctx["families"]["exploratory"]) == 2 + 6  # cd_risc10, scs_sf and its 6 subscales
    for blocks, key in ((ctx["change"], "group"), (ctx["compare"], "arm")):
        for block in blocks:
            expected = holm_by(block["rows"], key)
            for r in block["rows"]:
                assert r["family"] == (
                    "primary" if r["measure"] in ("who5", "pss10") else "exploratory"
                )
                assert math.isclose(r["p_adj"], expected[(r["measure"], r[key])], rel_tol=1e-12)
                assert r["family_size"] == (2 if r["family"] == "primary" else 8)
    # two tests instead of ten: the primary outcomes' adjusted p is smaller than in one family
    one = report_context(session, study)
    assert one["families"]["primary"] == []
    pick = {(r["measure"], r["group"]): r["p_adj"] for r in one["change"][0]["rows"]}
    for r in ctx["change"][0]["rows"]:
        if r["family"] == "primary":
            assert r["p_adj"] <= pick[(r["measure"], r["group"])]


def test_marked_primary_outcomes_are_used_and_the_option_replaces_them(session, study):
    set_role(session, study, "who5", "outcome", primary=True)
    session.commit()
    assert report_context(session, study)["families"]["primary"] == ["who5"]
    ctx = report_context(session, study, scope=ReportScope(primary=("pss10",)))
    assert ctx["families"]["primary"] == ["pss10"]
    with pytest.raises(NotFound, match=r"primary outcome 'nope' is not a measure of this report"):
        report_context(session, study, scope=ReportScope(primary=("nope",)))


def test_no_subscales_leaves_them_out_of_tables_and_families(session, study):
    ctx = report_context(session, study, scope=ReportScope(subscales=False))
    measures = [m["measure"] for m in ctx["measures"]]
    assert measures and all("." not in m for m in measures)
    assert {r["measure"] for r in ctx["change"][0]["rows"]} == set(measures)
    assert {r["measure"] for r in ctx["reliability"]["rows"]} == set(measures)
    for r in ctx["change"][0]["rows"]:
        assert r["family_size"] == 4
    expected = holm_by(ctx["change"][0]["rows"], "group")
    for r in ctx["change"][0]["rows"]:
        assert math.isclose(r["p_adj"], expected[(r["measure"], r["group"])], rel_tol=1e-12)


def test_wave_pair(session, study):
    ctx = report_context(session, study, scope=ReportScope(pre="post", post="followup"))
    assert [(b["pre"], b["post"]) for b in ctx["change"]] == [("post", "followup")]
    assert [(b["pre"], b["post"]) for b in ctx["compare"]] == [("post", "followup")]
    assert ctx["findings"][0]["text"].count("from post to followup") == 1
    only_to = report_context(session, study, scope=ReportScope(post="followup"))
    assert [(b["pre"], b["post"]) for b in only_to["change"]] == [("baseline", "followup")]
    only_from = report_context(session, study, scope=ReportScope(pre="baseline"))
    assert [b["post"] for b in only_from["change"]] == ["post", "followup"]
    with pytest.raises(
        TrackerError, match=r"--to 'baseline' must be a later wave than --from 'post'"
    ):
        report_context(session, study, scope=ReportScope(pre="post", post="baseline"))
    with pytest.raises(
        NotFound, match=r"--from 'pre': no such wave; waves: 'baseline', 'post', 'followup'"
    ):
        report_context(session, study, scope=ReportScope(pre="pre"))


def test_one_cohort_is_a_one_arm_report(session, study, tmp_path):
    written = write_report(
        session, study, tmp_path / "r.html", scope=ReportScope(cohorts=("intervention cohort",))
    )
    ctx, html = written["context"], written["path"].read_text(encoding="utf-8")
    assert ctx["arms"] == ["intervention"] and ctx["study"]["participants"] == 14
    assert {r["group"] for r in ctx["change"][0]["rows"]} == {"all"}
    assert ctx["compare"] == []
    assert "reference arm: —" not in html and "(reference arm" not in html
    assert "this report has 1 arm (intervention)" in html
    assert "all arm" not in html  # no legend for a single group
    assert "Scope of this report:</b> cohort intervention cohort." in html
    with pytest.raises(
        NotFound,
        match=r"--cohort 'x': no such cohort; cohorts: 'control cohort', 'intervention cohort'",
    ):
        report_context(session, study, scope=ReportScope(cohorts=("x",)))


def test_findings_agree_with_the_adjusted_p_of_the_tables(session, study):
    ctx = report_context(session, study, scope=ReportScope(primary=("who5",)))
    tables = {
        "change": {(r["measure"], r["group"]): r for r in ctx["change"][0]["rows"]},
        "compare": {(r["measure"], r["arm"]): r for r in ctx["compare"][0]["rows"]},
    }
    checked = 0
    for f in ctx["findings"]:
        if f["kind"] not in tables or f["measure"] is None:
            continue
        row = tables[f["kind"]][(f["measure"], f["arm"])]
        assert f["clear"] == (row["p_adj"] is not None and row["p_adj"] < 0.05), f["text"]
        assert ("clear after adjustment" in f["text"] or "clearly in favour" in f["text"]) == f[
            "clear"
        ]
        family = (
            "primary outcome; Holm over the 1 primary outcome"
            if f["measure"] == "who5"
            else ("exploratory; Holm over the 9 exploratory measures")
        )
        assert family in f["text"], f["text"]
        checked += 1
    assert checked >= 4


def test_small_samples_carry_a_caution(session):
    study, _ = build_study(session, n_per_arm=3, instruments=("pss10", "who5"), effect=2.0)
    session.commit()
    ctx = report_context(session, study)
    worded = [f for f in ctx["findings"] if f["measure"] is not None]
    assert worded
    for f in worded:
        assert f["caution"], f["text"]
        assert f"(fewer than {SMALL_N})" in f["text"] and "Caution: only " in f["text"]
    corr = [f for f in worded if f["kind"] == "correlation"][0]
    assert "n = 6" in corr["text"] and "Caution: only 6 participants" in corr["text"]


def test_correlation_without_an_interval_says_so(session):
    study, _ = build_study(
        session, n_per_arm=3, arms=("intervention",), instruments=("pss10", "who5")
    )
    session.commit()
    ctx = report_context(session, study)
    corr = [f for f in ctx["findings"] if f["kind"] == "correlation"][0]
    assert "n = 3, too few for a confidence interval" in corr["text"]
    assert "— to —" not in corr["text"]


def test_constant_measure_gets_a_plain_sentence(session, study):
    data = load_study_data(session, study)
    who5 = data.scores["measure"] == "who5"
    data.scores.loc[who5, "score"] = 52.0  # the same score for everyone at every wave
    ctx = build_context(data)
    texts = [f["text"] for f in ctx["findings"] if f["measure"] == "who5" and f["kind"] == "change"]
    assert texts == [
        "Mental well-being: no change from baseline to post in the intervention arm; each of the "
        "14 participants scored the same at post as at baseline."
    ]
    assert not any("zero variance" in f["text"] for f in ctx["findings"])


def test_sentence_rules_one_row_at_a_time():
    info = {"label": "Stress", "digits": 1, "higher_is_better": False}
    row = {
        "measure": "pss10",
        "group": "intervention",
        "n": 40,
        "mean_diff": -2.0,
        "ci_low": -3.9,
        "ci_high": -0.1,
        "cohen_dz": -0.33,
        "p_adj": 0.308,
        "p": 0.04,
        "family": "exploratory",
        "family_size": 12,
        "note": "",
    }
    f = change_finding(row, info, "baseline", "post", declared=True)
    assert not f["clear"] and not f["caution"]
    assert f["text"] == (
        "Stress fell by 2.0 points (95 % CI 0.1 to 3.9; dz = 0.33) from baseline to post in the "
        "intervention arm, n = 40, but not clearly once adjusted for multiplicity (exploratory; "
        "Holm over the 12 exploratory measures: p(Holm) = .308)."
    )
    f = change_finding(
        {**row, "p_adj": 0.0004, "family": "primary", "family_size": 2},
        info,
        "baseline",
        "post",
        declared=True,
    )
    assert f["clear"] and f["text"].endswith(
        "— an improvement, clear after adjustment (primary outcome; Holm over the 2 primary "
        "outcomes: p(Holm) < .001)."
    )
    f = change_finding(
        {**row, "mean_diff": 2.0, "ci_low": None, "ci_high": None, "n": 4},
        info,
        "baseline",
        "post",
        declared=True,
    )
    assert f["text"].startswith(
        "Stress: every one of the 4 participants changed by the same 2.0 points from baseline to "
        "post in the intervention arm (up); with no spread there is no test and no confidence interval."
    )
    assert f["caution"]
    f = change_finding(
        {**row, "mean_diff": None, "n": 2, "note": "fewer than 3 complete pairs"},
        info,
        "baseline",
        "post",
        declared=True,
    )
    assert f["text"] == (
        "Stress: the change from baseline to post in the intervention arm could not be estimated "
        "(only 2 participants answered at both baseline and post)."
    )


def test_report_cli_with_every_scope_option(tracker, session, study, tmp_path):
    out, figures = tmp_path / "cohort.html", tmp_path / "fig"
    r = tracker(
        "report",
        "--cohort",
        "intervention cohort",
        "--cohort",
        "control cohort",
        "--from",
        "baseline",
        "--to",
        "post",
        "--primary",
        "who5, pss10",
        "--no-subscales",
        "--figures",
        str(figures),
        "--out",
        str(out),
    )
    lines = r.output.splitlines()
    assert re.fullmatch(rf"Report written \(\d+ KiB\): {re.escape(str(out))}", lines[0])
    assert lines[1] == f"Figures (6 SVG files): {figures}"
    names = sorted(p.name for p in figures.iterdir())
    assert names == [
        "figure-1-flow.svg",
        "figure-2-heatmap.svg",
        "figure-3-forest-change.svg",
        "figure-4-paired.svg",
        "figure-5-forest-compare.svg",
        "figure-6-trajectories.svg",
    ]
    for path in figures.iterdir():
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", path.name
    html = out.read_text(encoding="utf-8")
    assert "Figure 1. Participant flow by arm" in html and "Figure 6. " in html
    assert "Primary outcomes (2, one Holm family): Perceived stress, Mental well-being." in html
    assert "scs_sf.self_kindness" not in html
    assert "<h3>baseline → post</h3>" in html and "<h3>baseline → followup</h3>" not in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--cohort", "nope"),
            "Error: --cohort 'nope': no such cohort; cohorts: 'control cohort', 'intervention cohort'\n",
        ),
        (
            ("--from", "post", "--to", "baseline"),
            "Error: --to 'baseline' must be a later wave than --from 'post'; the waves in order: 'baseline', 'post', 'followup'\n",
        ),
        (
            ("--to", "later"),
            "Error: --to 'later': no such wave; waves: 'baseline', 'post', 'followup'\n",
        ),
        (
            ("--primary", "who6"),
            "Error: primary outcome 'who6' is not a measure of this report; measures: ",
        ),
        (
            ("--primary", "scs_sf.isolation", "--no-subscales"),
            "Error: primary outcome 'scs_sf.isolation' is not a measure of this report",
        ),
    ],
)
def test_report_cli_scope_errors(tracker, study, tmp_path, args, message):
    r = tracker("report", *args, "--out", str(tmp_path / "r.html"), expect=1)
    assert r.output.startswith(message)
    assert not (tmp_path / "r.html").exists()
