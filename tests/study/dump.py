"""Every row of every table, in primary-key order: a database dump to compare before and after."""

from __future__ import annotations

from sqlalchemy import select

from tracker.db.engine import open_session
from tracker.db.models import Base


def dump(url: str) -> dict[str, list[tuple]]:
    with open_session(url) as s:
        return {
            table.name: [
                tuple(row) for row in s.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }
