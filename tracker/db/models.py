"""The tracker's tables, as typed SQLAlchemy 2.x declarative models.

Constraint names follow one convention so that Alembic batch migrations on
SQLite can find and alter them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tracker.vocabulary import MODEL_ROLES, PARTICIPANT_STATUSES, sql_in

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Study(Base):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    cohorts: Mapped[list[Cohort]] = relationship(back_populates="study", order_by="Cohort.name")
    waves: Mapped[list[Wave]] = relationship(back_populates="study", order_by="Wave.position")

    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_empty"),)


class Cohort(Base):
    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    arm: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)

    study: Mapped[Study] = relationship(back_populates="cohorts")

    __table_args__ = (
        UniqueConstraint("study_id", "name"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("length(arm) > 0", name="arm_not_empty"),
    )


class Participant(Base):
    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    code: Mapped[str] = mapped_column(String(100))
    enrolled_on: Mapped[dt.date | None] = mapped_column(Date)
    age: Mapped[int | None] = mapped_column(Integer)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    cohort: Mapped[Cohort] = relationship()

    __table_args__ = (
        UniqueConstraint("study_id", "code"),
        CheckConstraint("length(code) > 0", name="code_not_empty"),
        CheckConstraint(sql_in("status", PARTICIPANT_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'active' AND withdrawn_on IS NULL) OR "
            "(status = 'withdrawn' AND withdrawn_on IS NOT NULL)",
            name="withdrawal_dated",
        ),
        CheckConstraint("age IS NULL OR (age >= 0 AND age <= 120)", name="age_range"),
        CheckConstraint(
            "birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)",
            name="birth_year_range",
        ),
    )


class Wave(Base):
    __tablename__ = "wave"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    day_offset: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)

    study: Mapped[Study] = relationship(back_populates="waves")

    __table_args__ = (
        UniqueConstraint("study_id", "name"),
        UniqueConstraint("study_id", "position"),
        UniqueConstraint("study_id", "day_offset"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("window_days >= 0", name="window_not_negative"),
    )


class Instrument(Base):
    """A questionnaire used by a study; its definitions live in versions."""

    __tablename__ = "instrument"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[InstrumentVersion]] = relationship(
        back_populates="instrument", order_by="InstrumentVersion.id"
    )

    __table_args__ = (UniqueConstraint("study_id", "code"),)


class InstrumentVersion(Base):
    """A snapshot of an instrument definition, with its hash, so scores are reproducible."""

    __tablename__ = "instrument_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instrument.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(50))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    instrument: Mapped[Instrument] = relationship(back_populates="versions")

    __table_args__ = (
        UniqueConstraint("instrument_id", "version"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )


class ModelRole(Base):
    """The tier a measure takes in the study's conceptual model."""

    __tablename__ = "model_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    #: a primary outcome: its own multiplicity family in the report (migration 0005)
    is_primary: Mapped[bool] = mapped_column(
        Boolean(create_constraint=False), default=False, server_default=false()
    )

    __table_args__ = (
        UniqueConstraint("study_id", "measure"),
        CheckConstraint(sql_in("role", MODEL_ROLES), name="role_known"),
    )


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    row_count: Mapped[int] = mapped_column(Integer)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    os_user: Mapped[str] = mapped_column(String(200))
    # the import map the file was read with (tracker import responses --map): its name, content and SHA-256
    map_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    map_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    map_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        CheckConstraint("row_count >= 0", name="row_count_not_negative"),
        CheckConstraint(
            "format IN ('wide', 'long', 'redcap', 'qualtrics', 'xlsx')", name="format_known"
        ),
    )


class Administration(Base):
    """One participant answering one instrument at one wave."""

    __tablename__ = "administration"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instrument.id"), index=True)
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_version.id"))
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)

    __table_args__ = (UniqueConstraint("participant_id", "wave_id", "instrument_id"),)


class ItemResponse(Base):
    """The value of one item in an administration; NULL is a missing answer."""

    __tablename__ = "item_response"

    administration_id: Mapped[int] = mapped_column(
        ForeignKey("administration.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)

    # WITHOUT ROWID on SQLite: the rows live in the primary key's b-tree, one structure
    # to write instead of a table and an index, faster to fill (BENCHMARKS.md, design figures)
    __table_args__ = (
        CheckConstraint("item >= 1", name="item_positive"),
        {"sqlite_with_rowid": False},
    )


class ScaleScore(Base):
    """The score of one measure in an administration, as its stored instrument version scores it.

    Derived data, kept so that analyses read one row per measure instead of
    every item: written with the item responses in the import's transaction
    (and rewritten when an import changes an administration's items), removed
    with the administration. ``score`` is NULL when more items are missing
    than the measure allows. ``tests/ingest`` checks after each write path
    that these rows equal scoring the stored items afresh.
    """

    __tablename__ = "scale_score"

    administration_id: Mapped[int] = mapped_column(
        ForeignKey("administration.id", ondelete="CASCADE"), primary_key=True
    )
    measure: Mapped[str] = mapped_column(String(100), primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    items_answered: Mapped[int] = mapped_column(Integer)
    items_total: Mapped[int] = mapped_column(Integer)
    prorated: Mapped[bool] = mapped_column(Boolean(create_constraint=False))

    __table_args__ = ({"sqlite_with_rowid": False},)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    os_user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_key: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


Index("ix_audit_event_entity", AuditEvent.entity, AuditEvent.entity_key)
