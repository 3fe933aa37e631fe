"""Load a study's items, scores and metadata into tidy DataFrames.

Item responses are fetched through the DBAPI cursor (three columns, no ORM
objects) and scored on the fly with each administration's own stored
instrument version, so a score is always reproducible from its definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import (
    Administration,
    Cohort,
    ImportBatch,
    Instrument,
    InstrumentVersion,
    Participant,
    Study,
    Wave,
)
from tracker.instruments import InstrumentDef
from tracker.study.roles import roles as study_roles

ADMIN_COLUMNS = [
    "administration_id", "participant", "cohort", "arm", "wave", "wave_order",
    "instrument", "version_id", "completed_on",
]
SCORE_COLUMNS = [
    "participant", "cohort", "arm", "wave", "wave_order", "instrument", "measure",
    "score", "items_answered", "items_total", "prorated",
]
ITEM_COLUMNS = [
    "administration_id", "participant", "cohort", "arm", "wave", "wave_order",
    "instrument", "item", "value", "completed_on",
]


def _administrations(session: Session, study: Study, wave: str | None) -> pd.DataFrame:
    stmt = (
        select(
            Administration.id, Participant.code, Cohort.name, Cohort.arm, Wave.name,
            Wave.position, Instrument.code, Administration.instrument_version_id,
            Administration.completed_on,
        )
        .join(Participant, Participant.id == Administration.participant_id)
        .join(Cohort, Cohort.id == Participant.cohort_id)
        .join(Wave, Wave.id == Administration.wave_id)
        .join(Instrument, Instrument.id == Administration.instrument_id)
        .where(Wave.study_id == study.id)
        .order_by(Administration.id)
    )
    if wave is not None:
        stmt = stmt.where(Wave.name == wave)
    return pd.DataFrame(session.execute(stmt).all(), columns=ADMIN_COLUMNS)


def _responses(session: Session, study: Study, wave: str | None) -> pd.DataFrame:
    """(administration_id, item, value) for the study, via the raw DBAPI cursor."""
    sql = (
        "SELECT r.administration_id, r.item, r.value FROM item_response r "
        "JOIN administration a ON a.id = r.administration_id "
        "JOIN wave w ON w.id = a.wave_id WHERE w.study_id = %(study)s"
    )
    params: dict = {"study": study.id}
    if wave is not None:
        sql += " AND w.name = %(wave)s"
        params["wave"] = wave
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        sql = sql.replace("%(study)s", ":study").replace("%(wave)s", ":wave")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame({"administration_id": pd.Series(dtype="int64"),
                             "item": pd.Series(dtype="int64"), "value": pd.Series(dtype="float64")})
    ids, items, values = zip(*rows, strict=True)
    return pd.DataFrame({
        "administration_id": np.asarray(ids, dtype=np.int64),
        "item": np.asarray(items, dtype=np.int64),
        "value": np.asarray([np.nan if v is None else v for v in values], dtype=np.float64),
    })


def _definitions(session: Session, version_ids) -> dict[int, InstrumentDef]:
    ids = sorted({int(v) for v in version_ids})
    if not ids:
        return {}
    rows = session.execute(
        select(InstrumentVersion.id, InstrumentVersion.definition).where(InstrumentVersion.id.in_(ids))
    ).all()
    return {vid: InstrumentDef.from_dict(d, source=f"stored version {vid}") for vid, d in rows}


def load_items(session: Session, study: Study, *, wave: str | None = None) -> pd.DataFrame:
    """Every stored item response, one row per administration × item.

    Columns: ``administration_id, participant, cohort, arm, wave, wave_order,
    instrument, item, value, completed_on`` (value NaN = unanswered).
    """
    admins = _administrations(session, study, wave)
    responses = _responses(session, study, wave)
    out = responses.merge(admins.drop(columns="version_id"), on="administration_id", how="inner")
    return out[ITEM_COLUMNS].sort_values(["participant", "wave_order", "instrument", "item"], ignore_index=True)


def _score_all(admins: pd.DataFrame, responses: pd.DataFrame, defs: dict[int, InstrumentDef]):
    from tracker.scoring import keyed_items_long, score_long

    scores, keyed = [], []
    version_of = admins.set_index("administration_id")["version_id"]
    version_per_row = version_of.reindex(responses["administration_id"]).to_numpy()
    for vid, definition in defs.items():
        block = responses[version_per_row == vid]
        if block.empty:
            continue
        scores.append(score_long(block, definition))
        keyed.append(keyed_items_long(block, definition))
    empty_scores = pd.DataFrame(columns=["administration_id", "measure", "score", "items_answered", "items_total", "prorated"])
    empty_keyed = pd.DataFrame(columns=["administration_id", "measure", "item", "value"])
    return (pd.concat(scores, ignore_index=True) if scores else empty_scores,
            pd.concat(keyed, ignore_index=True) if keyed else empty_keyed)


def load_scores(session: Session, study: Study, *, wave: str | None = None) -> pd.DataFrame:
    """Scale scores for every administration, one row per administration × measure.

    Columns: ``participant, cohort, arm, wave, wave_order, instrument, measure,
    score, items_answered, items_total, prorated``. ``score`` is NaN when more
    items are missing than the measure's ``max_missing`` allows.
    """
    admins = _administrations(session, study, wave)
    responses = _responses(session, study, wave)
    scores, _ = _score_all(admins, responses, _definitions(session, admins["version_id"]))
    return _attach(scores, admins)[SCORE_COLUMNS]


def _attach(frame: pd.DataFrame, admins: pd.DataFrame) -> pd.DataFrame:
    meta = admins.drop(columns=["version_id", "completed_on"])
    out = frame.merge(meta, on="administration_id", how="inner")
    return out.sort_values(["participant", "wave_order", "measure"], ignore_index=True)


@dataclass
class StudyData:
    """Everything the analyses and the report read, as tidy DataFrames."""

    study: str
    waves: pd.DataFrame          # wave, wave_order, day, window
    cohorts: pd.DataFrame        # cohort, arm, start, description
    participants: pd.DataFrame   # participant, cohort, arm, enrolled, age, birth_year, gender, role, status, withdrawn_on, withdrawal_reason
    scores: pd.DataFrame         # SCORE_COLUMNS
    keyed_items: pd.DataFrame    # participant, cohort, arm, wave, wave_order, measure, item, value (reverse-keyed)
    measures: pd.DataFrame       # measure, instrument, name, construct, role, higher_is_better, reliability, score_min, score_max, n_items
    batches: pd.DataFrame        # file_name, sha256, format, row_count, imported_at, os_user
    administrations: pd.DataFrame  # administration_id, participant, cohort, arm, wave, wave_order, instrument, completed_on
    db_revision: str | None

    def wave_names(self) -> list[str]:
        return list(self.waves.sort_values("wave_order")["wave"])

    def measure_order(self) -> list[str]:
        """Measures ordered modifiable → intermediate → outcome → unassigned, as the roles say."""
        order = {"modifiable": 0, "intermediate": 1, "outcome": 2}
        m = self.measures.assign(_rank=self.measures["role"].map(order).fillna(3))
        return list(m.sort_values(["_rank", "measure"], kind="stable")["measure"])


def load_study_data(session: Session, study: Study) -> StudyData:
    """Read a whole study: metadata, item responses, scores and keyed items."""
    from tracker.db.migrate import current_revision
    from tracker.study.instruments import definitions as current_definitions

    waves = pd.DataFrame(
        session.execute(
            select(Wave.name, Wave.position, Wave.day_offset, Wave.window_days)
            .where(Wave.study_id == study.id).order_by(Wave.position)
        ).all(),
        columns=["wave", "wave_order", "day", "window"],
    )
    cohorts = pd.DataFrame(
        session.execute(
            select(Cohort.name, Cohort.arm, Cohort.start_date, Cohort.description)
            .where(Cohort.study_id == study.id).order_by(Cohort.name)
        ).all(),
        columns=["cohort", "arm", "start", "description"],
    )
    participants = pd.DataFrame(
        session.execute(
            select(Participant.code, Cohort.name, Cohort.arm, Participant.enrolled_on, Participant.age,
                   Participant.birth_year, Participant.gender, Participant.role, Participant.status,
                   Participant.withdrawn_on, Participant.withdrawal_reason)
            .join(Cohort, Cohort.id == Participant.cohort_id)
            .where(Participant.study_id == study.id).order_by(Participant.code)
        ).all(),
        columns=["participant", "cohort", "arm", "enrolled", "age", "birth_year", "gender", "role",
                 "status", "withdrawn_on", "withdrawal_reason"],
    )
    admins = _administrations(session, study, None)
    responses = _responses(session, study, None)
    scores, keyed = _score_all(admins, responses, _definitions(session, admins["version_id"]))
    scores = _attach(scores, admins)[SCORE_COLUMNS]
    keyed = _attach(keyed, admins)[["participant", "cohort", "arm", "wave", "wave_order", "measure", "item", "value"]]

    roles = study_roles(session, study)
    rows = []
    for code, definition in current_definitions(session, study).items():
        for m in definition.measures:
            rows.append({
                "measure": m.code, "instrument": code, "name": m.name,
                "construct": definition.construct, "role": roles.get(m.code),
                "higher_is_better": m.higher_is_better, "reliability": m.reliability,
                "score_min": m.score_min, "score_max": m.score_max, "n_items": m.n_items,
            })
    measures = pd.DataFrame(rows, columns=["measure", "instrument", "name", "construct", "role",
                                           "higher_is_better", "reliability", "score_min", "score_max", "n_items"])
    batches = pd.DataFrame(
        session.execute(
            select(ImportBatch.file_name, ImportBatch.sha256, ImportBatch.format, ImportBatch.row_count,
                   ImportBatch.imported_at, ImportBatch.os_user)
            .where(ImportBatch.study_id == study.id).order_by(ImportBatch.id)
        ).all(),
        columns=["file_name", "sha256", "format", "row_count", "imported_at", "os_user"],
    )
    return StudyData(
        study=study.name, waves=waves, cohorts=cohorts, participants=participants, scores=scores,
        keyed_items=keyed, measures=measures, batches=batches,
        administrations=admins.drop(columns="version_id"),
        db_revision=current_revision(session.get_bind()),
    )
