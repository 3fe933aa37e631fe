"""``tracker map draft``: a starting import map from a file's header.

Every column of the file appears in the draft exactly once, as a quoted TOML
string: in an ``[[items]]`` block, as ``id_column`` or ``completed``, in
``identifiers``, or in the commented list under ``other_columns = "ignore"``
(with why it is there). Comments mark every guess.

How it guesses
--------------
Item blocks
    Columns whose names end in a number and share what comes before it
    (``stress1 … stress10``, ``Q5_1 … Q5_10``, ``pss_q1 …``): two or more such
    columns form a block. Numbered from 1, item ``n`` is the column numbered
    ``n`` (``""`` for a gap); numbered from elsewhere, the columns in numeric
    order are items 1, 2, … The instrument code is guessed from the shared
    part (``Q5_`` -> ``q5``): replace it with an instrument of the study.
id column
    The format's default (``participant``; REDCap ``record_id``; Qualtrics
    ``ExternalReference``/``ExternalDataReference``), else a column named like
    a participant code (``participant_id``, ``study_id``, ``subject``, ``id``,
    ``code``, ``pid``).
date column
    Qualtrics ``EndDate`` (else ``RecordedDate``); REDCap the first
    ``*_timestamp``; otherwise ``completed`` or the first column whose name
    holds ``date``.
identifiers
    Columns named like direct identifiers (e-mail, names, phone, address,
    date of birth, IP address, location): listed so the import never reads them.
Other columns
    Format bookkeeping (REDCap ``redcap_*``, ``*_complete``, checkboxes;
    Qualtrics metadata), single numbered columns and free-standing columns.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import Conflict, NotFound, TrackerError
from tracker.ingest.qualtrics import detect_variant, is_metadata, read_header
from tracker.ingest.redcap import is_bookkeeping
from tracker.instruments.tomltext import toml_comment, toml_string, toml_value

FORMATS = ("wide", "long", "redcap", "qualtrics", "xlsx")
_ID_NAMES = (
    "participant",
    "participant_id",
    "participant_code",
    "study_id",
    "subject",
    "subject_id",
    "pid",
    "code",
    "id",
)
_IDENTIFIER = re.compile(
    r"(^|_)(e_?mail|email_?address|first_?name|last_?name|full_?name|surname|given_?name|name|phone|mobile|"
    r"telephone|address|street|postcode|zip|dob|date_?of_?birth|birth_?date|ip_?address|ssn|nhs_?number|mrn|"
    r"recipient_?(first|last)_?name|recipient_?email|location_?(latitude|longitude))($|_)",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"(.*?)(\d+)")
_LONG_COLUMNS = ("participant", "wave", "instrument", "item", "value", "completed")


@dataclass
class DraftBlock:
    """A guessed item block: ``columns[k]`` is item ``k + 1`` (``""``: the file has no column for it)."""

    code: str
    prefix: str
    columns: list[str]
    note: str
    completed: str | None = None


@dataclass
class MapDraft:
    """A drafted map: its TOML text and what was guessed."""

    fmt: str
    text: str
    id_column: str | None
    completed: str | None
    blocks: list[DraftBlock]
    identifiers: list[str]
    others: list[tuple[str, str]]  # (column, why it is not an item)
    variant: str | None = None
    written: Path | None = None
    columns: list[str] = field(default_factory=list)


def _guess_code(prefix: str, taken: set[str]) -> str:
    stem = prefix.strip().rstrip("_-#. ")
    stem = re.sub(r"(_q|_item|_i)$", "", stem, flags=re.IGNORECASE) or stem
    code = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "items"
    if not code[0].isalpha():
        code = "q" + code if code[0].isdigit() else "items_" + code
    code = code[:36]
    base, n = code, 2
    while code in taken:
        code, n = f"{base}_{n}", n + 1
    taken.add(code)
    return code


def guess_format(columns: list[str], rows: list[list[str]], path: str | Path | None = None) -> str:
    """``xlsx`` by extension; ``qualtrics`` when the header rows are a Qualtrics export; ``redcap`` with a
    ``record_id`` or ``redcap_*`` column; ``long`` with the long layout's columns; else ``wide``."""
    if path is not None and str(path).lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if detect_variant(rows) is not None:
        return "qualtrics"
    lower = [c.strip().lower() for c in columns]
    if "record_id" in lower or any(c.startswith("redcap_") for c in lower):
        return "redcap"
    if {"participant", "instrument", "item", "value"} <= set(lower):
        return "long"
    return "wide"


