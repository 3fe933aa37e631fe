"""Which participant, wave and date each row of an import chunk belongs to.

A part of :class:`tracker.ingest.collect.Collector` (it mixes this class
in): each method takes the chunk's row numbers, its cells as an object array
and the rows still active, and returns one key per row (-1: a problem,
reported through ``self._problem`` with the file, row and column). The
collector's rules (module docstring of :mod:`tracker.ingest.collect`) apply.
"""

from __future__ import annotations

import numpy as np

from tracker.ingest.cells import unneutralise
from tracker.ingest.qualtrics import SKIP_REASONS


class RowKeys:
    """Row -> participant id, wave id, repeat instance, Qualtrics skip, completion date."""

    def _unnamed(self, rows: np.ndarray, arr: np.ndarray, active: np.ndarray) -> None:
        for col in self.layout.unnamed:
            if col in self.unnamed_reported:
                continue
            filled = np.flatnonzero(
                active & np.array([bool(v.strip()) for v in arr[:, col]], dtype=bool)
            )
            if len(filled):
                self.unnamed_reported.add(col)
                self._problem(
                    "no_header",
                    "value in a column without a header",
                    int(rows[filled[0]]),
                    col,
                    arr[filled[0], col],
                )

    def _participants(self, rows, arr, active) -> np.ndarray:
        ids = np.full(len(rows), -1, dtype=np.int64)
        col = self.layout.id_col
        cells = arr[
            :, col
        ].tolist()  # list access is several times faster than object-array scalars
        for i in np.flatnonzero(active).tolist():
            code = unneutralise(cells[i].strip())
            pid = self.ctx.id_by_code.get(code)
            if pid is not None:
                ids[i] = pid
            elif not code:
                self._problem("missing_participant", "no participant code", int(rows[i]), col)
            else:
                self._problem(
                    "unknown_participant",
                    "unknown participant; enrol it first "
                    "(tracker participant add CODE --cohort NAME)",
                    int(rows[i]),
                    col,
                    code,
                )
        return ids

    def _waves(self, rows, arr, active) -> tuple[np.ndarray, np.ndarray]:
        """Wave id per row (-1: a problem) and rows deliberately skipped (event mapped to no wave)."""
        ids = np.full(len(rows), -1, dtype=np.int64)
        skip = np.zeros(len(rows), dtype=bool)
        if self.fixed_wave_id is not None:
            ids[:] = self.fixed_wave_id
            return ids, skip
        layout = self.layout
        if layout.no_wave_source:
            for i in np.flatnonzero(active):
                self._problem(
                    "missing_wave",
                    f"no wave for this row: it is not a [repeat] row "
                    f"({layout.repeat_instrument}) and {layout.map_name} gives no wave or [events]; "
                    'set wave = "NAME" in the map or give --wave',
                    int(rows[i]),
                    None,
                )
            return ids, skip
        if layout.event_col is not None:
            col = layout.event_col
            for i in np.flatnonzero(active):
                event = arr[i, col].strip()
                if event not in self.event_map:
                    advice = (
                        f'add the line {event} = "WAVE" (or "skip") under [events] in {self.event_map_name}'
                        if self.event_map_name.endswith(".toml")
                        else "add a row 'event,wave' for it (an empty wave skips the event)"
                    )
                    self._problem(
                        "unmapped_event",
                        f"REDCap event not in the event map {self.event_map_name}; {advice}",
                        int(rows[i]),
                        col,
                        event,
                    )
                elif self.event_map[event] is None:
                    skip[i] = True
                else:
                    ids[i] = self.event_map[event]
            return ids, skip
        col = layout.wave_col
        cells = arr[:, col].tolist()
        for i in np.flatnonzero(active).tolist():
            name = unneutralise(cells[i].strip())
            wave = self.ctx.waves.get(name)
            if wave is not None:
                ids[i] = wave.id
            elif not name:
                self._problem("missing_wave", "no wave; fill the wave column", int(rows[i]), col)
            else:
                self._problem(
                    "unknown_wave",
                    f"unknown wave; waves: {self.ctx.wave_names()}",
                    int(rows[i]),
                    col,
                    name,
                )
        return ids, skip

    def _repeating(self, rows, arr, active) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the map's [repeat] instrument, and rows of other repeating instruments (skipped, counted)."""
        col = self.layout.repeat_instrument_col
        names = np.array([v.strip() for v in arr[:, col].tolist()], dtype=object)
        ours = (
            (names == self.layout.repeat_instrument)
            if self.layout.repeat_instrument
            else np.zeros(len(rows), bool)
        )
        other = (names != "") & ~ours
        skipped = int((other & active).sum())
        if skipped:
            self.repeat_skipped += skipped
            for name in sorted(set(names[other & active].tolist())):
                self.repeat_skipped_names.add(name)
        return ours, other

    def _repeat_waves(self, rows, arr, active) -> np.ndarray:
        col = self.layout.repeat_col
        ids = np.full(len(rows), -1, dtype=np.int64)
        for i in np.flatnonzero(active).tolist():
            instance = arr[i, col].strip()
            wid = self.layout.repeat_waves.get(int(instance)) if instance.isdigit() else None
            if wid is None:
                known = ", ".join(str(k) for k in sorted(self.layout.repeat_waves))
                self._problem(
                    "repeat_instance",
                    f"repeat instance {instance or '(none)'} of "
                    f"{self.layout.repeat_instrument} has no wave in [repeat] waves of "
                    f'{self.layout.map_name} (instances mapped: {known}); add {instance or "N"} = "WAVE"',
                    int(rows[i]),
                    col,
                    instance,
                )
            else:
                ids[i] = wid
        return ids

    def _qualtrics_skip(self, arr: np.ndarray) -> np.ndarray:
        """Rows that are Qualtrics previews, tests or spam (:mod:`tracker.ingest.qualtrics` decides), counted."""
        header = self.layout.qualtrics

        def cells(col: int | None) -> list[str] | None:
            return None if col is None or col >= self.width else arr[:, col].tolist()

        reasons = np.array(
            header.skip_reasons(cells(header.status_column), cells(header.channel_column)),
            dtype=object,
        )
        for reason in SKIP_REASONS:
            self.qualtrics_skipped[reason] += int((reasons == reason).sum())
        return reasons != None  # noqa: E711 - elementwise on an object array

    def _dates(self, rows, arr, active, col: int | None) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.int64)
        if col is None:
            return out
        cells = arr[:, col].tolist()
        at = np.flatnonzero(active)
        parsed = [self.dates(cells[i]) for i in at.tolist()]
        for i, (_ordinal, reason) in zip(at.tolist(), parsed, strict=True):
            if reason:
                self._problem(
                    "invalid_date",
                    f"completion date is {reason}",
                    int(rows[i]),
                    col,
                    cells[i].strip(),
                )
        out[at] = [p[0] for p in parsed]
        return out
