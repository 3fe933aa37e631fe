"""Writing a validated plan, fast, inside the caller's transaction.

New administrations and their item responses go through the DBAPI connection
under the session (``session.connection().connection.driver_connection``), so
they share the session's transaction and are committed or rolled back with it:

* SQLite: ``executemany`` of plain tuples. Ids are assigned from
  ``MAX(id) + 1``: the import batch row is written first, so this transaction
  already holds SQLite's single write lock and no other writer can take ids
  in between.
* PostgreSQL: both tables are loaded with ``COPY ... FROM STDIN`` (psycopg 3
  ``cursor.copy``; item rows in the binary format, built with numpy:
  :func:`binary_item_rows`); administrations take their ids from the
  sequence default and are read back by batch (far faster than ``nextval``
  calls in a query: BENCHMARKS.md, design figures).

Item responses are written one row per item of the definition, unanswered
items as NULL, in slices of about :data:`WRITE_SLICE_VALUES` rows so that
the Python objects built for the driver stay bounded whatever the number of
items per instrument (a slice of 20,000 administrations of a 100-item scale
was 2 million tuples and a higher peak: BENCHMARKS.md, design figures).

Concurrent imports of the same (participant, wave, instrument) are arbitrated
by the table's unique constraint: the later one fails on it and is turned into
:class:`tracker.errors.Conflict` with a message saying what happened.

Each new administration's measure scores go to ``scale_score`` in the same
transaction, scored from the same values matrix (cheap: BENCHMARKS.md, design figures);
changed administrations are rescored from their stored items afterwards.

Changed administrations (``update``) are rare and small: they go through
SQLAlchemy Core, with one audit event per administration holding the old and
new values of the items that changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from tracker.db.engine import translate_errors as db_translate_errors
from tracker.db.models import Administration, AuditEvent, ItemResponse
from tracker.ingest.cells import fmt_value, iso
from tracker.ingest.context import StudyContext
from tracker.ingest.plan import BlockPlan
from tracker.scoring.engine import score_matrix_frame
from tracker.scoring.store import insert_scores, rescore
from tracker.study import audit

WRITE_SLICE_VALUES = 200_000

CONFLICT = (
    "another import wrote responses for the same participants, waves and instruments while this one "
    "was running ({detail}); nothing was written. Run the import again: values already stored are "
    "compared, identical ones skipped and differences listed"
)


@dataclass
class Written:
    administrations_new: int = 0
    administrations_changed: int = 0
    values_written: int = 0
    values_changed: int = 0


def translate_errors():
    """:func:`tracker.db.engine.translate_errors` (the one database-error translator) with the
    import's own text for a lost race."""
    return db_translate_errors(conflict=CONFLICT)


def write_plan(
    session: Session,
    ctx: StudyContext,
    plans: list[BlockPlan],
    *,
    batch_id: int,
    progress: Callable[[int], None] | None = None,
) -> Written:
    """Write new and changed administrations; ``progress(n)`` after each slice of n administrations."""
    written = Written()
    connection = session.connection()
    dialect = connection.dialect.name
    dbapi = connection.connection.driver_connection
    new_values = sum(int(plan.new.sum()) * plan.block.instrument.items for plan in plans)
    only_new = not any(plan.changed.any() for plan in plans)
    with _bulk_load(dbapi, dialect, new_values, only_new=only_new):
        _write_plans(session, ctx, plans, batch_id, progress, written, dbapi, dialect)
    return written


