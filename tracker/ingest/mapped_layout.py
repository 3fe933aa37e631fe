"""The layout of an import file under an import map (``--map``): the columns by the names the map gives.

The plain layouts (by the tracker's own column names) are :mod:`tracker.ingest.layout`,
whose module docstring says what each format holds; a map renames those columns
(:mod:`tracker.ingest.importmap`).
"""

from __future__ import annotations

import difflib

import numpy as np

from tracker.errors import Problem, TrackerError
from tracker.ingest.context import StudyContext
from tracker.ingest.importmap import DEFAULT_ID_COLUMNS, ImportMap
from tracker.ingest.layout import (
    ItemBlock,
    Layout,
    _duplicate_columns,
    _hint,
    _identifier_columns,
    _norm,
    _redcap_bookkeeping,
)
from tracker.ingest.qualtrics import is_metadata


def analyse_mapped(
    header: list[str],
    ctx: StudyContext,
    imap: ImportMap,
    *,
    fmt: str,
    name: str,
    fixed_wave: bool,
    events: dict[str, int | None] | None,
    id_column: str | None,
) -> tuple[Layout, list[Problem], list[Problem]]:
    """The layout of ``header`` under the import map ``imap`` (wide family: wide, xlsx, redcap, qualtrics).

    Columns are found by the names the map gives (case-insensitive, blanks
    trimmed). ``id_column`` (the command line's) wins over the map's. Every
    problem names the map key to change.
    """
    norms = [_norm(h) for h in header]
    shown = [h.strip() for h in header]
    located: list[tuple[int, Problem]] = []
    warnings: list[Problem] = []
    key_of = f"in {imap.name}"

    def bad(col: int, rule: str, message: str, column: str | None = None) -> None:
        located.append(
            (
                col,
                Problem(
                    rule,
                    message,
                    file=name,
                    row=1,
                    column=column or (shown[col] if col >= 0 else None) or f"#{col + 1}",
                ),
            )
        )

    seen, duplicates = _duplicate_columns(norms, shown, bad)
    never = {_norm(c) for c in imap.identifiers}

    wanted = id_column or imap.id_column
    if wanted:
        id_norm = _norm(wanted)
        if id_norm not in seen:
            hint = _hint(id_norm, [n for n in norms if n and n not in never])
            source = "--id-column" if id_column else f"id_column {key_of}"
            raise TrackerError(
                f"{name}: there is no column {wanted!r} for the participant code ({source}){hint}"
            )
    else:
        id_norm = next((c for c in DEFAULT_ID_COLUMNS if c in seen), "")
        if not id_norm:
            raise TrackerError(
                f"{name}: which column holds the participant code? none of "
                f"{', '.join(DEFAULT_ID_COLUMNS)} is in the file; set id_column {key_of}"
            )
    if id_norm in never:
        raise TrackerError(
            f"{name}: the participant code column {wanted!r} is listed under identifiers {key_of}; "
            "a column that is never read cannot hold the code"
        )
    layout = Layout(
        fmt=fmt,
        header=shown,
        id_col=seen[id_norm],
        id_name=shown[seen[id_norm]],
        map_name=imap.name,
    )
    used = {layout.id_col}

    if fmt == "redcap" and "redcap_event_name" in seen:
        layout.event_col = seen["redcap_event_name"]
        used.add(layout.event_col)
        if events is None:
            raise TrackerError(
                f"{name} has REDCap events (redcap_event_name): map each to a wave under [events] "
                f'{key_of} (event = "wave" or "skip"), or give --event-map FILE'
            )
        if fixed_wave:
            raise TrackerError(
                f"{name} has REDCap events: they are mapped to waves by [events] or --event-map; "
                "drop wave (--wave or the map's wave)"
            )
    elif events is not None:
        if fmt != "redcap":
            raise TrackerError(
                f'[events] and --event-map apply to REDCap exports; set format = "redcap" '
                f"{key_of} (or --layout redcap) for {name}"
            )
        raise TrackerError(
            f"{name} has no redcap_event_name column, so [events] or --event-map cannot apply; "
            'remove them, or use wave = "NAME"'
        )
    elif "wave" in seen and "wave" not in never and not fixed_wave:
        layout.wave_col = seen["wave"]
        used.add(layout.wave_col)
    elif not fixed_wave:
        if imap.repeat_instrument is None:
            raise TrackerError(
                f'{name}: which wave? set wave = "NAME" {key_of}, give --wave NAME, or add a '
                f"'wave' column (waves: {ctx.wave_names()})"
            )
        layout.no_wave_source = True
    if fmt == "redcap":
        for col, attr in (
            ("redcap_repeat_instance", "repeat_col"),
            ("redcap_repeat_instrument", "repeat_instrument_col"),
        ):
            if col in seen:
                setattr(layout, attr, seen[col])
                used.add(seen[col])
    if imap.repeat_instrument is not None:
        if layout.repeat_instrument_col is None or layout.repeat_col is None:
            raise TrackerError(
                f"{name}: [repeat] {key_of} needs the columns redcap_repeat_instrument and "
                "redcap_repeat_instance, which the file lacks"
            )
        layout.repeat_instrument = imap.repeat_instrument
        layout.repeat_waves = dict(imap.repeat_waves)

    named = {_norm(c) for e in imap.items for c in [*e.columns, e.completed or ""] if c} | {
        _norm(c) for c in (imap.completed, imap.id_column) if c
    }

    def column(label: str, key: str) -> int | None:
        n = _norm(label)
        if n in never:
            bad(
                -1,
                "import_map",
                f"{key} {key_of} names {label!r}, which is listed under identifiers",
                column=label,
            )
            return None
        if n not in seen:
            close = difflib.get_close_matches(
                n, [m for m in seen if m not in never and m not in named], n=1, cutoff=0.8
            )
            hint = f"; did you mean {shown[seen[close[0]]]!r}?" if close else ""
            bad(
                -1,
                "import_map",
                f"{key} {key_of} names the column {label!r}, which {name} does not have{hint}",
                column=label,
            )
            return None
        return seen[n]

    if imap.completed:
        layout.completed_col = column(imap.completed, "completed")
    elif fmt == "qualtrics":
        layout.completed_col = next(
            (seen[c] for c in ("enddate", "recordeddate") if c in seen), None
        )
    elif "completed" in seen:
        layout.completed_col = seen["completed"]
    if layout.completed_col is not None:
        used.add(layout.completed_col)

    for entry in imap.items:
        info = entry.instrument
        key = f"[[items]] {'pattern' if entry.from_pattern else 'columns'} for {info.code}"
        cols = np.full(info.items, -1, dtype=np.int64)
        for k, label in enumerate(entry.columns):
            if label:
                at = column(label, key)
                if at is not None:
                    cols[k] = at
                    used.add(at)
        if entry.completed:
            at = column(entry.completed, f"[[items]] completed for {info.code}")
            if at is not None:
                layout.completed_by_code[info.code] = at
                used.add(at)
        if (cols >= 0).any():
            names = [
                shown[c] if c >= 0 else f"{info.code}_{k + 1}" for k, c in enumerate(cols.tolist())
            ]
            layout.blocks.append(ItemBlock(info, cols, names, entry.rules))

    identifiers = _identifier_columns()
    skipped: list[str] = []
    for i, n in enumerate(norms):
        if i in used or i in duplicates or n in never:
            continue  # an identifier is never read: not even its name is echoed
        if not n:
            layout.unnamed.append(i)
        elif fmt == "redcap" and _redcap_bookkeeping(n):
            continue
        elif fmt == "qualtrics" and is_metadata(shown[i]):
            continue
        elif n in identifiers:
            bad(
                i,
                "direct_identifier",
                f"column {shown[i]!r} holds a direct identifier; list it under "
                f"identifiers {key_of} so that it is never read",
            )
        elif imap.other_columns == "ignore":
            skipped.append(shown[i])
        else:
            bad(
                i,
                "unknown_column",
                f"column {shown[i]!r} is not in the map {imap.name}: add it to an [[items]] "
                'table, list it under identifiers, or set other_columns = "ignore"',
            )
    if skipped:
        listed = ", ".join(skipped[:10]) + (
            f" and {len(skipped) - 10:,} more" if len(skipped) > 10 else ""
        )
        warnings.append(
            Problem(
                "other_columns",
                f"{len(skipped):,} column{'s' if len(skipped) != 1 else ''} not in "
                f'the map skipped (other_columns = "ignore"): {listed}',
                file=name,
                row=1,
            )
        )
    if not layout.blocks and not located:
        raise TrackerError(f"{name}: none of the [[items]] columns {key_of} is in the file")
    layout.blocks.sort(key=lambda b: b.instrument.code)
    return layout, [p for _, p in sorted(located, key=lambda cp: cp[0])], warnings
