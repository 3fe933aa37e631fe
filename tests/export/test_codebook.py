"""tracker export codebook, --codebook, the audit record of exports, formula injection in every text format."""

from __future__ import annotations

import html
import json

from sqlalchemy import select

from tests.export.conftest import EVIL_ROLE, read_back, read_csv
from tracker.db.engine import open_session
from tracker.db.models import AuditEvent


def _codebook(path):
    header, *body = read_csv(path)
    assert header == [
        "name",
        "label",
        "type",
        "values",
        "instrument",
        "version",
        "scoring",
        "citation",
        "spss_name",
        "stata_name",
    ]
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def test_scores_codebook(cli, tmp_path):
    assert (
        cli("export", "codebook", "--out", "cb.csv").output
        == "Wrote the codebook (21 variables) to cb.csv.\n"
    )
    book = _codebook(tmp_path / "cb.csv")
    cli("export", "scores", "--out", "s.csv")
    assert list(book) == read_csv(tmp_path / "s.csv")[0]  # one row per exported variable, in order
    assert book["pss4"] == {
        "name": "pss4",
        "label": "Perceived Stress Scale, 4-item",
        "type": "number",
        "values": "0–16",
        "instrument": "pss4",
        "version": "1",
        "scoring": "sum of items 1–4 (each 0–4); reverse-scored items 2–3 (as 0 + 4 − value); "
        "missing when any item is missing; higher is worse",
        "citation": book["pss4"]["citation"],
        "spss_name": "pss4",
        "stata_name": "pss4",
    }
    assert book["pss4"]["citation"].startswith("Cohen, S., & Williamson, G. (1988).")
    assert book["mood"]["scoring"] == (
        "mean of items 1–3 (each 1–5); reverse-scored items 3 (as 1 + 5 − value); "
        "prorated when at most 1 item is missing (mean of the answered items), "
        "else missing; higher is better"
    )
    assert (
        book["mood"]["version"] == "2"
        and book["mood"]["citation"] == "Made up for the tests (2027)"
    )
    assert book["mood.calm"]["label"] == "Mood check: calm"
    assert (book["mood.calm"]["values"], book["mood.calm"]["stata_name"]) == ("2–10", "mood_calm")
    assert book["who5"]["scoring"].endswith("; × 4; higher is better")
    assert (book["cohort"]["type"], book["cohort"]["values"]) == ("category", "A; B")
    assert (book["wave"]["values"], book["status"]["values"]) == (
        "baseline; post",
        "active; withdrawn",
    )
    assert (book["enrolled"]["type"], book["age"]["type"], book["role"]["type"]) == (
        "date",
        "integer",
        "text",
    )
    assert book["who5_completed"]["label"] == "Date the who5 questionnaire was completed"


def test_items_codebook_long_and_deidentified(cli, tmp_path):
    cli("export", "codebook", "--of", "items", "--out", "items.csv")
    book = _codebook(tmp_path / "items.csv")
    assert book["pss4_2"]["label"] == "Perceived Stress Scale, 4-item, item 2"
    assert (book["pss4_2"]["type"], book["pss4_2"]["values"], book["pss4_2"]["scoring"]) == (
        "integer",
        "0–4",
        "reverse-scored in the total",
    )
    assert book["pss4_1"]["scoring"] == "scored as answered"
    assert (book["sleep_1"]["type"], book["sleep_1"]["values"]) == (
        "number",
        "0–24",
    )  # integer = false
    cli("export", "codebook", "--layout", "long", "--deidentify", "--out", "long.csv")
    book = _codebook(tmp_path / "long.csv")
    assert list(book) == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "measure",
        "score",
        "items_answered",
        "prorated",
        "completed_day",
        "age_band",
        "gender",
        "role",
        "status",
        "withdrawn_day",
    ]
    assert book["measure"]["values"] == "mood; mood.calm; pss4; sleep; who5"
    assert book["completed_day"]["type"] == "integer"
    assert book["age_band"]["values"].startswith("0-4; 5-9; ") and book["age_band"][
        "values"
    ].endswith("85-89; 90+")
    assert "random" in book["participant"]["label"]


