"""What an import checks rows against: the study's waves, instruments and participants.

Loaded once per import in a handful of queries; lookups afterwards are dict
and numpy operations, never a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Cohort, Participant, Study, Wave
from tracker.instruments import InstrumentDef

NO_DATE = 0  # date ordinals: 0 means "no date"


@dataclass(frozen=True)
class WaveInfo:
    id: int
    name: str
    day: int
    window: int


@dataclass(frozen=True)
class InstrumentInfo:
    id: int
    code: str
    version_id: int
    definition: InstrumentDef

    @property
    def items(self) -> int:
        return self.definition.items


class StudyContext:
    """The study's reference data, with vectorised participant lookups.

    Participants are held in arrays indexed by position; :meth:`positions`
    maps participant ids to those positions.
    """

    def __init__(self, session: Session, study: Study):
        from tracker.study.instruments import current_versions

        self.study = study
        self.waves = {
            w.name: WaveInfo(w.id, w.name, w.day_offset, w.window_days)
            for w in session.scalars(
                select(Wave).where(Wave.study_id == study.id).order_by(Wave.position)
            )
        }
        self.wave_by_id = {w.id: w for w in self.waves.values()}
        self.instruments: dict[str, InstrumentInfo] = {}
        for code, version in current_versions(session, study).items():
            definition = InstrumentDef.from_dict(
                version.definition, source=f"stored {code}@{version.version}"
            )
            self.instruments[code] = InstrumentInfo(
                version.instrument_id, code, version.id, definition
            )
        rows = session.execute(
            select(
                Participant.id,
                Participant.code,
                Participant.status,
                Participant.withdrawn_on,
                Cohort.start_date,
            )
            .join(Cohort, Cohort.id == Participant.cohort_id)
            .where(Participant.study_id == study.id)
            .order_by(Participant.id)
        ).all()
        self.participant_ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.codes = np.array([r[1] for r in rows], dtype=object)
        self.withdrawn_on = np.array(
            [r[3].toordinal() if r[2] == "withdrawn" and r[3] else NO_DATE for r in rows],
            dtype=np.int64,
        )
        self.withdrawn = np.array([r[2] == "withdrawn" for r in rows], dtype=bool)
        self.cohort_start = np.array(
            [r[4].toordinal() if r[4] else NO_DATE for r in rows], dtype=np.int64
        )
        self.id_by_code = {r[1]: r[0] for r in rows}

    def positions(self, participant_ids: np.ndarray) -> np.ndarray:
        """Positions in the participant arrays of ``participant_ids`` (all must exist)."""
        return np.searchsorted(self.participant_ids, participant_ids)

    def code_of(self, participant_id: int) -> str:
        return str(self.codes[self.positions(np.array([participant_id]))[0]])

    def wave_names(self) -> str:
        return ", ".join(self.waves) or "none yet (tracker wave add NAME --day N)"
