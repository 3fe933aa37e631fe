"""The one way output files are written: complete or not at all, with clear errors."""

from __future__ import annotations

import errno
import os

import pytest

from tracker.errors import TrackerError
from tracker.fileio import atomic_path, atomic_write, check_writable


def test_atomic_write_replaces_only_on_success(tmp_path):
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(out) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert out.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with atomic_write(out) as fh:
        fh.write("new")
    assert out.read_text(encoding="utf-8") == "new"


def test_disk_full_leaves_no_file(tmp_path, monkeypatch):
    out = tmp_path / "scores.csv"

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(TrackerError, match="no space left"), atomic_write(out) as fh:
        fh.write("x" * 100)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "target, reason",
    [
        ("missing/sub/out.csv", "folder does not exist"),
        ("afile/out.csv", "is a file, not a folder"),
        (".", "it is a folder"),
    ],
)
def test_unwritable_targets(tmp_path, target, reason):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(TrackerError, match=reason):
        check_writable(tmp_path / target)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only folders")
def test_no_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(TrackerError, match="permission denied"):
        check_writable(locked / "out.csv")


def test_atomic_path_for_libraries(tmp_path):
    out = tmp_path / "data.bin"
    with atomic_path(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        tmp.write_bytes(b"\x00\x01")
    assert out.read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError), atomic_path(out) as tmp:
        tmp.write_bytes(b"broken")
        raise ValueError
    assert out.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
