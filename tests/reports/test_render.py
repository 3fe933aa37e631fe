"""Templates, filters, small-cell suppression and reports of studies with little in them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from tracker.reports.context import build_context, suppress
from tracker.reports.render import environment, fmt_ci, fmt_int, fmt_num, fmt_p, fmt_pct, render


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (math.nan, "—"),
        (0.0004, "< .001"),
        (0.001, ".001"),
        (0.0234, ".023"),
        (0.9996, "> .999"),
        (1.0, "> .999"),
        (0.5, ".500"),
    ],
)
def test_p_values(value, expected):
    assert fmt_p(value) == expected


def test_numbers_and_intervals():
    assert fmt_num(-1.234) == "−1.23"
    assert fmt_num(-0.001) == "0.00"  # no "−0.00"
    assert fmt_num(2.5, 1) == "2.5"
    assert fmt_num(np.float64(3.14159), 3) == "3.142"
    assert fmt_num(None) == "—"
    assert fmt_ci(-0.5, 1.25) == "[−0.50, 1.25]"
    assert fmt_ci(None, 1.0) == "—"
    assert fmt_int(12345) == "12,345"
    assert fmt_int(None) == "—"
    assert fmt_pct(0.975, 1) == "97.5 %"


def test_suppression_hides_small_cells_and_what_would_reveal_them():
    counts = np.array([[20, 18, 38], [15, 3, 18], [5, 19, 24]])  # cohort A, cohort B, total
    hidden = suppress(counts)
    assert hidden[1, 1]  # 3 < 5
    # column B has one hidden cell: the next smallest (18) goes too; row 2 then has one hidden
    # cell in the cohorts, so its smallest other count (15) is hidden too
    assert hidden[0, 1] and hidden[1, 0]
    for line in (*hidden, *hidden.T):
        assert line.sum() != 1  # never a single hidden cell in a row or column
    assert not suppress(np.array([[10, 12, 22], [0, 7, 7]])).any()  # zeros and counts >= 5 stay


def test_every_template_renders_with_the_demo_context(demo_context):
    env = environment()
    names = env.list_templates()
    assert "report.html.j2" in names and len(names) >= 10
    for name in names:
        text = env.get_template(name).render(ctx=demo_context, charts={})
        if name.endswith(".html.j2") and "macros" not in name:
            assert text.strip(), name


def test_report_has_every_section_in_order(demo):
    html = demo["html"]
    ids = [
        "summary",
        "flow",
        "characteristics",
        "measures",
        "correlations",
        "change",
        "compare",
        "trajectories",
        "planning",
        "methods",
        "provenance",
    ]
    positions = [html.index(f'<section id="{i}">') for i in ids]
    assert positions == sorted(positions)
    # the flow diagram, heatmap, two forest plots, paired plot, trajectories; and a path diagram
    # per mediation model
    assert html.count("<svg") == 6 + html.count('<svg class="path-diagram"')
    assert html.count('<svg class="path-diagram"') == 6  # 2 modifiable x 3 outcomes
    for text in (
        "Key findings",
        "Participant flow",
        "Baseline correlational model",
        "Pre/post change",
        "Arm comparison",
        "Trajectories across waves",
        "Methods and definitions",
        "Data provenance",
        "Cohen&#39;s dz = mean_diff / sd_diff",
        "numpy",
        "scipy",
        "SQLite",
    ):
        assert text in html, text


def test_the_contents_list_every_numbered_section_in_order(demo):
    import re

    html = demo["html"]
    toc = re.findall(r'<li><a href="#([\w-]+)">(\d+) ', html.split("</nav>")[0])
    numbered = re.findall(r'<section id="([\w-]+)">\s*<h2><span class="num">(\d+)</span>', html)
    assert toc == numbered and len(toc) == 11
    assert [int(n) for _, n in numbered] == list(range(1, 12))


def test_findings_are_sentences_with_intervals_and_effect_sizes(demo_context):
    texts = [f["text"] for f in demo_context["findings"]]
    change = [t for t in texts if "from baseline to post in the intervention arm" in t]
    assert len(change) == 7  # one per measure of the model
    for t in change:
        assert "95 % CI" in t and "dz = " in t and "n = " in t and t.endswith(".")
    stress = next(t for t in change if t.startswith("Perceived stress"))
    assert stress.startswith("Perceived stress fell by ")
    assert (
        "— an improvement, clear after adjustment (exploratory; Holm over the 11 exploratory"
        in stress
    )
    assert any(
        t.startswith("At post, adjusted for baseline scores") and "d_ppc = " in t for t in texts
    )


def _empty_data(waves=(), cohorts=(), participants=0):
    import pandas as pd

    from tracker.datasets import StudyData
    from tracker.datasets.loaders import SCORE_COLUMNS

    return StudyData(
        study="Empty study",
        waves=pd.DataFrame(
            [
                {"wave": w, "wave_order": i + 1, "day": 7 * i, "window": 7}
                for i, w in enumerate(waves)
            ],
            columns=["wave", "wave_order", "day", "window"],
        ),
        cohorts=pd.DataFrame(
            [{"cohort": c, "arm": a, "start": None, "description": None} for c, a in cohorts],
            columns=["cohort", "arm", "start", "description"],
        ),
        participants=pd.DataFrame(
            [
                {
                    "participant": f"P{i}",
                    "cohort": cohorts[0][0],
                    "arm": cohorts[0][1],
                    "enrolled": dt.date(2027, 1, 1),
                    "age": None,
                    "birth_year": None,
                    "gender": None,
                    "role": None,
                    "status": "active",
                    "withdrawn_on": None,
                    "withdrawal_reason": None,
                }
                for i in range(participants)
            ],
            columns=[
                "participant",
                "cohort",
                "arm",
                "enrolled",
                "age",
                "birth_year",
                "gender",
                "role",
                "status",
                "withdrawn_on",
                "withdrawal_reason",
            ],
        ),
        scores=pd.DataFrame(columns=SCORE_COLUMNS),
        keyed_items=pd.DataFrame(
            columns=[
                "participant",
                "cohort",
                "arm",
                "wave",
                "wave_order",
                "measure",
                "item",
                "value",
            ]
        ),
        measures=pd.DataFrame(
            columns=[
                "measure",
                "instrument",
                "name",
                "construct",
                "role",
                "higher_is_better",
                "reliability",
                "score_min",
                "score_max",
                "n_items",
            ]
        ),
        batches=pd.DataFrame(
            columns=["file_name", "sha256", "format", "row_count", "imported_at", "os_user"]
        ),
        administrations=pd.DataFrame(
            columns=[
                "administration_id",
                "participant",
                "cohort",
                "arm",
                "wave",
                "wave_order",
                "instrument",
                "completed_on",
            ]
        ),
        db_revision="0001",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"waves": ["baseline"], "cohorts": [("Only cohort", "intervention")], "participants": 3},
        {
            "waves": ["baseline", "post"],
            "cohorts": [("A", "intervention"), ("B", "control")],
            "participants": 6,
        },
    ],
)
def test_a_study_with_little_in_it_still_renders(kwargs):
    ctx = build_context(_empty_data(**kwargs))
    html = render(ctx, {})
    assert "<h1>Empty study</h1>" in html
    assert ctx["findings"] == []
    assert "No findings yet" in html
    if kwargs.get("participants"):
        assert "< 5 recorded" in html or "not recorded" in html


def test_chart_processes_draw_what_this_process_draws(demo_context):
    from tracker.reports.charts import CHARTS, ChartWorkers, report_charts

    here = report_charts(demo_context)
    assert sorted(here) == sorted(CHARTS)
    with ChartWorkers() as workers:
        assert workers.draw_soon(demo_context).result() == here


def test_a_dead_chart_process_falls_back_to_this_process(demo_context):
    from tracker.reports.charts import ChartWorkers, report_charts

    workers = ChartWorkers()
    for process, _ in workers.jobs:
        process.terminate()
        process.join()
    assert workers.draw_soon(demo_context).result() == report_charts(demo_context)
    workers.close()
    assert workers.jobs == []
