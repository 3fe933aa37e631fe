"""The demo tells its story: the intervention arm improves, the waitlist control arm does not.

On the default demo (``tracker demo``: 80 participants, seed 2027): every outcome of the
intervention arm is clear at post (Holm-adjusted within its family), no change in the control
arm is called clear, and the primary outcomes favour the intervention in the arm comparison.
"""

from __future__ import annotations

import pytest

OUTCOMES = ("confidence_calm_care", "flourishing", "who5")


@pytest.fixture(scope="module")
def ctx(default_demo):
    from tracker.db.engine import open_session
    from tracker.reports import report_context
    from tracker.study.studies import resolve_study

    with open_session(default_demo["db_url"]) as session:
        return report_context(session, resolve_study(session))


def test_primary_outcomes_come_from_the_study_file(ctx, default_demo):
    assert ctx["families"]["primary"] == ["flourishing", "who5"]
    toml = (default_demo["report_path"].parent / "study.toml").read_text(encoding="utf-8")
    assert 'primary = ["flourishing", "who5"]' in toml


def test_every_intervention_outcome_is_clear_at_post(ctx):
    change = [f for f in ctx["findings"] if f["kind"] == "change" and f["arm"] == "intervention"]
    for m in OUTCOMES:
        (finding,) = [f for f in change if f["measure"] == m]
        assert finding["clear"], finding["text"]
        assert "an improvement, clear after adjustment" in finding["text"]
    rows = {r["measure"]: r for r in ctx["change"][0]["rows"] if r["group"] == "intervention"}
    assert ctx["change"][0]["post"] == "post"
    assert all(rows[m]["p_adj"] < 0.05 for m in OUTCOMES)


def test_no_control_arm_change_is_called_clear(ctx, default_demo):
    control = [f for f in ctx["findings"] if f["kind"] == "change" and f["arm"] == "control"]
    assert [f["text"] for f in control] == [
        "In the control arm no measure changed clearly from baseline to post (no Holm-adjusted p "
        "below .05, in either family)."
    ]
    for block in ctx["change"]:
        for r in block["rows"]:
            if r["group"] == "control":
                assert r["p_adj"] >= 0.05, (block["post"], r["measure"], r["p_adj"])
    assert (
        "In the control arm no measure changed clearly from baseline to post"
        in default_demo["html"]
    )


def test_primary_outcomes_favour_the_intervention(ctx):
    compare = [
        f
        for f in ctx["findings"]
        if f["kind"] == "compare" and f["measure"] in ("flourishing", "who5")
    ]
    assert len(compare) == 2
    for f in compare:
        assert f["clear"] and f["family"] == "primary", f["text"]
        assert (
            "clearly in favour of the intervention arm (primary outcome; Holm over the 2 primary"
            in f["text"]
        )
