"""Import maps (SPEC "Import maps: real exports as they come"): tracker import responses FILE --map MAP.toml.

The fixture ``data/maps/export.csv`` is a REDCap export written for these
tests in the shapes REDCap produces: CRLF line ends and a trailing blank
line, a custom id column, events (one skipped), a repeating instrument the
map does not name, choice labels instead of codes, a missing code, raw codes
to recode, checkbox and ``*_complete`` columns, ``*_timestamp`` completion
times (``[not completed]`` included), a decimal comma and leading blanks, an
identifier column and a free-text column.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

import pytest

from tests.ingest.conftest import counts, run_import, stored, write
from tracker.db.engine import open_session
from tracker.errors import TrackerError, ValidationError

DATA = Path(__file__).parent / "data" / "maps"
EXPORT = DATA / "export.csv"
MAP = DATA / "redcap.map.toml"

PSS_LABELS = {"never": 0, "almost never": 1, "sometimes": 2, "fairly often": 3, "very often": 4}
WAVES = {"baseline_arm_1": "baseline", "post_arm_1": "post"}


def refused(url, path, error=ValidationError, **kwargs) -> str:
    before = counts(url)
    with pytest.raises(error) as info:
        run_import(url, path, **kwargs)
    assert counts(url) == before, "a refused import wrote something"
    return re.sub(
        r"(?<![\w/])/(?:[\w.-]+/)+", "", str(info.value)
    )  # folders stripped from file names


def expected_from_source() -> dict:
    """The export read here by its own rules, independently of the importer: what must be stored."""
    with EXPORT.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if any(v.strip() for v in r.values())]
    out = {}
    for r in rows:
        if r["redcap_event_name"] not in WAVES or r["redcap_repeat_instrument"]:
            continue  # the skipped event; the repeating instrument the map does not name
        wave = WAVES[r["redcap_event_name"]]
        stamp = r["pss_timestamp"].strip()
        completed = None if stamp in ("", "[not completed]") else dt.date.fromisoformat(stamp[:10])

        def number(text, rules):
            text = text.strip()
            if text in rules.get("missing", ()):
                return None
            if text in rules.get("recode", {}):
                return float(rules["recode"][text])
            if text.lower() in rules.get("labels", {}):
                return float(rules["labels"][text.lower()])
            return float(text.replace(",", ".")) if text else None

        for code, columns, rules in [
            ("pss4", [f"pss_q{n}" for n in range(1, 5)], {"labels": PSS_LABELS}),
            (
                "who5",
                [f"wellbeing_{n}" for n in range(1, 6)],
                {"missing": ["-99"], "recode": {"10": 0, "11": 1}},
            ),
            ("sleep", ["sleep_hours", "sleep_quality_hours"], {}),
        ]:
            values = {k: number(r[c], rules) for k, c in enumerate(columns, start=1)}
            if any(v is not None for v in values.values()):
                out[(r["study_id"], wave, code)] = {"completed": completed, "values": values}
    return out


def test_redcap_export_through_a_map_is_stored_cell_by_cell(url):
    result = run_import(url, MAP.parent / "export.csv", map=MAP)
    want = expected_from_source()
    assert len(want) == 12 and result.administrations_new == 12
    got = stored(url)
    assert got.keys() == want.keys()
    for key, entry in want.items():
        assert got[key]["completed"] == entry["completed"], key
        for k, value in entry["values"].items():
            have = got[key]["values"][k]
            assert (have is None and value is None) or math.isclose(have, value), (
                key,
                k,
                have,
                value,
            )
    # spot checks of the rules, written out
    assert got[("P001", "baseline", "sleep")]["values"] == {
        1: 7.5,
        2: 0.25,
    }  # " 7,5": blank and decimal comma
    assert got[("P002", "baseline", "pss4")]["values"] == {
        1: 0.0,
        2: 1.0,
        3: 4.0,
        4: 0.0,
    }  # " never ", "ALMOST NEVER"
    assert got[("P002", "baseline", "who5")]["values"][5] == 0.0  # recode "10" -> 0
    assert got[("P001", "baseline", "who5")]["values"][3] is None  # missing "-99"
    assert got[("P002", "baseline", "pss4")]["completed"] is None  # [not completed]
    assert ("P003", "baseline", "who5") not in got  # every item "-99": not administered
    warnings = [str(w) for w in result.warnings]
    assert any(
        '1 column not in the map skipped (other_columns = "ignore"): notes' in w for w in warnings
    )
    assert any(
        "1 row of repeating instruments the map does not name (appointment) skipped" in w
        for w in warnings
    )
    assert not any("p001@example.org" in w or "email" in w for w in warnings)
    # the batch keeps the map
    from sqlalchemy import select

    from tracker.db.models import ImportBatch

    with open_session(url) as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert (batch.map_name, batch.map_text, batch.map_sha256) == (
            "redcap.map.toml",
            MAP.read_text(encoding="utf-8"),
            result.map_sha256,
        )
    import hashlib

    assert result.map_sha256 == hashlib.sha256(MAP.read_bytes()).hexdigest()
    # a second import changes nothing
    again = run_import(url, EXPORT, map=MAP)
    assert again.unchanged and again.administrations_unchanged == 12


def test_event_map_as_redcap_event_list_and_id_column_override(url, tmp_path):
    text = MAP.read_text().split("[events]")[0] + MAP.read_text().split('post_arm_1 = "post"\n')[1]
    text = text.replace('id_column = "study_id"\n', "")
    plain = write(tmp_path, "no_events.map.toml", text)
    result = run_import(url, EXPORT, map=plain, event_map=DATA / "events.csv", id_column="study_id")
    assert result.administrations_new == 12
    assert stored(url).keys() == expected_from_source().keys()


def test_id_column_and_event_list_without_a_map(url, tmp_path):
    path = write(
        tmp_path,
        "rc.csv",
        "study_id,redcap_event_name,pss4_1,pss4_2,pss4_3,pss4_4,pss4_complete,"
        "sx___1,sx___2\n"
        'P001,baseline_arm_1,1,2,3," 4",2,0,1\nP001,enrollment_arm_1,,,,,0,,\n'
        'P002,post_arm_1,"1,0",1,1,1,2,1,0\n\n',
    )
    result = run_import(
        url, path, fmt="redcap", event_map=DATA / "events.csv", id_column="study_id"
    )
    assert result.administrations_new == 2
    assert stored(url)[("P002", "post", "pss4")]["values"] == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}


def test_bad_map_lists_every_problem_naming_its_key(url, tmp_path):
    bad = write(
        tmp_path,
        "bad.map.toml",
        """
