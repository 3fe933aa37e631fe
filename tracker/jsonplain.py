"""One converter from the values the tracker computes to plain JSON values.

The CLI's ``--format json|csv``, the report's context dict and the audit
trail's ``before``/``after`` all go through :func:`plain`, so a numpy number,
a missing value or a date reads the same in each. Imports stay light (the
standard library only; numpy and pandas are looked up in ``sys.modules``, since
a value of theirs can only exist once they are imported) so that the CLI can
use it without loading them.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from decimal import Decimal
from typing import Any

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """``value`` as a plain JSON value (None, bool, int, float, str, list, dict).

    - numpy scalars are unwrapped to the Python number (``np.int64(3)`` -> ``3``);
    - NaN, infinity, ``None``, ``pd.NA`` and ``pd.NaT`` become ``None`` (JSON has no NaN);
    - dates, date-times and ``pd.Timestamp`` become ISO 8601 text (``2027-03-04``);
    - a ``Decimal`` (PostgreSQL's NUMERIC) becomes a float;
    - dicts, lists and tuples are converted value by value (a tuple becomes a list);
    - anything else is returned unchanged.
    """
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    pd = sys.modules.get("pandas")
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return None
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, dt.date):  # dt.datetime and pd.Timestamp are dates too
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain(float(value))
    if isinstance(value, float):  # another float subclass
        return plain(float(value))
    return value
