"""Labels for the integer keys the read store hands back, and how a study is named.

The big tables are read as integer keys only (:mod:`tracker.db.read_store`);
:class:`Lookups` reads the small tables they point into (participants, waves,
instruments and every stored instrument version) once per load and turns keys
into labels by position, without a merge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.db import read_store
from tracker.db.reader import Reader, StudyRef
from tracker.instruments import InstrumentDef


def wave_tuple(wave) -> tuple[str, ...] | None:
    """None (every wave), or the wave names as a tuple (one name may be given as a string)."""
    if wave is None:
        return None
    return (wave,) if isinstance(wave, str) else tuple(wave)


def label_array(values: np.ndarray):
    """``values`` (an object array) as the array a DataFrame column of them holds (strings: ``str``)."""
    return pd.Series(values, dtype=None if len(values) else object, copy=False).array


def take_labels(values: np.ndarray, positions: np.ndarray):
    """``values[positions]`` as a frame's column; for the many rows of a few labels.

    A DataFrame turns an object array of strings into a ``str`` (Arrow)
    column one Python string at a time; converting the few distinct labels
    once and taking the rows from them gives the same column in a fraction of
    the time (``.take`` follows numpy: -1 is the last).
    """
    return label_array(values).take(positions)


def study_ref(source, study) -> StudyRef:
    """``study`` as a StudyRef: a Study, a StudyRef, a study name, or None for the only study.

    With a session, a name that does not resolve is explained by
    :func:`tracker.study.studies.resolve_study`; with a bare Reader, briefly.
    """
    if study is not None and not isinstance(study, str):
        return StudyRef.of(study)
    if isinstance(source, Reader):
        ref = source.study(study)
        if ref is None:
            from tracker.errors import NotFound

            raise NotFound(
                f"no study named {study!r}"
                if study
                else "the database does not hold exactly one study"
            )
        return ref
    from tracker.study.studies import resolve_study

    return StudyRef.of(resolve_study(source, study))


class Lookups:
    """Participant, wave and instrument names by id, for turning integer keys into labels."""

    def __init__(self, reader: Reader, study: StudyRef):
        people = read_store.participant_keys(reader, study.id)
        waves = read_store.wave_keys(reader, study.id)
        instruments = read_store.instrument_keys(reader, study.id)
        self.tables = {"people": people, "waves": waves, "instruments": instruments}
        self._index: dict[str, pd.Index] = {}
        self._columns: dict[tuple[str, int], np.ndarray] = {}
        self._labels: dict[tuple[str, int], pd.api.extensions.ExtensionArray] = {}
        self.instrument_ids = {code: iid for iid, code in instruments}
        # every stored version of the study's instruments, parsed once: (instrument code, definition)
        self.versions: dict[int, tuple[str, InstrumentDef]] = {
            vid: (code, InstrumentDef.from_stored(stored, f"stored {code}@{version}"))
            for vid, code, version, stored in read_store.instrument_versions(reader, study.id)
        }

    def measure_codes(self) -> list[str]:
        """Every measure code of every stored version (sorted)."""
        return sorted({m.code for _, d in self.versions.values() for m in d.measures})

    def newest(self) -> dict[str, InstrumentDef]:
        """Instrument code -> its newest stored definition, by code."""
        return read_store.newest_by_code((vid, code, d) for vid, (code, d) in self.versions.items())

    def max_id(self, table: str) -> int:
        """The largest id in ``table`` (0 when it is empty)."""
        return max((row[0] for row in self.tables[table]), default=0)

    def positions(self, table: str, keys) -> np.ndarray:
        """Row positions in ``table`` of the ids ``keys`` (take a :meth:`column` at them)."""
        if table not in self._index:
            self._index[table] = pd.Index([row[0] for row in self.tables[table]])
        return self._index[table].get_indexer(np.asarray(keys))

    def column(self, table: str, field: int) -> np.ndarray:
        """Field ``field`` of every row of ``table``, in row order (built once)."""
        if (table, field) not in self._columns:
            self._columns[table, field] = np.asarray(
                [row[field] for row in self.tables[table]], dtype=object
            )
        return self._columns[table, field]

    def labels(self, table: str, field: int, positions: np.ndarray):
        """Field ``field`` of the rows of ``table`` at ``positions``, as a column of a frame.

        The same column a frame makes of :meth:`column` ``[positions]``, but the
        table's few thousand labels become a string array once and the column is
        taken from it (see :func:`take_labels`).
        """
        if (table, field) not in self._labels:
            self._labels[table, field] = label_array(self.column(table, field))
        return self._labels[table, field].take(positions)

    def rank(self, table: str, field: int) -> np.ndarray:
        """Each row's rank when ``table`` is sorted by ``field`` (the order sorting the values gives)."""
        values = [row[field] for row in self.tables[table]]
        out = np.empty(len(values), dtype=np.int64)
        out[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
        return out