format = "redcap"
id_colum = "study_id"
other_columns = "skip"

[events]
baseline_arm_1 = "week 0"

[repeat]
instrument = "appointment"
waves = { first = "baseline" }

[[items]]
instrument = "pss10"
pattern = "pss_q{n}"

[[items]]
instrument = "who5"
columns = ["wellbeing_1", "wellbeing_2"]
labels = { "Never" = "zero" }
recod = { "10" = 0 }
""",
    )
    message = refused(url, EXPORT, map=bad)
    assert message.splitlines() == [
        "bad.map.toml: the import map has 8 problems; nothing was imported",
        "  bad.map.toml: id_colum: unknown key; did you mean 'id_column'? [import_map]",
        '  bad.map.toml: other_columns: must be "error" or "ignore", not \'skip\' [import_map]',
        "  bad.map.toml: events.baseline_arm_1: unknown wave 'week 0'; waves: baseline, post (or \"skip\") [import_map]",
        "  bad.map.toml: repeat.waves.first: an instance is a whole number from 1 [import_map]",
        "  bad.map.toml: items[1].instrument: 'pss10' is not an instrument of the study (pss4, sleep, who5); "
        "add it with `tracker instrument add CODE_OR_FILE` [import_map]",
        "  bad.map.toml: items[2].recod: unknown key; did you mean 'recode'? [import_map]",
        "  bad.map.toml: items[2].columns: lists 2 columns but who5 has 5 items; give one per item, in order "
        '("" for an item the file lacks) [import_map]',
        "  bad.map.toml: items[2].labels.Never: must be a number, not 'zero' [import_map]",
    ]


def test_not_toml_is_refused_with_the_line(url, tmp_path):
    bad = write(tmp_path, "broken.map.toml", "format = redcap\n")
    assert refused(url, EXPORT, TrackerError, map=bad).startswith(
        "broken.map.toml is not valid TOML: "
    )


SURVEY = "code,Drivers_1,Drivers_2,Drivers_3,Drivers_4,email,extra\n"


def _drivers_map(tmp_path, other="error") -> Path:
    return write(
        tmp_path,
        "drivers.map.toml",
        f"""
