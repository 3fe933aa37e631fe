"""REDCap's own files, read without a database: the data dictionary, the event list,
and which export columns are REDCap bookkeeping.

Pure functions of text; every problem a user can fix is a
:class:`~tracker.errors.ValidationError` naming the file, row, column and value.

Data dictionary
    The CSV REDCap's "Data Dictionary" page downloads: one row per field, the 18
    columns of :data:`DICTIONARY_COLUMNS` (headers compared ignoring case and
    spacing; the four REDCap added after 2015 -- Custom Alignment, Question
    Number, Matrix Group Name, Matrix Ranking -- and Field Annotation may be
    absent). Choices are written ``0, Never | 1, Almost never``: the code is the
    text before the first comma. ``Identifier?`` is ``y`` for a field REDCap
    marks as identifying.
Event list
    The CSV of Project Setup -> Define My Events -> "Download events (CSV)":
    ``event_name,arm_num,unique_event_name,custom_event_label,event_id``.
Bookkeeping columns
    :func:`is_bookkeeping`: checkbox columns ``field___code``, ``*_complete``,
    ``redcap_*`` and ``*_timestamp``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import NotFound, Problem, ValidationError

DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
# The columns a dictionary must have; the others are optional.
_REQUIRED = (0, 1, 3, 4, 5, 7, 8, 9, 10)
EVENT_COLUMNS = ("event_name", "arm_num", "unique_event_name", "custom_event_label", "event_id")
_REQUIRED_EVENT_COLUMNS = ("event_name", "arm_num", "unique_event_name")

_CHECKBOX = re.compile(r"[A-Za-z][A-Za-z0-9_]*___[A-Za-z0-9_\-]+")


def is_bookkeeping(column: str) -> bool:
    """Whether an export column is REDCap bookkeeping rather than a question.

    True for checkbox columns (``field___code``, REDCap's three underscores),
    form status (``*_complete``), REDCap's own columns (``redcap_*``: event name,
    repeat instrument and instance, survey identifier, data access group) and
    survey timestamps (``*_timestamp``). Compared case-insensitively after
    stripping spaces.
    """
    name = column.strip()
    lower = name.lower()
    return (
        bool(_CHECKBOX.fullmatch(name))
        or lower.endswith("_complete")
        or lower.startswith("redcap_")
        or lower.endswith("_timestamp")
    )


@dataclass(frozen=True)
class DictionaryField:
    """One row of a data dictionary.

    ``choices`` are ``(code, label)`` pairs in the dictionary's order (empty for
    fields without choices; a slider's labels are not choices and are kept in
    ``slider_labels``). ``validation`` is the text validation type, lowercased
    (``"integer"``, ``"number"``, ``"number_1dp"``, ``"date_ymd"`` ...);
    ``vmin``/``vmax`` the validation bounds as written (``""`` when empty).
    ``row`` is the field's line in the file (the header is line 1).
    """

    name: str
    form: str
    field_type: str
    label: str
    choices: tuple[tuple[str, str], ...]
    slider_labels: str
    validation: str
    vmin: str
    vmax: str
    identifier: bool
    row: int


@dataclass(frozen=True)
class RedcapEvent:
    """One row of an event list: ``unique_event_name`` is what exports carry in ``redcap_event_name``."""

    event_name: str
    arm_num: int
    unique_event_name: str
    custom_event_label: str
    event_id: int | None
    row: int


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9?]", "", header.lower())


def _read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{what} {str(p)!r} does not exist") from None
    except IsADirectoryError:
        raise NotFound(f"{what} {str(p)!r} is a folder, not a CSV file") from None
    except OSError as exc:
        raise NotFound(f"cannot read {what} {str(p)!r}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            [
                Problem(
                    "encoding",
                    f"not UTF-8 text (byte {exc.start}); download the file again or save it as UTF-8 CSV",
                    file=str(p),
                )
            ],
            summary=f"{p}: cannot read the {what}",
        ) from None


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """``"0, Never | 1, Almost never"`` -> ``(("0", "Never"), ("1", "Almost never"))``.

    The code is the text before the first comma, the label the rest (both
    stripped); a choice without a comma is ``(text, text)`` (older REDCap
    projects allow that). Empty choices are dropped. Splits on ``|`` and on line
    breaks, which some dictionaries use between choices.
    """
    out = []
    for part in re.split(r"\s*\|\s*|\r?\n", text):
        part = part.strip()
        if not part:
            continue
        code, sep, label = part.partition(",")
        out.append((code.strip(), label.strip() if sep else code.strip()))
    return tuple(out)


def parse_dictionary(text: str, source: str = "<dictionary>") -> list[DictionaryField]:
    """Parse a data dictionary's CSV text; see the module docstring for the layout.

    Raises :class:`ValidationError` (every problem at once) when a required
    column is missing, a row has no field name, form or type, a field name is
    repeated, or a choice code is repeated within a field.
    """
    rows = _rows(text)
    if not rows or not any(c.strip() for c in rows[0]):
        raise ValidationError(
            [Problem("empty_file", "the file is empty, not a REDCap data dictionary", file=source)],
            summary=f"{source}: not a REDCap data dictionary",
        )
    header = [_key(h) for h in rows[0]]
    wanted = {_key(h): i for i, h in enumerate(DICTIONARY_COLUMNS)}
    where: dict[int, int] = {}
    for pos, h in enumerate(header):
        if h in wanted and wanted[h] not in where:
            where[wanted[h]] = pos
    missing = [DICTIONARY_COLUMNS[i] for i in _REQUIRED if i not in where]
    if missing:
        raise ValidationError(
            [
                Problem("missing_column", f"no column {name!r}", file=source, row=1)
                for name in missing
            ],
            summary=(
                f"{source}: not a REDCap data dictionary (download it from REDCap's Data Dictionary page; "
                f"{len(missing)} of its columns missing)"
            ),
        )
    problems: list[Problem] = []
    fields: list[DictionaryField] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue

        def cell(i: int, row=row) -> str:
            pos = where.get(i)
            return row[pos].strip() if pos is not None and pos < len(row) else ""

        name, form, ftype = cell(0), cell(1), cell(3).lower()
        for i, value in ((0, name), (1, form), (3, ftype)):
            if not value:
                problems.append(
                    Problem(
                        "missing_value",
                        f"{DICTIONARY_COLUMNS[i]} is empty",
                        file=source,
                        row=line,
                        column=DICTIONARY_COLUMNS[i],
                    )
                )
        if not (name and form and ftype):
            continue
        if name in seen:
            problems.append(
                Problem(
                    "duplicate_field",
                    f"field {name!r} is defined again (first on row {seen[name]})",
                    file=source,
                    row=line,
                    column=DICTIONARY_COLUMNS[0],
                    value=name,
                )
            )
            continue
        seen[name] = line
        raw_choices = cell(5)
        choices: tuple[tuple[str, str], ...] = ()
        slider = ""
        if ftype in ("radio", "dropdown", "checkbox"):
            choices = parse_choices(raw_choices)
            codes = [c for c, _ in choices]
            for code in sorted({c for c in codes if codes.count(c) > 1}):
                problems.append(
                    Problem(
                        "duplicate_choice",
                        f"choice code {code!r} appears twice in field {name!r}",
                        file=source,
                        row=line,
                        column=DICTIONARY_COLUMNS[5],
                        value=raw_choices,
                    )
                )
        elif ftype == "slider":
            slider = raw_choices
        fields.append(
            DictionaryField(
                name=name,
                form=form,
                field_type=ftype,
                label=cell(4),
                choices=choices,
                slider_labels=slider,
                validation=cell(7).lower(),
                vmin=cell(8),
                vmax=cell(9),
                identifier=cell(10).lower() == "y",
                row=line,
            )
        )
    if problems:
        raise ValidationError(
            problems,
            summary=f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
            "in the data dictionary",
        )
    if not fields:
        raise ValidationError(
            [Problem("no_fields", "the dictionary lists no fields", file=source)],
            summary=f"{source}: an empty data dictionary",
        )
    return fields


def read_dictionary(path: str | Path) -> list[DictionaryField]:
    """Read a data dictionary CSV file (UTF-8, with or without a BOM); see :func:`parse_dictionary`."""
    return parse_dictionary(_read_text(path, "data dictionary"), source=str(path))


def identifier_fields(fields: list[DictionaryField]) -> list[str]:
    """Names of the fields marked ``Identifier? = y``, in dictionary order (all forms)."""
    return [f.name for f in fields if f.identifier]


def forms(fields: list[DictionaryField]) -> list[str]:
    """The form names in dictionary order."""
    return list(dict.fromkeys(f.form for f in fields))


def record_id_field(fields: list[DictionaryField]) -> str:
    """The record id: REDCap always makes the dictionary's first field the record id."""
    return fields[0].name


