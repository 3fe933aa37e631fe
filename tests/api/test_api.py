"""The Python API (SPEC → "Python API"): every ``study.analyze.*`` returns the records that
``tracker analyze ... --format json`` prints, on SQLite and PostgreSQL; data, import and report
methods do what their commands do."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import tracker
from tracker.db.engine import open_session
from tracker.errors import NotFound, TrackerError

CALLS = [
    ("correlations", {}, ["correlations"]),
    (
        "correlations",
        {"wave": "post", "method": "spearman", "adjust": "fdr_bh"},
        ["correlations", "--wave", "post", "--method", "spearman", "--adjust", "fdr_bh"],
    ),
    (
        "change",
        {"pre": "baseline", "post": "post"},
        ["change", "--from", "baseline", "--to", "post"],
    ),
    (
        "change",
        {"pre": "baseline", "post": "post", "by": "arm", "adjust": "none"},
        ["change", "--from", "baseline", "--to", "post", "--by", "arm", "--adjust", "none"],
    ),
    (
        "compare",
        {"pre": "baseline", "post": "post"},
        ["compare", "--from", "baseline", "--to", "post"],
    ),
    ("trajectory", {}, ["trajectory"]),
    ("trajectory", {"measure": "who5"}, ["trajectory", "--measure", "who5"]),
    ("reliability", {}, ["reliability"]),
    ("reliability", {"wave": "post"}, ["reliability", "--wave", "post"]),
    (
        "reliability",
        {"wave": "baseline", "boot": 50, "seed": 3},
        ["reliability", "--wave", "baseline", "--boot", "50", "--seed", "3"],
    ),
    (
        "mediation",
        {"x": "arm", "m": "pss10", "y": "who5", "pre": "baseline", "post": "post", "boot": 200},
        [
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
            "200",
        ],
    ),
    ("plan", {"pre": "baseline", "post": "post"}, ["plan", "--from", "baseline", "--to", "post"]),
    (
        "plan",
        {"pre": "baseline", "post": "post", "measure": "who5", "effect": 0.5, "attrition": 0.2},
        [
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
            "0.2",
        ],
    ),
]


def cli_json(runner, *args):
    argv = list(args) if args[0] == "plan" else ["analyze", *args]
    return json.loads(runner(*argv, "--format", "json").stdout)


def same(records: list[dict], frame: pd.DataFrame) -> None:
    """The frame holds exactly the JSON records: same fields in order, same values (NaN = null)."""
    fields = [c for c in frame.columns if c != "note"]
    assert frame.columns[-1] == "note"
    assert records and fields == list(records[0])
    assert len(frame) == len(records)
    for got, want in zip(frame[fields].to_dict("records"), records, strict=True):
        for key, expected in want.items():
            value = got[key]
            if expected is None:
                assert value is None or (isinstance(value, float) and math.isnan(value)), key
            elif isinstance(expected, float):
                assert float(value) == expected, key  # full precision: the same double
            else:
                assert value == expected, key


@pytest.mark.parametrize("kind, kwargs, argv", CALLS, ids=[" ".join(c[2]) for c in CALLS])
def test_every_analysis_equals_the_cli_json(built, kind, kwargs, argv):
    runner, _ = built
    study = tracker.open(runner.url)
    same(cli_json(runner, *argv), getattr(study.analyze, kind)(**kwargs))


def test_all_equals_analyze_all_json(built):
    runner, _ = built
    out = json.loads(
        runner(
            "analyze",
            "all",
            "--from",
            "baseline",
            "--to",
            "post",
            "--by",
            "arm",
            "--boot",
            "300",
            "--format",
            "json",
        ).stdout
    )
    frames = tracker.open(runner.url).analyze.all(pre="baseline", post="post", by="arm", boot=300)
    assert (
        list(frames)
        == list(out)
        == ["correlations", "change", "compare", "trajectory", "reliability", "mediation"]
    )
    assert (
        out["mediation"] == [] and frames["mediation"].empty
    )  # no model roles: no mediation model
    for kind, records in out.items():
        if kind != "mediation":
            same(records, frames[kind])


def test_scores_items_and_participants(built):
    runner, written = built
    study = tracker.open(runner.url, study="Factory study")
    long = study.scores(wave="baseline")
    assert set(long["wave"]) == {"baseline"}
    assert len(study.scores()) == 2 * len(long)
    wide = study.scores(wave="baseline", layout="wide")
    assert list(wide.columns[:4]) == ["participant", "cohort", "arm", "wave"]
    assert set(wide.columns[4:]) == {"pss10", "who5"}
    assert len(wide) == 20 and wide["participant"].is_unique
    row = long[(long["participant"] == "I003") & (long["measure"] == "who5")]["score"].item()
    assert wide.set_index("participant").loc["I003", "who5"] == row or (math.isnan(row))
    items = study.items(wave="post")
    values = items[(items["participant"] == "C004") & (items["instrument"] == "pss10")][
        "value"
    ].to_numpy()
    assert values.tolist() == pytest.approx(
        written[("C004", "post", "pss10")].tolist(), nan_ok=True
    )
    roster = study.participants()
    assert sorted(roster["participant"]) == sorted({c for (c, _, _) in written})


def test_study_names_and_errors(built):
    runner, _ = built
    assert tracker.open(runner.url).name == "Factory study"
    with pytest.raises(NotFound, match="no study named 'Nope'"):
        tracker.open(runner.url, study="Nope")
    study = tracker.open(runner.url)
    with pytest.raises(NotFound, match="no wave named 'later'"):
        study.scores(wave="later")
    with pytest.raises(NotFound, match="no wave named 'later'"):
        study.analyze.change(pre="baseline", post="later")
    with pytest.raises(ValueError, match="layout"):
        study.scores(layout="tall")


def test_import_and_report_through_the_api(built, tmp_path):
    runner, _ = built
    study = tracker.open(runner.url)
    csv = tmp_path / "followup.csv"
    csv.write_text(
        "participant,who5_1,who5_2,who5_3,who5_4,who5_5\nI001,3,3,4,2,5\n", encoding="utf-8"
    )
    runner("wave", "add", "followup", "--day", "120")
    with pytest.raises(TrackerError):
        study.import_responses(csv, wave="nowhere")
    dry = study.import_responses(csv, wave="followup", dry_run=True)
    assert study.scores(wave="followup").empty
    # the layout is `layout=` (as --layout); `format=` is its old name, and the two must agree
    assert study.import_responses(csv, wave="followup", layout="wide", dry_run=True).rows == 1
    assert study.import_responses(csv, wave="followup", format="wide", dry_run=True).rows == 1
    with pytest.raises(TrackerError, match="layout='long' and format='wide' disagree"):
        study.import_responses(csv, wave="followup", layout="long", format="wide")
    with pytest.raises(TrackerError):  # the file is not in the long layout
        study.import_responses(csv, wave="followup", layout="long", dry_run=True)
    result = study.import_responses(csv, wave="followup")
    assert dry.rows == result.rows == 1
    got = study.scores(wave="followup")
    assert got["score"].tolist() == [pytest.approx((3 + 3 + 4 + 2 + 5) * 4)]
    path = study.report(tmp_path / "r.html")
    assert path.exists() and "Factory study" in path.read_text(encoding="utf-8")


def test_a_study_object_sees_later_commits(built):
    runner, _ = built
    study = tracker.open(runner.url)
    before = len(study.participants())
    runner("participant", "add", "NEW01", "--cohort", "control cohort")
    assert len(study.participants()) == before + 1


def test_loaders_take_a_study_name(built):
    from tracker.datasets import load_items, load_scores, load_study_data

    runner, _ = built
    with open_session(runner.url) as s:
        by_name = load_scores(s, "Factory study")
        assert len(by_name) and by_name.equals(load_scores(s))
        assert len(load_items(s, "Factory study", wave="baseline")) == len(
            load_items(s, wave="baseline")
        )
        assert load_study_data(s, "Factory study").study == "Factory study"
        with pytest.raises(NotFound, match="no study named 'Other'"):
            load_scores(s, "Other")


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".parquet"])
def test_exports_through_the_api_equal_the_cli_files(built, tmp_path, suffix):
    runner, _ = built
    study = tracker.open(runner.url)
    for kind in ("scores", "items"):
        via_cli, via_api = tmp_path / f"cli-{kind}{suffix}", tmp_path / f"api-{kind}{suffix}"
        runner("export", kind, "--layout", "long", "--out", str(via_cli))
        result = getattr(study, f"export_{kind}")(via_api, layout="long")
        assert result.rows > 0
        if suffix == ".csv":
            assert via_api.read_bytes() == via_cli.read_bytes()
        else:
            read = pd.read_parquet if suffix == ".parquet" else pd.read_spss
            pd.testing.assert_frame_equal(read(via_api), read(via_cli))
    book_cli, book_api = tmp_path / "cli-book.csv", tmp_path / "api-book.csv"
    runner("export", "codebook", "--of", "items", "--out", str(book_cli))
    study.export_codebook(book_api, of="items")
    assert book_api.read_bytes() == book_cli.read_bytes()


def test_a_deidentified_export_through_the_api_writes_its_key_only_when_asked(built, tmp_path):
    runner, written = built
    study = tracker.open(runner.url)
    out, key = tmp_path / "shared.csv", tmp_path / "key.csv"
    study.export_scores(out, deidentify=True)
    assert not key.exists()
    shared = pd.read_csv(out)
    assert not set(shared["participant"]) & {c for (c, _, _) in written}
    study.export_scores(tmp_path / "again.csv", deidentify=True, key_out=key)
    mapping = pd.read_csv(key)
    assert sorted(mapping["participant"]) == sorted({c for (c, _, _) in written})
