"""`tracker analyze mediation` and `tracker plan` on SQLite and PostgreSQL: the SPEC's fields,
the model roles as defaults, paths equal to statsmodels OLS on the stored scores, the
intervention form, deterministic CIs, the sample sizes, and the messages for bad options."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.factories import build_study
from tracker.analysis.power import n_paired, n_two_arm_ancova
from tracker.datasets import load_scores
from tracker.db.engine import open_session
from tracker.db.models import Study

MEDIATION = (
    "x, mediator, y, wave, n, a, a_se, a_p, b, b_se, b_p, c, c_p, c_prime, c_prime_p, indirect, "
    "indirect_ci_low, indirect_ci_high, indirect_std, boot, seed"
).split(", ")
PLAN = "measure, design, effect, effect_kind, r_pre_post, alpha, power, n_per_arm, n_total, attrition, n_to_enrol"


@pytest.fixture
def built(tracker):
    with open_session(tracker.url) as s:
        build_study(s, n_per_arm=15, seed=3, instruments=("cams_r", "cd_risc10", "pss10", "who5"))
        s.commit()
    for measure, role in (
        ("cams_r", "modifiable"),
        ("cd_risc10", "intermediate"),
        ("pss10", "intermediate"),
        ("who5", "outcome"),
    ):
        tracker("model", "set", measure, role)
    return tracker


def records(runner, *args):
    out = runner(*args, "--format", "json").output
    return json.loads(out.split("\nnote:")[0])


def wide_scores(url, wave):
    with open_session(url) as s:
        study = s.query(Study).one()
        scores = load_scores(s, study)
    at = scores[scores["wave"] == wave]
    return at.pivot(index="participant", columns="measure", values="score"), scores


def test_default_model_is_the_roles_and_paths_equal_statsmodels(built):
    import statsmodels.api as sm

    rows = records(built, "analyze", "mediation", "--boot", "500")
    assert [list(r) for r in rows] == [MEDIATION] * 3
    assert [(r["x"], r["mediator"], r["y"], r["wave"]) for r in rows] == [
        ("cams_r", "cd_risc10", "who5", "baseline"),
        ("cams_r", "pss10", "who5", "baseline"),
        ("cams_r", "total", "who5", "baseline"),
    ]
    wide, _ = wide_scores(built.url, "baseline")
    d = wide[["cams_r", "cd_risc10", "pss10", "who5"]].dropna()
    assert all(r["n"] == len(d) for r in rows)
    fy = sm.OLS(d["who5"], sm.add_constant(d[["cams_r", "cd_risc10", "pss10"]])).fit()
    fc = sm.OLS(d["who5"], sm.add_constant(d[["cams_r"]])).fit()
    for r, m in zip(rows[:2], ["cd_risc10", "pss10"], strict=True):
        fa = sm.OLS(d[m], sm.add_constant(d[["cams_r"]])).fit()
        assert r["a"] == pytest.approx(fa.params["cams_r"], rel=1e-9)
        assert r["a_se"] == pytest.approx(fa.bse["cams_r"], rel=1e-9)
        assert r["a_p"] == pytest.approx(fa.pvalues["cams_r"], rel=1e-9)
        assert r["b"] == pytest.approx(fy.params[m], rel=1e-9)
        assert r["b_p"] == pytest.approx(fy.pvalues[m], rel=1e-9)
        assert r["indirect"] == pytest.approx(fa.params["cams_r"] * fy.params[m], rel=1e-9)
        assert r["indirect_std"] == pytest.approx(
            r["indirect"] * d["cams_r"].std(ddof=1) / d["who5"].std(ddof=1), rel=1e-9
        )
        assert r["indirect_ci_low"] < r["indirect_ci_high"]
    total = rows[2]
    assert total["a"] is None and total["b"] is None and total["a_se"] is None
    assert total["c"] == pytest.approx(fc.params["cams_r"], rel=1e-9)
    assert total["c_prime"] == pytest.approx(fy.params["cams_r"], rel=1e-9)
    assert total["indirect"] == pytest.approx(total["c"] - total["c_prime"], rel=1e-9)
    assert all(r["boot"] == 500 and r["seed"] == 1 for r in rows)


def test_same_seed_same_output_and_csv_equals_json(built):
    args = (
        "analyze",
        "mediation",
        "--x",
        "cams_r",
        "--m",
        "pss10",
        "--y",
        "who5",
        "--boot",
        "300",
        "--seed",
        "9",
    )
    first, again = records(built, *args), records(built, *args)
    assert first == again and len(first) == 1 and first[0]["seed"] == 9
    other = records(built, *args[:-1], "10")
    assert other[0]["indirect_ci_low"] != first[0]["indirect_ci_low"]
    text = built(*args, "--format", "csv").output
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert list(row) == MEDIATION
    assert float(row["indirect_ci_low"]) == first[0]["indirect_ci_low"]
    table = built(*args).output
    assert table.splitlines()[0].split()[:5] == ["x", "mediator", "y", "wave", "n"]


def test_intervention_form_adjusts_for_the_first_wave(built):
    import statsmodels.api as sm

    rows = records(
        built,
        "analyze",
        "mediation",
        "--x",
        "arm",
        "--m",
        "pss10",
        "--y",
        "who5",
        "--from",
        "baseline",
        "--to",
        "post",
        "--boot",
        "400",
    )
    (row,) = rows
    assert row["x"] == "arm" and row["wave"] == "post"
    post, scores = wide_scores(built.url, "post")
    pre, _ = wide_scores(built.url, "baseline")
    arm = scores.drop_duplicates("participant").set_index("participant")["arm"]
    d = pd.DataFrame(
        {
            "X": (arm == "intervention").astype(float),
            "m": post["pss10"],
            "y": post["who5"],
            "m0": pre["pss10"],
            "y0": pre["who5"],
        }
    ).dropna()
    fa = sm.OLS(d["m"], sm.add_constant(d[["X", "m0", "y0"]])).fit()
    fy = sm.OLS(d["y"], sm.add_constant(d[["X", "m", "m0", "y0"]])).fit()
    fc = sm.OLS(d["y"], sm.add_constant(d[["X", "m0", "y0"]])).fit()
    assert row["n"] == len(d)
    assert row["a"] == pytest.approx(fa.params["X"], rel=1e-9)
    assert row["b"] == pytest.approx(fy.params["m"], rel=1e-9)
    assert row["c_prime"] == pytest.approx(fy.params["X"], rel=1e-9)
    assert row["c"] == pytest.approx(fc.params["X"], rel=1e-9)
    assert row["indirect_std"] == pytest.approx(row["indirect"] / d["y"].std(ddof=1), rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--x", "arm"),
            "Error: --x arm (the intervention form) needs --from WAVE and --to WAVE (the two waves it compares)",
        ),
        (
            ("--x", "cams_r", "--from", "baseline", "--to", "post"),
            "Error: --from and --to are for the intervention form (--x arm); the cross-sectional model takes --wave",
        ),
        (("--x", "nope"), "Error: no measure 'nope'; measures: cams_r, cd_risc10, pss10, who5"),
        (("--wave", "later"), "Error: no wave named 'later' (--wave); waves: baseline, post"),
        (
            ("--x", "who5", "--y", "who5"),
            "Error: 'who5' is both X and Y; a model needs two different measures",
        ),
    ],
)
def test_bad_options_are_clear_errors(built, args, message):
    result = built("analyze", "mediation", *args, expect=1)
    assert result.output.strip() == message


def test_without_roles_the_message_says_how_to_set_them(tracker):
    with open_session(tracker.url) as s:
        build_study(s, n_per_arm=5, seed=1)
        s.commit()
    result = tracker("analyze", "mediation", expect=1)
    assert result.output.strip() == (
        "Error: no measure has the model role modifiable to serve as X: set roles "
        "with `tracker model set MEASURE ROLE`, or give --x"
    )
    assert (
        "Invalid value for '--boot'"
        in tracker("analyze", "mediation", "--boot", "0", expect=2).output
    )


def test_plan_records_follow_change_and_compare(built):
    rows = records(built, "plan", "--from", "baseline", "--to", "post")
    assert [list(r) for r in rows] == [PLAN.split(", ")] * 8
    change = records(
        built, "analyze", "change", "--from", "baseline", "--to", "post", "--by", "arm"
    )
    compare = records(built, "analyze", "compare", "--from", "baseline", "--to", "post")
    for measure in ("cams_r", "pss10"):
        paired = next(r for r in rows if r["measure"] == measure and r["design"] == "paired")
        ch = next(r for r in change if r["measure"] == measure and r["group"] == "intervention")
        assert paired["effect"] == ch["cohen_dz"] and paired["n_per_arm"] == n_paired(
            ch["cohen_dz"]
        )
        ancova = next(
            r for r in rows if r["measure"] == measure and r["design"] == "two_arm_ancova"
        )
        cmp = next(r for r in compare if r["measure"] == measure)
        assert ancova["effect"] == cmp["d_ppc"]
        assert ancova["n_per_arm"] == n_two_arm_ancova(cmp["d_ppc"], ancova["r_pre_post"])
        assert ancova["n_to_enrol"] == math.ceil(
            ancova["n_total"] / (1 - ancova["attrition"]) - 1e-9
        )
    one = records(
        built,
        "plan",
        "--from",
        "baseline",
        "--to",
        "post",
        "--measure",
        "who5",
        "--effect",
        "0.5",
        "--attrition",
        "0.25",
        "--power",
        "0.9",
    )
    assert [r["design"] for r in one] == ["paired", "two_arm_ancova"]
    assert one[0]["n_per_arm"] == n_paired(0.5, 0.9) and one[0]["n_to_enrol"] == math.ceil(
        one[0]["n_total"] / 0.75
    )
    assert (
        one[0]["attrition"] == 0.25 and one[0]["power"] == 0.9 and one[0]["effect_kind"] == "given"
    )


def test_plan_bad_options(built):
    out = built("plan", "--from", "baseline", "--to", "post", "--effect", "big", expect=2).output
    assert "'big' is not observed, ci_low or a number" in out
    out = built("plan", "--from", "baseline", "--to", "post", "--attrition", "1.5", expect=1).output
    assert out.strip() == "Error: attrition must be a fraction in [0, 1) (0.2 for 20 %), not '1.5'"
    out = built("plan", "--from", "baseline", "--to", "baseline", expect=1).output
    assert out.strip() == "Error: --from and --to name the same wave; choose two different waves"
    out = built("plan", "--from", "baseline", "--to", "post", "--measure", "x", expect=1).output
    assert out.strip() == "Error: no measure 'x'; measures: cams_r, cd_risc10, pss10, who5"
    assert np.isfinite(
        records(built, "plan", "--from", "baseline", "--to", "post", "--effect", "ci_low")[0][
            "power"
        ]
    )
