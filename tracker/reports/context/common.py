"""Plain values, records and the constants the report's sections share."""

from __future__ import annotations

import pandas as pd

from tracker.errors import AnalysisError
from tracker.jsonplain import plain  # the one JSON-plain converter

SMALL_CELL = 5  # counts 1..4 are suppressed in the characteristics table
PAIRED_SAMPLE = 150  # participants per arm drawn in the paired plot
NOT_RECORDED = "not recorded"


# -- plain values -----------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of ``frame`` as dicts of plain values; a missing ``note`` becomes ""."""
    out = []
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        row = {c: plain(v) for c, v in zip(columns, values, strict=True)}
        if "note" in row and row["note"] is None:
            row["note"] = ""
        out.append(row)
    return out


def _run(fn, *args, **kwargs) -> tuple[list[dict], str | None]:
    """An analysis' records, or no records and the reason it could not run."""
    try:
        return records(fn(*args, **kwargs)), None
    except AnalysisError as exc:
        return [], str(exc)
