"""Qualtrics exports of each vintage: header rows, ImportIds, completion column, rows to skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.errors import TrackerError
from tracker.ingest.qualtrics import SkipCounts, detect_variant, read_header, rows_from_text

DATA = Path(__file__).parent / "data" / "qualtrics"


def _rows(name: str) -> list[list[str]]:
    return rows_from_text((DATA / name).read_bytes().decode("utf-8"))  # CRLF kept


def test_current_export():
    rows = _rows("current.csv")
    h = read_header(rows[:3], source="current.csv")
    assert (h.variant, h.header_rows) == ("current", 3)
    assert h.columns[:3] == ["StartDate", "EndDate", "Status"]
    assert h.columns[-4:] == ["Q1_1", "Q1_2", "Q11 Slider_1", "Q12 Side by side#1_1"]  # spaces kept
    assert h.import_ids[-4:] == ["QID1_1", "QID1_2", "QID11_1", "QID12#1_1"]
    assert h.import_ids[0] == "startDate" and h.import_ids[8] == "_recordId"
    assert h.question_text[-1] == "Side by side - Now - Calm"
    assert (h.completed_column, h.id_column) == ("EndDate", "ExternalReference")
    assert (
        h.columns[h.status_column] == "Status"
        and h.columns[h.channel_column] == "DistributionChannel"
    )
    data = rows[h.header_rows :]
    assert [h.skip_reason(r) for r in data] == [None, "preview", "test", "spam", None]
    counts = h.classify(data)
    assert counts == SkipCounts(rows=5, skipped={"preview": 1, "test": 1, "spam": 1})
    assert counts.message("current.csv") == (
        "current.csv: 3 of 5 responses skipped (1 survey preview, 1 test response and 1 spam response, "
        "by Status or DistributionChannel)"
    )
    assert not counts.all_skipped


def test_2016_export():
    rows = _rows("v2016.csv")
    h = read_header(rows, source="v2016.csv")
    assert (h.variant, h.header_rows) == ("2016", 3)
    assert h.columns[0] == "ResponseID" and h.import_ids[-2:] == ["QID2-1", "QID2-2"]
    assert (h.completed_column, h.id_column) == ("EndDate", "ExternalDataReference")
    # the labels export spells Status out
    assert [h.skip_reason(r) for r in rows[3:]] == [None, "preview", "spam"]


def test_legacy_export():
    text = (DATA / "legacy.csv").read_bytes().decode("utf-8")
    assert text.startswith("\ufeffV1,") and "\r\n" in text
    rows = rows_from_text(text)
    h = read_header(rows, source="legacy.csv")
    assert (h.variant, h.header_rows) == ("legacy", 2)
    # V1..V10 take their row-2 names; the trailing empty column is dropped
    assert h.columns == [
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
        "Q1_1",
        "Q1_2",
        "Q11 Slider_1",
        "LocationLatitude",
        "LocationLongitude",
        "LocationAccuracy",
    ]
    assert h.import_ids == [None] * 16
    assert (
        h.question_text[10] == "How often, in the last month...-Upset" and h.question_text[0] == ""
    )
    assert (h.completed_column, h.id_column) == ("EndDate", "ExternalDataReference")
    assert h.index("status") == 6 and h.index("q11 slider_1") == 12
    assert [h.skip_reason(r) for r in rows[2:]] == [None, "preview"]


def test_a_file_where_every_row_was_skipped_says_so():
    rows = _rows("previews_only.csv")
    h = read_header(rows)
    counts = h.classify(rows[h.header_rows :])
    assert counts.all_skipped and counts.skipped == {"preview": 2, "test": 1}
    assert counts.message("previews_only.csv") == (
        "previews_only.csv: every response was skipped (2 survey previews and 1 test response, by Status or "
        "DistributionChannel); there is nothing to import"
    )


def test_recorded_date_when_there_is_no_end_date():
    rows = [
        ["RecordedDate", "Status", "Q1"],
        ["Recorded", "Type", "q"],
        ['{"ImportId":"recordedDate"}', '{"ImportId":"status"}', '{"ImportId":"QID1"}'],
    ]
    h = read_header(rows)
    assert h.completed_column == "RecordedDate" and h.id_column is None and h.channel_column is None


@pytest.mark.parametrize(
    ("status", "channel", "reason"),
    [
        ("0", "anonymous", None),
        ("IP Address", "email", None),
        ("4", "", None),
        ("Imported", "", None),
        ("16", "offline", None),
        ("", "", None),
        ("Something new", "gl", None),
        ("1", "anonymous", "preview"),
        (" survey preview ", "", "preview"),
        ("Offline Survey Preview", "", "preview"),
        ("9", "", "preview"),
        ("Survey Test", "", "test"),
        ("2", "", "test"),
        ("0", "test", "test"),
        ("0", "Preview", "preview"),
        ("Spam", "", "spam"),
        ("8", "", "spam"),
        ("Imported Spam", "", "spam"),
        ("12", "", "spam"),
    ],
)
def test_skip_values(status, channel, reason):
    h = read_header(
        [
            ["Status", "DistributionChannel"],
            ["s", "d"],
            ['{"ImportId":"status"}', '{"ImportId":"distributionChannel"}'],
        ]
    )
    assert h.skip_reason([status, channel]) == reason


def test_nothing_skipped_means_no_message():
    assert SkipCounts(rows=3, skipped={}).message("f.csv") is None
    assert not SkipCounts(rows=0, skipped={}).all_skipped


@pytest.mark.parametrize(
    "rows",
    [
        [["participant", "pss4_1"], ["P001", "2"]],
        [],
        [["V1", "Q1"], ["P001", "2"]],  # one V column is not a legacy header
        [["a", "b"], ["x", "y"], ["{'Other': 1}", ""]],
    ],
)
def test_not_a_qualtrics_export(rows):
    assert detect_variant(rows) is None
    with pytest.raises(
        TrackerError, match=r"^plain.csv does not look like a Qualtrics CSV export: expected row 3"
    ):
        read_header(rows, source="plain.csv")


def test_broken_json_import_id_is_none():
    h = read_header([["Q1", "Q2"], ["a", "b"], ['{"ImportId":"QID1"}', '{"ImportId": broken']])
    assert h.import_ids == ["QID1", None]


def test_metadata_columns():
    from tracker.ingest.qualtrics import IDENTIFIER_COLUMNS, METADATA_COLUMNS, is_metadata

    assert (
        is_metadata(" EndDate ") and is_metadata("Q_RecaptchaScore") and is_metadata("ResponseID")
    )
    assert not is_metadata("Q1_1") and not is_metadata("Q11 Slider_1")
    assert IDENTIFIER_COLUMNS <= METADATA_COLUMNS