def parse_event_list(text: str, source: str = "<events>") -> list[RedcapEvent]:
    """Parse REDCap's event list CSV (``event_name,arm_num,unique_event_name,custom_event_label,event_id``).

    ``custom_event_label`` and ``event_id`` may be absent or empty. Raises
    :class:`ValidationError` for a missing column, an empty name, an
    ``arm_num``/``event_id`` that is not a whole number, or a repeated
    ``unique_event_name``.
    """
    rows = _rows(text)
    if not rows:
        raise ValidationError(
            [Problem("empty_file", "the file is empty, not a REDCap event list", file=source)],
            summary=f"{source}: not a REDCap event list",
        )
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in _REQUIRED_EVENT_COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            [Problem("missing_column", f"no column {c!r}", file=source, row=1) for c in missing],
            summary=(
                f"{source}: not a REDCap event list (expected the columns {','.join(EVENT_COLUMNS)}; "
                "download it from Define My Events)"
            ),
        )
    pos = {c: header.index(c) for c in EVENT_COLUMNS if c in header}
    problems: list[Problem] = []
    events: list[RedcapEvent] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue

        def cell(name: str, row=row) -> str:
            i = pos.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        ok = True
        for name in _REQUIRED_EVENT_COLUMNS:
            if not cell(name):
                problems.append(
                    Problem("missing_value", f"{name} is empty", file=source, row=line, column=name)
                )
                ok = False
        numbers: dict[str, int | None] = {}
        for name in ("arm_num", "event_id"):
            value = cell(name)
            if value and not (value.isascii() and value.isdigit()):
                problems.append(
                    Problem(
                        "not_a_number",
                        f"{name} must be a whole number",
                        file=source,
                        row=line,
                        column=name,
                        value=value,
                    )
                )
                ok = False
            numbers[name] = int(value) if value and value.isascii() and value.isdigit() else None
        unique = cell("unique_event_name")
        if unique in seen:
            problems.append(
                Problem(
                    "duplicate_event",
                    f"event {unique!r} is listed again (first on row {seen[unique]})",
                    file=source,
                    row=line,
                    column="unique_event_name",
                    value=unique,
                )
            )
            ok = False
        elif unique:
            seen[unique] = line
        if not ok:
            continue
        events.append(
            RedcapEvent(
                event_name=cell("event_name"),
                arm_num=numbers["arm_num"] or 0,
                unique_event_name=unique,
                custom_event_label=cell("custom_event_label"),
                event_id=numbers["event_id"],
                row=line,
            )
        )
    if problems:
        raise ValidationError(
            problems,
            summary=f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
            "in the event list",
        )
    return events


def read_event_list(path: str | Path) -> list[RedcapEvent]:
    """Read an event list CSV file; see :func:`parse_event_list`."""
    return parse_event_list(_read_text(path, "event list"), source=str(path))
