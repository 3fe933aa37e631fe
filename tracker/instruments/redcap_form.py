"""One form of a REDCap data dictionary -> an instrument TOML and its import map.

Which fields become items (in the dictionary's field order), each with its own range:

=================  ===============================================================
``radio``,         the choice codes: ``min``/``max`` are the lowest and highest
``dropdown``       code; codes that skip values (0, 2, 4; 1, 2, 3, 9) are also the
                   item's ``values``. Codes that are not numbers: left out.
``yesno``          0-1 (No = 0, Yes = 1)
``truefalse``      0-1 (False = 0, True = 1) -- REDCap stores it like yesno
``slider``         Text Validation Min/Max when both are given, else REDCap's 0-100
``text``           with validation ``integer`` or ``number*``: Text Validation
                   Min/Max, which must both be given (no range can be read
                   otherwise: left out)
=================  ===============================================================

Left out and listed, with the reason: every other field type (checkbox, calc,
notes, descriptive, file, sql, text without a numeric validation...), the record
id, and every field marked ``Identifier? = y``. The instrument's ``min``/``max``
are the range most items share; the others get ``[[item_ranges]]``.

Reverse keying and the scoring rule cannot be read from a dictionary: the TOML
says so in a comment, sums the items, reverses none, and asks for
``higher_is_better`` to be checked. The choice labels go into the map's
``labels`` (label text -> code); a label that stands for different codes in
different fields cannot be one map entry and is left out and listed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import Conflict, NotFound, TrackerError
from tracker.ingest.redcap import (
    DictionaryField,
    forms,
    identifier_fields,
    read_dictionary,
    record_id_field,
)
from tracker.instruments.definition import CODE_MAX_LENGTH, CODE_PATTERN, InstrumentDef
from tracker.instruments.tomltext import toml_comment, toml_string, toml_value
from tracker.instruments.validate import loads_toml

ITEM_FIELD_TYPES = ("radio", "dropdown", "yesno", "truefalse", "slider", "text")
_BOOLEAN_LABELS = {
    "yesno": (("0", "No"), ("1", "Yes")),
    "truefalse": (("0", "False"), ("1", "True")),
}


@dataclass(frozen=True)
class FormItem:
    """A field that became item ``number``: its range, allowed values and choice labels."""

    number: int
    field: str
    field_type: str
    min: float
    max: float
    integer: bool
    values: tuple[float, ...] | None
    labels: tuple[tuple[str, float], ...]
    label: str


@dataclass(frozen=True)
class LeftOut:
    """A field of the form that is not an item, and why."""

    field: str
    field_type: str
    reason: str


@dataclass
class RedcapForm:
    """The generated instrument and map, and what was left out."""

    form: str
    code: str
    definition: InstrumentDef
    instrument_toml: str
    map_toml: str
    items: list[FormItem]
    left_out: list[LeftOut]
    identifiers: list[str]
    label_conflicts: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _plain(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _item_range(f: DictionaryField) -> tuple[tuple | None, str]:
    """``((min, max, integer, values, labels), "")`` or ``(None, reason)``."""
    t = f.field_type
    if t in ("radio", "dropdown"):
        if not f.choices:
            return None, "no choices"
        numbers = [_number(c) for c, _ in f.choices]
        bad = [c for (c, _), n in zip(f.choices, numbers, strict=True) if n is None]
        if bad:
            return None, "choice codes are not numbers (" + ", ".join(
                repr(c) for c in bad[:3]
            ) + ")"
        lo, hi = min(numbers), max(numbers)
        if lo == hi:
            return None, "a single choice: no range"
        integer = all(n.is_integer() for n in numbers)
        contiguous = integer and sorted(numbers) == [float(x) for x in range(int(lo), int(hi) + 1)]
        values = None if contiguous else tuple(sorted(numbers))
        labels = tuple(
            (label, n) for (_, label), n in zip(f.choices, numbers, strict=True) if label
        )
        return (lo, hi, integer, values, labels), ""
    if t in _BOOLEAN_LABELS:
        return (
            0.0,
            1.0,
            True,
            None,
            tuple((label, float(code)) for code, label in _BOOLEAN_LABELS[t]),
        ), ""
    if t == "slider":
        lo, hi = _number(f.vmin), _number(f.vmax)
        if lo is None or hi is None:
            lo, hi = 0.0, 100.0
        if not lo < hi:
            return None, f"slider minimum {f.vmin} is not below its maximum {f.vmax}"
        return (lo, hi, lo.is_integer() and hi.is_integer(), None, ()), ""
    if t == "text":
        if f.validation == "integer" or f.validation.startswith("number"):
            lo, hi = _number(f.vmin), _number(f.vmax)
            unreadable = [v for v in (f.vmin, f.vmax) if v and _number(v) is None]
            if unreadable:
                return None, (
                    f"Text Validation Min/Max {', '.join(repr(v) for v in unreadable)} not a number: "
                    "its range is unknown (add the item to the TOML by hand)"
                )
            if lo is None or hi is None:
                return None, (
                    f"{f.validation} field without Text Validation Min and Max: its range is unknown "
                    "(set them in REDCap, or add the item to the TOML by hand)"
                )
            if not lo < hi:
                return None, f"Text Validation Min {f.vmin} is not below Max {f.vmax}"
            integer = f.validation == "integer"
            if integer and not (lo.is_integer() and hi.is_integer()):
                return None, f"integer field with fractional bounds {f.vmin}-{f.vmax}"
            return (lo, hi, integer, None, ()), ""
        return None, (
            "free text" if not f.validation else f"text validated as {f.validation}, not a number"
        )
    return None, {
        "checkbox": "checkbox (one column per choice, field___code)",
        "calc": "calculated field",
        "notes": "free text",
        "descriptive": "descriptive text, not a question",
        "file": "file upload",
        "sql": "dynamic SQL field",
    }.get(t, f"field type {t!r} is not an item type")


def default_code(form: str) -> str:
    """An instrument code from a form name: lowercase, other characters as ``_``, starting with a letter."""
    code = re.sub(r"[^a-z0-9_]+", "_", form.lower()).strip("_") or "form"
    if not code[0].isalpha():
        code = "f_" + code
    return code[:CODE_MAX_LENGTH]


def build_redcap_form(
    fields: list[DictionaryField],
    form: str,
    *,
    code: str | None = None,
    source: str = "dictionary.csv",
) -> RedcapForm:
    """Turn one form of a parsed dictionary into an instrument and its map (no files written).

    Raises :class:`NotFound` when the dictionary has no form ``form`` (the
    message lists the forms), :class:`TrackerError` for a code that is not a
    valid instrument code or a form with no field that can be an item.
    """
    names = forms(fields)
    if form not in names:
        near = [n for n in names if n.lower() == form.lower()]
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise NotFound(f"{source} has no form {form!r}{hint}. Its forms: {', '.join(names)}")
    code = code if code is not None else default_code(form)
    if not CODE_PATTERN.fullmatch(code) or len(code) > CODE_MAX_LENGTH:
        raise TrackerError(
            f"--code {code!r} is not an instrument code: use lowercase letters, digits and "
            f"underscores, starting with a letter, at most {CODE_MAX_LENGTH} characters (e.g. 'pss10')"
        )
    record_id = record_id_field(fields)
    items: list[FormItem] = []
    left_out: list[LeftOut] = []
    for f in fields:
        if f.form != form:
            continue
        if f.identifier:
            left_out.append(
                LeftOut(f.name, f.field_type, "identifier (Identifier? = y): never read")
            )
            continue
        if f.name == record_id:
            left_out.append(LeftOut(f.name, f.field_type, "the record id (the map's id_column)"))
            continue
        found, reason = _item_range(f)
        if found is None:
            left_out.append(LeftOut(f.name, f.field_type, reason))
            continue
        lo, hi, integer, values, labels = found
        items.append(
            FormItem(
                number=len(items) + 1,
                field=f.name,
                field_type=f.field_type,
                min=lo,
                max=hi,
                integer=integer,
                values=values,
                labels=labels,
                label=f.label,
            )
        )
    if not items:
        listed = "; ".join(f"{x.field} ({x.reason})" for x in left_out) or "no fields"
        raise TrackerError(f"form {form!r} in {source} has no field that can be an item: {listed}")

    integer = all(i.integer for i in items)
    plain = [(i.min, i.max) for i in items if i.values is None] or [(i.min, i.max) for i in items]
    counts = Counter(plain)
    top = max(counts.values())
    lo, hi = next(
        r for r in plain if counts[r] == top
    )  # the commonest range; ties: the first item's
    ranges: dict[tuple, list[int]] = {}
    for i in items:
        if (i.min, i.max) != (lo, hi) or i.values is not None:
            ranges.setdefault((i.min, i.max, i.values), []).append(i.number)

    labels, conflicts = _labels(items)
    identifiers = identifier_fields(fields)
    text = _instrument_toml(code, form, source, items, lo, hi, integer, ranges)
    definition = loads_toml(text, source=f"{code}.toml")
    map_text = _map_toml(code, form, source, items, labels, identifiers, record_id, conflicts)
    return RedcapForm(
        form=form,
        code=code,
        definition=definition,
        instrument_toml=text,
        map_toml=map_text,
        items=items,
        left_out=left_out,
        identifiers=identifiers,
        label_conflicts=conflicts,
    )


def _labels(items: list[FormItem]) -> tuple[dict[str, float], list[str]]:
    """One ``label -> code`` table for the block; labels matched ignoring case and spaces, as the import does."""
    seen: dict[str, tuple[str, float]] = {}
    clash: dict[str, set[float]] = {}
    for i in items:
        for label, value in i.labels:
            key = label.strip().casefold()
            if key in seen and seen[key][1] != value:
                clash.setdefault(key, {seen[key][1]}).add(value)
            seen.setdefault(key, (label.strip(), value))
    table = {text: _plain(value) for key, (text, value) in seen.items() if key not in clash}
    conflicts = [
        f"{seen[key][0]!r} stands for {' and '.join(str(_plain(v)) for v in sorted(values))} in different fields"
        for key, values in clash.items()
    ]
    return table, conflicts


def _num(x: float) -> str:
    return toml_value(_plain(x))


def _instrument_toml(code, form, source, items, lo, hi, integer, ranges) -> str:
    lines = [
        f"# Instrument generated by `tracker instrument from-redcap` from form {toml_comment(form)!r}",
        f"# of the REDCap data dictionary {toml_comment(Path(source).name)}.",
        "#",
        "# Reverse keying and the scoring rule cannot be read from a data dictionary:",
        "# this file sums the items, reverses none and calls higher scores better.",
        "# Set reverse, scoring, higher_is_better and max_missing from the questionnaire's",
        "# published scoring (and its citation) before `tracker instrument add`.",
        f"code = {toml_string(code)}",
        f"name = {toml_string('REDCap form ' + form)}",
        'version = "1"',
        f"items = {len(items)}",
        f"min = {_num(lo)}",
        f"max = {_num(hi)}",
        f"integer = {toml_value(integer)}",
        "reverse = []                # not in the dictionary: list the reverse-keyed items",
        "higher_is_better = true     # not in the dictionary: check",
        'scoring = "sum"             # not in the dictionary: sum or mean',
        "max_missing = 0",
        "",
        "# Items, in the form's field order:",
    ]
    for i in items:
        rng = (
            ", ".join(_num(v) for v in i.values)
            if i.values is not None
            else f"{_num(i.min)}-{_num(i.max)}"
        )
        label = toml_comment(i.label, 70)
        lines.append(
            f"#   {i.number:>3}  {i.field} ({i.field_type}, {rng})"
            + (f"  {label}" if label else "")
        )
    for (rlo, rhi, values), numbers in ranges.items():
        lines += [
            "",
            "[[item_ranges]]",
            f"items = {toml_value(numbers)}",
            f"min = {_num(rlo)}",
            f"max = {_num(rhi)}",
        ]
        if values is not None:
            lines.append(f"values = {toml_value([_plain(v) for v in values])}")
    return "\n".join(lines) + "\n"


def _map_toml(code, form, source, items, labels, identifiers, record_id, conflicts) -> str:
    lines = [
        f"# Import map for REDCap exports of form {toml_comment(form)!r} into instrument {code!r},",
        f"# generated by `tracker instrument from-redcap` from {toml_comment(Path(source).name)}.",
        '# A longitudinal project also needs an [events] table: redcap_event_name -> wave (or "skip").',
        'format = "redcap"',
        f"id_column = {toml_string(record_id)}",
        'other_columns = "ignore"',
        "# fields the dictionary marks as identifiers (any form): the import never reads them",
        f"identifiers = {toml_value(identifiers)}",
        "",
        "[[items]]",
        f"instrument = {toml_string(code)}",
        f"columns = {toml_value([i.field for i in items])}",
        f"completed = {toml_string(form + '_timestamp')}"
        "   # exported when the form is a survey; otherwise delete this line",
    ]
    for c in conflicts:
        lines.append(f"# label left out: {toml_comment(c)}")
    lines.append(f"labels = {toml_value(labels)}")
    return "\n".join(lines) + "\n"


def instrument_from_redcap(
    dictionary: str | Path, form: str, out_dir: str | Path, *, code: str | None = None
) -> RedcapForm:
    """Read ``dictionary``, build form ``form`` and write ``<code>.toml`` and ``<code>.map.toml`` into ``out_dir``.

    ``out_dir`` is created when its parent exists. Existing files are never
    overwritten (:class:`Conflict`): a generated file is meant to be edited.
    Both files are written completely or not at all.
    """
    from tracker.fileio import atomic_write, check_writable

    fields = read_dictionary(dictionary)
    result = build_redcap_form(fields, form, code=code, source=str(dictionary))
    out = Path(out_dir)
    if not out.is_dir():
        try:
            out.mkdir()
        except FileExistsError:
            raise TrackerError(f"cannot write into {out}: it is a file, not a folder") from None
        except OSError as exc:
            from tracker.fileio import write_error

            raise write_error(out, exc) from None
    targets = [out / f"{result.code}.toml", out / f"{result.code}.map.toml"]
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        one = len(existing) == 1
        raise Conflict(
            f"{' and '.join(existing)} already exist{'s' if one else ''}; move {'it' if one else 'them'} "
            "away or choose another --out (generated files are never overwritten)"
        )
    for p in targets:
        check_writable(p)
    with atomic_write(targets[0]) as a, atomic_write(targets[1]) as b:
        a.write(result.instrument_toml)
        b.write(result.map_toml)
    result.written = targets
    return result
