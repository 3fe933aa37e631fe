"""Every export format: read back equal to the CSV cell by cell, with labels, codes, missing values and dates."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess

import pytest

from tests.export.conftest import EVIL_ROLE, canonical, read_back, read_csv
from tracker.db.engine import open_session
from tracker.errors import TrackerError

BINARY = ["sav", "dta", "rds", "parquet"]
CASES = [("scores", "wide"), ("scores", "long"), ("items", "wide"), ("items", "long")]


def _table(url, what, layout, **kw):
    from tracker.datasets.export import export_table

    with open_session(url) as s:
        return export_table(s, "Ingest", what, layout=layout, **kw)


@pytest.mark.parametrize(("what", "layout"), CASES)
def test_every_format_reads_back_equal_to_the_csv(url, cli, tmp_path, what, layout):
    from openpyxl import load_workbook

    from tracker.datasets.export.formats import safe_names

    outs = [f"{what}.{suffix}" for suffix in ["csv", *BINARY]]
    output = cli(
        "export", what, "--layout", layout, *[a for o in outs for a in ("--out", o)]
    ).output
    header, *body = read_csv(tmp_path / outs[0])
    assert output == "".join(f"Wrote {len(body)} rows to {o}.\n" for o in outs)
    kinds = {v.name: v.kind for v in _table(url, what, layout).variables}
    assert header == list(kinds)
    expected = [
        [canonical(cell, kinds[h], from_csv=True) for h, cell in zip(header, row, strict=True)]
        for row in body
    ]
    stata = safe_names(header, stata=True)
    for suffix in BINARY:
        frame = read_back(tmp_path / f"{what}.{suffix}")
        names = [stata[h] for h in header] if suffix == "dta" else header
        assert list(frame.columns) == names, suffix
        got = [
            [canonical(v, kinds[h], from_csv=False) for h, v in zip(header, row, strict=True)]
            for row in frame.itertuples(index=False)
        ]
        assert got == expected, suffix
    cli("export", what, "--layout", layout, "--out", f"{what}.xlsx")
    workbook = load_workbook(tmp_path / f"{what}.xlsx", read_only=True)
    header_x, *body_x = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert list(header_x) == header
    body_x = [
        tuple(row) + (None,) * (len(header) - len(row)) for row in body_x
    ]  # empty cells at the end

    def excel(
        cell: str, kind: str
    ) -> str:  # Excel's precision: 15 significant digits (openpyxl writes 16)
        return f"{float(cell):.15g}" if cell and kind in ("integer", "number") else cell

    # xlsx text is neutralised like the CSV's: compare as the CSV is compared
    assert [
        [
            excel(canonical(v, kinds[h], from_csv=True), kinds[h])
            for h, v in zip(header, row, strict=True)
        ]
        for row in body_x
    ] == [[excel(c, kinds[h]) for h, c in zip(header, row, strict=True)] for row in expected]
    if (what, layout) == ("scores", "wide"):
        assert "mood.calm" in header and "mood_calm" in stata.values()
        assert any(row[header.index("role")] == "'" + EVIL_ROLE for row in body)


def test_sav_and_dta_carry_labels_codes_missing_and_dates(url, cli, tmp_path):
    import pyreadstat

    cli("export", "scores", "--out", "s.sav", "--out", "s.dta")
    for path, read in (
        (tmp_path / "s.sav", pyreadstat.read_sav),
        (tmp_path / "s.dta", pyreadstat.read_dta),
    ):
        raw, meta = read(str(path))  # no value labels applied: the stored codes
        labels = meta.column_names_to_labels
        assert labels["pss4"] == "Perceived Stress Scale, 4-item"
        mood_calm = "mood.calm" if path.suffix == ".sav" else "mood_calm"
        assert labels[mood_calm] == "Mood check: calm"
        assert meta.variable_value_labels["cohort"] == {1: "A", 2: "B"}
        assert meta.variable_value_labels["arm"] == {1: "control", 2: "intervention"}
        assert meta.variable_value_labels["wave"] == {1: "baseline", 2: "post"}
        assert meta.variable_value_labels["status"] == {1: "active", 2: "withdrawn"}
        assert list(raw["cohort"]) == [1.0, 1.0, 1.0, 2.0, 2.0]
        assert meta.original_variable_types["enrolled"] == (
            "DATE11" if path.suffix == ".sav" else "%td"
        )
        assert raw["enrolled"][0] == dt.date(2027, 3, 1)
        # P002's pss4 (too many items missing) is the format's own missing, not a number
        assert math.isnan(raw["pss4"][2])
        assert raw["participant"][2] == "P002"
        # text: the role exactly as stored (no spreadsheet runs an SPSS or Stata cell)
        assert raw["role"][3] == EVIL_ROLE


def test_stata_labels_are_cut_to_80_characters(url, tmp_path):
    import pyreadstat

    from tracker.datasets.export.formats import write

    table = _table(url, "scores", "wide")
    long = "x" * 100
    table.variables[0] = type(table.variables[0])(**{**table.variables[0].__dict__, "label": long})
    write(table, tmp_path / "s.dta")
    assert (
        pyreadstat.read_dta(str(tmp_path / "s.dta"))[1].column_names_to_labels["participant"]
        == "x" * 80
    )


def test_safe_names_per_format():
    from tracker.datasets.export.formats import safe_names

    names = [
        "participant",
        "scs_sf.self_kindness",
        "scs_sf_self_kindness",
        "1st",
        "by",
        "a" * 40,
        "a" * 41,
    ]
    assert safe_names(names, stata=True) == {
        "participant": "participant",
        "scs_sf.self_kindness": "scs_sf_self_kindness",
        "scs_sf_self_kindness": "scs_sf_self_kindness_2",
        "1st": "v1st",
        "by": "by",
        "a" * 40: "a" * 32,
        "a" * 41: "a" * 30 + "_2",  # 32 characters
    }
    spss = safe_names(names, stata=False)
    assert (
        spss["scs_sf.self_kindness"] == "scs_sf.self_kindness"
        and spss["by"] == "by_"
        and spss["1st"] == "v1st"
    )


def test_parquet_types_labels_and_nulls(url, cli, tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    cli("export", "scores", "--out", "s.parquet")
    table = pq.read_table(tmp_path / "s.parquet")
    schema = table.schema
    assert schema.field("enrolled").type == pa.date32()
    assert pa.types.is_dictionary(schema.field("cohort").type)
    assert schema.field("pss4").metadata[b"label"] == b"Perceived Stress Scale, 4-item"
    assert table.column("pss4").null_count == 1  # P002 baseline
    assert table.column("age").type == pa.int64()
    variables = json.loads(schema.metadata[b"tracker.variables"])
    assert [v["name"] for v in variables] == schema.names


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_rds_is_a_data_frame_with_factors_and_na_in_r(url, cli, tmp_path):
    cli("export", "scores", "--layout", "long", "--out", "s.rds")
    script = (
        f'x <- readRDS("{tmp_path / "s.rds"}"); '
        'cat(class(x), is.factor(x$cohort), paste(levels(x$cohort), collapse="|"), '
        "is.logical(x$prorated), sum(is.na(x$score)), sum(is.nan(x$score)), "
        "is.integer(x$items_answered), class(x$enrolled), as.character(x$enrolled[1]), "
        'attr(x$measure, "label"), sum(is.na(x$completed)), sep=";")'
    )
    out = subprocess.run(
        ["Rscript", "-e", script], capture_output=True, text=True, check=True
    ).stdout
    cli("export", "scores", "--layout", "long", "--out", "s.csv")
    header, *body = read_csv(tmp_path / "s.csv")
    na = sum(1 for row in body if row[header.index("score")] == "")
    undated = sum(1 for row in body if row[header.index("completed")] == "")
    fields = out.split(";")
    assert fields[:4] == ["data.frame", "TRUE", "A|B", "TRUE"]
    assert int(fields[4]) == na > 0 and fields[5] == "0"  # missing scores are NA, not NaN
    assert fields[6:10] == ["TRUE", "Date", "2027-03-01", "Measure (instrument total or subscale)"]
    assert int(fields[10]) == undated > 0


def test_xlsx_dates_are_dates_and_too_many_rows_is_refused(url, tmp_path):
    import pandas as pd

    from tracker.datasets.export import ExportTable, Variable
    from tracker.datasets.export.formats import XLSX_MAX_ROWS, write

    big = ExportTable(
        "items",
        "long",
        pd.DataFrame({"item": range(XLSX_MAX_ROWS + 1)}),
        [Variable("item", "Item number", "integer")],
    )
    with pytest.raises(
        TrackerError, match=r"1,048,576 rows do not fit in an Excel worksheet \(at most 1,048,575\)"
    ):
        write(big, tmp_path / "big.xlsx")
    assert not (tmp_path / "big.xlsx").exists()
    cli_table = _table(url, "scores", "wide")
    write(cli_table, tmp_path / "s.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "s.xlsx").worksheets[0]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("enrolled") + 1).is_date
    assert sheet.cell(2, header.index("enrolled") + 1).value == dt.datetime(2027, 3, 1)


def test_missing_library_names_the_extra(url, tmp_path, monkeypatch):
    import sys

    from tracker.datasets.export import export_scores

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with open_session(url) as s:
        with pytest.raises(
            TrackerError,
            match=r"writing \.parquet files needs the Python package pyarrow, which is "
            r"not installed: pip install 'prepost-tracker\[export\]'",
        ):
            export_scores(s, "Ingest", tmp_path / "s.parquet")
    assert not (tmp_path / "s.parquet").exists()


def test_a_failed_export_leaves_no_file(url, tmp_path, monkeypatch):
    import errno

    import pyreadstat

    from tracker.datasets.export import export_scores

    def full_disk(frame, path, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"$FL2 half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pyreadstat, "write_sav", full_disk)
    before = set(tmp_path.iterdir())
    with open_session(url) as s:
        with pytest.raises(
            TrackerError, match=r"cannot write .*s\.sav: no space left on the device"
        ):
            # the CSV is written first, but nothing is renamed into place until every file is complete
            export_scores(
                s, "Ingest", [tmp_path / "s.csv", tmp_path / "s.sav"], codebook=tmp_path / "cb.csv"
            )
    assert set(tmp_path.iterdir()) == before  # no s.csv, no 0-byte s.sav, no temporary files


def test_export_errors(url, cli, tmp_path):
    assert cli("export", "scores", "--out", "s.txt", expect=1).output == (
        "Error: cannot tell the file type of s.txt: name it .csv, .xlsx, .sav, .dta, .rds, .parquet\n"
    )
    assert cli("export", "scores", "--out", "s.csv", "--key-out", "k.csv", expect=1).output == (
        "Error: a key file (--key-out) maps de-identified codes to the study's: add --deidentify\n"
    )
    assert cli("export", "scores", "--out", "s.csv", "--out", "s.csv", expect=1).output == (
        "Error: the same file is named twice among --out, --codebook and --key-out: name each once\n"
    )
    assert cli("export", "scores", "--out", "s.csv", "--codebook", "c.pdf", expect=1).output == (
        "Error: cannot tell the file type of codebook c.pdf: name it .csv or .html\n"
    )
    assert cli("export", "items", "--out", str(tmp_path / "no" / "i.sav"), expect=1).output == (
        f"Error: cannot write {tmp_path / 'no' / 'i.sav'}: the folder does not exist\n"
    )
    assert (
        sorted(
            p.name
            for p in tmp_path.iterdir()
            if p.suffix != ".db" and p.suffix != ".toml" and p.name != "data.csv"
        )
        == []
    )


def test_python_api_writes_what_the_cli_writes(url, cli, tmp_path):
    """``export_scores``/``export_items`` with a study name: the same files the commands write."""
    from tracker.datasets.export import export_codebook, export_items, export_scores

    suffixes = ["csv", "sav", "dta", "rds", "parquet"]
    with open_session(url) as s:
        scores = export_scores(
            s,
            "Ingest",
            [tmp_path / f"api.{x}" for x in suffixes],
            layout="long",
            codebook=tmp_path / "api-cb.csv",
        )
        items = export_items(s, None, tmp_path / "api-items.csv")
        book = export_codebook(s, "Ingest", tmp_path / "api-cb2.csv", of="items")
        s.commit()
    assert (scores.paths, scores.deidentified) == (
        tuple(tmp_path / f"api.{x}" for x in suffixes),
        False,
    )
    assert scores.columns[:8] == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "measure",
        "score",
        "items_answered",
        "prorated",
    ]
    cli(
        "export",
        "scores",
        "--layout",
        "long",
        *[a for x in suffixes for a in ("--out", f"cli.{x}")],
        "--codebook",
        "cli-cb.csv",
    )
    cli("export", "items", "--out", "cli-items.csv")
    cli("export", "codebook", "--of", "items", "--out", "cli-cb2.csv")
    for api, made in [
        ("api.csv", "cli.csv"),
        ("api-cb.csv", "cli-cb.csv"),
        ("api-items.csv", "cli-items.csv"),
        ("api-cb2.csv", "cli-cb2.csv"),
    ]:
        assert (tmp_path / api).read_bytes() == (tmp_path / made).read_bytes()
    for x in suffixes[1:]:
        assert read_back(tmp_path / f"api.{x}").equals(read_back(tmp_path / f"cli.{x}")), x
    assert scores.rows == len(read_csv(tmp_path / "cli.csv")) - 1 == 19
    assert items.rows == 5 and book.rows == len(read_csv(tmp_path / "cli-cb2.csv")) - 1
