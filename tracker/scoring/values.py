"""Vectorised checks of raw item values and item numbers against a definition.

Importers call these on whole columns and turn each flagged cell into a
:class:`tracker.errors.Problem` with their own row and column numbers:

>>> rules = check_item_values(frame["pss10_3"], pss10)       # doctest: +SKIP
>>> for row, rule in rules.dropna().items():                   # doctest: +SKIP
...     Problem(rule=rule, message=item_value_message(rule, pss10), row=row, ...)

Missing values (NaN, None, empty or blank strings) are allowed and never flagged:
whether too many are missing is a scoring question, not a validity one.

Per-item ranges: an instrument's ``[[item_ranges]]`` give some items a range of
their own (and optionally the only values they take). Every value is checked
against the range of *its* item, so the checks take the item number of each
value (``items=``); a definition with item ranges refuses to be checked
without them rather than guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.instruments.definition import InstrumentDef

NOT_A_NUMBER = "not_a_number"
OUT_OF_RANGE = "out_of_range"
NOT_INTEGER = "not_integer"
NOT_ALLOWED = "not_allowed"
UNKNOWN_ITEM = "unknown_item"

ITEM_VALUE_RULES = (NOT_A_NUMBER, OUT_OF_RANGE, NOT_INTEGER, NOT_ALLOWED)


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


def item_bounds(definition: InstrumentDef, items=None, size: int | None = None):
    """Per-value ``(low, high, allowed)`` arrays for the item numbers ``items``.

    ``items`` is ``None`` (every value belongs to an item with the instrument's
    range), one item number, or an array of item numbers (any shape). Item
    numbers outside ``1..items`` get the instrument's range (they are reported
    as unknown items elsewhere). ``allowed`` is ``None`` when no item has a value
    list, else a list of ``(mask, values)`` pairs.

    Raises ``ValueError`` when ``items`` is ``None`` and the definition has item
    ranges: the caller must say which item each value belongs to.
    """
    if not definition.item_ranges:
        return definition.min, definition.max, None
    if items is None:
        raise ValueError(
            f"instrument {definition.code!r} has per-item ranges: pass the item number of each value (items=)"
        )
    numbers = np.asarray(items)
    if numbers.ndim == 0 and size is not None:
        numbers = np.full(size, numbers)
    if numbers.dtype.kind == "f":  # NaN or fractional item numbers: not items (reported elsewhere)
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**31)
        numbers = np.where(whole, numbers, 0)
    numbers = numbers.astype(np.int64, copy=False)
    valid = (numbers >= 1) & (numbers <= definition.items)
    index = np.where(valid, numbers - 1, 0)
    lows = np.asarray(definition.item_lows, dtype=np.float64)[index]
    highs = np.asarray(definition.item_highs, dtype=np.float64)[index]
    lows = np.where(valid, lows, definition.min)
    highs = np.where(valid, highs, definition.max)
    allowed = []
    for r in definition.item_ranges:
        if r.values is not None:
            mask = valid & np.isin(numbers, np.asarray(r.items, dtype=np.int64))
            if mask.any():
                allowed.append((mask, np.asarray(r.values, dtype=np.float64)))
    return lows, highs, allowed or None


def rules_for_numbers(
    numeric: np.ndarray, missing: np.ndarray, definition: InstrumentDef, items=None
) -> np.ndarray:
    """The rule each parsed value breaks (object array, ``None`` = fine); see :func:`check_item_values`.

    ``numeric`` holds the parsed values (NaN = missing or not a number), ``missing``
    which of them were empty; ``items`` as in :func:`item_bounds`, broadcast to
    ``numeric``'s shape.
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    lows, highs, allowed = item_bounds(
        definition, items, size=numeric.size if numeric.ndim == 1 else None
    )
    if not np.isscalar(lows):
        lows = np.broadcast_to(lows, numeric.shape)
        highs = np.broadcast_to(highs, numeric.shape)
    nan = np.isnan(numeric)
    not_a_number = nan & ~np.asarray(missing, dtype=bool)
    with np.errstate(invalid="ignore"):
        out_of_range = ~nan & ((numeric < lows) | (numeric > highs))
        not_integer = np.zeros(numeric.shape, dtype=bool)
        if definition.integer:
            not_integer = ~nan & ~out_of_range & (numeric != np.floor(numeric))
    not_allowed = np.zeros(numeric.shape, dtype=bool)
    for mask, values in allowed or ():
        mask = np.broadcast_to(mask, numeric.shape)
        not_allowed |= mask & ~nan & ~out_of_range & ~not_integer & ~np.isin(numeric, values)
    rule = np.full(numeric.shape, None, dtype=object)
    rule[not_allowed] = NOT_ALLOWED
    rule[not_integer] = NOT_INTEGER
    rule[out_of_range] = OUT_OF_RANGE
    rule[not_a_number] = NOT_A_NUMBER
    return rule


def check_item_values(values: pd.Series, definition: InstrumentDef, items=None) -> pd.Series:
    """Which rule, if any, each item value breaks.

    Parameters
    ----------
    values
        Raw item values as read from a file (numbers or text); NaN, ``None`` and
        blank strings mean "not answered".
    definition
        Supplies ``min``, ``max``, ``integer`` and any per-item ranges.
    items
        The item number of the values: one number for all of them, or one per
        value (array-like, same length). Needed when the definition has
        ``[[item_ranges]]`` (``ValueError`` otherwise); without item ranges every
        item has the instrument's range and ``items`` may be left out.

    Returns
    -------
    pandas.Series
        Same index as ``values``, dtype object: ``None`` where the value is valid
        or missing, else one of ``"not_a_number"`` (text that is not a number, or
        a boolean), ``"out_of_range"`` (outside the item's ``min..max``,
        infinities included), ``"not_integer"`` (a fraction when ``integer =
        true``) or ``"not_allowed"`` (in range but not one of the item's
        ``values``). The first rule that applies is reported, in that order.
    """
    values = pd.Series(values)
    numeric = coerce_item_values(values).to_numpy()
    missing = _is_missing(values)
    if items is not None and np.ndim(items) > 0:
        items = np.asarray(items)
    rule = rules_for_numbers(numeric, missing, definition, items)
    return pd.Series(rule, index=values.index, dtype=object, name=values.name)


def _fmt_values(values) -> str:
    texts = [_fmt(v) for v in values]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " or " + texts[-1]


def item_value_message(rule: str, definition: InstrumentDef, item: int | None = None) -> str:
    """A sentence for a :func:`check_item_values` rule, naming the allowed values.

    With ``item`` (and a definition that has per-item ranges) the sentence names
    that item and its own range: "out of range; audit item 9 takes 0, 2 or 4".
    """
    kind = "a whole number" if definition.integer else "a number"
    own = bool(definition.item_ranges) and item is not None and 1 <= item <= definition.items
    if own:
        lo, hi = definition.item_range(item)
        values = definition.item_values(item)
        allowed = (
            _fmt_values(values) if values is not None else f"{kind} from {_fmt(lo)} to {_fmt(hi)}"
        )
        who = f"{definition.code} item {item} takes"
    else:
        allowed = f"{kind} from {_fmt(definition.min)} to {_fmt(definition.max)}"
        who = f"{definition.code} items take"
    if rule == NOT_A_NUMBER:
        return f"not a number; {who} {allowed}"
    if rule == OUT_OF_RANGE:
        return f"out of range; {who} {allowed}"
    if rule == NOT_INTEGER:
        return f"not a whole number; {who} {allowed}"
    if rule == NOT_ALLOWED:
        return f"not one of the allowed values; {who} {allowed}"
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
