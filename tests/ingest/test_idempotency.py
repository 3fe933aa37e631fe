"""Re-imports change nothing; changes are refused unless --update, and then audited; warnings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.ingest.conftest import assert_scores_current, counts, run_import, stored, write
from tracker.db.engine import open_session
from tracker.db.models import Administration, AuditEvent, ImportBatch
from tracker.errors import ValidationError

HEADER = "participant,completed,pss4_1,pss4_2,pss4_3,pss4_4\n"
FIRST = HEADER + "P001,2027-03-02,1,2,3,4\nP002,2027-03-03,0,1,,2\n"


def test_same_file_again_changes_nothing(url, tmp_path):
    path = write(tmp_path, "b.csv", FIRST)
    run_import(url, path, wave="baseline")
    before = counts(url)
    again = run_import(url, path, wave="baseline")
    assert again.unchanged and again.batch_id is None
    assert (again.administrations_new, again.administrations_unchanged, again.values_written) == (
        0,
        2,
        0,
    )
    assert counts(url) == before  # no new batch, no audit event


def test_a_later_cumulative_file_adds_only_the_new_rows(url, tmp_path):
    run_import(url, write(tmp_path, "b1.csv", FIRST), wave="baseline")
    result = run_import(url, write(tmp_path, "b2.csv", FIRST + "P003,,4,4,4,3\n"), wave="baseline")
    assert (
        result.administrations_new,
        result.administrations_unchanged,
        result.values_written,
    ) == (1, 2, 4)
    assert result.breakdown == [
        {"wave": "baseline", "instrument": "pss4", "new": 1, "changed": 0, "unchanged": 2}
    ]


def test_changes_are_refused_and_listed(url, tmp_path):
    run_import(url, write(tmp_path, "b.csv", FIRST), wave="baseline")
    before = counts(url)
    changed = HEADER + "P001,2027-03-05,1,2,3,3\nP002,,0,1,4,\n"
    with pytest.raises(ValidationError) as info:
        run_import(url, write(tmp_path, "fix.csv", changed), wave="baseline")
    assert str(info.value).replace(f"{tmp_path}/", "").splitlines() == [
        "fix.csv: 4 stored values would change; nothing was written; import with --update to apply the changes",
        "  fix.csv, row 2, column 'completed': participant P001, wave baseline, pss4 completion date: stored 2027-03-02, the file says 2027-03-05 (value '2027-03-05') [changed_value]",
        "  fix.csv, row 2, column 'pss4_4': participant P001, wave baseline, pss4 item 4: stored 4 -> 3 (value 3) [changed_value]",
        "  fix.csv, row 3, column 'pss4_3': participant P002, wave baseline, pss4 item 3: stored (unanswered) -> 4 (value 4) [changed_value]",
        "  fix.csv, row 3, column 'pss4_4': participant P002, wave baseline, pss4 item 4: stored 2 -> (unanswered) [changed_value]",
    ]
    assert counts(url) == before


def test_dry_run_lists_the_changes_update_would_make(url, tmp_path):
    run_import(url, write(tmp_path, "b.csv", FIRST), wave="baseline")
    before = counts(url)
    result = run_import(
        url,
        write(tmp_path, "fix.csv", HEADER + "P001,,1,2,3,3\n"),
        wave="baseline",
        update=True,
        dry_run=True,
    )
    assert result.changes == [("P001", "baseline", "pss4", 4, 4, 3)]
    assert counts(url) == before


def test_update_applies_and_audits_each_administration(url, tmp_path):
    first = run_import(url, write(tmp_path, "b.csv", FIRST), wave="baseline")
    changed = HEADER + "P001,2027-03-05,1,2,3,3\nP002,,0,1,4,\nP003,,1,1,1,1\n"
    result = run_import(url, write(tmp_path, "fix.csv", changed), wave="baseline", update=True)
    # values_changed counts item values; the completion date change is listed in changes
    assert (result.administrations_new, result.administrations_changed, result.values_changed) == (
        1,
        2,
        3,
    )
    assert result.values_written == 4 + 3  # the new administration's items plus the changed values
    assert sorted(result.changes, key=str) == sorted(
        [
            ("P001", "baseline", "pss4", "completed", "2027-03-02", "2027-03-05"),
            ("P001", "baseline", "pss4", 4, 4, 3),
            ("P002", "baseline", "pss4", 3, None, 4),
            ("P002", "baseline", "pss4", 4, 2, None),
        ],
        key=str,
    )
    data = stored(url)
    with open_session(url) as s:  # the changed administrations were rescored, the new one scored
        assert assert_scores_current(s) == 3
    assert data[("P001", "baseline", "pss4")] == {
        "completed": dt.date(2027, 3, 5),
        "values": {1: 1, 2: 2, 3: 3, 4: 3},
    }
    # a completion date missing from the file leaves the stored one alone
    assert data[("P002", "baseline", "pss4")] == {
        "completed": dt.date(2027, 3, 3),
        "values": {1: 0, 2: 1, 3: 4, 4: None},
    }
    with open_session(url) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "update")).all()
        assert {(e.entity, e.entity_key): (e.before, e.after) for e in events} == {
            ("administration", "P001/baseline/pss4"): (
                {"completed": "2027-03-02", "pss4_4": 4},
                {"completed": "2027-03-05", "pss4_4": 3},
            ),
            ("administration", "P002/baseline/pss4"): (
                {"pss4_3": None, "pss4_4": 2},
                {"pss4_3": 4, "pss4_4": None},
            ),
        }
        assert all(e.import_batch_id == result.batch_id and e.os_user for e in events)
        imports = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.id)
        ).all()
        assert [e.import_batch_id for e in imports] == [first.batch_id, result.batch_id]
        assert (
            imports[1].after["values_changed"] == 3 and imports[1].after["sha256"] == result.sha256
        )
        assert (
            s.scalar(
                select(Administration.import_batch_id).where(
                    Administration.completed_on == dt.date(2027, 3, 5)
                )
            )
            == result.batch_id
        )
        assert len(s.scalars(select(ImportBatch)).all()) == 2
    # and the corrected file is now "already imported"
    assert run_import(url, write(tmp_path, "fix.csv", changed), wave="baseline").unchanged


def test_warnings_do_not_block(url, tmp_path):
    text = (
        HEADER + "P001,2027-03-02,2,2,2,2\nP002,2027-03-20,1,2,3,4\nP003,2027-02-22,1,2,3,4\n"
        "P004,2027-02-21,1,2,3,\n"
    )
    result = run_import(url, write(tmp_path, "w.csv", text), wave="baseline")
    assert result.administrations_new == 4
    assert [str(w).replace(f"{tmp_path}/", "") for w in result.warnings] == [
        "w.csv, row 2, column 'participant': every pss4 item answered 2 (straight-lining?) (value 'P001') [straight_lining]",
        "w.csv, row 3, column 'completed': pss4 completed 2027-03-20, outside wave baseline's window 2027-02-22 to 2027-03-08 for this participant's cohort (value '2027-03-20') [outside_window]",
        "w.csv, row 5, column 'completed': pss4 completed 2027-02-21, outside wave baseline's window 2027-02-22 to 2027-03-08 for this participant's cohort (value '2027-02-21') [outside_window]",
    ]


def test_no_warnings_for_what_is_already_stored(url, tmp_path):
    path = write(tmp_path, "w.csv", HEADER + "P001,2027-03-20,2,2,2,2\n")
    assert len(run_import(url, path, wave="baseline").warnings) == 2
    assert run_import(url, path, wave="baseline").warnings == []


def test_progress_is_reported_and_ends_at_total(url, tmp_path):
    calls = []
    rows = "".join(f"P00{1 + i % 5},,1,2,3,4\n" for i in range(5))
    run_import(
        url,
        write(tmp_path, "p.csv", HEADER + rows),
        wave="baseline",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(0 <= d <= t for d, t in calls) and [d for d, _ in calls] == sorted(
        d for d, _ in calls
    )