id_column = "code"
wave = "baseline"
other_columns = "{other}"
identifiers = ["email"]

[[items]]
instrument = "pss4"
pattern = "Drivers_{{n}}"
labels = {{ "Never" = 0, "Sometimes" = 2 }}
""",
    )


def test_the_same_bad_label_in_many_cells_is_one_line_naming_the_map_key(url, tmp_path):
    rows = "".join(
        f"P00{1 + i % 5},Very satisfied,Never,Very satisfied,Sometimes,secret{i}@example.org,x\n"
        for i in range(5)
    )
    message = refused(
        url, write(tmp_path, "s.csv", SURVEY + rows), map=_drivers_map(tmp_path, "ignore")
    )
    assert message.splitlines() == [
        "s.csv: 10 problems; nothing was written",
        "  s.csv: 'Very satisfied' in 10 cells, rows 2–6, columns Drivers_1, Drivers_3: not a number; pss4 items "
        "take a whole number from 0 to 4 — add it to [[items]] labels for pss4 (or to its missing) [not_a_number]",
    ]
    assert "secret" not in message and "email" not in message


def test_other_columns_error_names_each_column_and_identifiers_are_never_read(url, tmp_path):
    rows = 'P001,Never,Never,Sometimes,Never,=HYPERLINK("x"),1\n'
    message = refused(url, write(tmp_path, "s.csv", SURVEY + rows), map=_drivers_map(tmp_path))
    assert message.splitlines() == [
        "s.csv: 1 problem; nothing was written",
        "  s.csv, row 1, column 'extra': column 'extra' is not in the map drivers.map.toml: add it to an "
        '[[items]] table, list it under identifiers, or set other_columns = "ignore" [unknown_column]',
    ]
    ok = write(tmp_path, "ok.csv", SURVEY.replace(",extra", "") + rows.replace(",1\n", "\n"))
    result = run_import(url, ok, map=_drivers_map(tmp_path))
    assert result.administrations_new == 1
    assert stored(url)[("P001", "baseline", "pss4")]["values"] == {1: 0.0, 2: 0.0, 3: 2.0, 4: 0.0}


def test_a_direct_identifier_not_listed_is_refused(url, tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        "code,Drivers_1,Drivers_2,Drivers_3,Drivers_4,phone\nP001,Never,Never,Never,"
        "Sometimes,555\n",
    )
    message = refused(url, path, map=_drivers_map(tmp_path, "ignore"))
    assert "column 'phone' holds a direct identifier; list it under identifiers in " in message
    assert "555" not in message


def test_map_columns_the_file_lacks_are_named(url, tmp_path):
    path = write(tmp_path, "s.csv", "code,Drivers_1,Drivers_2,Drivers_4\nP001,Never,Never,Never\n")
    message = refused(url, path, map=_drivers_map(tmp_path))
    assert message.splitlines()[1] == (
        "  s.csv, row 1, column 'Drivers_3': [[items]] pattern for pss4 in drivers.map.toml names the "
        "column 'Drivers_3', which s.csv does not have [import_map]"
    )


def test_repeating_instrument_named_by_the_map_gives_waves(url, tmp_path):
    path = write(
        tmp_path,
        "rep.csv",
        "record_id,redcap_repeat_instrument,redcap_repeat_instance,sleep_h,sleep_q\n"
        "P001,,,,\nP001,sleep_diary,1,7,8\nP001,sleep_diary,2,6,5\nP002,sleep_diary,3,6,5\n"
        "P002,other_form,1,9,9\n",
    )
    rmap = write(
        tmp_path,
        "rep.map.toml",
        """
