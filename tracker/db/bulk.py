"""Bulk writes through the driver, inside the caller's transaction: SQLite ``executemany``, PostgreSQL ``COPY``.

:class:`BulkWriter` wraps the DBAPI connection under a SQLAlchemy session
(:meth:`BulkWriter.of`), so what it writes shares the session's transaction
and is committed or rolled back with it. Its SQL is written with ``?``
placeholders (:func:`tracker.db.sql.driver_sql`); every difference between the
backends is in this module:

* rows: on SQLite, administrations and whole-number item values as one
  ``INSERT ... SELECT`` over ``json_each`` of a JSON array (SQLite makes the
  rows itself, without a Python call per row), other rows ``executemany`` of
  plain tuples; on PostgreSQL ``COPY ... FROM STDIN`` (psycopg 3
  ``cursor.copy``), item rows in the binary format built with numpy
  (:func:`binary_item_rows`);
* administration ids: from ``MAX(id) + 1`` on SQLite (the import batch row
  is written first, so the transaction already holds SQLite's single write
  lock and no other writer can take ids in between); on PostgreSQL from the
  sequence default, read back by batch (100,000 ``nextval`` calls in a query
  took 1.3 s; the read-back takes 0.05 s);
* dates: ISO text on SQLite (SQLAlchemy's SQLite ``Date`` storage), ``date``
  objects on PostgreSQL;
* a large load on PostgreSQL checks its foreign keys and builds its keys and
  indexes once, after the rows (:meth:`BulkWriter.bulk_load`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tracker.db.sql import dbapi_of, driver_sql, marks

ADMINISTRATION_COLUMNS = (
    "participant_id",
    "wave_id",
    "instrument_id",
    "instrument_version_id",
    "completed_on",
    "import_batch_id",
)
ITEM_COLUMNS = ("administration_id", "item", "value")

#: whole numbers below this are exact as JSON text (``3.0``), whatever parses it
_JSON_EXACT = 1e15

#: tables whose keys and indexes a bulk load on PostgreSQL builds once, not per row
BULK_TABLES = ("administration", "item_response", "scale_score")


class BulkWriter:
    """Plain SQL and bulk loads through one DBAPI connection; ``?`` placeholders on every backend."""

    def __init__(self, connection: Any, dialect: str):
        self.connection = connection
        self.dialect = dialect

    @classmethod
    def of(cls, session) -> BulkWriter:
        """The driver connection under a SQLAlchemy session (its transaction)."""
        return cls(*dbapi_of(session))

    @property
    def postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        cursor = self.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def execute(self, sql: str, *params) -> None:
        with self.cursor() as cursor:
            cursor.execute(driver_sql(sql, self.dialect), params)

    def rows(self, sql: str, *params) -> list[tuple]:
        with self.cursor() as cursor:
            cursor.execute(driver_sql(sql, self.dialect), params)
            return cursor.fetchall()

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Append ``rows`` (tuples in ``columns`` order, None for NULL) to ``table``."""
        names = ", ".join(columns)
        with self.cursor() as cursor:
            if self.postgresql:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks(len(columns))})", rows
                )

    def date(self, ordinal: int):
        """A date ordinal (0 = none) as this backend's date parameter."""
        if ordinal <= 0:
            return None
        day = dt.date.fromordinal(ordinal)
        return day if self.postgresql else day.isoformat()

    # -- the import's tables -----------------------------------------------------

    def insert_administrations(
        self,
        participant: list[int],
        wave: list[int],
        instrument_id: int,
        version_id: int,
        completed: list[int],
        batch_id: int,
    ) -> np.ndarray:
        """Insert administrations of one instrument version (``completed``: date ordinals, 0 = none); their
        new ids, in the same order.

        SQLite: explicit ids from ``MAX(id) + 1``. PostgreSQL: ``COPY`` lets the
        sequence default number the rows in order; reading back this batch's
        ids for the instrument in id order gives them in that order.
        """
        n = len(participant)
        dates = {o: self.date(o) for o in set(completed)}
        columns = [
            participant,
            wave,
            [instrument_id] * n,
            [version_id] * n,
            [dates[o] for o in completed],
            [batch_id] * n,
        ]
        if self.postgresql:
            self.insert("administration", ADMINISTRATION_COLUMNS, zip(*columns, strict=True))
            ids = np.array(
                [
                    r[0]
                    for r in self.rows(
                        "SELECT id FROM administration WHERE import_batch_id = ? AND instrument_id = ? ORDER BY id",
                        batch_id,
                        instrument_id,
                    )
                ],
                dtype=np.int64,
            )
            if len(ids) != n:  # pragma: no cover - would be a bug, not a user error
                raise RuntimeError(
                    f"wrote {n} administrations of instrument {instrument_id} but read back {len(ids)}"
                )
            return ids
        first = self.rows("SELECT COALESCE(MAX(id), 0) FROM administration")[0][0] + 1
        # one statement over a JSON array of [participant, wave, completed] (integers and ISO dates, exact
        # as JSON): 100,000 rows took 0.62-0.68 s of CPU against 0.81-0.95 s for executemany
        with self.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO administration (id, {', '.join(ADMINISTRATION_COLUMNS)}) SELECT ? + key, "
                "json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?, ?, json_extract(value, '$[2]'), ? "
                "FROM json_each(?)",
                (
                    first,
                    instrument_id,
                    version_id,
                    batch_id,
                    json.dumps(list(zip(participant, wave, columns[4], strict=True))),
                ),
            )
        return np.arange(first, first + n, dtype=np.int64)

    def insert_items(self, ids: np.ndarray, values: np.ndarray) -> None:
        """One ``item_response`` row per item of each administration (``values``: n x K, NaN = unanswered,
        stored as NULL)."""
        if self.postgresql:
            with (
                self.cursor() as cursor,
                cursor.copy(
                    f"COPY item_response ({', '.join(ITEM_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.write(binary_item_rows(ids, values))
            return
        n, k = values.shape
        flat = values.ravel()
        missing = np.isnan(flat)
        answered = flat[~missing]
        consecutive = (
            n > 0 and int(ids[-1]) - int(ids[0]) == n - 1 and bool((np.diff(ids) == 1).all())
        )
        if consecutive and bool(
            (answered == np.trunc(answered)).all() & (np.abs(answered) < _JSON_EXACT).all()
        ):
            # Whole numbers (every Likert scale): one statement over a JSON array, the rows made by SQLite
            # itself. 1 M rows took 1.0-1.5 s of CPU against 2.5-2.9 s for executemany's per-row binding.
            # Whole numbers below 1e15 are exact as JSON integers (the REAL column stores them as
            # doubles); other values take executemany, which binds the exact doubles.
            with self.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO item_response (administration_id, item, value) "
                    "SELECT ? + key / ?, key % ? + 1, value FROM json_each(?)",
                    (int(ids[0]), k, k, _json_whole_numbers(flat, missing)),
                )
            return
        value_list = flat.tolist()
        for i in np.flatnonzero(missing).tolist():
            value_list[i] = None
        self.insert(
            "item_response",
            ITEM_COLUMNS,
            zip(
                np.repeat(ids, k).tolist(),
                np.tile(np.arange(1, k + 1), n).tolist(),
                value_list,
                strict=True,
            ),
        )

    def items_of(self, admin_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(administration_id, item, value)`` arrays of the given administrations, in one query.

        PostgreSQL takes the ids as an array, SQLite as a JSON list
        (``json_each``), so there is no parameter limit to chunk around.
        """
        ids = [int(i) for i in admin_ids]
        select = "SELECT administration_id, item, value FROM item_response WHERE administration_id "
        if self.postgresql:
            rows = self.rows(select + "= ANY(?)", ids)
        else:
            rows = self.rows(select + "IN (SELECT value FROM json_each(?))", json.dumps(ids))
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
        a, i, v = zip(*rows, strict=True)
        return (
            np.array(a, dtype=np.int64),
            np.array(i, dtype=np.int64),
            np.array([np.nan if x is None else x for x in v], dtype=np.float64),
        )

    @contextmanager
    def bulk_load(
        self, new_values: int, *, only_new: bool, min_values: int, min_growth: float
    ) -> Iterator[None]:
        """On PostgreSQL, check and index a large load once, after its rows are written, not row by row.

        Two per-row costs of ``COPY`` dominate a large import. Each row runs
        PostgreSQL's foreign-key trigger: profiled at 10,000 participants x 10
        instruments x 10 items, 2.3 s of a 4.4 s import waited on the 100,000
        administrations' five keys, and COPY of 1 M item rows took 16 s against
        4.4 s without their key. And each row is inserted into every index:
        COPY of 1 M item rows into a table with its primary key took 2.23 s,
        into the bare table 0.53 s, and building the key afterwards 0.45 s.

        So, for a load of at least ``min_values`` values that is at least
        ``min_growth`` times what is stored, the foreign keys of
        :data:`BULK_TABLES` are dropped inside the import's transaction and,
        when the import only adds rows (``only_new``; updating rows looks them
        up through the keys), their primary keys, unique constraints and
        indexes too. All are added back, with the definitions PostgreSQL
        reports for them, after the rows are written: building a key or index
        and checking a foreign key each read the table once, so the load stays
        linear in its own size. A duplicate written meanwhile by another import
        fails the unique constraint as it is rebuilt (the import is refused as
        a conflict, like a per-row check would). Readers of these tables wait
        until the import commits (the ``ALTER`` locks them); a refused
        ``ALTER`` (not the tables' owner) falls back to the per-row work.
        Either way the keys hold when the transaction commits: it cannot commit
        without them. SQLite checks its foreign keys cheaply: nothing changes.
        """
        if not self.postgresql or new_values < min_values:
            yield
            return
        stored = float(
            self.rows(
                "SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = 'item_response'::regclass"
            )[0][0]
        )
        if new_values < min_growth * stored:
            yield
            return
        tables = list(BULK_TABLES)
        constraints = [
            row[:3]
            for row in self.rows(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
                "WHERE contype IN ('f', 'p', 'u') AND conrelid = ANY(?::regclass[]) "
                "ORDER BY contype <> 'f', conrelid::regclass::text, conname",
                tables,
            )
            if only_new or row[3] == "f"
        ]
        indexes = []
        if only_new:  # indexes that no constraint owns, as CREATE INDEX statements
            indexes = self.rows(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = ANY(?::regclass[]) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                tables,
            )
        with self.cursor() as cursor:
            cursor.execute("SAVEPOINT tracker_bulk")
            try:
                for table, name, _ in constraints:  # keys first
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                for name, _ in indexes:
                    cursor.execute(f"DROP INDEX {name}")
            except Exception:  # not the owner, or a lock not granted: keep the per-row work
                cursor.execute("ROLLBACK TO SAVEPOINT tracker_bulk")
                yield
                return
            yield
            for table, name, definition in reversed(
                constraints
            ):  # keys last: they need the primary keys
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for _, definition in indexes:
                cursor.execute(definition)
            cursor.execute("RELEASE SAVEPOINT tracker_bulk")


def _json_whole_numbers(flat: np.ndarray, missing: np.ndarray) -> str:
    """A JSON array of whole numbers (``missing``: null), built from the few distinct values' texts:
    ``json.dumps`` of a million floats took 0.3 s, this 0.06 s."""
    distinct = np.unique(flat[~missing])
    texts = np.array([str(int(v)) for v in distinct.tolist()] + ["null"], dtype=object)
    codes = np.where(missing, len(distinct), np.searchsorted(distinct, np.where(missing, 0, flat)))
    return "[" + ",".join(texts[codes].tolist()) + "]"


#: PostgreSQL's binary COPY: signature, flags, header extension length; and the end-of-data marker
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"
# a row (integer, integer, double precision): field count, then each field's byte length and bytes,
# big-endian; a NULL value is the length -1 and no bytes
_ITEM_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("id_len", ">i4"),
        ("id", ">i4"),
        ("item_len", ">i4"),
        ("item", ">i4"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)
_ITEM_ROW_NULL = np.dtype(_ITEM_ROW.descr[:-1])


def binary_item_rows(ids: np.ndarray, values: np.ndarray) -> bytes:
    """``COPY item_response (administration_id, item, value) FROM STDIN (FORMAT BINARY)`` data.

    Built with numpy, not a Python tuple per row: with the table's keys set
    aside (:meth:`BulkWriter.bulk_load`) the server took 0.53 s for 1 M rows while
    psycopg's ``write_row`` spent about 2 s building them. The values go as
    the exact IEEE doubles (no text round trip); NaN (unanswered) as NULL.
    Rows with a NULL value come after the others: a table has no row order.
    """
    n, k = values.shape
    if len(ids) and (
        int(ids.max()) > 2**31 - 1 or int(ids.min()) < 1
    ):  # the columns are PostgreSQL integers
        raise RuntimeError(
            f"administration ids {int(ids.min())}..{int(ids.max())} do not fit an integer column"
        )
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


# -- errors ---------------------------------------------------------------------------

#: the import's words for a unique key another import took meanwhile
IMPORT_CONFLICT = (
    "another import wrote responses for the same participants, waves and instruments while this one "
    "was running ({detail}); nothing was written. Run the import again: values already stored are "
    "compared, identical ones skipped and differences listed"
)


def translate_errors():
    """:func:`tracker.db.engine.translate_errors` (the one database-error translator) with the
    import's own words for a lost race."""
    from tracker.db.engine import translate_errors as db_translate_errors

    return db_translate_errors(conflict=IMPORT_CONFLICT)
