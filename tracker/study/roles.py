"""Model roles: where each measure sits in the conceptual model."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.models import MODEL_ROLES, ModelRole, Study
from tracker.errors import NotFound, TrackerError
from tracker.study import audit


def set_role(
    session: Session,
    study: Study,
    measure: str,
    role: str,
    *,
    known_measures=None,
    primary: bool | None = None,
) -> ModelRole:
    """Give ``measure`` a role (modifiable, intermediate, outcome).

    ``known_measures``, when given, is the set of measures the study's instruments
    define; an unknown measure is refused so a typo cannot hide a tier.
    ``primary`` true marks the measure a primary outcome (its own multiplicity
    family in the report), false unmarks it, None (the default) leaves it as it is.
    """
    role = role.strip().lower()
    if role not in MODEL_ROLES:
        raise TrackerError(f"unknown role {role!r}; use one of: {', '.join(MODEL_ROLES)}")
    if known_measures is not None and measure not in known_measures:
        listed = ", ".join(sorted(known_measures)) or "none; add instruments first"
        raise TrackerError(f"unknown measure {measure!r}; measures in this study: {listed}")
    row = session.scalar(
        select(ModelRole).where(ModelRole.study_id == study.id, ModelRole.measure == measure)
    )
    before = {"role": row.role} if row else None
    if row is not None and (primary is not None or row.is_primary):
        before["primary"] = bool(row.is_primary)
    if row is None:
        row = ModelRole(study_id=study.id, measure=measure, role=role, is_primary=bool(primary))
        session.add(row)
    else:
        row.role = role
        if primary is not None:
            row.is_primary = primary
    session.flush()
    after = {"role": role}
    if primary is not None or row.is_primary:
        after["primary"] = bool(row.is_primary)
    audit.record(
        session,
        study_id=study.id,
        action="update" if before else "create",
        entity="model_role",
        key=measure,
        before=before,
        after=after,
    )
    return row


def roles(session: Session, study: Study) -> dict[str, str]:
    """Measure → role, ordered modifiable → intermediate → outcome, then by measure."""
    rows = session.execute(
        select(ModelRole.measure, ModelRole.role).where(ModelRole.study_id == study.id)
    ).all()
    ordered = sorted(rows, key=lambda r: (MODEL_ROLES.index(r.role), r.measure))
    return {r.measure: r.role for r in ordered}


def unset_role(session: Session, study: Study, measure: str) -> dict:
    """Remove ``measure``'s role from the conceptual model; one audit event. Returns what was stored."""
    row = session.scalar(
        select(ModelRole).where(ModelRole.study_id == study.id, ModelRole.measure == measure)
    )
    if row is None:
        listed = ", ".join(roles(session, study)) or "none"
        raise NotFound(f"measure {measure!r} has no role to unset; measures with a role: {listed}")
    before = {
        c.name: getattr(row, c.key)
        for c in ModelRole.__table__.columns
        if c.name not in ("id", "study_id")
    }
    session.delete(row)
    session.flush()
    audit.record(
        session, study_id=study.id, action="delete", entity="model_role", key=measure, before=before
    )
    return before