def _write_plans(session, ctx, plans, batch_id, progress, written, dbapi, dialect) -> None:
    for plan in plans:
        new = np.flatnonzero(plan.new)
        if len(new):
            k = plan.block.instrument.items
            ids = _insert_administrations(dbapi, dialect, plan, new, batch_id)
            step = max(1, WRITE_SLICE_VALUES // k)
            for start in range(0, len(new), step):
                part = slice(start, start + step)
                _insert_items(dbapi, dialect, ids[part], plan.block.values[new[part]])
                insert_scores(dbapi, dialect, score_matrix_frame(ids[part], plan.block.values[new[part]],
                                                                 plan.block.instrument.definition))
                written.values_written += len(ids[part]) * k
                if progress:
                    progress(len(ids[part]))
            written.administrations_new += len(new)
        changed = np.flatnonzero(plan.changed)
        if len(changed):
            n_values = _update_changed(session, ctx, plan, changed, batch_id)
            rescore(dbapi, dialect, [int(plan.existing[a]) for a in changed.tolist()], plan.block.instrument.definition)
            written.administrations_changed += len(changed)
            written.values_changed += n_values
            written.values_written += n_values
            if progress:
                progress(len(changed))


#: tables whose keys and indexes a bulk load on PostgreSQL builds once, not per row
BULK_TABLES = ("administration", "item_response", "scale_score")
#: a load is bulk from this many new item values ...
BULK_MIN_VALUES = 200_000
#: ... when it at least doubles (1 = as many new values as stored) the item_response table
BULK_MIN_GROWTH = 1.0


@contextmanager
def _bulk_load(dbapi, dialect: str, new_values: int, *, only_new: bool = True) -> Iterator[None]:
    """On PostgreSQL, check and index a large load once, after its rows are written, not row by row.

    Two per-row costs of ``COPY`` dominate a large import (profiled:
    BENCHMARKS.md, design figures). Each row runs PostgreSQL's foreign-key trigger, and
    each row is inserted into every index; checking the keys and building an
    index once, after the rows are in, costs far less.

    So, for a load of at least :data:`BULK_MIN_VALUES` values that is at
    least as large as what is stored, the foreign keys of :data:`BULK_TABLES`
    are dropped inside the import's transaction and, when the import only adds
    rows (``only_new``; updating rows looks them up through the keys), their
    primary keys, unique constraints and indexes too. All are added back, with
    the definitions PostgreSQL reports for them, after the rows are written:
    building a key or index and checking a foreign key each read the table
    once, so the load stays linear in its own size. A duplicate written
    meanwhile by another import fails the unique constraint as it is rebuilt
    (the import is refused as a conflict, like a per-row check would). Readers
    of these tables wait until the import commits (the ``ALTER`` locks them);
    a refused ``ALTER`` (not the tables' owner) falls back to the per-row work.
    Either way the keys hold when the transaction commits: it cannot commit
    without them.
    """
    if dialect != "postgresql" or new_values < BULK_MIN_VALUES:
        yield
        return
    cursor = dbapi.cursor()
    try:
        cursor.execute("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = 'item_response'::regclass")
        stored = float(cursor.fetchone()[0])
        if new_values < BULK_MIN_GROWTH * stored:
            yield
            return
        tables = (list(BULK_TABLES),)
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            "WHERE contype IN ('f', 'p', 'u') AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY contype <> 'f', conrelid::regclass::text, conname",
            tables,
        )
        constraints = [row[:3] for row in cursor.fetchall() if only_new or row[3] == "f"]  # keys first
        indexes = []
        if only_new:  # indexes that no constraint owns, as CREATE INDEX statements
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                tables,
            )
            indexes = cursor.fetchall()
        cursor.execute("SAVEPOINT tracker_bulk")
        try:
            for table, name, _ in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
        except Exception:  # not the owner, or a lock not granted: keep the per-row work
            cursor.execute("ROLLBACK TO SAVEPOINT tracker_bulk")
            yield
            return
        yield
        for table, name, definition in reversed(constraints):  # keys last: they need the primary keys
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("RELEASE SAVEPOINT tracker_bulk")
    finally:
        cursor.close()


def _insert_administrations(dbapi, dialect: str, plan: BlockPlan, rows: np.ndarray, batch_id: int) -> np.ndarray:
    """Insert the administrations ``rows`` of ``plan``; their new ids, in the same order.

    SQLite: explicit ids from ``MAX(id) + 1`` (this transaction holds the write
    lock since the batch row was written). PostgreSQL: ``COPY`` lets the
    sequence default number the rows in file order; reading back this batch's
    ids for the instrument in id order gives them in that order.
    """
    block = plan.block
    info = block.instrument
    n = len(rows)
    dates = {o: _date(o, dialect) for o in np.unique(block.completed[rows]).tolist()}
    columns = [block.participant[rows].tolist(), block.wave[rows].tolist(), [info.id] * n, [info.version_id] * n,
               [dates[o] for o in block.completed[rows].tolist()], [batch_id] * n]
    names = "participant_id, wave_id, instrument_id, instrument_version_id, completed_on, import_batch_id"
    cursor = dbapi.cursor()
    try:
        if dialect == "postgresql":
            with cursor.copy(f"COPY administration ({names}) FROM STDIN") as copy:
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
            cursor.execute(
                "SELECT id FROM administration WHERE import_batch_id = %s AND instrument_id = %s ORDER BY id",
                (batch_id, info.id),
            )
            ids = np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)
            if len(ids) != n:  # pragma: no cover - would be a bug, not a user error
                raise RuntimeError(f"wrote {n} administrations of {info.code} but read back {len(ids)}")
            return ids
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM administration")
        first = cursor.fetchone()[0] + 1
        ids = np.arange(first, first + n, dtype=np.int64)
        cursor.executemany(
            f"INSERT INTO administration (id, {names}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            zip(ids.tolist(), *columns, strict=True),
        )
        return ids
    finally:
        cursor.close()