def draft_map(rows: list[list[str]], fmt: str | None = None, source: str = "<file>") -> MapDraft:
    """Draft a map from the first rows of a file (``rows[0]`` the header; Qualtrics: its header rows).

    ``fmt`` is one of :data:`FORMATS` or ``None`` to guess (:func:`guess_format`).
    Raises :class:`TrackerError` for an empty header or an unknown format.
    """
    if not rows or not any(c.strip() for c in rows[0]):
        raise TrackerError(f"{source}: row 1 (the header) is empty; nothing to draft a map from")
    if fmt is not None and fmt not in FORMATS:
        raise TrackerError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    first = [c.lstrip("\ufeff") if j == 0 else c for j, c in enumerate(rows[0])]
    fmt = fmt or guess_format(first, rows, source)
    variant = None
    completed_note = ""
    if fmt == "qualtrics":
        header = read_header(rows, source=source)
        columns = header.columns
        variant = header.variant
    else:
        columns = [c.strip() for c in first]
        while columns and not columns[-1]:
            columns.pop()
    lower = [c.lower() for c in columns]
    placed: dict[int, str] = {}  # column index -> where it went

    # -- id and date ------------------------------------------------------------------
    id_col: int | None = None
    id_note = ""
    defaults = {
        "redcap": ("record_id",),
        "qualtrics": ("externalreference", "externaldatareference"),
    }.get(fmt, ("participant",))
    for name in defaults:
        if name in lower:
            id_col = lower.index(name)
            id_note = (
                "the format's participant-code column"
                if fmt != "qualtrics"
                else (
                    "guessed: Qualtrics' external reference; use the column that holds the participant code"
                )
            )
            break
    if id_col is None:
        for name in _ID_NAMES:
            if name in lower:
                id_col, id_note = lower.index(name), "guessed from the name: the participant code"
                break
    if id_col is not None:
        placed[id_col] = "id"

    date_col: int | None = None
    if fmt == "qualtrics":
        for name in ("enddate", "recordeddate"):
            if name in lower:
                date_col, completed_note = lower.index(name), "Qualtrics' completion date"
                break
    elif fmt == "redcap":
        stamps = [j for j, n in enumerate(lower) if n.endswith("_timestamp")]
        if stamps:
            date_col = stamps[0]
            completed_note = "guessed: a survey timestamp" + (
                "; the other timestamps can go to their [[items]] block's completed"
                if len(stamps) > 1
                else ""
            )
    if date_col is None and fmt != "qualtrics":
        if "completed" in lower:
            date_col, completed_note = lower.index("completed"), "the completion date"
        else:
            dated = [
                j
                for j, n in enumerate(lower)
                if "date" in n and j not in placed and not _IDENTIFIER.search(n)
            ]
            if dated:
                date_col, completed_note = dated[0], "guessed from the name: the completion date"
    if date_col is not None and date_col in placed:  # it is the id column
        date_col = None
    if date_col is not None:
        placed[date_col] = "completed"

    # -- identifiers ----------------------------------------------------------------------
    identifiers = []
    for j, n in enumerate(columns):
        if fmt == "redcap" and is_bookkeeping(n):
            continue
        if j not in placed and _IDENTIFIER.search(n.replace(" ", "_")):
            placed[j] = "identifier"
            identifiers.append(n)

    # -- other columns the format owns -----------------------------------------------------
    others: dict[int, str] = {}
    seen_names: dict[str, int] = {}
    for j, n in enumerate(columns):
        if n.lower() in seen_names and j not in placed:
            others[j] = f"a second column named {n!r}: the import refuses duplicate names"
        seen_names.setdefault(n.lower(), j)
        if j in placed or j in others:
            continue
        if not n:
            others[j] = "a column without a name"
        elif fmt == "redcap" and is_bookkeeping(n):
            others[j] = "REDCap bookkeeping"
        elif fmt == "qualtrics" and is_metadata(n):
            others[j] = "Qualtrics metadata"
        elif fmt == "long" and n.lower() in _LONG_COLUMNS:
            others[j] = "a column of the long layout (the import reads it)"
        elif n.lower() == "wave":
            others[j] = "the wave of each row (the import reads it)"

    # -- item blocks ------------------------------------------------------------------------
    groups: dict[str, list[tuple[int, int]]] = {}
    if fmt != "long":
        for j, n in enumerate(columns):
            if j in placed or j in others:
                continue
            m = _NUMBERED.fullmatch(n)
            if m and m.group(1).strip():
                groups.setdefault(m.group(1), []).append((int(m.group(2)), j))
    blocks: list[DraftBlock] = []
    taken: set[str] = set()
    for prefix, members in groups.items():
        numbers = [k for k, _ in members]
        if len(members) < 2 or len(set(numbers)) != len(numbers):
            reason = (
                "a single numbered column: not guessed as an item block"
                if len(members) < 2
                else f"numbered columns sharing {prefix!r} repeat a number: not guessed as a block"
            )
            for _, j in members:
                others[j] = reason
            continue
        members.sort()
        lo, hi = members[0][0], members[-1][0]
        if lo == 1:
            cols = [""] * hi
            for k, j in members:
                cols[k - 1] = columns[j]
            gaps = [str(k) for k in range(1, hi + 1) if not cols[k - 1]]
            note = f"{columns[members[0][1]]} .. {columns[members[-1][1]]}: items 1..{hi}" + (
                f' (no column for item {", ".join(gaps)}: "")' if gaps else ""
            )
        else:
            cols = [columns[j] for _, j in members]
            note = (
                f"{columns[members[0][1]]} .. {columns[members[-1][1]]} are numbered from {lo}: "
                f"taken as items 1..{len(cols)} in numeric order"
            )
        for _, j in members:
            placed[j] = "items"
        blocks.append(
            DraftBlock(code=_guess_code(prefix, taken), prefix=prefix, columns=cols, note=note)
        )
    if fmt == "redcap":
        # REDCap's survey timestamp is <form>_timestamp: give a block the one named like it.
        for b in blocks:
            stem = b.prefix.rstrip("_-#. ").lower()
            stem = re.sub(r"_(q|item|i)$", "", stem)
            for j, n in enumerate(lower):
                if j in others and n in (f"{stem}_timestamp", f"{b.code}_timestamp"):
                    del others[j]
                    placed[j] = "completed"
                    b.completed = columns[j]
                    break
    for j in range(len(columns)):
        if j not in placed and j not in others:
            others[j] = "not numbered like an item"

    text = _render(
        source,
        fmt,
        variant,
        columns,
        id_col,
        id_note,
        date_col,
        completed_note,
        identifiers,
        others,
        blocks,
    )
    return MapDraft(
        fmt=fmt,
        text=text,
        id_column=None if id_col is None else columns[id_col],
        completed=None if date_col is None else columns[date_col],
        blocks=blocks,
        identifiers=identifiers,
        others=[(columns[j], why) for j, why in sorted(others.items())],
        variant=variant,
        columns=columns,
    )


