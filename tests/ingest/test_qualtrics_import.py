"""Qualtrics exports of every vintage imported: current, 2016 and legacy, with and without a map.

The export files are generated here (``export``), one response list written in
each vintage's own header rows. What the database holds is compared, cell by
cell, with what the file says read independently of the importer (``expected``):
the csv module, the data rows after the header rows, the kept responses picked
by this test's own list of real Status values, ``-99`` and empty cells as
unanswered, choice text through the map's labels.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from tests.ingest.conftest import counts, run_import, stored, write
from tracker.errors import TrackerError

PSS = ["Q1_1", "Q1_2", "Q1_3", "Q1_4"]
SLEEP = ["Q11 Slider_1", "Q11 Slider_2"]  # item names with a space, as Qualtrics writes them

# (code, Status, DistributionChannel, EndDate day, pss4 cells, sleep cells); code "" for previews and tests
RESPONSES = [
    ("P001", "real", "anonymous", 2, ["1", "2", "3", "4"], ["7.5", "8"]),
    ("", "preview", "preview", 2, ["4", "4", "4", "4"], ["1", "1"]),
    ("", "real", "test", 3, ["0", "0", "0", "0"], ["0", "0"]),  # a test by its DistributionChannel
    ("P005", "spam", "anonymous", 3, ["2", "2", "2", "2"], ["5", "5"]),
    ("P002", "real", "email", 3, ["0", "", "4", "2"], ["6.25", ""]),
    ("P003", "real", "email", 4, ["-99", "1", "1", "1"], ["-99", "10"]),  # seen but unanswered
    ("P004", "real", "email", 4, ["", "", "", ""], ["", ""]),  # opened the survey and left
]
STATUS = {  # how each vintage writes the Status of a real response, a preview, a test and spam
    "current": {"real": "0", "preview": "1", "test": "2", "spam": "8"},
    "2016": {
        "real": "IP Address",
        "preview": "Survey Preview",
        "test": "Survey Test",
        "spam": "Spam",
    },
    "legacy": {"real": "0", "preview": "1", "test": "2", "spam": "8"},
}
REAL = {"0", "IP Address"}
ID_COLUMN = {
    "current": "ExternalReference",
    "2016": "ExternalDataReference",
    "legacy": "ExternalDataReference",
}


def _date(day: int, hour: int = 10) -> str:
    return f"2027-03-{day:02d} {hour:02d}:05:00"


def export(variant: str, responses=RESPONSES, *, end_date: bool = True, items=(PSS, SLEEP)) -> str:
    """The CSV text of a Qualtrics export of ``variant`` holding ``responses``."""
    item_names = [n for block in items for n in block]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    status = STATUS[variant]
    if variant == "current":
        meta = [
            "StartDate",
            "EndDate",
            "Status",
            "IPAddress",
            "Progress",
            "Duration (in seconds)",
            "Finished",
            "RecordedDate",
            "ResponseId",
            "RecipientLastName",
            "RecipientFirstName",
            "RecipientEmail",
            "ExternalReference",
            "LocationLatitude",
            "LocationLongitude",
            "DistributionChannel",
            "UserLanguage",
        ]
        if not end_date:
            meta.remove("EndDate")
        w.writerow(meta + item_names)
        w.writerow(
            [m.replace("Date", " Date") for m in meta] + [f"Question {n}" for n in item_names]
        )
        ids = {"EndDate": "endDate", "StartDate": "startDate", "RecordedDate": "recordedDate"}
        w.writerow(
            [json.dumps({"ImportId": ids.get(m, m[0].lower() + m[1:])}) for m in meta]
            + [
                json.dumps({"ImportId": "QID" + n.replace("Q", "").replace(" Slider", "")})
                for n in item_names
            ]
        )
        for k, (code, st, channel, day, pss, sleep) in enumerate(responses):
            row = {
                "StartDate": _date(day, 9),
                "EndDate": _date(day),
                "Status": status[st],
                "Progress": "100",
                "Finished": "1",
                "RecordedDate": _date(day + 1),
                "ResponseId": f"R_{k}",
                "ExternalReference": code,
                "DistributionChannel": channel,
                "UserLanguage": "EN",
            }
            w.writerow([row.get(m, "") for m in meta] + pss + sleep)
    elif variant == "2016":
        meta = [
            "ResponseID",
            "ResponseSet",
            "IPAddress",
            "StartDate",
            "EndDate",
            "RecipientLastName",
            "RecipientFirstName",
            "RecipientEmail",
            "ExternalDataReference",
            "Finished",
            "Status",
        ]
        w.writerow(meta + item_names)
        w.writerow(meta + [f"Question {n}" for n in item_names])
        w.writerow(
            [f"{{'ImportId': '{m[0].lower() + m[1:]}'}}" for m in meta]
            + [f"{{'ImportId': 'QID{n[1:].split('_')[0].split()[0]}-{n[-1]}'}}" for n in item_names]
        )
        for k, (code, st, channel, day, pss, sleep) in enumerate(responses):
            st = (
                "test" if channel == "test" else st
            )  # no DistributionChannel column: Status says it
            row = {
                "ResponseID": f"R_{k}",
                "ResponseSet": "Default Response Set",
                "StartDate": _date(day, 9),
                "EndDate": _date(day),
                "ExternalDataReference": code,
                "Finished": "1",
                "Status": status[st],
            }
            w.writerow([row.get(m, "") for m in meta] + pss + sleep)
    else:  # legacy: V1..V10, the real names and question text in row 2, a trailing empty column, a BOM
        meta = [
            "ResponseID",
            "ResponseSet",
            "Name",
            "ExternalDataReference",
            "EmailAddress",
            "IPAddress",
            "Status",
            "StartDate",
            "EndDate",
            "Finished",
        ]
        tail = ["LocationLatitude", "LocationLongitude", "LocationAccuracy"]
        w.writerow([f"V{j + 1}" for j in range(len(meta))] + item_names + tail + [""])
        w.writerow(meta + [f"How often...-{n}" for n in item_names] + tail + [""])
        for k, (code, st, channel, day, pss, sleep) in enumerate(responses):
            st = (
                "test" if channel == "test" else st
            )  # no DistributionChannel column: Status says it
            row = {
                "ResponseID": f"R_{k}",
                "ResponseSet": "Default Response Set",
                "Name": "Anonymous",
                "ExternalDataReference": code,
                "Status": status[st],
                "StartDate": _date(day, 9),
                "EndDate": _date(day),
                "Finished": "1",
            }
            w.writerow([row.get(m, "") for m in meta] + pss + sleep + ["", "", "-1", ""])
    return ("\ufeff" if variant == "legacy" else "") + out.getvalue()


def expected(
    path: Path,
    variant: str,
    *,
    labels: dict[str, int] | None = None,
    date_column: str = "EndDate",
    items=(("pss4", PSS), ("sleep", SLEEP)),
    wave: str = "baseline",
) -> dict:
    """What the file says, read here without the importer: (code, wave, instrument) -> completed and values."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    n_header = 2 if variant == "legacy" else 3
    names = rows[0]
    if variant == "legacy":
        names = [
            rows[1][j] if n.startswith("V") and n[1:].isdigit() else n for j, n in enumerate(names)
        ]
    col = {n: j for j, n in enumerate(names)}
    lookup = {k.lower(): v for k, v in (labels or {}).items()}
    out = {}
    for row in rows[n_header:]:
        if (
            row[col["Status"]] not in REAL
            or "DistributionChannel" in col
            and row[col["DistributionChannel"]] == "test"
        ):
            continue
        for code, columns in items:
            cells = [row[col[c]].strip() for c in columns]
            values = {
                k + 1: (
                    None
                    if c in ("", "-99")
                    else float(lookup.get(c.lower(), c))
                    if lookup
                    else float(c)
                )
                for k, c in enumerate(cells)
            }
            if any(v is not None for v in values.values()):
                out[(row[col[ID_COLUMN[variant]]], wave, code)] = {
                    "completed": dt.date.fromisoformat(row[col[date_column]][:10]),
                    "values": values,
                }
    return out


