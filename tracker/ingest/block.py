"""A block: the incoming administrations of one instrument, as compact numpy arrays.

:class:`tracker.ingest.collect.Collector` builds the blocks chunk by chunk
(:class:`Parts`), :mod:`tracker.ingest.plan` compares them with the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.ingest.context import InstrumentInfo


@dataclass
class Block:
    """Incoming administrations of one instrument."""

    instrument: InstrumentInfo
    rows: np.ndarray  # row of each administration (its first row in a long file)
    participant: np.ndarray  # participant id
    wave: np.ndarray  # wave id
    completed: np.ndarray  # date ordinal, 0 = not given
    values: np.ndarray  # float64 (n, K), NaN = unanswered
    columns: list[str] | None = None  # wide: the column of each item
    cell_rows: np.ndarray | None = None  # long: the row of each item (0 = not in the file)
    given: np.ndarray | None = None  # (n, K) bool: the file states this item (None: every item)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: np.ndarray) -> Block:
        """The administrations ``index`` (positions or a mask) only."""

        def pick(a):
            return None if a is None else a[index]

        return Block(
            self.instrument,
            self.rows[index],
            self.participant[index],
            self.wave[index],
            self.completed[index],
            self.values[index],
            columns=self.columns,
            cell_rows=pick(self.cell_rows),
            given=pick(self.given),
        )

    def locate(self, a: int, k: int) -> tuple[int, str]:
        if self.cell_rows is not None:
            row = int(self.cell_rows[a, k]) or int(self.rows[a])
            return row, "value"
        return int(self.rows[a]), self.columns[k]


class Parts:
    """Arrays appended chunk by chunk, concatenated once at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}
        self.masks: list[np.ndarray | None] = []  # per add(): the ``given`` mask, None = every item

    def add(self, given: np.ndarray | None = None, **arrays: np.ndarray) -> None:
        for key, arr in arrays.items():
            self.parts.setdefault(key, []).append(arr)
        self.masks.append(given)

    def given(self) -> np.ndarray | None:
        """The ``given`` mask of the ``values`` parts, or None when every part gave every item."""
        if all(m is None for m in self.masks):
            return None
        return np.concatenate(
            [
                np.ones(v.shape, dtype=bool) if m is None else m
                for v, m in zip(self.parts["values"], self.masks, strict=True)
            ]
        )

    def get(self, key: str, dtype, width: int | None = None) -> np.ndarray:
        if key not in self.parts:
            return np.empty((0, width) if width else 0, dtype=dtype)
        return np.concatenate(self.parts[key])
