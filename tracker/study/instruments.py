"""Instruments used by a study, stored as versioned definition snapshots.

Each stored version keeps the whole definition and its SHA-256, so a score can
always be recomputed exactly as it was. Adding a changed definition under an
existing code and version is refused: bump ``version`` in the TOML.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import Instrument, InstrumentVersion, Study
from tracker.db.read_store import newest_by_code  # the one rule, import-light for the read side
from tracker.errors import Conflict
from tracker.study import audit


@dataclass(frozen=True)
class Added:
    code: str
    version: str
    sha256: str
    status: str  # "added", "new version", "unchanged"


def add_instrument(session: Session, study: Study, code_or_path: str) -> Added:
    """Add a built-in instrument by code, or a study's own from a TOML file."""
    from tracker.instruments import resolve

    definition = resolve(code_or_path)
    snapshot = definition.to_dict()
    instrument = session.scalar(
        select(Instrument).where(
            Instrument.study_id == study.id, Instrument.code == definition.code
        )
    )
    if instrument is None:
        instrument = Instrument(study_id=study.id, code=definition.code)
        session.add(instrument)
        session.flush()
        status = "added"
    else:
        same_version = next(
            (v for v in instrument.versions if v.version == definition.version), None
        )
        if same_version is not None:
            if same_version.sha256 == definition.sha256:
                return Added(definition.code, definition.version, definition.sha256, "unchanged")
            raise Conflict(
                f"instrument {definition.code!r} version {definition.version!r} is already stored "
                f"with a different definition (sha256 {same_version.sha256[:12]}…); "
                "give the changed definition a new `version` so stored scores stay reproducible"
            )
        status = "new version"
    version = InstrumentVersion(
        instrument_id=instrument.id,
        version=definition.version,
        definition=snapshot,
        sha256=definition.sha256,
        source=str(code_or_path),
    )
    session.add(version)
    session.flush()
    session.refresh(instrument)
    audit.record(
        session,
        study_id=study.id,
        action="create",
        entity="instrument",
        key=f"{definition.code}@{definition.version}",
        after={
            "code": definition.code,
            "version": definition.version,
            "sha256": definition.sha256,
            "source": str(code_or_path),
        },
    )
    return Added(definition.code, definition.version, definition.sha256, status)


def current_versions(session: Session, study: Study) -> dict[str, InstrumentVersion]:
    """Instrument code → its newest stored version (:func:`newest_by_code`), ordered by code."""
    rows = session.execute(
        select(InstrumentVersion.id, Instrument.code, InstrumentVersion)
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .where(Instrument.study_id == study.id)
    )
    return newest_by_code(rows)


def definitions(session: Session, study: Study) -> dict:
    """Instrument code → :class:`tracker.instruments.InstrumentDef` (newest version)."""
    from tracker.instruments import InstrumentDef

    return {
        code: InstrumentDef.from_dict(v.definition, source=f"stored {code}@{v.version}")
        for code, v in current_versions(session, study).items()
    }


def known_measures(session: Session, study: Study) -> list[str]:
    return [m.code for d in definitions(session, study).values() for m in d.measures]
