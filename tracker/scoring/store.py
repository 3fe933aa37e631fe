"""Writing measure scores to ``scale_score`` and reading them back, through the DBAPI.

The scores are derived data: :mod:`tracker.ingest.writer` writes them in the
same transaction as the item responses they come from, from the same values
matrix, with the administration's own instrument version
(:func:`tracker.scoring.engine.score_matrix`). An import that changes stored
items rescores those administrations (:func:`rescore`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.instruments import InstrumentDef

COLUMNS = "administration_id, measure, score, items_answered, items_total, prorated"


def score_rows(scores: pd.DataFrame):
    """Plain tuples for the driver; a missing score as None (NULL)."""
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


def insert_scores(dbapi, dialect: str, scores: pd.DataFrame) -> None:
    """Append ``scores`` (the frame of :func:`tracker.scoring.score_long`) to ``scale_score``."""
    if scores.empty:
        return
    rows = score_rows(scores)
    cursor = dbapi.cursor()
    try:
        if dialect == "postgresql":
            with cursor.copy(f"COPY scale_score ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO scale_score ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", rows)
    finally:
        cursor.close()


def rescore_all(dbapi, dialect: str, study_id: int | None = None) -> tuple[int, int]:
    """Rewrite ``scale_score`` for every administration (of one study), from the stored items.

    For a database written by a tracker whose scoring has since been
    corrected, administrations added outside ``tracker import``, and the
    migration that created the table. One instrument version at a time: one
    ``DELETE`` and one ``SELECT`` each. Returns (administrations, scores) written.
    """
    mark = "%s" if dialect == "postgresql" else "?"
    n_admins = n_scores = 0
    cursor = dbapi.cursor()
    try:
        where = "" if study_id is None else f" WHERE i.study_id = {mark}"
        cursor.execute(
            "SELECT v.id, v.definition FROM instrument_version v JOIN instrument i ON i.id = v.instrument_id" + where,
            () if study_id is None else (study_id,),
        )
        for version_id, stored in cursor.fetchall():
            definition = InstrumentDef.from_stored(stored, f"stored version {version_id}")
            cursor.execute("DELETE FROM scale_score WHERE administration_id IN "
                           f"(SELECT id FROM administration WHERE instrument_version_id = {mark})", (version_id,))
            cursor.execute("SELECT r.administration_id, r.item, r.value FROM item_response r JOIN administration a "
                           f"ON a.id = r.administration_id WHERE a.instrument_version_id = {mark}", (version_id,))
            scores = _score_and_insert(dbapi, dialect, cursor.fetchall(), definition)
            n_admins += scores["administration_id"].nunique()
            n_scores += len(scores)
    finally:
        cursor.close()
    return n_admins, n_scores


def unscored(reader, study_id: int, waves=None) -> int:
    """Administrations of the study (at ``waves``; None: all) with no stored score.

    Such administrations were written outside ``tracker import``. One
    anti-join (fast: BENCHMARKS.md, design figures).
    """
    if waves is not None and not waves:
        return 0
    clause = "" if waves is None else f" AND w.name IN ({', '.join('?' * len(waves))})"
    return reader.rows(
        "SELECT COUNT(*) FROM administration a JOIN wave w ON w.id = a.wave_id WHERE w.study_id = ?" + clause
        + " AND NOT EXISTS (SELECT 1 FROM scale_score s WHERE s.administration_id = a.id)",
        study_id, *(waves or ()),
    )[0][0]


def rescore(dbapi, dialect: str, administration_ids: list[int], definition: InstrumentDef) -> None:
    """Replace the stored scores of ``administration_ids`` (all of ``definition``) from their stored items."""
    if not administration_ids:
        return
    mark = "%s" if dialect == "postgresql" else "?"
    cursor = dbapi.cursor()
    try:
        rows = []
        for start in range(0, len(administration_ids), 500):
            part = administration_ids[start:start + 500]
            marks = ", ".join([mark] * len(part))
            cursor.execute(f"DELETE FROM scale_score WHERE administration_id IN ({marks})", part)
            cursor.execute(
                f"SELECT administration_id, item, value FROM item_response WHERE administration_id IN ({marks})", part
            )
            rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    _score_and_insert(dbapi, dialect, rows, definition)


def _score_and_insert(dbapi, dialect: str, rows: list[tuple], definition: InstrumentDef) -> pd.DataFrame:
    """Score stored (administration_id, item, value) rows with ``definition`` and append the scores."""
    from tracker.scoring.engine import score_long

    frame = pd.DataFrame(rows, columns=["administration_id", "item", "value"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(np.float64)
    frame["administration_id"] = frame["administration_id"].astype(np.int64)
    frame["item"] = frame["item"].astype(np.int64)
    scores = score_long(frame, definition)
    insert_scores(dbapi, dialect, scores)
    return scores