def qmap(folder: Path, variant: str, extra: str = "") -> Path:
    return write(
        folder,
        f"{variant}.map.toml",
        f"""format = "qualtrics"
id_column = "{ID_COLUMN[variant]}"
wave = "baseline"

[[items]]
instrument = "pss4"
pattern = "Q1_{{n}}"
missing = ["-99"]
{extra}
[[items]]
instrument = "sleep"
columns = ["Q11 Slider_1", "Q11 Slider_2"]
missing = ["-99"]
""",
    )


@pytest.mark.parametrize("variant", ["current", "2016", "legacy"])
def test_each_vintage_is_imported_exactly_and_again_changes_nothing(url, tmp_path, variant):
    path = write(tmp_path, f"{variant}.csv", export(variant))
    result = run_import(url, path, map=qmap(tmp_path, variant))
    want = expected(path, variant)
    assert len(want) == 6  # P001, P002 and P003, both instruments each; P004 answered nothing
    assert stored(url) == want
    # the values by hand, too: -99 is unanswered, the spam response of P005 is not stored
    assert want[("P003", "baseline", "pss4")]["values"] == {1: None, 2: 1.0, 3: 1.0, 4: 1.0}
    assert want[("P001", "baseline", "sleep")] == {
        "completed": dt.date(2027, 3, 2),
        "values": {1: 7.5, 2: 8.0},
    }
    assert result.rows == 7 and result.administrations_new == 6
    n_test = "1 test response"
    assert [(w.rule, w.message) for w in result.warnings] == [
        (
            "responses_skipped",
            f"3 of 7 responses skipped (1 survey preview, {n_test} and 1 spam response, "
            "by Status or DistributionChannel)",
        )
    ]
    before = counts(url)
    again = run_import(url, path, map=qmap(tmp_path, variant))
    assert again.unchanged and again.administrations_new == 0 and counts(url) == before


