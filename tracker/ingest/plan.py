"""Incoming administrations against stored ones: what is new, what would change.

An administration in the file is compared with the stored one for the same
(participant, wave, instrument):

* not stored -> **new**: written with all its items (unanswered ones as NULL);
* stored with the same item values -> **unchanged**, nothing written (a
  completion date missing from the file leaves the stored one alone);
* any item value or the completion date differs -> **changed**: refused
  unless ``update``; with ``update`` the differing values are overwritten.

Only the items the file states are compared (``Block.given``): an item with
no row in a long file, or no column in a wide one, or a cell that broke a
rule, never changes a stored value. A new administration without a single
answered item (a long file's rows that only clear) is dropped.

Stored administrations that the file does not mention are left alone: an
import adds and corrects, it never deletes. Items outside the current
definition's ``1..K`` (from an older version) are never touched.

Checks that need the stored state run here too, on what would be written
only: a withdrawn participant's new or changed answers are refused unless
completed on or before the withdrawal date (so a cumulative export that still
holds their earlier answers imports cleanly); warnings for completion dates
outside the wave's window and for straight-lining.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db.bulk import BulkWriter
from tracker.db.models import Administration
from tracker.errors import Problem
from tracker.ingest.block import Block
from tracker.ingest.cells import Problems, fmt_value, iso
from tracker.ingest.context import StudyContext

STRAIGHT_LINING_MIN_ITEMS = 3


@dataclass
class BlockPlan:
    """One block compared with the store.

    Per administration (``n``): ``existing`` (stored id, -1 = new),
    ``stored_completed`` (ordinal, 0 = none), ``completed_changed`` and
    ``slot`` (its row in the ``stored_*`` arrays, -1 = new). The item-level
    arrays cover stored administrations only (``m`` rows), so that a fresh
    import allocates nothing per item beyond the incoming values.
    """

    block: Block
    existing: np.ndarray
    stored_completed: np.ndarray
    completed_changed: np.ndarray
    slot: np.ndarray
    stored_values: np.ndarray  # (m, K) NaN where unanswered or not stored
    stored_present: np.ndarray  # (m, K) a stored row exists for the item
    cell_changed: np.ndarray  # (m, K)

    @property
    def new(self) -> np.ndarray:
        return self.existing < 0

    @property
    def changed(self) -> np.ndarray:
        out = self.completed_changed.copy()
        matched = self.slot >= 0
        out[matched] |= self.cell_changed.any(axis=1)[self.slot[matched]]
        return out

    @property
    def to_write(self) -> np.ndarray:
        return self.new | self.changed

    @property
    def values_changed(self) -> int:
        return int(self.cell_changed.sum())

    def changed_items(self, a: int) -> list[int]:
        """0-based item indices whose value changes in administration ``a``."""
        return [] if self.slot[a] < 0 else np.flatnonzero(self.cell_changed[self.slot[a]]).tolist()

    def stored_value(self, a: int, k: int) -> float:
        return float(self.stored_values[self.slot[a], k])

    def stored_row(self, a: int, k: int) -> bool:
        return bool(self.stored_present[self.slot[a], k])


def plan_blocks(session: Session, blocks: list[Block]) -> list[BlockPlan]:
    plans = [_plan(session, b) for b in blocks]
    out = []
    for plan in plans:
        # a new administration without one answered item (a long file's rows that only clear) is not one
        empty_new = plan.new & np.isnan(plan.block.values).all(axis=1)
        if empty_new.any():
            block = plan.block.take(~empty_new)
            if not len(block):
                continue
            plan = _plan(session, block)
        out.append(plan)
    return out


def _plan(session: Session, block: Block) -> BlockPlan:
    n, k = block.values.shape
    waves = sorted({int(w) for w in np.unique(block.wave)})
    stored = session.execute(
        select(
            Administration.id,
            Administration.participant_id,
            Administration.wave_id,
            Administration.completed_on,
        ).where(
            Administration.instrument_id == block.instrument.id, Administration.wave_id.in_(waves)
        )
    ).all()
    existing = np.full(n, -1, dtype=np.int64)
    stored_completed = np.zeros(n, dtype=np.int64)
    if stored:
        keys = pd.MultiIndex.from_arrays([[r[1] for r in stored], [r[2] for r in stored]])
        where = keys.get_indexer(pd.MultiIndex.from_arrays([block.participant, block.wave]))
        hit = where >= 0
        existing[hit] = np.array([stored[i][0] for i in where[hit]], dtype=np.int64)
        stored_completed[hit] = [
            stored[i][3].toordinal() if stored[i][3] else 0 for i in where[hit]
        ]
    matched = np.flatnonzero(existing >= 0)
    slot = np.full(n, -1, dtype=np.int64)
    slot[matched] = np.arange(len(matched))
    stored_values = np.full((len(matched), k), np.nan)
    stored_present = np.zeros((len(matched), k), dtype=bool)
    if len(matched):
        ids, items, values = fetch_items(session, existing[matched])
        found = pd.Index(existing[matched]).get_indexer(ids)
        inside = (items >= 1) & (items <= k) & (found >= 0)
        stored_values[found[inside], items[inside] - 1] = values[inside]
        stored_present[found[inside], items[inside] - 1] = True
    incoming = block.values[matched]
    cell_changed = ~((incoming == stored_values) | (np.isnan(incoming) & np.isnan(stored_values)))
    if block.given is not None:  # an item the file does not state is never changed
        cell_changed &= block.given[matched]
    completed_changed = (
        (existing >= 0) & (block.completed > 0) & (block.completed != stored_completed)
    )
    return BlockPlan(
        block,
        existing,
        stored_completed,
        completed_changed,
        slot,
        stored_values,
        stored_present,
        cell_changed,
    )


def fetch_items(
    session: Session, admin_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(administration_id, item, value)`` arrays of the given administrations, in one query."""
    return BulkWriter.of(session).items_of(admin_ids)


