"""``tracker.scoring`` is pure: no module of it imports the database layer or SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

import tracker.scoring

FORBIDDEN = ("tracker.db", "sqlalchemy", "sqlite3", "psycopg")


def test_no_scoring_module_imports_the_database():
    found = []
    for path in sorted(Path(tracker.scoring.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            found += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert found == []


def test_no_migration_imports_live_tracker_code():
    """An old migration must not change with today's scoring (0002's backfill is frozen in its file)."""
    from tracker.resources import migrations_dir

    versions = Path(migrations_dir()) / "versions"
    assert sorted(versions.glob("0002_*.py"))
    found = []
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tracker"):
                found.append(f"{path.name}: {node.module}")
            if isinstance(node, ast.Import):
                found += [
                    f"{path.name}: {a.name}" for a in node.names if a.name.startswith("tracker")
                ]
    assert found == []