def _line(assignment: str, comment: str = "") -> str:
    return f"{assignment:<40} # {toml_comment(comment, 200)}" if comment else assignment


def _render(
    source,
    fmt,
    variant,
    columns,
    id_col,
    id_note,
    date_col,
    completed_note,
    identifiers,
    others,
    blocks,
) -> str:
    what = f"{fmt}, {variant} export" if variant else fmt
    lines = [
        f"# Draft import map for {toml_comment(Path(source).name)} ({what}), written by `tracker map draft`.",
        "# Every column of the file is named below exactly once. Check each guess and set each",
        "# [[items]] block's instrument to an instrument of the study (tracker instrument list).",
        _line(f"format = {toml_string(fmt)}"),
    ]
    if id_col is not None:
        lines.append(_line(f"id_column = {toml_string(columns[id_col])}", id_note))
    else:
        lines.append(
            '# id_column = "..."                      # no participant-code column found: name it here'
        )
    if date_col is not None:
        lines.append(_line(f"completed = {toml_string(columns[date_col])}", completed_note))
    lines.append(
        _line('other_columns = "ignore"', "the columns listed below are skipped, with one warning")
    )
    for j, why in sorted(others.items()):
        lines.append(_line(f"#   {toml_string(columns[j])}", why))
    if identifiers:
        lines.append(
            _line(
                f"identifiers = {toml_value(identifiers)}",
                "guessed from the names: direct identifiers, never read",
            )
        )
    else:
        lines.append("identifiers = []")
    if fmt == "redcap":
        lines += [
            "",
            '# A longitudinal project: map each redcap_event_name to a wave, or "skip".',
            "# [events]",
            '# baseline_arm_1 = "baseline"',
        ]
    for b in blocks:
        lines += [
            "",
            _line("[[items]]", "guessed: " + b.note),
            _line(
                f"instrument = {toml_string(b.code)}",
                "guessed code: use an instrument of the study",
            ),
            f"columns = {toml_value(b.columns)}",
        ]
        if b.completed:
            lines.append(
                _line(
                    f"completed = {toml_string(b.completed)}",
                    "guessed: this form's survey timestamp",
                )
            )
    if not blocks and fmt != "long":
        lines += [
            "",
            "# No item block was recognised: add one [[items]] table per instrument:",
            "# [[items]]",
            '# instrument = "pss10"',
            '# columns = ["..."]',
        ]
    return "\n".join(lines) + "\n"


