"""``scale_score``: each administration's measure scores, stored beside its items.

The scores are derived data. The importer writes them in the same transaction
as the item responses they come from (:func:`insert_scores`), and
:mod:`tracker.ingest.rescore` replaces them from the stored items; the
scoring itself is :mod:`tracker.scoring`'s, which never touches the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tracker.db.bulk import BulkWriter
from tracker.db.sql import marks

COLUMNS = ("administration_id", "measure", "score", "items_answered", "items_total", "prorated")

#: administrations per ``IN (...)`` list (SQLite allows 32,766 parameters; PostgreSQL 65,535)
CHUNK = 500


def score_rows(scores) -> Iterator[tuple]:
    """Plain tuples for the driver from a frame of :data:`tracker.scoring.SCORE_COLUMNS`; a missing score as
    None (NULL)."""
    values = scores["score"].to_numpy(dtype=np.float64)
    score_list = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        score_list[i] = None
    return zip(
        scores["administration_id"].to_numpy(dtype=np.int64).tolist(),
        scores["measure"].tolist(),
        score_list,
        scores["items_answered"].to_numpy(dtype=np.int64).tolist(),
        scores["items_total"].to_numpy(dtype=np.int64).tolist(),
        scores["prorated"].to_numpy(dtype=bool).tolist(),
        strict=True,
    )


def insert_scores(writer: BulkWriter, scores) -> None:
    """Append ``scores`` (the frame of :func:`tracker.scoring.score_long`) to ``scale_score``."""
    if not len(scores):
        return
    if not writer.postgresql and _insert_whole_scores(writer, scores):
        return
    writer.insert("scale_score", COLUMNS, score_rows(scores))


def _insert_whole_scores(writer: BulkWriter, scores) -> bool:
    """SQLite: the scores of consecutive administrations, each with the same measures in the same order,
    all whole numbers (or none), as one ``INSERT ... SELECT`` over ``json_each``; False (nothing written)
    for any other frame, which takes ``executemany`` and its exact doubles.

    The JSON array holds ``[score, items_answered, prorated]`` per row, written from the few distinct
    triples' texts; the administration, measure and item count follow from the row's position.
    100,000 rows took 0.15 s of CPU against 0.4-0.6 s for executemany.
    """
    aid = scores["administration_id"].to_numpy(dtype=np.int64)
    per = int(np.searchsorted(aid, aid[0], side="right")) if aid[0] == aid.min() else 0
    if per == 0 or len(aid) % per:
        return False
    n = len(aid) // per
    measures = scores["measure"].to_numpy(dtype=object)
    if not (
        (aid == np.repeat(np.arange(aid[0], aid[0] + n), per)).all()
        and (measures == np.tile(measures[:per], n)).all()
    ):
        return False
    totals = scores["items_total"].to_numpy(dtype=np.int64)
    if not (totals == np.tile(totals[:per], n)).all():
        return False
    score = scores["score"].to_numpy(dtype=np.float64)
    missing = np.isnan(score)
    known = score[~missing]
    if not ((known == np.trunc(known)).all() and (np.abs(known) < 1e15).all()):
        return False
    triples = np.column_stack(
        [
            np.where(missing, 0, score),
            scores["items_answered"].to_numpy(dtype=np.float64),
            scores["prorated"].to_numpy(dtype=bool).astype(np.float64),
            missing,
        ]
    )
    distinct, codes = np.unique(triples, axis=0, return_inverse=True)
    texts = np.array(
        [f"[{'null' if m else int(s)},{int(a)},{int(p)}]" for s, a, p, m in distinct.tolist()],
        dtype=object,
    )
    by_position = " ".join(f"WHEN {j} THEN ?" for j in range(per))
    writer.execute(
        f"INSERT INTO scale_score ({', '.join(COLUMNS)}) SELECT ? + key / {per}, "
        f"CASE key % {per} {by_position} END, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
        f"CASE key % {per} {by_position} END, json_extract(value, '$[2]') FROM json_each(?)",
        int(aid[0]),
        *measures[:per].tolist(),
        *totals[:per].tolist(),
        "[" + ",".join(texts[codes.ravel()].tolist()) + "]",
    )
    return True


def instrument_versions(
    writer: BulkWriter, study_id: int | None = None
) -> list[tuple[int, object]]:
    """``(id, stored definition)`` of every instrument version (of one study)."""
    sql = "SELECT v.id, v.definition FROM instrument_version v JOIN instrument i ON i.id = v.instrument_id"
    if study_id is None:
        return writer.rows(sql)
    return writer.rows(sql + " WHERE i.study_id = ?", study_id)


def take_version_items(writer: BulkWriter, version_id: int) -> list[tuple]:
    """Delete the stored scores of the administrations of one instrument version; their
    ``(administration_id, item, value)`` rows, to score again. One ``DELETE`` and one ``SELECT``."""
    writer.execute(
        "DELETE FROM scale_score WHERE administration_id IN "
        "(SELECT id FROM administration WHERE instrument_version_id = ?)",
        version_id,
    )
    return writer.rows(
        "SELECT r.administration_id, r.item, r.value FROM item_response r JOIN administration a "
        "ON a.id = r.administration_id WHERE a.instrument_version_id = ?",
        version_id,
    )


def take_items(writer: BulkWriter, administration_ids: list[int]) -> list[tuple]:
    """Delete the stored scores of ``administration_ids``; their ``(administration_id, item, value)`` rows."""
    rows: list[tuple] = []
    for start in range(0, len(administration_ids), CHUNK):
        part = administration_ids[start : start + CHUNK]
        writer.execute(
            f"DELETE FROM scale_score WHERE administration_id IN ({marks(len(part))})", *part
        )
        rows.extend(
            writer.rows(
                f"SELECT administration_id, item, value FROM item_response WHERE administration_id IN ({marks(len(part))})",
                *part,
            )
        )
    return rows
