"""Cell-level rules: item values, dates, codes; and the problem list.

Item values are checked by :func:`tracker.scoring.check_item_values`, the same
rule the scoring engine applies, but only on the *distinct* texts of a block
(survey answers repeat a handful of strings), then broadcast back through the
factorised codes: a million cells cost one hash pass, not a million parses.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from tracker.errors import Problem
from tracker.ingest.problems import MAX_LISTED, Problems  # noqa: F401  (the problem list lives there)
from tracker.instruments import InstrumentDef
from tracker.scoring import NOT_A_NUMBER, check_item_values, coerce_item_values, item_value_message
from tracker.scoring.values import rules_for_numbers
from tracker.study.dates import check_date

_NA_WORDS = {"na", "n/a", "nan", "null", "none", "missing", ".", "-", "-99", "-999"}


def unneutralise(text: str) -> str:
    """Undo the ``'`` an export put before a formula-like cell (``'=x`` -> ``=x``)."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def parse_date(text: str) -> tuple[int, str | None]:
    """The import's adapter over :func:`tracker.study.dates.check_date` (date-times allowed):
    ``(ordinal, None)`` for a date, ``(0, None)`` for an empty cell or REDCap's
    ``[not completed]``, ``(-1, reason)`` otherwise. Never guesses 03/04/2027."""
    value = text.strip()
    if (
        not value or value.lower() == "[not completed]"
    ):  # REDCap's timestamp of an unfinished survey
        return 0, None
    date, reason = check_date(value, time=True)
    return (-1, reason) if date is None else (date.toordinal(), None)


class DateCache:
    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, str | None]] = {}

    def __call__(self, text: str) -> tuple[int, str | None]:
        hit = self._seen.get(text)
        if hit is None:
            hit = self._seen[text] = parse_date(text)
        return hit


def iso(ordinal: int) -> str | None:
    return dt.date.fromordinal(int(ordinal)).isoformat() if ordinal > 0 else None


def fmt_value(value: float | None) -> float | int | None:
    """A stored value as people read it: 3.0 -> 3, NaN -> None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


class CheckedCells:
    """The texts of an ``n x p`` block of item cells, checked against one definition.

    Attributes: ``values`` (float64, NaN = empty or invalid), ``nonempty``
    (bool), ``bad`` (bool: breaks a rule) and :meth:`rule` for a bad cell.

    ``items`` gives the item number of each cell: one per column (shape ``(p,)``,
    a wide block), one per cell (``(n, p)``, a long file's value column as
    ``(n, 1)``), or ``None`` when the columns are items ``1..p``. Each cell is
    checked against its own item's range (``[[item_ranges]]``); without item
    ranges the item numbers change nothing and the check runs once per distinct
    text.
    """

    def __init__(self, cells: np.ndarray, definition: InstrumentDef, items=None):
        shape = cells.shape
        codes, uniques = pd.factorize(cells.ravel(), use_na_sentinel=False)
        texts = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        numbers = coerce_item_values(texts).to_numpy(dtype=np.float64)
        blank = np.array([not str(t).strip() for t in texts], dtype=bool)
        self._codes = codes.reshape(shape)
        self.definition = definition
        if items is None:
            items = np.arange(1, shape[1] + 1) if len(shape) == 2 else None
        self._items = None if items is None else np.broadcast_to(np.asarray(items), shape)
        if definition.item_ranges:
            # The rule depends on the item as well as the text: check every cell.
            texts_missing = np.array([_blank_or_na(t) for t in texts], dtype=bool)
            cell_numbers = numbers[self._codes]
            rules = rules_for_numbers(
                cell_numbers, texts_missing[self._codes], definition, self._items
            )
            self._cell_rules = rules
            self._rules = None
            self.bad = np.not_equal(rules, None)
            self.values = np.where(self.bad, np.nan, cell_numbers)
        else:
            self._rules = check_item_values(texts, definition).to_numpy(dtype=object)
            self._cell_rules = None
            bad = np.array([r is not None for r in self._rules], dtype=bool)
            self.values = np.where(bad, np.nan, numbers)[self._codes]
            self.bad = bad[self._codes]
        self.nonempty = ~blank[self._codes]

    def rule(self, i: int, j: int) -> str:
        if self._cell_rules is not None:
            return self._cell_rules[i, j]
        return self._rules[self._codes[i, j]]

    def item(self, i: int, j: int) -> int | None:
        """The item number of cell ``(i, j)`` (``None`` when not known)."""
        return None if self._items is None else int(self._items[i, j])


def _blank_or_na(value: object) -> bool:
    """Missing as :func:`tracker.scoring.check_item_values` sees it: None, NaN, blank text."""
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def value_problem(
    rule: str, definition: InstrumentDef, *, text: str, item: int | None = None, **where
) -> Problem:
    """The problem for a bad item cell; with ``item`` the message names that item's own range."""
    message = item_value_message(rule, definition, item)
    if rule == NOT_A_NUMBER and text.strip().lower() in _NA_WORDS:
        message += "; leave the cell empty for an unanswered item"
    return Problem(rule, message, value=text, **where)