# -- what the plan means for people ------------------------------------------------


def changes(ctx: StudyContext, plans: list[BlockPlan]) -> list[tuple]:
    """``(participant, wave, instrument, item, old, new)`` for every value that would change;
    ``item`` is the item number, or ``"completed"`` for the completion date."""
    out = []
    for plan in plans:
        b = plan.block
        for a in np.flatnonzero(plan.changed):
            who = (
                ctx.code_of(b.participant[a]),
                ctx.wave_by_id[int(b.wave[a])].name,
                b.instrument.code,
            )
            if plan.completed_changed[a]:
                out.append((*who, "completed", iso(plan.stored_completed[a]), iso(b.completed[a])))
            for k in plan.changed_items(a):
                out.append(
                    (*who, k + 1, fmt_value(plan.stored_value(a, k)), fmt_value(b.values[a, k]))
                )
    return out


def change_problems(
    ctx: StudyContext, plans: list[BlockPlan], name: str, completed_column: str | None
) -> Problems:
    problems = Problems()
    for plan in plans:
        b = plan.block
        for a in np.flatnonzero(plan.changed):
            who = f"participant {ctx.code_of(b.participant[a])}, wave {ctx.wave_by_id[int(b.wave[a])].name}"
            if plan.completed_changed[a]:
                problems.add(
                    Problem(
                        "changed_value",
                        f"{who}, {b.instrument.code} completion date: stored "
                        f"{iso(plan.stored_completed[a]) or '(none)'}, the file says {iso(b.completed[a])}",
                        file=name,
                        row=int(b.rows[a]),
                        column=completed_column or "completed",
                        value=iso(b.completed[a]),
                    )
                )
            for k in plan.changed_items(a):
                row, column = b.locate(a, k)
                old, new = fmt_value(plan.stored_value(a, k)), fmt_value(b.values[a, k])
                problems.add(
                    Problem(
                        "changed_value",
                        f"{who}, {b.instrument.code} item {k + 1}: stored "
                        f"{'(unanswered)' if old is None else old} -> {'(unanswered)' if new is None else new}",
                        file=name,
                        row=row,
                        column=column,
                        value=new,
                    )
                )
    return problems


def withdrawn_problems(
    ctx: StudyContext, plans: list[BlockPlan], name: str, id_column: str
) -> Problems:
    problems = Problems()
    for plan in plans:
        b = plan.block
        pos = ctx.positions(b.participant)
        left = ctx.withdrawn[pos] & plan.to_write
        late = left & ((b.completed == 0) | (b.completed > ctx.withdrawn_on[pos]))
        for a in np.flatnonzero(late):
            when = iso(ctx.withdrawn_on[pos[a]])
            detail = (
                "this row has no completion date"
                if b.completed[a] == 0
                else f"completed {iso(b.completed[a])}"
            )
            problems.add(
                Problem(
                    "withdrawn_participant",
                    f"participant withdrew on {when}; only {b.instrument.code} answers completed on or before "
                    f"that date can be imported ({detail})",
                    file=name,
                    row=int(b.rows[a]),
                    column=id_column,
                    value=ctx.code_of(b.participant[a]),
                )
            )
    return problems


def soft_warnings(
    ctx: StudyContext,
    plans: list[BlockPlan],
    name: str,
    completed_column: str | None,
    id_column: str,
) -> list[Problem]:
    """Non-blocking warnings on what would be written: window and straight-lining."""
    out: list[Problem] = []
    for plan in plans:
        b = plan.block
        write = plan.to_write
        pos = ctx.positions(b.participant)
        start = ctx.cohort_start[pos]
        wave_ids = np.array(sorted(ctx.wave_by_id), dtype=np.int64)
        at = np.searchsorted(wave_ids, b.wave)
        day = np.array([ctx.wave_by_id[w].day for w in wave_ids.tolist()], dtype=np.int64)[at]
        window = np.array([ctx.wave_by_id[w].window for w in wave_ids.tolist()], dtype=np.int64)[at]
        target = start + day
        outside = write & (start > 0) & (b.completed > 0) & (np.abs(b.completed - target) > window)
        for a in np.flatnonzero(outside):
            wave = ctx.wave_by_id[int(b.wave[a])].name
            out.append(
                Problem(
                    "outside_window",
                    f"{b.instrument.code} completed {iso(b.completed[a])}, outside wave {wave}'s window "
                    f"{iso(target[a] - window[a])} to {iso(target[a] + window[a])} for this participant's cohort",
                    file=name,
                    row=int(b.rows[a]),
                    column=completed_column,
                    value=iso(b.completed[a]),
                )
            )
        values = b.values
        if values.shape[1] >= STRAIGHT_LINING_MIN_ITEMS:
            full = ~np.isnan(values).any(axis=1)
            flat = write & full & (values == values[:, :1]).all(axis=1)
            for a in np.flatnonzero(flat):
                out.append(
                    Problem(
                        "straight_lining",
                        f"every {b.instrument.code} item answered {fmt_value(values[a, 0])} (straight-lining?)",
                        file=name,
                        row=int(b.rows[a]),
                        column=id_column,
                        value=ctx.code_of(b.participant[a]),
                    )
                )
    out.sort(key=lambda p: p.row or 0)
    return out
