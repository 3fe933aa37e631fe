"""tracker import responses / status / due through the real command group."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest.conftest import WIDE_HEADER, counts, write

DATA = Path(__file__).parent / "data"
WIDE = (
    WIDE_HEADER
    + "\nP001,2027-03-02,1,2,3,4,5,4,3,2,1\nP002,2027-03-20,0,1,,2,,,,,\nP004,2027-03-03,4,4,3,4,0,1,0,1,0\n"
)


def test_import_dry_run_then_import_then_again(cli, tmp_path):
    write(tmp_path, "baseline.csv", WIDE)
    before = counts(cli.url)
    out = cli("import", "responses", "baseline.csv", "--wave", "baseline", "--dry-run").output
    assert out.splitlines()[:5] == [
        "Dry run: baseline.csv (wide, 3 rows) is valid. Would write 5 new administrations (22 item values). Nothing was written.",
        "wave      instrument  new  changed  unchanged",
        "─" * 45,
        "baseline  pss4          3        0          0",
        "baseline  who5          2        0          0",
    ]
    assert (
        "Warning: baseline.csv, row 3, column 'completed': pss4 completed 2027-03-20, outside wave baseline's window"
        in out
    )
    assert counts(cli.url) == before
    out = cli("import", "responses", "baseline.csv", "--wave", "baseline").output
    assert out.startswith(
        "Imported baseline.csv (wide, 3 rows): 5 new administrations (22 item values). Batch #1.\n"
    )
    assert "Importing" not in out  # no progress bar: not a terminal, and a small file
    out = cli("import", "responses", "baseline.csv", "--wave", "baseline").output
    assert (
        out
        == "baseline.csv: already imported: nothing changed (3 rows, 5 administrations already stored).\n"
    )


def test_import_errors_exit_1_listing_every_problem(cli, tmp_path):
    write(tmp_path, "bad.csv", "participant,pss4_1,pss4_2\nP001,7,x\nP999,1,1\n")
    r = cli("import", "responses", "bad.csv", "--wave", "baseline", expect=1)
    assert r.output.splitlines() == [
        "Error: bad.csv: 3 problems; nothing was written",
        "  bad.csv, row 2, column 'pss4_1': out of range; pss4 items take a whole number from 0 to 4 (value '7') [out_of_range]",
        "  bad.csv, row 2, column 'pss4_2': not a number; pss4 items take a whole number from 0 to 4 (value 'x') [not_a_number]",
        "  bad.csv, row 3, column 'participant': unknown participant; enrol it first (tracker participant add CODE --cohort NAME) (value 'P999') [unknown_participant]",
    ]
    assert cli("import", "responses", "bad.csv", "--wave", "week 9", expect=1).output == (
        "Error: no wave named 'week 9' in study 'Ingest'; waves: 'baseline', 'post'\n"
    )
    assert (
        "Invalid value for '--format'"
        in cli("import", "responses", "bad.csv", "--format", "sav", expect=2).output
    )


def test_update_through_the_cli(cli, tmp_path):
    write(tmp_path, "b.csv", "participant,pss4_1,pss4_2,pss4_3,pss4_4\nP001,1,2,3,4\n")
    cli("import", "responses", "b.csv", "--wave", "baseline")
    write(tmp_path, "b.csv", "participant,pss4_1,pss4_2,pss4_3,pss4_4\nP001,1,2,3,3\n")
    r = cli("import", "responses", "b.csv", "--wave", "baseline", expect=1)
    assert r.output.splitlines()[0] == (
        "Error: b.csv: 1 stored value would change; nothing was written; import with --update to apply the changes"
    )
    out = cli("import", "responses", "b.csv", "--wave", "baseline", "--update").output
    assert out.splitlines()[0] == (
        "Imported b.csv (wide, 1 row): 0 new administrations (0 item values), 1 changed value in 1 administration. Batch #2."
    )
    assert "  changed: P001 baseline pss4 4: 4 -> 3" in out


def test_redcap_through_the_cli(cli):
    out = cli(
        "import",
        "responses",
        str(DATA / "redcap.csv"),
        "--format",
        "redcap",
        "--event-map",
        str(DATA / "events.csv"),
    ).output
    assert "7 new administrations" in out


def test_qualtrics_through_the_cli(cli):
    out = cli(
        "import",
        "responses",
        str(DATA / "qualtrics.csv"),
        "--format",
        "qualtrics",
        "--wave",
        "post",
        "--id-column",
        "ExternalReference",
    ).output
    assert (
        "2 new administrations" in out
        and "1 of 4 responses skipped (1 survey preview, by Status or DistributionChannel) [responses_skipped]"
        in out
    )


def test_status(cli, tmp_path):
    write(tmp_path, "b.csv", WIDE)
    cli("import", "responses", "b.csv", "--wave", "baseline")
    lines = cli("status").output.splitlines()
    assert lines[0].split() == ["cohort", "arm", "wave", "active", "pss4", "sleep", "who5"]
    assert lines[2].split() == [
        "A",
        "intervention",
        "baseline",
        "3",
        "2/3",
        "(67%)",
        "0/3",
        "(0%)",
        "1/3",
        "(33%)",
    ]
    assert lines[4].split() == [
        "B",
        "control",
        "baseline",
        "2",
        "1/2",
        "(50%)",
        "0/2",
        "(0%)",
        "1/2",
        "(50%)",
    ]
    records = json.loads(cli("status", "--format", "json").output)
    assert records[0] == {
        "cohort": "A",
        "arm": "intervention",
        "wave": "baseline",
        "wave_order": 1,
        "instrument": "pss4",
        "active": 3,
        "completed": 2,
        "percent": 100 * 2 / 3,
        "withdrawn": 1,
    }


def test_due(cli, tmp_path):
    write(tmp_path, "b.csv", WIDE)
    cli("import", "responses", "b.csv", "--wave", "baseline")
    lines = cli("due", "--as-of", "2027-04-20", env={"COLUMNS": "120"}).output.splitlines()
    assert [line.split() for line in lines[2:]] == [
        [
            "baseline",
            "A",
            "intervention",
            "2027-02-22",
            "2027-03-08",
            "overdue",
            "3",
            "P001",
            "P002",
            "P003",
        ],
        ["baseline", "B", "control", "2027-02-22", "2027-03-08", "overdue", "2", "P004", "P005"],
        [
            "post",
            "A",
            "intervention",
            "2027-04-12",
            "2027-05-10",
            "due",
            "3",
            "P001",
            "P002",
            "P003",
        ],
        ["post", "B", "control", "2027-04-12", "2027-05-10", "due", "2", "P004", "P005"],
    ]
    # at 80 columns the table is split into blocks that repeat the wave and cohort
    narrow = cli("due", "--as-of", "2027-04-20", env={"COLUMNS": "80"}).output
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert all(
        block.splitlines()[0].split()[:2] == ["wave", "cohort"]
        for block in narrow.strip().split("\n\n")
    )
    rows = json.loads(
        cli("due", "--wave", "post", "--as-of", "2027-03-01", "--format", "json").output
    )
    assert rows[0] == {
        "cohort": "A",
        "arm": "intervention",
        "wave": "post",
        "opens": "2027-04-12",
        "closes": "2027-05-10",
        "state": "upcoming",
        "participant": "P001",
        "missing": "pss4, sleep, who5",
    }
    assert (
        "W001" not in cli("due", "--format", "csv").output
    )  # withdrawn participants are not chased
    assert cli("due", "--as-of", "2027-13-01", expect=1).output == (
        "Error: --as-of '2027-13-01' is not a real calendar date\n"
    )


def test_every_new_command_has_help(cli):
    for args in (
        ["import"],
        ["import", "responses"],
        ["status"],
        ["due"],
        ["export"],
        ["export", "scores"],
        ["export", "items"],
    ):
        out = cli(*args, "--help", db=False).output
        assert "Example:" in out or "Commands:" in out


def test_progress_bar_only_on_a_terminal_and_only_for_long_imports(monkeypatch):
    import io
    import sys

    from tracker.cli.data_cmds import PROGRESS_THRESHOLD, _Bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, total, shown in [
        (Terminal(), PROGRESS_THRESHOLD - 1, False),
        (io.StringIO(), 10 * PROGRESS_THRESHOLD, False),
        (Terminal(), 10 * PROGRESS_THRESHOLD, True),
    ]:
        monkeypatch.setattr(sys, "stderr", stream)
        bar = _Bar()
        for done in (0, total // 2, total):
            bar(done, total)
        bar.close()
        assert ("Importing" in stream.getvalue()) is shown


def test_a_study_without_instruments_says_so_first_with_or_without_a_map(tracker, tmp_path):
    tracker("init", "--study", "Empty")
    tracker("wave", "add", "baseline", "--day", "0")
    (tmp_path / "m.toml").write_text('format = "wide"\n', encoding="utf-8")
    expected = (
        "Error: study 'Empty' has no instruments yet; add them first: tracker instrument add CODE\n"
    )
    for extra in ([], ["--map", str(tmp_path / "m.toml")]):
        r = tracker(
            "import",
            "responses",
            str(tmp_path / "missing.csv"),
            "--wave",
            "baseline",
            *extra,
            expect=1,
        )
        assert r.output == expected
