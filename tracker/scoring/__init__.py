"""Scoring engine: item responses -> measure scores (pure pandas/numpy; no database).

Main entry points: :func:`score_long`, :func:`score_wide`, :func:`keyed_items_long`
and the importer's value checks :func:`check_item_values` / :func:`check_item_numbers`.
"""

from __future__ import annotations

from tracker.scoring.engine import (
    KEYED_COLUMNS,
    SCORE_COLUMNS,
    keyed_item_matrix,
    keyed_items_long,
    reverse_key,
    score_long,
    score_matrix,
    score_wide,
)
from tracker.scoring.values import (
    ITEM_VALUE_RULES,
    NOT_A_NUMBER,
    NOT_ALLOWED,
    NOT_INTEGER,
    OUT_OF_RANGE,
    UNKNOWN_ITEM,
    check_item_numbers,
    check_item_values,
    coerce_item_values,
    item_value_message,
)

__all__ = [
    "ITEM_VALUE_RULES",
    "KEYED_COLUMNS",
    "NOT_A_NUMBER",
    "NOT_ALLOWED",
    "NOT_INTEGER",
    "OUT_OF_RANGE",
    "SCORE_COLUMNS",
    "UNKNOWN_ITEM",
    "check_item_numbers",
    "check_item_values",
    "coerce_item_values",
    "item_value_message",
    "keyed_item_matrix",
    "keyed_items_long",
    "reverse_key",
    "score_long",
    "score_matrix",
    "score_wide",
]
