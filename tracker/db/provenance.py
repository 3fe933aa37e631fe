"""The report's provenance queries: instrument digests, primary outcomes, corrections, database version,
and the audit trail's change mark.

Plain SQL through a :class:`~tracker.db.reader.Reader` (the conventions of
:mod:`tracker.db.read_store`), so that ``tracker report``, which reads on a direct
connection, never imports SQLAlchemy.
"""

from __future__ import annotations

from tracker.db.reader import Reader


def database_description(reader: Reader) -> str:
    """The database's kind and server version as people name them, e.g. ``SQLite 3.40.1``."""
    version = ".".join(str(v) for v in server_version(reader))
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(reader.dialect, reader.dialect)
    return f"{name} {version}".strip()


def instrument_digests(reader: Reader, study_id: int) -> list[tuple]:
    """(version id, code, version, sha256) of every stored instrument version of the study."""
    return reader.rows(
        "SELECT v.id, i.code, v.version, v.sha256 FROM instrument_version v "
        "JOIN instrument i ON i.id = v.instrument_id WHERE i.study_id = ?",
        study_id,
    )


def primary_measures(reader: Reader, study_id: int) -> list[str]:
    """The measures marked primary outcomes (``tracker model set ... --primary``), by measure."""
    true = "1" if reader.dialect == "sqlite" else "TRUE"
    rows = reader.rows(
        f"SELECT measure FROM model_role WHERE study_id = ? AND is_primary = {true} ORDER BY measure",
        study_id,
    )
    return [measure for (measure,) in rows]


#: audit actions that change stored data after it was first written (and the imports, some of
#: which did, with --update)
CORRECTION_ACTIONS = ("update", "delete", "reinstate", "import")


def correction_events(reader: Reader, study_id: int) -> list[tuple]:
    """(at, user, action, entity, key, before, after, batch) of the study's corrections, oldest first.

    Filtered here: a study holds one ``create`` per enrolment and administration,
    which the report never shows (at 10,000 participants, reading them all took
    half a second). ``before``/``after`` as the driver hands them back (JSON text
    from SQLite, decoded from PostgreSQL).
    """
    marks = ", ".join("?" * len(CORRECTION_ACTIONS))
    return reader.rows(
        "SELECT at, os_user, action, entity, entity_key, before, after, import_batch_id "
        f"FROM audit_event WHERE study_id = ? AND entity != 'administration' AND action IN ({marks}) "
        "ORDER BY id",
        study_id,
        *CORRECTION_ACTIONS,
    )


def server_version(reader: Reader) -> tuple[int, ...]:
    """The database's version numbers, as SQLAlchemy's ``server_version_info`` has them."""
    if reader.dialect == "sqlite":
        import sqlite3

        return tuple(sqlite3.sqlite_version_info)
    number = int(reader.rows("SHOW server_version_num")[0][0])  # e.g. 150018 for 15.18
    return (number // 10_000, number % 10_000)


def change_mark(reader: Reader) -> tuple[int, int]:
    """(number of audit events, highest audit event id): changes whenever the tracker commits a change.

    Every change the tracker makes writes an audit event in its own transaction
    (:mod:`tracker.study.audit`), so two snapshots with the same mark hold the same
    data (the count catches a transaction that commits after a later-numbered one).
    """
    count, top = reader.rows("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM audit_event")[0]
    return int(count), int(top)
