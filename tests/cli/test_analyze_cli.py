"""`tracker analyze`: the SPEC's JSON fields, pairing by participant, and numbers that
agree with scipy/statsmodels computed here from the raw items (independently of
tracker.scoring and tracker.analysis)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from tests.datasets.test_loaders import pss10_by_hand
from tests.factories import build_study
from tracker.db.engine import open_session
from tracker.db.revision import HEAD_REVISION

SPEC_FIELDS = {
    "correlations": "x, y, method, n, r, ci_low, ci_high, p, p_adj",
    "change": "measure, group, n, mean_pre, sd_pre, mean_post, sd_post, mean_diff, sd_diff, ci_low, ci_high, t, df, p, p_adj, wilcoxon_stat, wilcoxon_p, rank_biserial, cohen_dz, dz_ci_low, dz_ci_high, d_av, hedges_gav, r_pre_post, n_improved, n_reliably_improved, n_reliably_worse",
    "compare": "measure, arm, reference_arm, n, adj_diff, ci_low, ci_high, t, p, partial_eta_sq, d_ppc, d_ppc_ci_low, d_ppc_ci_high",
    "trajectory": "measure, term, estimate, se, ci_low, ci_high, p",
    "reliability": "measure, wave, n, k, alpha, alpha_std, ci_low, ci_high, omega",
}


def as_json(runner, *args):
    return json.loads(runner("analyze", *args, "--format", "json").output.split("\nnote:")[0])


def test_json_fields_are_exactly_the_spec(built):
    runner, _ = built
    calls = {
        "correlations": ["correlations"],
        "change": ["change", "--from", "baseline", "--to", "post"],
        "compare": ["compare", "--from", "baseline", "--to", "post"],
        "trajectory": ["trajectory", "--measure", "pss10"],
        "reliability": ["reliability", "--wave", "baseline"],
    }
    for kind, args in calls.items():
        records = as_json(runner, *args)
        assert records, kind
        for r in records:
            assert list(r) == SPEC_FIELDS[kind].split(", "), kind


def test_change_matches_scipy_on_hand_scored_items(built):
    runner, written = built
    records = as_json(runner, "change", "--from", "baseline", "--to", "post", "--by", "arm")
    row = next(r for r in records if r["measure"] == "pss10" and r["group"] == "intervention")
    codes = sorted({c for (c, _, _) in written if c.startswith("I")})
    pre = np.array([pss10_by_hand(written[(c, "baseline", "pss10")]) for c in codes])
    post = np.array([pss10_by_hand(written[(c, "post", "pss10")]) for c in codes])
    ok = ~np.isnan(pre) & ~np.isnan(post)
    d = post[ok] - pre[ok]
    t = stats.ttest_rel(post[ok], pre[ok])
    assert row["n"] == ok.sum()
    assert row["mean_diff"] == pytest.approx(d.mean(), rel=1e-9)
    assert row["sd_diff"] == pytest.approx(d.std(ddof=1), rel=1e-9)
    assert row["t"] == pytest.approx(t.statistic, rel=1e-9)
    assert row["p"] == pytest.approx(t.pvalue, rel=1e-9)
    assert row["cohen_dz"] == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-9)
    assert row["r_pre_post"] == pytest.approx(np.corrcoef(pre[ok], post[ok])[0, 1], rel=1e-9)


def test_correlations_match_scipy(built):
    runner, written = built
    (row,) = as_json(runner, "correlations", "--wave", "post")
    codes = sorted({c for (c, _, _) in written})
    pss = np.array([pss10_by_hand(written[(c, "post", "pss10")]) for c in codes])
    who = np.array(
        [
            np.nanmean(written[(c, "post", "who5")]) * 20
            if np.isnan(written[(c, "post", "who5")]).sum() <= 1
            else np.nan
            for c in codes
        ]
    )
    ok = ~np.isnan(pss) & ~np.isnan(who)
    r, p = stats.pearsonr(pss[ok], who[ok])
    assert (row["x"], row["y"], row["n"]) == ("pss10", "who5", ok.sum())
    assert row["r"] == pytest.approx(r, rel=1e-9) and row["p"] == pytest.approx(p, rel=1e-7)


def test_compare_matches_statsmodels(built):
    import pandas as pd
    import statsmodels.formula.api as smf

    runner, written = built
    row = next(
        r
        for r in as_json(runner, "compare", "--from", "baseline", "--to", "post")
        if r["measure"] == "pss10"
    )
    codes = sorted({c for (c, _, _) in written})
    frame = pd.DataFrame(
        {
            "pre": [pss10_by_hand(written[(c, "baseline", "pss10")]) for c in codes],
            "post": [pss10_by_hand(written[(c, "post", "pss10")]) for c in codes],
            "arm": ["intervention" if c.startswith("I") else "control" for c in codes],
        }
    ).dropna()
    fit = smf.ols("post ~ pre + C(arm, Treatment('control'))", data=frame).fit()
    term = "C(arm, Treatment('control'))[T.intervention]"
    assert (row["arm"], row["reference_arm"], row["n"]) == ("intervention", "control", len(frame))
    assert row["adj_diff"] == pytest.approx(fit.params[term], rel=1e-9)
    assert row["p"] == pytest.approx(fit.pvalues[term], rel=1e-7)


def test_table_output_and_notes(built):
    runner, _ = built
    out = runner("analyze", "change", "--from", "baseline", "--to", "post").output
    assert out.splitlines()[0].split()[:4] == ["measure", "group", "n", "mean_pre"]
    assert "pss10" in out and "who5" in out


def test_bad_requests_are_clear(built):
    runner, _ = built
    r = runner("analyze", "change", "--from", "baseline", "--to", "later", expect=1)
    assert r.output == "Error: no wave named 'later'; waves: baseline, post\n"
    r = runner("analyze", "change", "--from", "post", "--to", "post", expect=1)
    assert "name the same wave" in r.output
    r = runner("analyze", "trajectory", "--measure", "nope", expect=1)
    assert r.output.startswith("Error: no measure 'nope'; measures: ")


def test_compare_with_one_arm_is_a_clear_error(tracker):
    with open_session(tracker.url) as s:
        build_study(s, n_per_arm=4, arms=("intervention",))
        s.commit()
    r = tracker("analyze", "compare", "--from", "baseline", "--to", "post", expect=1)
    assert (
        r.output
        == "Error: comparing arms needs at least two arms; this study has 1 ('intervention'): add a cohort with another --arm\n"
    )


def test_problems_are_explained_whichever_connection_reads(tracker_empty, tmp_path):
    """tracker analyze reads through its own connection when it can; every refusal still says why."""
    r = tracker_empty("analyze", "correlations", expect=1)
    assert "holds no tracker database; create one with `tracker init" in r.output
    tracker_empty("init", "--study", "S1")
    r = tracker_empty("analyze", "correlations", expect=1)
    assert r.output == "Error: the study has no waves yet\n"
    tracker_empty("init", "--study", "S2")
    r = tracker_empty("analyze", "change", "--from", "a", "--to", "b", expect=1)
    assert "this database holds 2 studies ('S1', 'S2'); choose one with --study NAME" in r.output
    r = tracker_empty("analyze", "trajectory", "--study", "S3", expect=1)
    assert "Error: no study named 'S3'; studies here: 'S1', 'S2'" in r.output
    r = tracker_empty("analyze", "compare", "--from", "a", "--to", "b", "--study", "S1", expect=1)
    assert "no wave named 'a'" in r.output


def test_an_old_schema_is_refused_by_analyze(built):
    from tracker.db.engine import make_engine
    from tracker.db.migrate import downgrade

    runner, _ = built
    engine = make_engine(runner.url)
    downgrade(engine, "0001")
    engine.dispose()
    r = runner("analyze", "correlations", expect=1)
    assert f"older than this tracker's {HEAD_REVISION}; run `tracker db upgrade`" in r.output


def test_a_missing_sqlite_file_is_not_created_by_the_direct_reader(tmp_path):
    from tracker.db.reader import open_reader

    path = tmp_path / "nothing.db"
    assert open_reader(f"sqlite:///{path}") is None
    assert not path.exists()


def test_unscored_administrations_are_refused_until_rescored(built):
    from sqlalchemy import text

    runner, _ = built
    before = as_json(runner, "change", "--from", "baseline", "--to", "post")
    with open_session(runner.url) as s:  # as if responses had been written outside tracker import
        s.execute(
            text(
                "DELETE FROM scale_score WHERE administration_id IN (SELECT MIN(id) FROM administration)"
            )
        )
        s.execute(
            text("UPDATE scale_score SET score = score + 1")
        )  # and scored by a different engine
        s.commit()
    r = runner(
        "analyze", "change", "--from", "baseline", "--to", "post", "--format", "json", expect=1
    )
    assert "1 administration(s) of study 'Factory study' have no stored scores" in r.output
    assert "run `tracker db rescore`" in r.output
    r = runner("db", "rescore")
    assert r.output == "Rescored 80 administrations (80 scores).\n"
    assert as_json(runner, "change", "--from", "baseline", "--to", "post") == before


@pytest.fixture
def built3(tracker):
    with open_session(tracker.url) as s:
        build_study(
            s,
            n_per_arm=10,
            seed=12,
            waves=(("baseline", 0), ("post", 56), ("followup", 120)),
            instruments=("pss10", "who5", "pss4"),
        )
        s.commit()
    return tracker


def test_analyze_all_gives_the_single_commands_numbers(built3):
    """One read, six analyses: every record equals the one its own command prints, option for option."""
    for measure, role in (("who5", "modifiable"), ("pss4", "intermediate"), ("pss10", "outcome")):
        built3("model", "set", measure, role)
    for wave in (None, "post"):
        at = [] if wave is None else ["--wave", wave]
        everything = as_json(
            built3,
            "all",
            "--from",
            "baseline",
            "--to",
            "post",
            "--by",
            "arm",
            "--method",
            "spearman",
            "--adjust",
            "fdr_bh",
            *at,
        )
        assert list(everything) == [
            "correlations",
            "change",
            "compare",
            "trajectory",
            "reliability",
            "mediation",
        ]
        alone = {
            "correlations": as_json(
                built3, "correlations", "--method", "spearman", "--adjust", "fdr_bh", *at
            ),
            "change": as_json(
                built3,
                "change",
                "--from",
                "baseline",
                "--to",
                "post",
                "--by",
                "arm",
                "--adjust",
                "fdr_bh",
            ),
            "compare": as_json(built3, "compare", "--from", "baseline", "--to", "post"),
            "trajectory": as_json(built3, "trajectory"),
            "reliability": as_json(built3, "reliability", *at),
            "mediation": as_json(built3, "mediation", *at),
        }
        for kind, records in alone.items():
            assert records, kind
            assert everything[kind] == records, (kind, wave)
        waves = {r["wave"] for r in everything["reliability"]}
        assert waves == ({"baseline", "post", "followup"} if wave is None else {"post"})


def test_analyze_all_table_and_errors(built3):
    out = built3("analyze", "all", "--from", "baseline", "--to", "followup").output
    headers = [line for line in out.splitlines() if line.startswith("== ")]
    assert headers == [
        "== correlations ==",
        "== change ==",
        "== compare ==",
        "== trajectory ==",
        "== reliability ==",
        "== mediation ==",
    ]
    r = built3("analyze", "all", "--from", "baseline", "--to", "later", expect=1)
    assert r.output == "Error: no wave named 'later'; waves: baseline, post, followup\n"
    r = built3("analyze", "all", "--from", "baseline", "--to", "post", "--wave", "later", expect=1)
    assert r.output == "Error: no wave named 'later'; waves: baseline, post, followup\n"
    # CSV is one file per analysis (their fields differ): without a folder it is refused, as usage
    r = built3("analyze", "all", "--from", "baseline", "--to", "post", "--format", "csv", expect=2)
    assert "Error: --format csv writes one file per analysis: give it with --out DIR" in r.output
    # --out with a terminal format is refused; --out alone means csv
    r = built3(
        "analyze",
        "all",
        "--from",
        "baseline",
        "--to",
        "post",
        "--format",
        "json",
        "--out",
        "results",
        expect=2,
    )
    assert "Error: --out DIR writes CSV files; --format json prints to the terminal" in r.output
    assert not (built3.cwd / "results").exists()
    built3("analyze", "all", "--from", "baseline", "--to", "post", "--out", "results")
    assert (built3.cwd / "results" / "correlations.csv").is_file()


def test_analyze_all_runs_only_the_analyses_asked_for(built3):
    """--analyses: those keys only, each the same records as in the full run; names checked."""
    for measure, role in (("who5", "modifiable"), ("pss4", "intermediate"), ("pss10", "outcome")):
        built3("model", "set", measure, role)
    argv = ["analyze", "all", "--from", "baseline", "--to", "post", "--by", "arm", "--boot", "200"]
    full = json.loads(built3(*argv, "--format", "json").stdout)
    assert list(full) == [
        "correlations",
        "change",
        "compare",
        "trajectory",
        "reliability",
        "mediation",
    ]
    some = json.loads(built3(*argv, "--format", "json", "--analyses", "mediation, change").stdout)
    assert list(some) == ["change", "mediation"]  # in the usual order, whatever the order asked
    assert some == {kind: full[kind] for kind in some}
    # change without reliability computes the baseline alphas itself: the same RCI
    assert some["change"] == full["change"] and any(
        r["n_reliably_improved"] for r in some["change"]
    )
    r = built3(*argv, "--analyses", "change,anova", expect=1)
    assert r.output.startswith("Error: unknown analysis 'anova'; analyses: correlations, change")


def test_analyze_all_csv_is_one_file_per_analysis(built3):
    """Each DIR/KIND.csv is what `tracker analyze KIND --format csv` prints, byte for byte."""
    for measure, role in (("who5", "modifiable"), ("pss4", "intermediate"), ("pss10", "outcome")):
        built3("model", "set", measure, role)
    out = built3(
        "analyze",
        "all",
        "--from",
        "baseline",
        "--to",
        "post",
        "--by",
        "arm",
        "--boot",
        "200",
        "--format",
        "csv",
        "--out",
        "results/a",
    ).output
    folder = built3.cwd / "results" / "a"
    kinds = ["correlations", "change", "compare", "trajectory", "reliability", "mediation"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{k}.csv" for k in kinds)
    wrote = [line for line in out.splitlines() if line.startswith("Wrote ")]
    assert [line.rsplit("/", 1)[1] for line in wrote] == [f"{k}.csv." for k in kinds]
    alone = {
        "correlations": ["correlations"],
        "change": ["change", "--from", "baseline", "--to", "post", "--by", "arm"],
        "compare": ["compare", "--from", "baseline", "--to", "post"],
        "trajectory": ["trajectory"],
        "reliability": ["reliability"],
        "mediation": ["mediation", "--boot", "200"],
    }
    for kind, argv in alone.items():
        single = built3("analyze", *argv, "--format", "csv").stdout
        assert (folder / f"{kind}.csv").read_text(encoding="utf-8") == single.split("\nnote:")[
            0
        ].rstrip("\n") + "\n", kind
    (built3.cwd / "blocked").write_text("a file, not a folder", encoding="utf-8")
    r = built3(
        "analyze",
        "all",
        "--from",
        "baseline",
        "--to",
        "post",
        "--format",
        "csv",
        "--out",
        "blocked/x",
        expect=1,
    )
    assert r.output.startswith("Error: cannot create the folder blocked/x: ")


def test_analyze_all_with_one_arm_leaves_compare_empty_with_a_note(tracker):
    with open_session(tracker.url) as s:
        build_study(s, n_per_arm=6, arms=("intervention",))
        s.commit()
    out = tracker("analyze", "all", "--from", "baseline", "--to", "post", "--format", "json").output
    document, _, notes = out.partition("\nnote:")
    everything = json.loads(document)
    assert everything["compare"] == [] and everything["change"] and everything["trajectory"]
    assert (
        "compare: comparing arms needs at least two arms; this study has 1 ('intervention')"
        in "note:" + notes
    )


def test_the_scored_check_counts_only_the_waves_read(built):
    from sqlalchemy import text

    runner, _ = built
    with open_session(runner.url) as s:  # one post administration loses its scores
        s.execute(
            text(
                "DELETE FROM scale_score WHERE administration_id = (SELECT MIN(a.id) FROM administration a "
                "JOIN wave w ON w.id = a.wave_id WHERE w.name = 'post')"
            )
        )
        s.commit()
    assert as_json(runner, "correlations", "--wave", "baseline")  # reads baseline scores only
    r = runner("analyze", "correlations", "--wave", "post", expect=1)
    assert "1 administration(s) of study 'Factory study' have no stored scores" in r.output
    r = runner("analyze", "trajectory", expect=1)
    assert "1 administration(s)" in r.output