def _insert_items(dbapi, dialect: str, ids: np.ndarray, values: np.ndarray) -> None:
    """One row per item of each administration, unanswered items as NULL."""
    cursor = dbapi.cursor()
    try:
        if dialect == "postgresql":
            with cursor.copy("COPY item_response (administration_id, item, value) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(binary_item_rows(ids, values))
            return
        n, k = values.shape
        flat = values.ravel()
        value_list = flat.tolist()
        for i in np.flatnonzero(np.isnan(flat)).tolist():
            value_list[i] = None
        rows = zip(np.repeat(ids, k).tolist(), np.tile(np.arange(1, k + 1), n).tolist(), value_list, strict=True)
        cursor.executemany("INSERT INTO item_response (administration_id, item, value) VALUES (?, ?, ?)", rows)
    finally:
        cursor.close()


#: PostgreSQL's binary COPY: signature, flags, header extension length; and the end-of-data marker
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"
# a row (integer, integer, double precision): field count, then each field's byte length and bytes,
# big-endian; a NULL value is the length -1 and no bytes
_ITEM_ROW = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i4"), ("item_len", ">i4"), ("item", ">i4"),
                      ("value_len", ">i4"), ("value", ">f8")])
_ITEM_ROW_NULL = np.dtype(_ITEM_ROW.descr[:-1])


def binary_item_rows(ids: np.ndarray, values: np.ndarray) -> bytes:
    """``COPY item_response (administration_id, item, value) FROM STDIN (FORMAT BINARY)`` data.

    Built with numpy, not a Python tuple per row: with the table's keys set
    aside (:func:`_bulk_load`) psycopg's ``write_row`` took longer to build
    the rows than the server to load them (BENCHMARKS.md, design figures). The values go as
    the exact IEEE doubles (no text round trip); NaN (unanswered) as NULL.
    Rows with a NULL value come after the others: a table has no row order.
    """
    n, k = values.shape
    if len(ids) and (int(ids.max()) > 2**31 - 1 or int(ids.min()) < 1):  # the columns are PostgreSQL integers
        raise RuntimeError(f"administration ids {int(ids.min())}..{int(ids.max())} do not fit an integer column")
    flat = values.ravel()
    missing = np.isnan(flat)
    admin = np.repeat(ids, k)
    item = np.tile(np.arange(1, k + 1), n)
    parts = [_PGCOPY_HEADER]
    for dtype, rows in ((_ITEM_ROW, ~missing), (_ITEM_ROW_NULL, missing)):
        block = np.empty(int(rows.sum()), dtype=dtype)
        block["fields"] = 3
        block["id_len"] = block["item_len"] = 4
        block["id"] = admin[rows]
        block["item"] = item[rows]
        if dtype is _ITEM_ROW:
            block["value_len"] = 8
            block["value"] = flat[rows]
        else:
            block["value_len"] = -1
        parts.append(block.tobytes())
    parts.append(_PGCOPY_TRAILER)
    return b"".join(parts)


def _date(ordinal: int, dialect: str):
    if ordinal <= 0:
        return None
    day = dt.date.fromordinal(ordinal)
    return day if dialect == "postgresql" else day.isoformat()  # SQLAlchemy's SQLite Date storage


def _update_changed(session: Session, ctx: StudyContext, plan: BlockPlan, rows: np.ndarray, batch_id: int) -> int:
    block = plan.block
    connection = session.connection()
    admin = Administration.__table__
    item_table = ItemResponse.__table__
    admin_updates, value_updates, value_inserts, events = [], [], [], []
    n_values = 0
    for a in rows.tolist():
        aid = int(plan.existing[a])
        before: dict = {}
        after: dict = {}
        completed = plan.stored_completed[a]
        if plan.completed_changed[a]:
            before["completed"], after["completed"] = iso(plan.stored_completed[a]), iso(block.completed[a])
            completed = block.completed[a]
        admin_updates.append({"aid": aid, "completed": dt.date.fromordinal(int(completed)) if completed else None})
        for k in plan.changed_items(a):
            new = fmt_value(block.values[a, k])
            before[f"{block.instrument.code}_{k + 1}"] = fmt_value(plan.stored_value(a, k))
            after[f"{block.instrument.code}_{k + 1}"] = new
            params = {"aid": aid, "n": k + 1, "v": None if new is None else float(new)}
            (value_updates if plan.stored_row(a, k) else value_inserts).append(params)
            n_values += 1
        key = f"{ctx.code_of(block.participant[a])}/{ctx.wave_by_id[int(block.wave[a])].name}/{block.instrument.code}"
        events.append({
            "study_id": ctx.study.id, "os_user": audit.os_user(), "action": "update", "entity": "administration",
            "entity_key": key, "before": audit.jsonable(before), "after": audit.jsonable(after),
            "import_batch_id": batch_id,
        })
    connection.execute(
        update(admin).where(admin.c.id == bindparam("aid")).values(completed_on=bindparam("completed"), import_batch_id=batch_id),
        admin_updates,
    )
    if value_updates:
        connection.execute(
            update(item_table)
            .where(item_table.c.administration_id == bindparam("aid"), item_table.c.item == bindparam("n"))
            .values(value=bindparam("v")),
            value_updates,
        )
    if value_inserts:
        connection.execute(
            insert(item_table).values(administration_id=bindparam("aid"), item=bindparam("n"), value=bindparam("v")),
            value_inserts,
        )
    connection.execute(insert(AuditEvent.__table__), events)
    return n_values
