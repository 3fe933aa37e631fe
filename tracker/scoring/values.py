"""Vectorised checks of raw item values and item numbers against a definition.

Importers call these on whole columns and turn each flagged cell into a
:class:`tracker.errors.Problem` with their own row and column numbers:

>>> rules = check_item_values(frame["pss10_3"], pss10)       # doctest: +SKIP
>>> for row, rule in rules.dropna().items():                   # doctest: +SKIP
...     Problem(rule=rule, message=item_value_message(rule, pss10), row=row, ...)

Missing values (NaN, None, empty or blank strings) are allowed and never flagged:
whether too many are missing is a scoring question, not a validity one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.instruments.definition import InstrumentDef

NOT_A_NUMBER = "not_a_number"
OUT_OF_RANGE = "out_of_range"
NOT_INTEGER = "not_integer"
UNKNOWN_ITEM = "unknown_item"

ITEM_VALUE_RULES = (NOT_A_NUMBER, OUT_OF_RANGE, NOT_INTEGER)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _clean(v: object) -> object:
    """Text stripped (blank -> None); booleans -> None (never numbers)."""
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, (bool, np.bool_)):
        return None
    return v


def _scalar_missing(v: object) -> bool:
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, (bool, np.bool_)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def coerce_item_values(values: pd.Series) -> pd.Series:
    """``values`` as float64, missing and unparseable entries as NaN.

    Strings are parsed as numbers after stripping blanks (``" 3 "`` -> 3.0);
    booleans are not numbers. Use :func:`check_item_values` to tell an
    unparseable entry from a missing one.
    """
    values = pd.Series(values)
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index, dtype="float64", name=values.name)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    cleaned = values.astype(object).map(_clean)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def _is_missing(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        return np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        return values.isna().to_numpy()
    return values.astype(object).map(_scalar_missing).to_numpy(dtype=bool)


def check_item_values(values: pd.Series, definition: InstrumentDef) -> pd.Series:
    """Which rule, if any, each item value breaks.

    Parameters
    ----------
    values
        Raw item values as read from a file (numbers or text); NaN, ``None`` and
        blank strings mean "not answered".
    definition
        Supplies ``min``, ``max`` and ``integer``.

    Returns
    -------
    pandas.Series
        Same index as ``values``, dtype object: ``None`` where the value is valid
        or missing, else one of ``"not_a_number"`` (text that is not a number, or
        a boolean), ``"out_of_range"`` (outside ``min..max``, infinities included)
        or ``"not_integer"`` (a fraction when ``integer = true``). The first rule
        that applies is reported, in that order.
    """
    values = pd.Series(values)
    numeric = coerce_item_values(values).to_numpy()
    missing = _is_missing(values)
    nan = np.isnan(numeric)
    not_a_number = nan & ~missing
    with np.errstate(invalid="ignore"):
        out_of_range = ~nan & ((numeric < definition.min) | (numeric > definition.max))
        not_integer = np.zeros(len(values), dtype=bool)
        if definition.integer:
            not_integer = ~nan & ~out_of_range & (numeric != np.floor(numeric))
    rule = np.full(len(values), None, dtype=object)
    rule[not_integer] = NOT_INTEGER
    rule[out_of_range] = OUT_OF_RANGE
    rule[not_a_number] = NOT_A_NUMBER
    return pd.Series(rule, index=values.index, dtype=object, name=values.name)


def item_value_message(rule: str, definition: InstrumentDef) -> str:
    """A sentence for a :func:`check_item_values` rule, naming the allowed values."""
    kind = "a whole number" if definition.integer else "a number"
    allowed = f"{kind} from {_fmt(definition.min)} to {_fmt(definition.max)}"
    if rule == NOT_A_NUMBER:
        return f"not a number; {definition.code} items take {allowed}"
    if rule == OUT_OF_RANGE:
        return f"out of range; {definition.code} items take {allowed}"
    if rule == NOT_INTEGER:
        return f"not a whole number; {definition.code} items take {allowed}"
    if rule == UNKNOWN_ITEM:
        return f"unknown item; {definition.code} has items 1 to {definition.items}"
    raise ValueError(f"unknown rule {rule!r}")


def check_item_numbers(items: pd.Series, definition: InstrumentDef) -> pd.Series:
    """``"unknown_item"`` where an item number is not a whole number in ``1..items``, else ``None``.

    For long-format input, whose ``item`` column must name an item of the instrument.
    A missing item number is unknown too.
    """
    items = pd.Series(items)
    numeric = coerce_item_values(items).to_numpy()
    with np.errstate(invalid="ignore"):
        ok = (
            ~np.isnan(numeric)
            & (numeric >= 1)
            & (numeric <= definition.items)
            & (numeric == np.floor(numeric))
        )
    rule = np.full(len(items), None, dtype=object)
    rule[~ok] = UNKNOWN_ITEM
    return pd.Series(rule, index=items.index, dtype=object, name=items.name)
