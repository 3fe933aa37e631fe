"""The REDCap event map: a CSV ``redcap_event_name,wave`` saying which event is which wave.

REDCap's own event list export (``event_name,arm_num,unique_event_name,
custom_event_label,event_id``) with a ``wave`` column added is read too:
``unique_event_name`` is the event. An event mapped to an empty wave (or
``skip``) is skipped on purpose (a screening event, say). Every problem in
the map is reported at once, like an import's.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tracker.errors import Problem, TrackerError, ValidationError
from tracker.ingest.context import StudyContext
from tracker.ingest.source import inspect_file


def load_event_map(path: str | Path, ctx: StudyContext) -> tuple[dict[str, int | None], str]:
    info = inspect_file(path, text=True)
    name = info.name
    text = info.path.read_text(encoding="utf-8-sig")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise TrackerError(f"{name} cannot be read as CSV: {exc}") from None
    header = [c.strip().lower() for c in records[0]] if records else []
    if header == ["redcap_event_name", "wave"]:
        event_col, event_name = 0, "redcap_event_name"
    elif "unique_event_name" in header and "wave" in header and len(set(header)) == len(header):
        event_col, event_name = (
            header.index("unique_event_name"),
            "unique_event_name",
        )  # REDCap's event list
    else:
        raise TrackerError(
            f"{name}: an event map has the header 'redcap_event_name,wave' and one row per event "
            "(or is REDCap's event list export, event_name,arm_num,unique_event_name,... with a "
            "'wave' column added)"
        )
    wave_col = header.index("wave")
    width = len(header)
    mapping: dict[str, int | None] = {}
    first: dict[str, int] = {}
    problems = []
    for row, rec in enumerate(records[1:], start=2):
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != width:
            problems.append(
                Problem(
                    "wrong_field_count",
                    f"has {len(rec)} fields, the header has {width}",
                    file=name,
                    row=row,
                )
            )
            continue
        event, wave = rec[event_col].strip(), rec[wave_col].strip()
        if wave.lower() == "skip":
            wave = ""
        if not event:
            problems.append(
                Problem("missing_event", "no event name", file=name, row=row, column=event_name)
            )
        elif event in first:
            problems.append(
                Problem(
                    "duplicate_event",
                    f"event already mapped in row {first[event]}",
                    file=name,
                    row=row,
                    column=event_name,
                    value=event,
                )
            )
        elif wave and wave not in ctx.waves:
            problems.append(
                Problem(
                    "unknown_wave",
                    f"unknown wave; waves: {ctx.wave_names()}",
                    file=name,
                    row=row,
                    column="wave",
                    value=wave,
                )
            )
        else:
            first[event] = row
            mapping[event] = ctx.waves[wave].id if wave else None
    if problems:
        raise ValidationError(
            problems,
            f"{name}: the event map has {len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}; nothing was written",
        )
    if not mapping:
        raise TrackerError(f"{name} maps no event; add rows 'redcap_event_name,wave'")
    return mapping, name
