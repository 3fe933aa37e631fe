"""Stored scores made again from the stored items: ``tracker db rescore`` and an import's changed administrations.

Each administration is scored with its own instrument version
(:func:`tracker.scoring.score_long`); the rows come from and go to
:mod:`tracker.db.scores`.
"""

from __future__ import annotations

import numpy as np

from tracker.db.bulk import BulkWriter
from tracker.db.scores import insert_scores, instrument_versions, take_items, take_version_items
from tracker.instruments import InstrumentDef


def rescore_all(session, study_id: int | None = None) -> tuple[int, int]:
    """Rewrite ``scale_score`` for every administration (of one study), from the stored items.

    For a database written by a tracker whose scoring has since been
    corrected, and administrations added outside ``tracker import``. One
    instrument version at a time: its stored scores deleted and its items read once.
    In the session's transaction, which the caller commits. Returns
    (administrations, scores) written.
    """
    writer = BulkWriter.of(session)
    n_admins = n_scores = 0
    for version_id, stored in instrument_versions(writer, study_id):
        definition = InstrumentDef.from_stored(stored, f"stored version {version_id}")
        scores = _score_and_insert(writer, take_version_items(writer, version_id), definition)
        n_admins += scores["administration_id"].nunique()
        n_scores += len(scores)
    return n_admins, n_scores


def rescore(writer: BulkWriter, administration_ids: list[int], definition: InstrumentDef) -> None:
    """Replace the stored scores of ``administration_ids`` (all of ``definition``) from their stored items."""
    if administration_ids:
        _score_and_insert(writer, take_items(writer, administration_ids), definition)


def _score_and_insert(writer: BulkWriter, rows: list[tuple], definition: InstrumentDef):
    """Score stored (administration_id, item, value) rows with ``definition`` and append the scores."""
    import pandas as pd

    from tracker.scoring.engine import score_long

    frame = pd.DataFrame(rows, columns=["administration_id", "item", "value"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(np.float64)
    frame["administration_id"] = frame["administration_id"].astype(np.int64)
    frame["item"] = frame["item"].astype(np.int64)
    scores = score_long(frame, definition)
    insert_scores(writer, scores)
    return scores
