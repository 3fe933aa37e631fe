"""Writing a validated plan, fast, inside the caller's transaction.

New administrations, their item responses and their measure scores go
through :class:`tracker.db.bulk.BulkWriter`, on the DBAPI connection under
the session, so they share the session's transaction and are committed or
rolled back with it (SQLite ``executemany``, PostgreSQL ``COPY``: the
differences live in :mod:`tracker.db.bulk`).

Item responses are written one row per item of the definition, unanswered
items as NULL, in slices of about :data:`WRITE_SLICE_VALUES` rows so that
the Python objects built for the driver stay bounded whatever the number of
items per instrument (a slice of 20,000 administrations of a 100-item scale
was 2 million tuples and a higher peak: BENCHMARKS.md, design figures).

Concurrent imports of the same (participant, wave, instrument) are arbitrated
by the table's unique constraint: the later one fails on it and is turned into
:class:`tracker.errors.Conflict` with a message saying what happened
(:func:`tracker.db.bulk.translate_errors`).

Each new administration's measure scores go to ``scale_score`` in the same
transaction, scored from the same values matrix (cheap: BENCHMARKS.md, design figures);
changed administrations are rescored from their stored items afterwards.

Changed administrations (``update``) are rare and small: they go through
SQLAlchemy Core, with one audit event per administration holding the old and
new values of the items that changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from tracker.db.bulk import BulkWriter
from tracker.db.models import Administration, AuditEvent, ItemResponse
from tracker.db.scores import insert_scores
from tracker.ingest.cells import fmt_value, iso
from tracker.ingest.context import StudyContext
from tracker.ingest.plan import BlockPlan
from tracker.ingest.rescore import rescore
from tracker.scoring.engine import score_matrix_frame
from tracker.study import audit

WRITE_SLICE_VALUES = 200_000

#: a load is bulk (PostgreSQL: keys and indexes built once, after the rows) from this many new item values ...
BULK_MIN_VALUES = 200_000
#: ... when it at least doubles (1 = as many new values as stored) the item_response table
BULK_MIN_GROWTH = 1.0


def write_plan(
    session: Session,
    ctx: StudyContext,
    plans: list[BlockPlan],
    *,
    batch_id: int,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write new and changed administrations; ``progress(n)`` after each slice of n administrations."""
    bulk = BulkWriter.of(session)
    new_values = sum(int(plan.new.sum()) * plan.block.instrument.items for plan in plans)
    only_new = not any(plan.changed.any() for plan in plans)
    with bulk.bulk_load(
        new_values, only_new=only_new, min_values=BULK_MIN_VALUES, min_growth=BULK_MIN_GROWTH
    ):
        _write_plans(session, ctx, plans, batch_id, progress, bulk)


def _write_plans(session, ctx, plans, batch_id, progress, bulk: BulkWriter) -> None:
    for plan in plans:
        new = np.flatnonzero(plan.new)
        block = plan.block
        info = block.instrument
        if len(new):
            k = info.items
            ids = bulk.insert_administrations(
                block.participant[new].tolist(),
                block.wave[new].tolist(),
                info.id,
                info.version_id,
                block.completed[new].tolist(),
                batch_id,
            )
            step = max(1, WRITE_SLICE_VALUES // k)
            for start in range(0, len(new), step):
                part = slice(start, start + step)
                values = block.values[new[part]]
                _insert_items(bulk, ids[part], values)
                insert_scores(bulk, score_matrix_frame(ids[part], values, info.definition))
                if progress:
                    progress(len(ids[part]))
        changed = np.flatnonzero(plan.changed)
        if len(changed):
            _update_changed(session, ctx, plan, changed, batch_id)
            rescore(bulk, [int(plan.existing[a]) for a in changed.tolist()], info.definition)
            if progress:
                progress(len(changed))


def _insert_items(bulk: BulkWriter, ids: np.ndarray, values: np.ndarray) -> None:
    bulk.insert_items(ids, values)


def _update_changed(
    session: Session, ctx: StudyContext, plan: BlockPlan, rows: np.ndarray, batch_id: int
) -> None:
    block = plan.block
    connection = session.connection()
    admin = Administration.__table__
    item_table = ItemResponse.__table__
    admin_updates, value_updates, value_inserts, events = [], [], [], []
    for a in rows.tolist():
        aid = int(plan.existing[a])
        before: dict = {}
        after: dict = {}
        completed = plan.stored_completed[a]
        if plan.completed_changed[a]:
            before["completed"], after["completed"] = (
                iso(plan.stored_completed[a]),
                iso(block.completed[a]),
            )
            completed = block.completed[a]
        admin_updates.append(
            {"aid": aid, "completed": dt.date.fromordinal(int(completed)) if completed else None}
        )
        for k in plan.changed_items(a):
            new = fmt_value(block.values[a, k])
            before[f"{block.instrument.code}_{k + 1}"] = fmt_value(plan.stored_value(a, k))
            after[f"{block.instrument.code}_{k + 1}"] = new
            params = {"aid": aid, "n": k + 1, "v": None if new is None else float(new)}
            (value_updates if plan.stored_row(a, k) else value_inserts).append(params)
        key = f"{ctx.code_of(block.participant[a])}/{ctx.wave_by_id[int(block.wave[a])].name}/{block.instrument.code}"
        events.append(
            {
                "study_id": ctx.study.id,
                "os_user": audit.os_user(),
                "action": "update",
                "entity": "administration",
                "entity_key": key,
                "before": audit.jsonable(before),
                "after": audit.jsonable(after),
                "import_batch_id": batch_id,
            }
        )
    connection.execute(
        update(admin)
        .where(admin.c.id == bindparam("aid"))
        .values(completed_on=bindparam("completed"), import_batch_id=batch_id),
        admin_updates,
    )
    if value_updates:
        connection.execute(
            update(item_table)
            .where(
                item_table.c.administration_id == bindparam("aid"),
                item_table.c.item == bindparam("n"),
            )
            .values(value=bindparam("v")),
            value_updates,
        )
    if value_inserts:
        connection.execute(
            insert(item_table).values(
                administration_id=bindparam("aid"), item=bindparam("n"), value=bindparam("v")
            ),
            value_inserts,
        )
    connection.execute(insert(AuditEvent.__table__), events)
