"""REDCap shapes the main map fixture does not hold, imported exactly through a map.

Written for this test (not copied from any project): a two-arm longitudinal
project whose arms' events (``dose_1_arm_1``, ``dose_1_arm_2``) map onto the same
waves, ``participant_id`` as the record column, ``redcap_data_access_group`` and
``redcap_survey_identifier``, letter-coded checkboxes (``gym___a``), a file field
(``[document]``), a calculated field, a free-text note holding a line break and
a comma, a decimal comma and a trailing blank line. Every other column is
skipped by ``other_columns = "ignore"``; the stored values are checked against
the file read here with the csv module; importing again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt

from tests.ingest.conftest import counts, run_import, stored, write

HEADER = (
    "participant_id,redcap_event_name,redcap_data_access_group,redcap_survey_identifier,"
    "pss_timestamp,pss_q1,pss_q2,pss_q3,pss_q4,pss_complete,gym___a,gym___b,consent_file,"
    "bmi_calc,notes,sleep_h,sleep_q"
)
ROWS = [
    'P001,dose_1_arm_1,site_a,,2027-03-02 10:00:00,0,1,2,3,2,1,0,[document],24.1,"moved rooms,\nfine",7,"6,5"',
    "P004,dose_1_arm_2,site_b,,2027-03-03 11:30:00,4,3,2,1,2,0,1,,22.9,,8,7",
    "P002,dose_2_arm_1,site_a,,2027-04-27 09:15:00,1,1,1,1,2,,,[document],23.0,,6,5.5",
    "P005,dose_2_arm_2,site_b,,[not completed],2,,2,2,1,,,,,,,",
]
MAP = """format = "redcap"
id_column = "participant_id"
completed = "pss_timestamp"
other_columns = "ignore"

[events]
dose_1_arm_1 = "baseline"
dose_1_arm_2 = "baseline"
dose_2_arm_1 = "post"
dose_2_arm_2 = "post"

[[items]]
instrument = "pss4"
pattern = "pss_q{n}"

[[items]]
instrument = "sleep"
columns = ["sleep_h", "sleep_q"]
"""
WAVES = {
    "dose_1_arm_1": "baseline",
    "dose_1_arm_2": "baseline",
    "dose_2_arm_1": "post",
    "dose_2_arm_2": "post",
}


def _expected(path):
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if any(v.strip() for v in r.values())]
    out = {}
    for r in rows:
        stamp = r["pss_timestamp"]
        completed = None if stamp == "[not completed]" else dt.date.fromisoformat(stamp[:10])
        for code, cols in (
            ("pss4", [f"pss_q{n}" for n in range(1, 5)]),
            ("sleep", ["sleep_h", "sleep_q"]),
        ):
            values = {
                k: float(r[c].replace(",", ".")) if r[c].strip() else None
                for k, c in enumerate(cols, 1)
            }
            if any(v is not None for v in values.values()):
                out[(r["participant_id"], WAVES[r["redcap_event_name"]], code)] = {
                    "completed": completed,
                    "values": values,
                }
    return out


def test_two_arm_events_bookkeeping_and_free_text_import_exactly(url, tmp_path):
    export = write(tmp_path, "export.csv", "\r\n".join([HEADER, *ROWS]) + "\r\n\r\n")
    imap = write(tmp_path, "twoarm.map.toml", MAP)
    result = run_import(url, export, map=imap)
    expected = _expected(export)
    assert len(expected) == 7  # P005's sleep is empty: no administration
    got = stored(url)
    assert got == expected
    skipped = [w for w in result.warnings if w.rule == "other_columns"]
    # the columns the map does not name, listed once; bookkeeping (redcap_*, checkboxes,
    # *_complete, the timestamp) is not even listed
    assert [str(w).split(": ", 1)[1] for w in skipped] == [
        '3 columns not in the map skipped (other_columns = "ignore"): consent_file, bmi_calc, notes [other_columns]'
    ]
    before = counts(url)
    again = run_import(url, export, map=imap)
    assert again.unchanged and counts(url) == before
