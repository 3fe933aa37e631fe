"""Reading an instrument TOML file: every key checked, every problem collected, then one error.

:func:`load_toml` and :func:`loads_toml` read a file or text;
:meth:`InstrumentDef.from_dict <tracker.instruments.definition.InstrumentDef.from_dict>`
(which calls :func:`parse_definition`) checks a parsed table. The rules are the
module docstring of :mod:`tracker.instruments.definition`; each problem names
the file, the field (``field 'subscales[2].items'``), the value and the rule
broken, collected by the :class:`~tracker.tomlcheck.KeyProblems` the study
file uses too.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from tracker.errors import NotFound, Problem, ValidationError
from tracker.instruments.definition import (
    CODE_MAX_LENGTH,
    CODE_PATTERN,
    INSTRUMENT_KEYS,
    ITEM_RANGE_KEYS,
    MAX_ITEMS,
    SCORING_METHODS,
    SUBSCALE_KEYS,
    InstrumentDef,
    ItemRange,
    SubscaleDef,
    canonical_number,
)
from tracker.tomlcheck import KeyProblems, is_int, is_number, type_name

_REQUIRED_INSTRUMENT_KEYS = ("code", "name", "items", "min", "max", "scoring", "higher_is_better")


def parse_definition(data: Any, source: str = "<definition>") -> InstrumentDef:
    """Validate ``data`` (a parsed TOML table) and build the definition.

    Every problem is collected; if there is any, :class:`ValidationError` is
    raised with one :class:`Problem` per problem, each naming ``source`` (as
    ``file``), the field (in the message, e.g. ``field 'subscales[2].items'``),
    the offending value and the rule broken.
    """
    problems = KeyProblems(source, label="field {key!r}")
    definition = _parse_instrument(data, problems)
    if problems or definition is None:
        raise problems.error("invalid instrument definition")
    return definition


def load_toml(path: str | Path) -> InstrumentDef:
    """Read and validate an instrument TOML file.

    Raises :class:`NotFound` when the file does not exist and
    :class:`ValidationError` for a TOML syntax error or an invalid definition.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise NotFound(f"instrument file {str(p)!r} does not exist") from None
    except IsADirectoryError:
        raise NotFound(f"instrument file {str(p)!r} is a directory, not a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(
            [
                Problem(
                    rule="encoding", message=f"file is not UTF-8 text ({exc.reason})", file=str(p)
                )
            ]
        ) from None
    return loads_toml(text, source=str(p))