def test_legacy_export_without_a_map(url, tmp_path):
    pss = ["pss4_1", "pss4_2", "pss4_3", "pss4_4"]
    responses = [r for r in RESPONSES if "-99" not in r[4]]  # no map: no missing codes
    path = write(
        tmp_path, "legacy.csv", export("legacy", responses, items=(pss, ["sleep_1", "sleep_2"]))
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbfV1,V2,") and path.read_bytes().endswith(
        b",\r\n"
    )
    result = run_import(
        url, path, fmt="qualtrics", wave="baseline", id_column="ExternalDataReference"
    )
    want = expected(path, "legacy", items=(("pss4", pss), ("sleep", ["sleep_1", "sleep_2"])))
    assert stored(url) == want and len(want) == 4  # P001, P002: pss4 and sleep
    assert [w.rule for w in result.warnings] == ["responses_skipped"]


def test_the_skip_warning_through_the_cli(cli, tmp_path):
    path = write(tmp_path, "current.csv", export("current"))
    out = cli("import", "responses", str(path), "--map", str(qmap(tmp_path, "current"))).output
    assert (
        f"Warning: {path}: 3 of 7 responses skipped (1 survey preview, 1 test response and 1 spam response, "
        "by Status or DistributionChannel) [responses_skipped]"
    ) in out
    assert out.count("Warning:") == 1  # one warning, not one a row


