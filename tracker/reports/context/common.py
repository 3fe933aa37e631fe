"""Plain values, records and the constants the report's sections share."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from tracker.errors import AnalysisError

SMALL_CELL = 5  # counts 1..4 are suppressed in the characteristics table
PAIRED_SAMPLE = 150  # participants per arm drawn in the paired plot
ROLE_ORDER = ("modifiable", "intermediate", "outcome")
NOT_RECORDED = "not recorded"


# -- plain values -----------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-able Python value: numpy scalars unwrapped, NaN / NA / NaT to None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


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