def loads_toml(text: str, source: str = "<toml>") -> InstrumentDef:
    """Parse and validate instrument TOML ``text``; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(
            [Problem(rule="toml_syntax", message=f"not valid TOML: {exc}", file=source)],
            summary=f"{source}: not a valid TOML file",
        ) from None
    return parse_definition(data, source=source)


# ---- checks ---------------------------------------------------------------------


def _check_code(code: str | None, field_name: str, problems: KeyProblems) -> None:
    if code is None:
        return
    if not CODE_PATTERN.fullmatch(code):
        problems.add(
            field_name,
            "invalid_code",
            "must be lowercase letters, digits and underscores, starting with a letter "
            "(e.g. 'pss10', 'scs_sf')",
            code,
        )
    elif len(code) > CODE_MAX_LENGTH:
        problems.add(
            field_name, "invalid_code", f"is longer than {CODE_MAX_LENGTH} characters", code
        )


def _get_item_list(table, key, prefix, problems, n_items, *, required=False, allow_empty=True):
    """A list of distinct item numbers in 1..n_items, or None when invalid/absent."""
    field_name = prefix + key
    if key not in table:
        if required:
            problems.add(
                field_name, "missing_key", "required key is missing (a list of item numbers)"
            )
        return None
    v = table[key]
    if not isinstance(v, list):
        problems.add(
            field_name, "wrong_type", f"must be a list of item numbers, not {type_name(v)}", v
        )
        return None
    ok = True
    if not v and not allow_empty:
        problems.add(field_name, "empty", "must list at least one item", v)
        ok = False
    seen: set[int] = set()
    for x in v:
        if not is_int(x):
            problems.add(
                field_name,
                "wrong_type",
                f"item numbers must be whole numbers, not {type_name(x)}",
                x,
            )
            ok = False
            continue
        if n_items is not None and not 1 <= x <= n_items:
            problems.add(
                field_name,
                "item_out_of_range",
                f"item {x} is outside 1..{n_items} (items = {n_items})",
                x,
            )
            ok = False
        if x in seen:
            problems.add(field_name, "duplicate_item", f"item {x} is listed twice", x)
            ok = False
        seen.add(x)
    return tuple(sorted(seen)) if ok else None


def _check_scoring(value, field_name, problems) -> str | None:
    if value is None:
        return None
    if value not in SCORING_METHODS:
        problems.add(
            field_name,
            "unknown_scoring",
            f"unknown scoring method; use one of: {', '.join(SCORING_METHODS)}",
            value,
        )
        return None
    return value


def _check_max_missing(value, n, field_name, problems) -> int | None:
    if value is None or n is None:
        return value
    if not 0 <= value <= n - 1:
        problems.add(
            field_name,
            "max_missing_range",
            f"must be between 0 and {n - 1} (one less than the {n} item{'s' if n != 1 else ''} scored)",
            value,
        )
        return None
    return value


def _check_reliability(value, field_name, problems) -> float | None:
    if value is None:
        return None
    if not 0 < value < 1:
        problems.add(field_name, "reliability_range", "must be strictly between 0 and 1", value)
        return None
    return float(value)


def _check_multiplier(value, field_name, problems) -> float | None:
    if value is None:
        return None
    if not value > 0:
        problems.add(field_name, "multiplier_range", "must be a positive number", value)
        return None
    return value


def _parse_instrument(data: Any, problems: KeyProblems) -> InstrumentDef | None:
    if not isinstance(data, dict):
        problems.add(
            "<root>",
            "wrong_type",
            f"an instrument definition must be a table, not {type_name(data)}",
        )
        return None
    problems.unknown_keys(data, INSTRUMENT_KEYS, "")
    for key in _REQUIRED_INSTRUMENT_KEYS:
        if key not in data:
            problems.add(key, "missing_key", "required key is missing")

    code = problems.string(data, "code", "", default=None)
    _check_code(code, "code", problems)
    name = problems.string(data, "name", "", default=None)
    if name is not None and not name.strip():
        problems.add("name", "empty", "must not be empty", name)
    version = problems.string(data, "version", "", default="1")
    if version is not None and not version.strip():
        problems.add("version", "empty", 'must not be empty (e.g. "1")', version)
    construct = problems.string(data, "construct", "")
    citation = problems.string(data, "citation", "")
    licence = problems.string(data, "licence", "")
    description = problems.string(data, "description", "")

    n_items = problems.integer(data, "items", "")
    if n_items is not None and n_items < 1:
        problems.add("items", "items_range", "must be at least 1", n_items)
        n_items = None
    elif n_items is not None and n_items > MAX_ITEMS:
        problems.add(
            "items",
            "items_range",
            f"must be at most {MAX_ITEMS:,} (no questionnaire has more)",
            n_items,
        )
        n_items = None

    integer = problems.boolean(data, "integer", "", default=True)
    lo = problems.number(data, "min", "")
    hi = problems.number(data, "max", "")
    if integer:
        for key, v in (("min", lo), ("max", hi)):
            if v is not None and float(v) != math.floor(v):
                problems.add(
                    key,
                    "non_integer_bound",
                    "must be a whole number when integer = true (set integer = false for continuous items)",
                    v,
                )
    if lo is not None and hi is not None and not lo < hi:
        problems.add("min", "bounds_order", f"min ({lo}) must be less than max ({hi})", lo)

    reverse = _get_item_list(data, "reverse", "", problems, n_items)
    higher = problems.boolean(data, "higher_is_better", "")
    scoring = _check_scoring(
        problems.string(data, "scoring", "", default=None), "scoring", problems
    )
    max_missing = _check_max_missing(
        problems.integer(data, "max_missing", "", default=0), n_items, "max_missing", problems
    )
    multiplier = _check_multiplier(
        problems.number(data, "multiplier", "", default=1), "multiplier", problems
    )
    reliability = _check_reliability(
        problems.number(data, "reliability", ""), "reliability", problems
    )
    norm_mean = problems.number(data, "norm_mean", "")
    norm_sd = problems.number(data, "norm_sd", "")
    if norm_sd is not None and not (math.isfinite(norm_sd) and norm_sd > 0):
        problems.add(
            "norm_sd", "norm_sd_range", "must be a positive number (the normative SD)", norm_sd
        )
        norm_sd = None
    if norm_mean is not None and not math.isfinite(norm_mean):
        problems.add("norm_mean", "wrong_type", "must be a finite number", norm_mean)
        norm_mean = None
    total = problems.boolean(data, "total", "", default=True)

    item_ranges = _parse_item_ranges(data.get("item_ranges", []), n_items, integer, problems)
    subscales = _parse_subscales(data.get("subscales", []), n_items, problems)
    if total is False and subscales == ():
        problems.add("total", "no_measures", "total = false needs at least one [[subscales]] table")

    if problems:
        return None
    return InstrumentDef(
        code=code,
        name=name,
        version=version,
        construct=construct,
        citation=citation,
        licence=licence,
        description=description,
        items=n_items,
        min=canonical_number(lo),
        max=canonical_number(hi),
        integer=integer,
        reverse=reverse or (),
        higher_is_better=higher,
        scoring=scoring,
        max_missing=max_missing,
        multiplier=canonical_number(multiplier),
        reliability=reliability,
        norm_mean=None if norm_mean is None else canonical_number(norm_mean),
        norm_sd=None if norm_sd is None else canonical_number(norm_sd),
        total=total,
        subscales=subscales or (),
        item_ranges=item_ranges or (),
    )


def _parse_item_ranges(
    raw: Any, n_items: int | None, integer: bool | None, problems: KeyProblems
) -> tuple[ItemRange, ...] | None:
    """``[[item_ranges]]``: items with a range of their own (each item in one table at most)."""
    tables = problems.tables(raw, "item_ranges")
    if tables is None:
        return None
    entries, ok = tables
    out: list[ItemRange] = []
    owner: dict[int, int] = {}
    for idx, prefix, table in entries:
        n_before = len(problems.items)
        problems.unknown_keys(table, ITEM_RANGE_KEYS, prefix)
        items = _get_item_list(
            table, "items", prefix, problems, n_items, required=True, allow_empty=False
        )
        for i in items or ():
            if i in owner:
                problems.add(
                    prefix + "items",
                    "duplicate_item_range",
                    f"item {i} already has its range in item_ranges[{owner[i]}]",
                    i,
                )
            else:
                owner[i] = idx
        lo = problems.number(table, "min", prefix, required=True)
        hi = problems.number(table, "max", prefix, required=True)
        if integer:
            for key, v in (("min", lo), ("max", hi)):
                if v is not None and float(v) != math.floor(v):
                    problems.add(
                        prefix + key,
                        "non_integer_bound",
                        "must be a whole number when integer = true",
                        v,
                    )
        if lo is not None and hi is not None and not lo < hi:
            problems.add(
                prefix + "min", "bounds_order", f"min ({lo}) must be less than max ({hi})", lo
            )
        values = _parse_allowed_values(table, prefix, lo, hi, integer, problems)
        if len(problems.items) != n_before:
            ok = False
            continue
        out.append(
            ItemRange(
                items=items,
                min=canonical_number(lo),
                max=canonical_number(hi),
                values=values,
            )
        )
    return tuple(out) if ok else None


def _parse_allowed_values(table, prefix, lo, hi, integer, problems) -> tuple[float, ...] | None:
    if "values" not in table:
        return None
    field_name = prefix + "values"
    v = table["values"]
    if not isinstance(v, list) or not v:
        problems.add(
            field_name,
            "wrong_type" if not isinstance(v, list) else "empty",
            "must be a non-empty list of the numbers the items may take (e.g. [0, 2, 4])",
            v,
        )
        return None
    seen: list[float] = []
    for x in v:
        if not is_number(x):
            problems.add(field_name, "wrong_type", f"values must be numbers, not {type_name(x)}", x)
            continue
        if integer and float(x) != math.floor(x):
            problems.add(
                field_name, "non_integer_value", "must be whole numbers when integer = true", x
            )
        if lo is not None and hi is not None and not lo <= x <= hi:
            problems.add(
                field_name,
                "value_outside_range",
                f"{canonical_number(x)} is outside this range's min..max ({canonical_number(lo)}..{canonical_number(hi)})",
                x,
            )
        if x in seen:
            problems.add(field_name, "duplicate_value", f"{canonical_number(x)} is listed twice", x)
        seen.append(x)
    numbers = [x for x in seen if is_number(x)]
    if lo is not None and hi is not None and numbers and lo < hi:
        ends = [
            f"{k} ({canonical_number(b)})"
            for k, b in (("min", lo), ("max", hi))
            if b not in numbers
        ]
        if ends:
            # The ends are what reverse keying (min + max - value) and the score range rest on.
            problems.add(
                field_name,
                "values_miss_bounds",
                f"must include the range's {' and '.join(ends)}: set min and max to the lowest and "
                "highest allowed value",
                v,
            )
    return tuple(sorted(canonical_number(x) for x in numbers))


def _parse_subscales(
    raw: Any, n_items: int | None, problems: KeyProblems
) -> tuple[SubscaleDef, ...] | None:
    tables = problems.tables(raw, "subscales")
    if tables is None:
        return None
    entries, ok = tables
    out: list[SubscaleDef] = []
    seen_codes: dict[str, int] = {}
    for idx, prefix, table in entries:
        n_before = len(problems.items)
        problems.unknown_keys(table, SUBSCALE_KEYS, prefix)
        code = problems.string(table, "code", prefix, required=True, default=None)
        _check_code(code, prefix + "code", problems)
        if code is not None:
            if code in seen_codes:
                problems.add(
                    prefix + "code",
                    "duplicate_subscale",
                    f"subscale code {code!r} is already used by subscales[{seen_codes[code]}]",
                    code,
                )
            else:
                seen_codes[code] = idx
        name = problems.string(table, "name", prefix)
        items = _get_item_list(
            table, "items", prefix, problems, n_items, required=True, allow_empty=False
        )
        scoring = _check_scoring(
            problems.string(table, "scoring", prefix, default=None), prefix + "scoring", problems
        )
        reverse = _get_item_list(table, "reverse", prefix, problems, n_items)
        if reverse is not None and items is not None:
            outside = [i for i in reverse if i not in items]
            for i in outside:
                problems.add(
                    prefix + "reverse",
                    "reverse_not_in_subscale",
                    f"item {i} is reversed but is not one of the subscale's items {list(items)}",
                    i,
                )
        higher = problems.boolean(table, "higher_is_better", prefix)
        max_missing = _check_max_missing(
            problems.integer(table, "max_missing", prefix, default=0),
            len(items) if items is not None else None,
            prefix + "max_missing",
            problems,
        )
        multiplier = _check_multiplier(
            problems.number(table, "multiplier", prefix, default=1),
            prefix + "multiplier",
            problems,
        )
        reliability = _check_reliability(
            problems.number(table, "reliability", prefix), prefix + "reliability", problems
        )
        if len(problems.items) != n_before:
            ok = False
            continue
        out.append(
            SubscaleDef(
                code=code,
                name=name,
                items=items,
                scoring=scoring,
                reverse=reverse if "reverse" in table else None,
                higher_is_better=higher,
                max_missing=max_missing,
                multiplier=canonical_number(multiplier),
                reliability=reliability,
            )
        )
    return tuple(out) if ok else None