def test_a_file_of_previews_and_tests_says_every_response_was_skipped(cli, url, tmp_path):
    responses = [r for r in RESPONSES if r[0] == "" or r[1] == "spam"] + [
        ("", "preview", "anonymous", 2, ["", "", "", ""], ["", ""])
    ]  # a preview nobody answered counts too
    path = write(tmp_path, "previews.csv", export("current", responses))
    before = counts(url)
    result = cli(
        "import", "responses", str(path), "--map", str(qmap(tmp_path, "current")), expect=1
    )
    assert result.output.strip() == (
        f"Error: {path}: every response was skipped (2 survey previews, 1 test response and 1 spam response, by "
        "Status or DistributionChannel); there is nothing to import"
    )
    assert "holds no answers" not in result.output and counts(url) == before


def test_kept_responses_without_answers_name_the_skipped_ones(url, tmp_path):
    responses = [r for r in RESPONSES if r[1] == "preview"] + [RESPONSES[-1]]
    path = write(tmp_path, "empty.csv", export("current", responses))
    with pytest.raises(TrackerError) as err:
        run_import(url, path, map=qmap(tmp_path, "current"))
    assert str(err.value) == (
        f"{path} holds no answers: every item cell of the responses not skipped is empty "
        "(1 of 2 responses skipped (1 survey preview, by Status or DistributionChannel))"
    )


def test_end_date_is_the_completion_date_and_recorded_date_without_it(url, tmp_path):
    path = write(tmp_path, "ended.csv", export("current"))
    run_import(url, path, map=qmap(tmp_path, "current"))
    assert stored(url)[("P003", "baseline", "sleep")]["completed"] == dt.date(
        2027, 3, 4
    )  # EndDate, not Recorded
    assert stored(url) == expected(path, "current", date_column="EndDate")


def test_recorded_date_when_the_export_has_no_end_date(url, tmp_path):
    path = write(tmp_path, "recorded.csv", export("current", end_date=False))
    run_import(url, path, map=qmap(tmp_path, "current"))
    assert stored(url)[("P003", "baseline", "sleep")]["completed"] == dt.date(
        2027, 3, 5
    )  # RecordedDate
    assert stored(url) == expected(path, "current", date_column="RecordedDate")


LABELS = {"Never": 0, "Almost never": 1, "Sometimes": 2, "Fairly often": 3, "Very often": 4}


def test_a_choice_text_export_through_the_maps_labels(url, tmp_path):
    text = {str(v): k for k, v in LABELS.items()}
    responses = [
        r[:4] + ([text.get(c, c) if c != "-99" else c for c in r[4]], r[5]) for r in RESPONSES
    ]
    responses[0] = responses[0][:4] + (
        [" never ", "ALMOST NEVER", "Sometimes", "Very often"],
        responses[0][5],
    )
    path = write(tmp_path, "text.csv", export("2016", responses))
    labels = "labels = { " + ", ".join(f'"{k}" = {v}' for k, v in LABELS.items()) + " }\n"
    result = run_import(url, path, map=qmap(tmp_path, "2016", labels))
    assert result.administrations_new == 6
    got = stored(url)
    assert got[("P001", "baseline", "pss4")]["values"] == {
        1: 0,
        2: 1,
        3: 2,
        4: 4,
    }  # case and spaces ignored
    pss_only = expected(path, "2016", labels=LABELS, items=(("pss4", PSS),))
    assert {k: v for k, v in got.items() if k[2] == "pss4"} == pss_only


def test_a_pattern_with_a_space_in_the_item_names(url, tmp_path):
    path = write(tmp_path, "current.csv", export("current"))
    imap = write(
        tmp_path,
        "slider.map.toml",
        'format = "qualtrics"\nwave = "baseline"\nother_columns = "ignore"\n'
        '[[items]]\ninstrument = "sleep"\npattern = "Q11 Slider_{n}"\nmissing = ["-99"]\n',
    )
    result = run_import(url, path, map=imap)  # ExternalReference: the default code column
    assert stored(url) == expected(path, "current", items=(("sleep", SLEEP),))
    assert [w.rule for w in result.warnings] == ["other_columns", "responses_skipped"]
