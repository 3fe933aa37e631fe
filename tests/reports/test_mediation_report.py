"""The report's model tested (mediation) and planning sections: the numbers of `tracker analyze
mediation` and `tracker plan`, a path diagram per model with every label escaped, and the
sentences with the causal caveat."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from tests.reports.conftest import HOSTILE
from tracker.cli import cli
from tracker.reports.mediation import mediation_sentence, path_diagram


def _json(db_url, *args):
    result = CliRunner().invoke(cli, ["--db", db_url, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.split("\nnote:")[0])


def test_mediation_section_prints_the_commands_numbers(demo, demo_context):
    med = demo_context["mediation"]
    assert med["error"] is None and med["wave"] == "baseline"
    expected = _json(demo["db_url"], "analyze", "mediation")
    assert [{k: v for k, v in r.items() if k != "note"} for r in med["rows"]] == expected
    assert [(m["x"], m["y"]) for m in med["models"]] == [
        (x, y)
        for x in ("cams_r", "scs_sf")
        for y in ("confidence_calm_care", "flourishing", "who5")
    ]
    html = demo["html"]
    section = html[html.index('<section id="mediation">') :]
    section = section[: section.index("</section>")]
    assert section.count('<svg class="path-diagram"') == 6
    assert "it is not evidence of mediation over time" in section
    first = med["models"][0]
    assert first["sentence"] in section.replace("&#39;", "'")
    for path in first["paths"]:
        assert f"a = {path['a']:.2f}".replace("-", "−") in first["svg"]
        assert f"b = {path['b']:.2f}".replace("-", "−") in first["svg"]


def test_planning_section_prints_the_commands_numbers(demo, demo_context):
    plan = demo_context["planning"]
    assert plan["error"] is None and (plan["pre"], plan["post"]) == ("baseline", "post")
    outcomes = ["flourishing", "who5"]  # the demo's primary outcomes (its study.toml marks them)
    assert plan["measures"] == outcomes == demo_context["families"]["primary"]
    expected = _json(
        demo["db_url"],
        "plan",
        "--from",
        "baseline",
        "--to",
        "post",
        "--measure",
        ",".join(outcomes),
    )
    assert [{k: v for k, v in r.items() if k != "note"} for r in plan["rows"]] == expected
    assert len(plan["sentences"]) == 2
    html = demo["html"]
    assert html.index('<section id="mediation">') < html.index('<section id="change">')
    assert html.index('<section id="planning">') < html.index('<section id="methods">')
    for row in expected:
        if row["n_to_enrol"] is not None:
            assert f">{row['n_to_enrol']:,}<" in html


def _model(x, y, m):
    path = {
        "mediator": m,
        "a": 0.5,
        "b": -0.25,
        "indirect": -0.125,
        "indirect_ci_low": -0.2,
        "indirect_ci_high": -0.05,
        "c_prime": 0.1,
        "c": -0.025,
        "note": "",
    }
    return {"x": x, "y": y, "n": 30, "paths": [path], "total": None, "direct": 0.1, "c": -0.025}


def test_path_diagram_escapes_every_label():
    info = {
        "x": {"label": f"{HOSTILE} mindfulness"},
        "m": {"label": HOSTILE},
        "y": {"label": "<b>care</b>"},
    }
    svg = path_diagram(_model("x", "y", "m"), info, 0)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;b&gt;care&lt;/b&gt;" in svg
    assert re.findall(r"<(\w+)", svg) and set(re.findall(r"<(\w+)", svg)) <= {
        "svg",
        "defs",
        "marker",
        "path",
        "rect",
        "text",
        "title",
        "line",
    }
    assert "a = 0.50" in svg and "b = −0.25" in svg and "[−0.20, −0.05]" in svg


def test_sentences_say_what_ran_through_what():
    info = {
        "x": {"label": "Mindfulness"},
        "m": {"label": "Resilience"},
        "y": {"label": "Confidence in care"},
    }
    model = _model("x", "y", "m")
    assert mediation_sentence(model, info, "baseline") == (
        "At baseline, the association of mindfulness with confidence in care ran through resilience "
        "(indirect effect −0.12, 95 % bootstrap CI −0.20 to −0.05); the direct effect c′ was 0.10 (n = 30)."
    )
    model["paths"][0]["indirect_ci_high"] = 0.01
    assert mediation_sentence(model, info, "baseline") == (
        "At baseline, no indirect effect of mindfulness on confidence in care through resilience was clear "
        "(every 95 % bootstrap CI includes 0; n = 30)."
    )


def test_mediation_in_the_worker_processes_gives_the_same_context(demo, demo_context, monkeypatch):
    # on a large study the CLI runs the model in a thread that hands the bootstrap to the worker
    # processes while the other analyses run; here the small demo is sent there too
    import datetime as dt

    import tracker.reports.mediation as report_mediation
    from tracker.db.engine import open_session
    from tracker.reports import report_context
    from tracker.reports.workers import ChartWorkers
    from tracker.study.studies import resolve_study

    monkeypatch.setattr(report_mediation, "OFFLOAD_ROWS", 0)
    at = dt.datetime.fromisoformat(demo_context["generated_at"].replace(" UTC", "+00:00"))
    with open_session(demo["db_url"]) as session, ChartWorkers() as workers:
        assert workers.size == 2
        here = report_context(session, resolve_study(session), generated_at=at)
        there = report_context(session, resolve_study(session), generated_at=at, workers=workers)
        assert workers._used  # the bootstrap ran in a worker
    assert there["mediation"]["rows"] and there == here


def test_the_bootstrap_jobs_split_over_both_workers_give_the_values_of_one_run_here():
    import numpy as np

    from tracker.reports.workers import ChartWorkers, _shares
    from tracker.resampling import bootstrap_groups

    rng = np.random.default_rng(7)
    jobs = []
    for n in (40, 41, 55, 40, 60):  # five complete-case groups, two of the same n
        raw = rng.normal(size=(n, 4))
        jobs.append((raw, [(0, [1, 2], [], 3)]))
    jobs.append((rng.normal(size=(50, 3)), [(0, [1], [], 2), (1, [0], [], 2)]))  # two models
    # cost n x (1 + models) per n: 50 -> 150, 40 -> 120 (two jobs), 60 -> 120, 55 -> 110,
    # 41 -> 82; dealt largest first to the lighter share: {50, 55} and {40, 60, 41}
    assert _shares(jobs, 2) == [[2, 5], [0, 1, 3, 4]]
    assert _shares(jobs, 1) == [list(range(6))]
    assert _shares(jobs[:1], 2) == [[0]]  # never an empty share
    here = bootstrap_groups(jobs, boot=200, seed=3)
    with ChartWorkers() as workers:
        there = workers.run_bootstrap(jobs, boot=200, seed=3)
        assert len(workers._used) == 2  # both workers ran a share
    assert len(there) == len(here)
    for a, b in zip(here, there, strict=True):
        assert len(a) == len(b)
        assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))
