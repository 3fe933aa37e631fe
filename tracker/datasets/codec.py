"""Turning what the read store hands back into values: packed integers, dates, timestamps.

The big tables come from :mod:`tracker.db.read_store` as float arrays of
packed integers (see its *Packed numbers*); these functions take them apart
with the same shifts. Dates and timestamps come back as text on SQLite and as
``date``/``datetime`` objects on PostgreSQL; :func:`as_date` and
:func:`as_datetime` read both.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from tracker.db.read_store import COUNT_BITS, ITEM_BITS, MEASURE_BITS, WAVE_BITS


def as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_datetime(value) -> dt.datetime | None:
    """A timestamp; SQLite hands back SQLAlchemy's text form, read as SQLAlchemy reads it."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


_EPOCH = dt.date(1970, 1, 1)


def dates_of_days(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (NaN: none) as an object array of ``date`` (None where NaN).

    Each distinct day is converted once: a study has a few hundred dates and
    hundreds of thousands of administrations.
    """
    unique, inverse = np.unique(np.floor(days), return_inverse=True)
    dates = np.asarray(
        [None if np.isnan(d) else _EPOCH + dt.timedelta(days=int(d)) for d in unique] + [None],
        dtype=object,
    )[:-1]  # the None keeps a 1-d array of objects, never a date array
    return dates[inverse.reshape(-1)]


def response_keys(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(administration ids, item numbers) of the item responses ``block`` (from ``item_responses``)."""
    key = block[:, 0].astype(np.int64)
    return key >> ITEM_BITS, key & ((1 << ITEM_BITS) - 1)


def score_keys(block: np.ndarray, packed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(participant ids, wave ids, measure numbers) of the scores ``block`` (from ``scale_scores``)."""
    measure_mask = (1 << MEASURE_BITS) - 1
    if packed:
        key = block[:, 0].astype(np.int64)
        return (
            key >> (WAVE_BITS + MEASURE_BITS),
            (key >> MEASURE_BITS) & ((1 << WAVE_BITS) - 1),
            key & measure_mask,
        )
    wave_measure = block[:, 1].astype(np.int64)
    return block[:, 0], wave_measure >> MEASURE_BITS, wave_measure & measure_mask


def score_values(block: np.ndarray, packed: bool) -> np.ndarray:
    """The scores of ``block`` (NaN: not computable)."""
    return block[:, 1 if packed else 2]


def score_counts(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(items answered, items total, prorated) of a scores ``block`` read with counts (its last column)."""
    packed_counts = block[:, -1].astype(np.int64)
    return (
        packed_counts >> COUNT_BITS,
        (packed_counts & ((1 << COUNT_BITS) - 1)) >> 1,
        (packed_counts & 1) == 1,
    )
