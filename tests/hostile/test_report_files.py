"""Issue 13 item 10: ``report --out`` that cannot be written is ``Error:``, exit 1, and leaves nothing behind.

A path through a file, a folder that cannot be written, and a disk that
fills up while the report is written. The disk is a real one: a 4 KiB tmpfs
(mounted when the tests run as root; otherwise the test skips); the
unwritable folder is a read-only tmpfs as root (root ignores permission
bits), else a folder without write permission.
"""

from __future__ import annotations

import os

import pytest

from tests.hostile.helpers import assert_error, run


@pytest.fixture
def study_db(tmp_path) -> str:
    path = tmp_path / "study.db"
    for argv in (
        ["init", "--study", "S"],
        ["wave", "add", "baseline", "--day", "0"],
        ["cohort", "add", "Spring", "--arm", "intervention"],
    ):
        assert run(["--db", str(path), *argv]).exit_code == 0
    return str(path)


def test_out_through_a_file(study_db, tmp_path):
    (tmp_path / "notes.txt").write_text("a file", encoding="utf-8")
    out = tmp_path / "notes.txt" / "report.html"
    argv = ["--db", study_db, "report", "--out", str(out)]
    result = run(argv)
    assert_error(result, argv)
    assert (
        result.stderr == f"Error: cannot write {out}: a part of the path is a file, not a folder\n"
    )


def test_out_through_a_file_further_down(study_db, tmp_path):
    (tmp_path / "notes.txt").write_text("a file", encoding="utf-8")
    out = tmp_path / "notes.txt" / "sub" / "report.html"
    argv = ["--db", study_db, "report", "--out", str(out)]
    result = run(argv)
    assert_error(result, argv)
    assert (
        result.stderr == f"Error: cannot write {out}: a part of the path is a file, not a folder\n"
    )


def test_out_into_an_unwritable_folder(study_db, tmp_path, mount):
    if os.geteuid() == 0:
        folder = mount("readonly", "ro,size=64k")
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
    reason = "permission denied"  # fileio.check_writable asks os.access, which says so for both
    out = folder / "report.html"
    argv = ["--db", study_db, "report", "--out", str(out)]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr == f"Error: cannot write {out}: {reason}\n"
    assert list(folder.iterdir()) == []


def test_a_full_disk_leaves_no_report(study_db, mount):
    disk = mount("full", "size=4k")
    out = disk / "report.html"
    argv = ["--db", study_db, "report", "--out", str(out)]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr == f"Error: cannot write {out}: no space left on the device\n"
    assert list(disk.iterdir()) == []  # neither the report nor its temporary file


def test_a_full_disk_keeps_the_previous_report(study_db, mount):
    disk = mount("full", "size=4k")
    out = disk / "report.html"
    out.write_text("the report of last week", encoding="utf-8")
    result = run(["--db", study_db, "report", "--out", str(out)])
    assert result.exit_code == 1
    assert out.read_text(encoding="utf-8") == "the report of last week"
    assert [p.name for p in disk.iterdir()] == ["report.html"]