def test_codebook_with_the_data_and_html_escaped(url, cli, tmp_path):
    from tracker.study.cohorts import add_cohort
    from tracker.study.studies import resolve_study

    with open_session(url) as s:
        add_cohort(s, resolve_study(s), "<script>alert(1)</script>", arm="=1+1")
        s.commit()
    out = cli("export", "scores", "--out", "s.sav", "--codebook", "cb.html").output
    assert out == "Wrote 5 rows to s.sav.\nWrote the codebook (21 variables) to cb.html.\n"
    page = (tmp_path / "cb.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert html.escape("<script>alert(1)</script>; A; B", quote=False) in page
    assert "<td>Perceived Stress Scale, 4-item</td>" in page
    cli("export", "codebook", "--out", "cb.csv")
    # neutralised: a text cell, not a formula
    assert _codebook(tmp_path / "cb.csv")["arm"]["values"] == "'=1+1; control; intervention"


def test_formula_injection_in_every_format(url, cli, tmp_path):
    from openpyxl import load_workbook

    cli(
        "export",
        "scores",
        "--out",
        "s.csv",
        "--out",
        "s.xlsx",
        "--out",
        "s.sav",
        "--out",
        "s.dta",
        "--out",
        "s.rds",
        "--out",
        "s.parquet",
    )
    header, *body = read_csv(tmp_path / "s.csv")
    role = header.index("role")
    assert [r[role] for r in body if r[0] == "P004"] == ["'" + EVIL_ROLE]  # csv
    sheet = load_workbook(tmp_path / "s.xlsx").worksheets[0]
    cells = [c for c in sheet.iter_cols(min_col=role + 1, max_col=role + 1, values_only=False)][0]
    evil = [c for c in cells if c.value and "cmd" in str(c.value)]
    assert [(c.value, c.data_type) for c in evil] == [
        ("'" + EVIL_ROLE, "s")
    ]  # xlsx: text, not a formula
    for suffix in ("sav", "dta", "rds", "parquet"):  # analysis formats keep the text as stored
        frame = read_back(tmp_path / f"s.{suffix}")
        assert list(frame[frame["participant"] == "P004"]["role"]) == [EVIL_ROLE], suffix
    # the key file is text too (codes are checked on entry, but a key must not trust that)
    from tracker.datasets.export import Deidentifier

    Deidentifier({"=1+1": "ABCDEFGH"}, {}).write_key(tmp_path / "key.csv")
    assert read_csv(tmp_path / "key.csv") == [["export_code", "participant"], ["ABCDEFGH", "'=1+1"]]


def test_every_export_is_audited(url, cli, tmp_path):
    cli("export", "scores", "--out", "s.csv", "--out", "s.parquet", "--codebook", "cb.csv")
    cli(
        "export",
        "items",
        "--layout",
        "long",
        "--wave",
        "post",
        "--deidentify",
        "--out",
        "i.sav",
        "--key-out",
        "key.csv",
    )
    cli("export", "codebook", "--of", "items", "--out", "cb.html")
    with open_session(url) as s:
        events = list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
            )
        )
    assert [(e.entity, e.entity_key) for e in events] == [
        ("export", "s.csv"),
        ("export", "s.parquet"),
        ("export", "i.sav"),
        ("export", "cb.html"),
    ]
    after = [e.after if isinstance(e.after, dict) else json.loads(e.after) for e in events]
    assert after[0] == {
        "what": "scores",
        "layout": "wide",
        "wave": None,
        "format": "csv",
        "rows": 5,
        "columns": 21,
        "deidentified": False,
        "key_file": None,
        "codebook": "cb.csv",
    }
    assert after[2] == {
        "what": "items",
        "layout": "long",
        "wave": "post",
        "format": "sav",
        "rows": 20,
        "columns": 7,
        "deidentified": True,
        "key_file": "key.csv",
        "codebook": None,
    }
    assert after[3]["what"] == "codebook of items"
    assert all(e.os_user and e.at is not None for e in events)