format = "redcap"
[repeat]
instrument = "sleep_diary"
waves = { 1 = "baseline", 2 = "post" }
[[items]]
instrument = "sleep"
columns = ["sleep_h", "sleep_q"]
""",
    )
    message = refused(url, path, map=rmap)
    assert message.splitlines()[1] == (
        "  rep.csv, row 5, column 'redcap_repeat_instance': repeat instance 3 of sleep_diary has no wave in "
        '[repeat] waves of rep.map.toml (instances mapped: 1, 2); add 3 = "WAVE" '
        "(value '3') [repeat_instance]"
    )
    fixed = write(tmp_path, "rep.csv", path.read_text().replace("sleep_diary,3", "sleep_diary,2"))
    result = run_import(url, fixed, map=rmap)
    assert result.administrations_new == 3
    got = stored(url)
    assert got[("P001", "post", "sleep")]["values"] == {1: 6.0, 2: 5.0}
    assert ("P002", "baseline", "sleep") not in got  # other_form: skipped, not imported


def test_the_map_is_shown_in_the_report_provenance(url):
    from tracker.datasets.loaders import load_study_data
    from tracker.reports.render import environment
    from tracker.study.studies import resolve_study

    run_import(url, EXPORT, map=MAP)
    with open_session(url) as s:
        data = load_study_data(s, resolve_study(s, None))
    batch = data.batches.iloc[0]
    assert (batch["map_name"], batch["map_text"]) == (
        "redcap.map.toml",
        MAP.read_text(encoding="utf-8"),
    )
    ctx = {
        "provenance": {
            "batches": [dict(batch.items(), imported_at="2027-03-01 10:00:00")],
            "instruments": [],
            "db_revision": "0004",
            "database": "SQLite",
            "generated_at": "now",
            "corrections": [],
        }
    }
    html = environment().get_template("partials/provenance.html.j2").render(ctx=ctx)
    assert (
        f'Read with the import map redcap.map.toml (SHA-256 <code class="hash">{batch["map_sha256"]}</code>)'
        in html
    )
    assert "format = &#34;redcap&#34;" in html  # the content, escaped


def test_qualtrics_export_through_a_map(url, tmp_path):
    qmap = write(
        tmp_path,
        "q.map.toml",
        'format = "qualtrics"\nwave = "post"\n[[items]]\ninstrument = "pss4"\n'
        'pattern = "pss4_{n}"\n',
    )
    result = run_import(
        url, DATA.parent / "qualtrics.csv", map=qmap
    )  # the code: ExternalReference, by default
    assert result.administrations_new == 2
    assert [(w.rule, w.row, w.message) for w in result.warnings] == [
        (
            "responses_skipped",
            None,
            "1 of 4 responses skipped (1 survey preview, by Status or DistributionChannel)",
        )
    ]
    assert stored(url) == {
        ("P001", "post", "pss4"): {
            "completed": dt.date(2027, 4, 25),
            "values": {1: 1, 2: 2, 3: 3, 4: 0},
        },
        ("P004", "post", "pss4"): {
            "completed": dt.date(2027, 4, 27),
            "values": {1: 2, 2: None, 3: 1, 4: 3},
        },
    }


def test_xlsx_through_a_map_with_labels(url, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["code", "Drivers_1", "Drivers_2", "Drivers_3", "Drivers_4", "email"])
    book.active.append(["P001", "never", " Sometimes ", 0, 2, "x@example.org"])
    book.save(tmp_path / "d.xlsx")
    result = run_import(url, tmp_path / "d.xlsx", map=_drivers_map(tmp_path))
    assert result.format == "xlsx" and result.administrations_new == 1
    assert stored(url)[("P001", "baseline", "pss4")]["values"] == {1: 0.0, 2: 2.0, 3: 0.0, 4: 2.0}


def test_map_problems_go_to_the_problems_file(cli, tmp_path):
    bad = write(
        tmp_path,
        "bad.map.toml",
        'wave = "week 9"\n[[items]]\ninstrument = "pss4"\npattern = "q{n}"\n',
    )
    out = tmp_path / "p.csv"
    result = cli("import", "responses", EXPORT, "--map", bad, "--problems", out, expect=1)
    assert (
        result.output.splitlines()[0]
        == f"Error: {bad}: the import map has 1 problem; nothing was imported"
    )
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[1] == [
        str(bad),
        "",
        "",
        "",
        "import_map",
        "wave: unknown wave 'week 9'; waves: baseline, post",
    ]


def test_cli_import_with_a_map(cli):
    dry = cli("import", "responses", EXPORT, "--map", MAP, "--dry-run").output.splitlines()
    assert (
        dry[0]
        == f"Dry run: {EXPORT} (redcap, 7 rows) is valid. Would write 12 new administrations "
        "(46 item values). Nothing was written."
    )
    sha = __import__("hashlib").sha256(MAP.read_bytes()).hexdigest()
    assert dry[1] == f"Read with the map {MAP} (SHA-256 {sha[:12]}…)."
    out = cli("import", "responses", EXPORT, "--map", MAP).output
    assert out.startswith(
        f"Imported {EXPORT} (redcap, 7 rows): 12 new administrations (46 item values). Batch #1."
    )
    again = cli("import", "responses", EXPORT, "--map", MAP).output
    assert again.splitlines()[0] == (
        f"{EXPORT}: already imported: nothing changed (7 rows, 12 administrations already stored)."
    )


def test_id_column_names_the_code_column_of_a_long_file(url, tmp_path):
    path = write(tmp_path, "l.csv", "study_id,wave,instrument,item,value\nP001,baseline,pss4,1,3\n")
    assert run_import(url, path, fmt="long", id_column="study_id").administrations_new == 1
    assert stored(url)[("P001", "baseline", "pss4")]["values"] == {
        1: 3.0,
        2: None,
        3: None,
        4: None,
    }


def test_unmapped_events_bad_labels_and_changes_in_one_refusal(url, tmp_path):
    run_import(url, EXPORT, map=MAP)
    text = EXPORT.read_text(encoding="utf-8")
    text = text.replace(
        "P001,baseline_arm_1,,,,2027-03-02 15:52:43,Never,",
        "P001,baseline_arm_1,,,,2027-03-02 15:52:43,Sometimes,",
    )  # changes stored item 1
    text = text.replace(
        "P004,baseline_arm_1,,,,2027-03-04 10:30:00,Almost never,Almost never,Never,Never",
        "P004,followup_arm_1,,,,2027-03-04 10:30:00,Very satisfied,Almost never,Never,Never",
    )
    path = write(tmp_path, "export2.csv", text)
    message = refused(url, path, map=MAP)
    assert message.splitlines() == [
        "export2.csv: 3 problems; nothing was written; 1 of them is a stored value that would change "
        "(import with --update to apply changes)",
        "  export2.csv, row 3, column 'pss_q1': participant P001, wave baseline, pss4 item 1: stored 0 -> 2 "
        "(value 2) [changed_value]",
        "  export2.csv, row 8, column 'redcap_event_name': REDCap event not in the event map redcap.map.toml; add the "
        'line followup_arm_1 = "WAVE" (or "skip") under [events] in redcap.map.toml (value \'followup_arm_1\') '
        "[unmapped_event]",
        "  export2.csv, row 8, column 'pss_q1': not a number; pss4 items take a whole number from 0 to 4 — add it to "
        "[[items]] labels for pss4 (or to its missing) (value 'Very satisfied') [not_a_number]",
    ]
