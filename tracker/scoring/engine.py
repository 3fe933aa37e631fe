"""Score questionnaire item responses: reverse keying, proration, totals and subscales.

Pure functions of DataFrames and an :class:`~tracker.instruments.InstrumentDef`;
no database, no printing. Work is vectorised: responses are placed in one
``administrations x items`` float matrix per instrument and every measure is a
handful of numpy operations on its columns.

Rules (SPEC "Instruments")
--------------------------
* Reverse keying: ``min + max - value`` for the measure's reverse-keyed items,
  with the item's own ``min``/``max`` when ``[[item_ranges]]`` give it one.
* With ``k`` of a measure's ``K`` items answered and ``K - k <= max_missing``:
  ``sum`` scores are ``mean(answered) * K`` (the plain sum when ``k = K``),
  ``mean`` scores are ``mean(answered)``; otherwise the score is NaN.
* The measure's ``multiplier`` is applied last (WHO-5: x 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.errors import Problem, ValidationError
from tracker.instruments.definition import InstrumentDef, MeasureDef
from tracker.scoring.values import (
    check_item_numbers,
    check_item_values,
    coerce_item_values,
    item_value_message,
)

SCORE_COLUMNS = [
    "administration_id",
    "measure",
    "score",
    "items_answered",
    "items_total",
    "prorated",
]
KEYED_COLUMNS = ["administration_id", "measure", "item", "value"]
LONG_INPUT_COLUMNS = ("administration_id", "item", "value")

# Problems listed in one ValidationError; the rest are counted in its summary.
MAX_PROBLEMS = 50


def reverse_key(values, low: float, high: float):
    """Reverse-keyed values, ``low + high - values`` (NaN stays NaN). Its own inverse."""
    return low + high - values


# ---- public API -------------------------------------------------------------------


def score_long(responses: pd.DataFrame, definition: InstrumentDef) -> pd.DataFrame:
    """Score item responses given one row per administration and item.

    Parameters
    ----------
    responses
        Columns ``administration_id`` (any hashable id), ``item`` (1..K) and
        ``value`` (number; NaN = not answered). One row per administration and
        item at most; items without a row count as not answered.
    definition
        The instrument the responses belong to.

    Returns
    -------
    pandas.DataFrame
        One row per administration x measure, administrations in sorted id order
        and measures in :attr:`InstrumentDef.measures` order, with columns

        * ``administration_id``
        * ``measure`` -- ``<code>`` for the total, ``<code>.<subscale>`` for a subscale
        * ``score`` -- float; NaN when more than ``max_missing`` items are missing
        * ``items_answered`` -- int, the measure's items with a value
        * ``items_total`` -- int, the measure's number of items
        * ``prorated`` -- bool, a score was computed from fewer than all items

    Raises
    ------
    ValidationError
        Missing columns, unknown item numbers, duplicate (administration, item)
        rows, or values that are not numbers, out of range or not whole when the
        instrument is integer-valued.
    """
    ids, matrix = _matrix_from_long(responses, definition)
    return _score_matrix(ids, matrix, definition)


def score_wide(frame: pd.DataFrame, definition: InstrumentDef) -> pd.DataFrame:
    """Score item responses given one row per administration.

    ``frame`` is indexed by administration id and holds the item columns
    ``<code>_1 .. <code>_K`` (other columns are ignored). Returns the same long
    table as :func:`score_long`; an all-missing row gives NaN scores with
    ``items_answered = 0``.
    """
    ids, matrix = _matrix_from_wide(frame, definition)
    return _score_matrix(ids, matrix, definition)


def keyed_items_long(responses: pd.DataFrame, definition: InstrumentDef) -> pd.DataFrame:
    """Item values as each measure scores them (reverse-keyed where the measure says).

    For reliability analysis: the items of every measure, keyed in that measure's
    direction, so that a subscale's items appear under the subscale's measure code
    (and again under the total when ``total = true``).

    Parameters
    ----------
    responses
        As for :func:`score_long`.

    Returns
    -------
    pandas.DataFrame
        Columns ``administration_id, measure, item, value``: one row per
        administration x measure x item of that measure, ordered that way; ``value``
        is NaN for an unanswered item (no multiplier is applied to items).
    """
    measures = definition.measures
    if not measures:
        _matrix_from_long(responses, definition)  # the same checks of the responses
        return pd.DataFrame({c: pd.Series(dtype=object) for c in KEYED_COLUMNS})
    ids, slot_measure, slot_item, keyed = keyed_item_matrix(responses, definition)
    n, width = keyed.shape
    # the slots' few codes become a string column once and the rows are taken from it: a frame
    # converts an object array one Python string at a time (2 million rows at 10,000 participants)
    measure = pd.Series(np.asarray(slot_measure, dtype=object), dtype=None if width else object)
    return pd.DataFrame(
        {
            "administration_id": np.repeat(ids, width),
            "measure": measure.array.take(np.tile(np.arange(width), n)),
            "item": np.tile(slot_item, n),
            "value": keyed.ravel(),
        },
        columns=KEYED_COLUMNS,
    )


def keyed_item_matrix(
    responses: pd.DataFrame, definition: InstrumentDef
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """:func:`keyed_items_long` as arrays: ``(ids, slot_measure, slot_item, keyed)``.

    ``ids``: the administrations, sorted; ``keyed``: one row per administration
    and one column per (measure, item) slot, measures and items in definition
    order; ``slot_measure`` / ``slot_item``: each column's measure code and item
    number. The long table is ``keyed`` ravelled row-major, for callers that
    build their own columns from it (the study loader: millions of rows).
    """
    ids, matrix = _matrix_from_long(responses, definition)
    measures = definition.measures
    if not measures:
        return ids, [], np.empty(0, dtype=np.int64), np.empty((len(ids), 0))
    # One column per (measure, item) slot; ravelling row-major gives
    # administration-major order with measures and items in definition order.
    keyed = np.hstack([_keyed_block(matrix, m) for m in measures])
    slot_measure = [m.code for m in measures for _ in m.items]
    slot_item = np.array([i for m in measures for i in m.items], dtype=np.int64)
    return ids, slot_measure, slot_item, keyed


# ---- building the administrations x items matrix ------------------------------------


def _raise(problems: list[Problem], what: str, total: int | None = None) -> None:
    total = max(total or 0, len(problems))
    shown = problems[:MAX_PROBLEMS]
    more = f" (first {MAX_PROBLEMS} shown)" if total > MAX_PROBLEMS else ""
    raise ValidationError(
        shown, summary=f"{total} problem{'s' if total != 1 else ''} in {what}{more}"
    )


def _sorted_ids(codes: np.ndarray, uniques) -> tuple[np.ndarray, np.ndarray]:
    """Relabel factorized codes so that ids are in sorted order when they sort."""
    uniques = np.asarray(uniques)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:  # ids of mixed, unorderable types: keep first-seen order
        return codes, uniques
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _matrix_from_long(responses: pd.DataFrame, definition: InstrumentDef):
    missing_cols = [c for c in LONG_INPUT_COLUMNS if c not in responses.columns]
    if missing_cols:
        raise ValidationError(
            [
                Problem(
                    rule="missing_column",
                    message=f"responses need the columns {', '.join(LONG_INPUT_COLUMNS)}",
                    column=c,
                )
                for c in missing_cols
            ]
        )
    item_raw = responses["item"]
    value_raw = responses["value"]
    problems: list[Problem] = []

    item_rules = check_item_numbers(item_raw, definition)
    bad_items = item_rules.notna().to_numpy()
    item_numbers = coerce_item_values(item_raw).to_numpy()
    value_rules = check_item_values(value_raw, definition, items=item_numbers)
    bad_values = value_rules.notna().to_numpy()
    if bad_items.any() or bad_values.any():
        for pos in np.flatnonzero(bad_items | bad_values)[:MAX_PROBLEMS]:
            row, at = _where(responses.index[pos])
            if bad_items[pos]:
                problems.append(
                    Problem(
                        rule="unknown_item",
                        message=at + item_value_message("unknown_item", definition),
                        row=row,
                        column="item",
                        value=_plain(item_raw.iloc[pos]),
                    )
                )
            if bad_values[pos]:
                rule = value_rules.iloc[pos]
                item = None if bad_items[pos] else int(item_numbers[pos])
                problems.append(
                    Problem(
                        rule=rule,
                        message=at + item_value_message(rule, definition, item),
                        row=row,
                        column="value",
                        value=_plain(value_raw.iloc[pos]),
                    )
                )
        n_bad = int(bad_items.sum() + bad_values.sum())
        _raise(problems, "item responses", total=n_bad)

    id_missing = responses["administration_id"].isna().to_numpy()
    if id_missing.any():
        for pos in np.flatnonzero(id_missing)[:MAX_PROBLEMS]:
            row, at = _where(responses.index[pos])
            problems.append(
                Problem(
                    rule="missing_id",
                    message=at + "administration_id is missing",
                    row=row,
                    column="administration_id",
                )
            )
        _raise(problems, "item responses", total=int(id_missing.sum()))

    items = coerce_item_values(item_raw).to_numpy().astype(np.int64) - 1
    values = coerce_item_values(value_raw).to_numpy()
    codes, uniques = pd.factorize(responses["administration_id"], sort=False)
    codes, ids = _sorted_ids(codes, uniques)

    k = definition.items
    flat = codes.astype(np.int64) * k + items
    # A count per matrix cell: O(rows), unlike sorting or hashing the cell numbers.
    counts = np.bincount(flat, minlength=len(ids) * k)
    if len(flat) and counts.max() > 1:
        dup = counts[flat] > 1
        for pos in np.flatnonzero(dup)[:MAX_PROBLEMS]:
            row, at = _where(responses.index[pos])
            problems.append(
                Problem(
                    rule="duplicate_row",
                    message=(
                        f"{at}administration {_plain(ids[codes[pos]])!r} has more than one row "
                        f"for item {items[pos] + 1}"
                    ),
                    row=row,
                    column="item",
                    value=int(items[pos] + 1),
                )
            )
        _raise(problems, "item responses", total=int(dup.sum()))

    matrix = np.full((len(ids), k), np.nan)
    matrix[codes, items] = values
    return ids, matrix


def _matrix_from_wide(frame: pd.DataFrame, definition: InstrumentDef):
    names = definition.item_names
    absent = [c for c in names if c not in frame.columns]
    if absent:
        raise ValidationError(
            [
                Problem(rule="missing_column", message=f"no column for item {c}", column=c)
                for c in absent
            ]
        )
    if frame.index.has_duplicates:
        dups = frame.index[frame.index.duplicated()].unique()
        raise ValidationError(
            [
                Problem(
                    rule="duplicate_row",
                    message="administration id appears on more than one row",
                    value=_plain(d),
                )
                for d in dups[:MAX_PROBLEMS]
            ]
        )
    problems: list[Problem] = []
    n_bad = 0
    columns = []
    for item, name in enumerate(names, start=1):
        col = frame[name]
        rules = check_item_values(col, definition, items=item)
        bad = rules.notna().to_numpy()
        n_bad += int(bad.sum())
        for pos in np.flatnonzero(bad)[: max(0, MAX_PROBLEMS - len(problems))]:
            row, at = _where(frame.index[pos])
            problems.append(
                Problem(
                    rule=rules.iloc[pos],
                    message=at + item_value_message(rules.iloc[pos], definition, item),
                    row=row,
                    column=name,
                    value=_plain(col.iloc[pos]),
                )
            )
        columns.append(coerce_item_values(col).to_numpy())
    if problems:
        _raise(problems, "item responses", total=n_bad)
    matrix = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    codes = np.arange(len(frame))
    codes, ids = _sorted_ids(codes, np.asarray(frame.index))
    ordered = np.empty_like(matrix)
    ordered[codes] = matrix
    return ids, ordered


def _where(label) -> tuple[int | None, str]:
    """A frame index label as a Problem row (integer labels) or a message prefix."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        return int(label), ""
    return None, f"at index {_plain(label)!r}: "


