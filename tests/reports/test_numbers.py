"""The report prints the numbers of ``tracker analyze ... --format json``: one code path."""

from __future__ import annotations

import json
import math
import re
from html import escape

import pytest

from tests.factories import build_study
from tracker.reports import report_context, write_report
from tracker.reports.render import fmt_num, fmt_p


@pytest.fixture
def factory_study(session):
    study, _ = build_study(
        session,
        n_per_arm=10,
        waves=(("baseline", 0), ("post", 56), ("followup", 140)),
        instruments=("pss10", "who5", "cd_risc10"),
    )
    session.commit()
    return study


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def assert_records_equal(json_rows: list[dict], context_rows: list[dict], what: str):
    assert len(json_rows) == len(context_rows), what
    for j, c in zip(json_rows, context_rows, strict=True):
        for key, value in j.items():
            assert same(value, c[key]), f"{what}: {key}: analyze {value!r} != report {c[key]!r}"


def test_report_numbers_are_the_analyze_json_numbers(tracker, session, factory_study, tmp_path):
    ctx = report_context(session, factory_study)

    def analyze(*args):
        return json.loads(tracker("analyze", *args, "--format", "json").stdout)

    assert_records_equal(analyze("correlations"), ctx["correlations"]["rows"], "correlations")
    assert_records_equal(analyze("reliability"), ctx["reliability"]["rows"], "reliability")
    assert_records_equal(analyze("trajectory"), ctx["trajectory"]["rows"], "trajectory")
    for block in ctx["change"]:
        rows = analyze("change", "--from", block["pre"], "--to", block["post"], "--by", "arm")
        assert_records_equal(rows, block["rows"], f"change {block['post']}")
    for block in ctx["compare"]:
        rows = analyze("compare", "--from", block["pre"], "--to", block["post"])
        assert_records_equal(rows, block["rows"], f"compare {block['post']}")
    assert [b["post"] for b in ctx["change"]] == ["post", "followup"]

    # and the HTML shows them, rounded for people
    html = write_report(session, factory_study, tmp_path / "r.html")["path"].read_text(
        encoding="utf-8"
    )
    change = analyze("change", "--from", "baseline", "--to", "post", "--by", "arm")
    shown = re.sub(
        r"<[^>]+>", "", html
    )  # the text a reader sees (an estimate and its CI are two spans)
    for row in change:
        assert (
            f"{fmt_num(row['mean_diff'])} [{fmt_num(row['ci_low'])}, {fmt_num(row['ci_high'])}]"
            in shown
        )
        assert (
            f"{fmt_num(row['cohen_dz'])} [{fmt_num(row['dz_ci_low'])}, {fmt_num(row['dz_ci_high'])}]"
            in shown
        )
    compare = analyze("compare", "--from", "baseline", "--to", "followup")
    for row in compare:
        assert f">{escape(fmt_p(row['p']))}<" in html
        assert (
            f"{fmt_num(row['d_ppc'])} [{fmt_num(row['d_ppc_ci_low'])}, {fmt_num(row['d_ppc_ci_high'])}]"
            in shown
        )


def test_report_command(tracker, factory_study, tmp_path):
    result = tracker("report", "--out", str(tmp_path / "out" / "evaluation.html"))
    assert result.output.startswith("Report written (")
    assert result.output.strip().endswith(str(tmp_path / "out" / "evaluation.html"))
    assert (
        (tmp_path / "out" / "evaluation.html")
        .read_text(encoding="utf-8")
        .startswith("<!DOCTYPE html>")
    )


def test_null_statistics_show_a_dash_and_the_reason(session, tmp_path):
    # two participants per arm: ANCOVA has no residual degrees of freedom left for some terms,
    # two-item subscales have no omega: the notes say why
    study, _ = build_study(session, n_per_arm=2, instruments=("scs_sf",))
    session.commit()
    ctx = report_context(session, study)
    noted = [r for r in ctx["reliability"]["rows"] if r["omega"] is None]
    assert noted and all(r["note"] for r in noted)
    html = write_report(session, study, tmp_path / "r.html")["path"].read_text(encoding="utf-8")
    assert escape(noted[0]["note"]) in html
    assert ">—<" in html
