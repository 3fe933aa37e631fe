"""The read side's SQL lives in tracker/db/: one placeholder convention, one translation."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from tracker.db.sql import driver_sql

TRACKER = Path(__file__).resolve().parents[2] / "tracker"
# every package and module but tracker/db/ itself: none holds SQL or driver access of its own
READ_SIDE = sorted(
    p.name
    for p in TRACKER.iterdir()
    if p.name not in ("db", "__pycache__") and (p.is_dir() or p.suffix == ".py")
)
SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b")


def _modules():
    for part in READ_SIDE:
        root = TRACKER / part
        yield from sorted(root.rglob("*.py")) if root.is_dir() else [root]


def _strings(path: Path):
    """(line, text) of every string literal in ``path`` (f-string pieces included)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for tok in tokens:
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            yield tok.start[0], tok.string


def test_the_read_side_modules_hold_no_sql():
    found = [
        f"{path.relative_to(TRACKER)}:{line}: {text[:60]}"
        for path in _modules()
        for line, text in _strings(path)
        if SQL.search(text)
    ]
    assert found == [], (
        "SQL outside tracker/db/ (make it a function of tracker/db/read_store.py):\n"
        + "\n".join(found)
    )


def test_the_read_side_modules_never_reach_the_driver_connection():
    found = [
        str(path.relative_to(TRACKER))
        for path in _modules()
        if "driver_connection" in path.read_text(encoding="utf-8")
    ]
    assert found == []


def test_the_read_side_imports_no_driver():
    imports = re.compile(r"^\s*(import|from)\s+(sqlite3|psycopg)\b", re.MULTILINE)
    found = [
        str(path.relative_to(TRACKER))
        for path in _modules()
        if imports.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("sqlite", "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
        ("postgresql", "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)"),
    ],
)
def test_qmark_placeholders_are_translated_in_one_place(dialect, expected):
    assert driver_sql("SELECT a FROM t WHERE b = ? AND c IN (?, ?)", dialect) == expected
