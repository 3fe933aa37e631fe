"""Chunks of records -> per-instrument blocks of administrations, with every problem found.

The text of a chunk is dropped as soon as it has been checked: what is kept
is compact numpy arrays (ids, date ordinals and an ``administrations x items``
float matrix per instrument, 8 bytes an item), so memory grows with the
number of answers, never with a second copy of the file.

Rules
-----
* A row (wide) or an administration (long) exists for an instrument when at
  least one of its items is non-empty; an all-empty block is "not
  administered". A row with no answered item at all is ignored entirely, its
  other cells unchecked (Qualtrics exports rows of people who opened the
  survey and left).
* Qualtrics: a survey preview, test response or spam (Status or
  DistributionChannel, as :meth:`tracker.ingest.qualtrics.QualtricsHeader.skip_reasons`
  decides; no other list of them exists) is skipped before any of its cells
  is checked, answered or not, and counted; :meth:`Collector.finish` adds
  the one warning that counts them, and the importer refuses a file whose
  every row was skipped with :meth:`~tracker.ingest.qualtrics.SkipCounts.message`.
* A missing item is an empty cell. In a long file an empty value is an
  explicit "unanswered" (it clears a stored answer with ``--update``) while
  an item with no row at all says nothing: a new administration stores it
  as unanswered, a stored one keeps its value. Likewise in a wide file for
  an item whose column the file lacks. Only empty cells are missing: ``NA``
  or ``-99`` in an item cell is an error (a map's ``missing`` names codes).
* Participant codes and wave names are trimmed; a ``'`` that an export put
  before a formula-like text (``'=...``) is removed again.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from tracker.errors import Problem
from tracker.ingest.block import Block, Parts
from tracker.ingest.cells import CheckedCells, DateCache, Problems, iso, value_problem
from tracker.ingest.context import InstrumentInfo, StudyContext
from tracker.ingest.layout import Layout
from tracker.ingest.qualtrics import SKIP_REASONS, SkipCounts
from tracker.ingest.rowkeys import RowKeys


class Collector(RowKeys):
    """Feed it chunks of records with :meth:`add`; then :meth:`blocks`."""

    def __init__(
        self,
        layout: Layout,
        ctx: StudyContext,
        problems: Problems,
        warnings: list[Problem],
        *,
        name: str,
        fixed_wave_id: int | None,
        event_map: dict[str, int | None] | None,
        event_map_name: str | None,
    ):
        self.layout = layout
        self.ctx = ctx
        self.problems = problems
        self.warnings = warnings
        self.name = name
        self.fixed_wave_id = fixed_wave_id
        self.event_map = event_map
        self.event_map_name = event_map_name
        self.width = len(layout.header)
        self.rows_read = 0
        self.dates = DateCache()
        self.parts: dict[str, Parts] = {}
        self.unnamed_reported: set[int] = set()
        self.repeat_skipped = 0
        self.repeat_skipped_names: set[str] = set()
        self.qualtrics_skipped = dict.fromkeys(
            SKIP_REASONS, 0
        )  # Qualtrics previews, tests, spam: rows skipped

    # -- helpers ---------------------------------------------------------------

    def _problem(
        self, rule: str, message: str, row: int, col: int | None, value: object = None
    ) -> None:
        column = None if col is None else (self.layout.header[col] or f"#{col + 1}")
        self.problems.add(
            Problem(rule, message, file=self.name, row=row, column=column, value=value)
        )

    def _frame(self, records) -> tuple[np.ndarray, np.ndarray]:
        """Rows with the header's width as an object array; others reported or skipped."""
        rows, cells = [], []
        for row, rec in records:
            if not any(c.strip() for c in rec):
                continue  # a blank line or row: not data
            if len(rec) != self.width:
                if self.layout.fmt == "xlsx":  # spreadsheets end rows early; trailing cells
                    extra = [c for c in rec[self.width :] if c.strip()]
                    if extra:
                        self._problem(
                            "no_header", "value in a column without a header", row, None, extra[0]
                        )
                        continue
                    rec = (rec + [""] * self.width)[: self.width]
                else:
                    self._problem(
                        "wrong_field_count",
                        f"has {len(rec)} fields, the header has {self.width}",
                        row,
                        None,
                    )
                    continue
            rows.append(row)
            cells.append(rec)
        self.rows_read += len(rows)
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty((0, self.width), dtype=object)
        arr = np.empty((len(cells), self.width), dtype=object)
        arr[:] = cells
        return np.asarray(rows, dtype=np.int64), arr

    def skip_counts(self) -> SkipCounts:
        """The data rows read and the Qualtrics responses skipped among them, by reason."""
        return SkipCounts(
            rows=self.rows_read, skipped={r: n for r, n in self.qualtrics_skipped.items() if n}
        )

    def finish(self) -> None:
        """Warnings that summarise the whole file (call once, after the last chunk)."""
        counts = self.skip_counts()
        if counts.n_skipped and not counts.all_skipped:
            self.warnings.append(Problem("responses_skipped", counts.summary(), file=self.name))
        if self.repeat_skipped:
            names = ", ".join(sorted(self.repeat_skipped_names))
            self.warnings.append(
                Problem(
                    "repeat_skipped",
                    f"{self.repeat_skipped:,} row{'s' if self.repeat_skipped != 1 else ''} of repeating "
                    f"instruments the map does not name ({names}) skipped; name one under [repeat] to import it",
                    file=self.name,
                )
            )

    # -- wide family -------------------------------------------------------------

    def add(self, records) -> None:
        if self.layout.fmt == "long":
            self._add_long(records)
        else:
            self._add_wide(records)

    def _add_wide(self, records) -> None:
        layout = self.layout
        rows, arr = self._frame(records)
        n = len(rows)
        if n == 0:
            return
        checked: list[CheckedCells] = []
        answered = np.zeros(n, dtype=bool)
        for block in layout.blocks:
            present = block.cols[block.cols >= 0]
            texts = arr[:, present]
            if block.rules is not None:  # labels, missing codes, recodes: once per distinct text
                texts = block.rules.translate(texts)
            cells = CheckedCells(
                texts, block.instrument.definition, items=np.flatnonzero(block.cols >= 0) + 1
            )
            checked.append(cells)
            answered |= cells.nonempty.any(axis=1)
        skip = np.zeros(n, dtype=bool)
        if layout.qualtrics is not None:
            skip = self._qualtrics_skip(arr)
        active = answered & ~skip
        repeat_rows = np.zeros(n, dtype=bool)
        if layout.map_name is not None and layout.repeat_instrument_col is not None:
            repeat_rows, other = self._repeating(rows, arr, active)
            active &= ~other
        wids, skipped = self._waves(rows, arr, active & ~repeat_rows)
        if repeat_rows.any():
            wids = np.where(repeat_rows, self._repeat_waves(rows, arr, active & repeat_rows), wids)
        active &= ~skipped
        if layout.repeat_col is not None and layout.map_name is None:
            col = layout.repeat_col
            for i in np.flatnonzero(active):
                instance = arr[i, col].strip()
                if instance not in ("", "1"):
                    self._problem(
                        "repeat_instance",
                        "repeat instance other than 1: the tracker stores one administration "
                        "per participant, wave and instrument; map repeated data to waves of their own",
                        int(rows[i]),
                        col,
                        instance,
                    )
                    active[i] = False
        self._unnamed(rows, arr, active)
        pids = self._participants(rows, arr, active)
        completed = self._dates(rows, arr, active, layout.completed_col)
        valid_row = active & (pids >= 0) & (wids >= 0) & (completed >= 0)
        for block, cells in zip(layout.blocks, checked, strict=True):
            present = np.flatnonzero(block.cols >= 0)
            for i, j in zip(*np.nonzero(cells.bad & active[:, None]), strict=True):
                col = int(block.cols[present[j]])
                rule = cells.rule(i, j)
                problem = value_problem(
                    rule,
                    block.instrument.definition,
                    text=arr[i, col],
                    item=cells.item(i, j),
                    file=self.name,
                    row=int(rows[i]),
                    column=layout.header[col],
                )
                advice = block.rules.advice(rule) if block.rules is not None else ""
                self.problems.add(
                    replace(problem, message=problem.message + advice) if advice else problem
                )
            code = block.instrument.code
            own_date = completed
            if code in layout.completed_by_code:
                own = self._dates(
                    rows, arr, active & cells.nonempty.any(axis=1), layout.completed_by_code[code]
                )
                own_date = np.where(own != 0, own, completed)
            keep = np.flatnonzero(valid_row & cells.nonempty.any(axis=1) & (own_date >= 0))
            if not len(keep):
                continue
            values = np.full((len(keep), block.instrument.items), np.nan)
            values[:, present] = cells.values[keep]
            arrays = {
                "rows": rows[keep],
                "participant": pids[keep],
                "wave": wids[keep],
                "completed": own_date[keep],
                "values": values,
            }
            if len(present) < block.instrument.items or cells.bad.any():
                # an item column the file lacks, or a bad cell, says nothing about the stored answer
                given = np.zeros((len(keep), block.instrument.items), dtype=bool)
                given[:, present] = ~cells.bad[keep]
                arrays["given"] = given
            self.parts.setdefault(code, Parts()).add(**arrays)

    # -- long ----------------------------------------------------------------------

    def _add_long(self, records) -> None:
        layout = self.layout
        rows, arr = self._frame(records)
        n = len(rows)
        if n == 0:
            return
        # every row counts, an empty value too: it clears a stored answer (an absent row leaves it alone)
        active = np.ones(n, dtype=bool)
        wids, _ = self._waves(rows, arr, active)
        self._unnamed(rows, arr, active)
        pids = self._participants(rows, arr, active)
        completed = self._dates(rows, arr, active, layout.completed_col)
        codes = np.array([v.strip().lower() for v in arr[:, layout.instrument_col]], dtype=object)
        for i in np.flatnonzero(active):
            if codes[i] not in self.ctx.instruments:
                code = arr[i, layout.instrument_col].strip()
                message = (
                    f"unknown instrument: add it to the study first with `tracker instrument add {code}`"
                    if code
                    else "no instrument"
                )
                self._problem(
                    "unknown_instrument" if code else "missing_instrument",
                    message,
                    int(rows[i]),
                    layout.instrument_col,
                    code or None,
                )
        valid_row = active & (pids >= 0) & (wids >= 0) & (completed >= 0)
        for code, info in self.ctx.instruments.items():
            sel = np.flatnonzero(active & (codes == code))
            if not len(sel):
                continue
            items = np.array(
                [_item_number(arr[i, layout.item_col], code) for i in sel], dtype=np.int64
            )
            bad_item = (items < 1) | (items > info.items)
            for i in sel[bad_item]:
                self.problems.add(
                    value_problem(
                        "unknown_item",
                        info.definition,
                        text=arr[i, layout.item_col],
                        file=self.name,
                        row=int(rows[i]),
                        column=layout.header[layout.item_col],
                    )
                )
            cells = CheckedCells(
                arr[sel, layout.value_col][:, None], info.definition, items=items[:, None]
            )
            for j in np.flatnonzero(cells.bad[:, 0]):
                i = sel[j]
                self.problems.add(
                    value_problem(
                        cells.rule(j, 0),
                        info.definition,
                        text=arr[i, layout.value_col],
                        item=cells.item(j, 0) if not bad_item[j] else None,
                        file=self.name,
                        row=int(rows[i]),
                        column=layout.header[layout.value_col],
                    )
                )
            ok = valid_row[sel] & ~bad_item
            keep = sel[ok]
            self.parts.setdefault(code, Parts()).add(
                rows=rows[keep],
                participant=pids[keep],
                wave=wids[keep],
                completed=completed[keep],
                item=items[ok],
                value=cells.values[ok, 0],
                bad=cells.bad[ok, 0],
            )

    # -- the end ---------------------------------------------------------------------

    def blocks(self) -> list[Block]:
        """The incoming administrations, and duplicates within the file reported (call once: the parts are released)."""
        out = []
        for code in sorted(self.parts):
            info = self.ctx.instruments[code]
            parts = self.parts.pop(
                code
            )  # released as soon as concatenated: never two copies of every block
            if self.layout.fmt == "long":
                block = self._long_block(info, parts)
            else:
                values = parts.get("values", np.float64, info.items)
                block = Block(
                    info,
                    parts.get("rows", np.int64),
                    parts.get("participant", np.int64),
                    parts.get("wave", np.int64),
                    parts.get("completed", np.int64),
                    values,
                    columns=next(b.names for b in self.layout.blocks if b.instrument.code == code),
                    given=parts.given(),
                )
                self._duplicates(block)
            if len(block):
                out.append(block)
        return out

    def _describe(self, pid: int, wid: int, code: str) -> str:
        return f"participant {self.ctx.code_of(pid)}, wave {self.ctx.wave_by_id[wid].name}, {code}"

    def _duplicates(self, block: Block) -> None:
        frame = pd.DataFrame({"p": block.participant, "w": block.wave, "row": block.rows})
        dup = frame.duplicated(["p", "w"], keep="first").to_numpy()
        if not dup.any():
            return
        first = frame.groupby(["p", "w"], sort=False)["row"].transform("first").to_numpy()
        for a in np.flatnonzero(dup):
            self.problems.add(
                Problem(
                    "duplicate_administration",
                    f"{self._describe(block.participant[a], block.wave[a], block.instrument.code)} "
                    f"is already in row {first[a]}",
                    file=self.name,
                    row=int(block.rows[a]),
                    column=self.layout.id_name,
                    value=self.ctx.code_of(block.participant[a]),
                )
            )

    def _long_block(self, info: InstrumentInfo, parts: Parts) -> Block:
        rows = parts.get("rows", np.int64)
        frame = pd.DataFrame(
            {
                "p": parts.get("participant", np.int64),
                "w": parts.get("wave", np.int64),
                "item": parts.get("item", np.int64),
                "row": rows,
                "completed": parts.get("completed", np.int64),
            }
        )
        values = parts.get("value", np.float64)
        dup = frame.duplicated(["p", "w", "item"], keep="first").to_numpy()
        if dup.any():
            first = (
                frame.groupby(["p", "w", "item"], sort=False)["row"].transform("first").to_numpy()
            )
            for r in np.flatnonzero(dup):
                self.problems.add(
                    Problem(
                        "duplicate_row",
                        f"item {frame['item'].iat[r]} of {self._describe(frame['p'].iat[r], frame['w'].iat[r], info.code)} "
                        f"is already given in row {first[r]}",
                        file=self.name,
                        row=int(rows[r]),
                        column=self.layout.header[self.layout.item_col],
                    )
                )
        admin = frame.groupby(["p", "w"], sort=False).ngroup().to_numpy()
        n = int(admin.max()) + 1 if len(admin) else 0
        first_row = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_row, admin, rows)
        dated = frame["completed"].to_numpy() > 0
        completed = np.zeros(n, dtype=np.int64)
        first_date = (
            frame["completed"][dated].groupby(admin[dated]).first()
        )  # the first dated row wins
        completed[first_date.index.to_numpy()] = first_date.to_numpy()
        clash = dated & (frame["completed"].to_numpy() != completed[admin])
        for r in np.flatnonzero(clash):
            self.problems.add(
                Problem(
                    "conflicting_dates",
                    "completion date differs from another row of the same administration "
                    f"({self._describe(frame['p'].iat[r], frame['w'].iat[r], info.code)})",
                    file=self.name,
                    row=int(rows[r]),
                    column=self.layout.header[self.layout.completed_col],
                    value=iso(frame["completed"].iat[r]),
                )
            )
        matrix = np.full((n, info.items), np.nan)
        cell_rows = np.zeros((n, info.items), dtype=np.int64)
        given = np.zeros(
            (n, info.items), dtype=bool
        )  # an item with no row in the file is not a statement
        item_idx = frame["item"].to_numpy() - 1
        keep = ~dup
        matrix[admin[keep], item_idx[keep]] = values[keep]
        cell_rows[admin[keep], item_idx[keep]] = rows[keep]
        given[admin[keep], item_idx[keep]] = ~parts.get("bad", bool)[keep]
        pid = np.zeros(n, dtype=np.int64)
        wid = np.zeros(n, dtype=np.int64)
        pid[admin] = frame["p"].to_numpy()
        wid[admin] = frame["w"].to_numpy()
        order = np.argsort(first_row, kind="stable")
        return Block(
            info,
            first_row[order],
            pid[order],
            wid[order],
            completed[order],
            matrix[order],
            cell_rows=cell_rows[order],
            given=given[order],
        )


def _item_number(text: str, code: str) -> int:
    value = text.strip().lower()
    if value.startswith(code + "_"):
        value = value[len(code) + 1 :]
    return int(value) if value.isdigit() and value.isascii() and len(value) < 10 else 0