def _plain(v):
    """numpy scalars as Python scalars, so Problem values print cleanly."""
    return v.item() if isinstance(v, np.generic) else v


# ---- scoring --------------------------------------------------------------------


def _keyed_block(matrix: np.ndarray, m: MeasureDef) -> np.ndarray:
    """The measure's columns, reverse-keyed where it says (a new array)."""
    block = matrix[:, [i - 1 for i in m.items]]
    if m.reverse:
        positions = [m.items.index(i) for i in m.reverse]
        if m.item_lows:  # each item reversed within its own range
            low = np.array([m.item_lows[p] for p in positions])
            high = np.array([m.item_highs[p] for p in positions])
        else:
            low, high = m.item_min, m.item_max
        block[:, positions] = reverse_key(block[:, positions], low, high)
    return block


def score_matrix(
    matrix: np.ndarray, measure: MeasureDef
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score one measure on an ``administrations x K`` matrix of raw item values.

    Column ``j`` holds item ``j + 1``; NaN = not answered. Returns
    ``(score, items_answered, prorated)`` arrays, one entry per row.
    """
    block = _keyed_block(matrix, measure)
    k = measure.n_items
    answered = np.count_nonzero(~np.isnan(block), axis=1)
    total = np.nansum(block, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if measure.scoring == "sum":
            # Multiply before dividing so that complete rows give the exact sum.
            score = np.where(answered == k, total, total * k / answered)
        else:
            score = total / answered
    ok = (k - answered) <= measure.max_missing
    score = np.where(ok & (answered > 0), score, np.nan)
    if measure.multiplier != 1:
        score = score * measure.multiplier
    prorated = ok & (answered > 0) & (answered < k)
    return score, answered, prorated


def score_matrix_frame(
    ids: np.ndarray, matrix: np.ndarray, definition: InstrumentDef
) -> pd.DataFrame:
    """Score an ``administrations x items`` matrix already checked (the importer's): rows of :func:`score_long`."""
    return _score_matrix(np.asarray(ids), np.asarray(matrix, dtype=np.float64), definition)


def _score_matrix(ids: np.ndarray, matrix: np.ndarray, definition: InstrumentDef) -> pd.DataFrame:
    measures = definition.measures
    n, n_m = len(ids), len(measures)
    scores = np.empty((n, n_m))
    answered = np.empty((n, n_m), dtype=np.int64)
    prorated = np.empty((n, n_m), dtype=bool)
    for j, m in enumerate(measures):
        scores[:, j], answered[:, j], prorated[:, j] = score_matrix(matrix, m)
    return pd.DataFrame(
        {
            "administration_id": np.repeat(ids, n_m),
            "measure": np.tile(np.array([m.code for m in measures], dtype=object), n),
            "score": scores.ravel(),
            "items_answered": answered.ravel(),
            "items_total": np.tile(np.array([m.n_items for m in measures], dtype=np.int64), n),
            "prorated": prorated.ravel(),
        },
        columns=SCORE_COLUMNS,
    )