def read_first_rows(path: str | Path, n: int = 3) -> list[list[str]]:
    """The first ``n`` rows of a CSV (UTF-8, BOM or not) or xlsx file, as strings."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"file {str(p)!r} does not exist")
    if p.is_dir():
        raise NotFound(f"{str(p)!r} is a folder, not a file")
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(p, n)
    rows: list[list[str]] = []
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                rows.append(row)
                if len(rows) >= n:
                    break
    except UnicodeDecodeError as exc:
        raise TrackerError(
            f"{p}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"
        ) from None
    except csv.Error as exc:
        raise TrackerError(f"{p}: not a readable CSV file ({exc})") from None
    return rows


def _xlsx_rows(p: Path, n: int) -> list[list[str]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise TrackerError(f"{p}: not a readable .xlsx workbook ({exc})") from None
    try:
        ws = wb.worksheets[0]
        out = []
        for row in ws.iter_rows(max_row=n, values_only=True):
            out.append(["" if v is None else str(v) for v in row])
        return out
    finally:
        wb.close()


def draft_map_file(path: str | Path, out: str | Path, fmt: str | None = None) -> MapDraft:
    """Draft a map from ``path``'s header and write it to ``out`` (never over an existing file)."""
    from tracker.fileio import atomic_write, check_writable

    target = Path(out)
    if target.exists() and not target.is_dir():
        raise Conflict(
            f"{target} already exists; move it away or choose another --out (a drafted map is meant to "
            "be edited, so it is never overwritten)"
        )
    check_writable(target)
    draft = draft_map(read_first_rows(path), fmt, source=str(path))
    with atomic_write(target) as fh:
        fh.write(draft.text)
    draft.written = target
    return draft
