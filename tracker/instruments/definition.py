"""Questionnaire definitions: what an instrument's items are and how they are scored.

An :class:`InstrumentDef` is the parsed, validated form of an instrument TOML file
(see SPEC "Instruments"). It is immutable and hashable; :attr:`InstrumentDef.sha256`
identifies its exact content so that stored scores can be traced to the definition
that produced them.

Scoring model
-------------
* Items are numbered ``1..items`` and stored in columns ``<code>_<n>``.
* Reverse keying maps a value ``v`` to ``min + max - v``.
* A *measure* is the instrument total (measure code ``<code>``) or a subscale
  (measure code ``<code>.<subcode>``). Each measure has its own items, scoring
  method (``sum`` or ``mean``), reverse-keyed items, ``max_missing``,
  ``multiplier`` and direction (``higher_is_better``).
* Proration: with ``k`` of ``K`` items answered and ``K - k <= max_missing``, a sum
  is ``mean(answered) * K`` and a mean is ``mean(answered)``; otherwise the score is
  missing. The ``multiplier`` is applied last (WHO-5: raw 0-25 sum x 4 = 0-100).

Design decisions
----------------
``total`` (default ``true``)
    Whether the instrument total is a measure. A scale whose total is meaningless
    sets ``total = false`` and must then define at least one subscale.
``multiplier`` (default 1)
    A constant the total is multiplied by after summing/averaging and proration.
    It applies to the instrument total only; a subscale has its own
    ``multiplier`` (default 1, not inherited).
Subscale ``reverse``
    Omitted: the subscale inherits the instrument's reverse keys that fall among
    its items. Given (possibly ``[]``): exactly those items are reversed when the
    subscale is scored. SCS-SF uses ``reverse = []`` to report its negative
    subscales on their raw metric (Neff's scoring key).
Subscale ``scoring`` and ``higher_is_better``
    Inherit the instrument's when omitted. ``max_missing`` defaults to 0 and
    ``reliability`` to none; neither is inherited (they are properties of the
    subscale's own item set).
``norm_mean``, ``norm_sd`` (optional, instrument total only)
    The total's normative (functional population) mean and SD, from the
    instrument's published norms. With ``norm_sd`` (> 0) the reliable change
    index uses it instead of the sample's baseline SD; with both, the change
    analysis computes Jacobson & Truax's criterion c. They enter the canonical
    form (and the hash) only when given, so definitions without them hash as before.
Canonical form
    :meth:`InstrumentDef.to_dict` resolves every default and inheritance, so two
    files that score identically *and* carry the same descriptive text have the
    same :attr:`~InstrumentDef.sha256`, whatever their key order or whether they
    spell out defaults. Every field, descriptive text included, is hashed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tracker.errors import NotFound, Problem, ValidationError

SCORING_METHODS = ("sum", "mean")
# Matched with fullmatch: ``$`` alone also matches before a trailing newline ("nl\\n").
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
CODE_MAX_LENGTH = 40
#: items per instrument at most: the loaders pack an item number into 16 bits
MAX_ITEMS = 10_000

# Keys in the order the canonical dict (and so a written TOML file) lists them.
INSTRUMENT_KEYS = (
    "code",
    "name",
    "version",
    "construct",
    "citation",
    "licence",
    "description",
    "items",
    "min",
    "max",
    "integer",
    "item_ranges",
    "reverse",
    "higher_is_better",
    "scoring",
    "max_missing",
    "multiplier",
    "reliability",
    "norm_mean",
    "norm_sd",
    "total",
    "subscales",
)
SUBSCALE_KEYS = (
    "code",
    "name",
    "items",
    "scoring",
    "reverse",
    "higher_is_better",
    "max_missing",
    "multiplier",
    "reliability",
)
ITEM_RANGE_KEYS = ("items", "min", "max", "values")
_REQUIRED_INSTRUMENT_KEYS = ("code", "name", "items", "min", "max", "scoring", "higher_is_better")
_REQUIRED_SUBSCALE_KEYS = ("code", "items")


@dataclass(frozen=True)
class SubscaleDef:
    """A subscale: a subset of the instrument's items scored on its own.

    ``scoring``, ``reverse`` and ``higher_is_better`` set to ``None`` inherit from
    the instrument (``reverse``: the instrument's reverse keys among ``items``).
    Positional order: ``SubscaleDef(code, items, scoring, max_missing, reverse)``.
    """

    code: str
    items: tuple[int, ...]
    scoring: str | None = None
    max_missing: int = 0
    reverse: tuple[int, ...] | None = None
    higher_is_better: bool | None = None
    name: str = ""
    multiplier: float = 1
    reliability: float | None = None


@dataclass(frozen=True)
class ItemRange:
    """Items whose range differs from the instrument's (``[[item_ranges]]``).

    ``values``, when given, are the only values the items take (AUDIT items 9
    and 10: 0, 2 or 4); they lie within ``min..max`` and include both ends.
    Reverse keying of these items uses their own ``min + max``.
    """

    items: tuple[int, ...]
    min: float
    max: float
    values: tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class MeasureDef:
    """One scored quantity of an instrument, with every inheritance resolved.

    ``item_lows``/``item_highs`` are the range of each of ``items`` (the
    instrument's ``min``/``max`` unless an ``[[item_ranges]]`` table says
    otherwise); ``score_min``/``score_max`` bound the score after proration and
    multiplier.
    """

    code: str
    instrument: str
    subscale: str | None
    name: str
    items: tuple[int, ...]
    reverse: tuple[int, ...]
    scoring: str
    max_missing: int
    multiplier: float
    item_min: float
    item_max: float
    item_lows: tuple[float, ...] = ()
    item_highs: tuple[float, ...] = ()
    higher_is_better: bool
    reliability: float | None
    norm_mean: float | None = None
    norm_sd: float | None = None

    @property
    def n_items(self) -> int:
        return len(self.items)

    def _bound(self, per_item: tuple[float, ...], lowest: bool) -> float:
        # A prorated score is the mean of at least K - max_missing answered items
        # (times K for a sum); its extreme is the mean of the K - max_missing most
        # extreme item bounds. With one range for every item this is min * K.
        k = self.n_items
        bounds = list(per_item) if len(per_item) == k else [self.item_min if lowest else self.item_max] * k
        used = sorted(bounds, reverse=not lowest)[: max(1, k - self.max_missing)]
        mean = sum(used) / len(used)
        if all(b == bounds[0] for b in bounds):
            mean = bounds[0]  # exact, no rounding from the division
        base = mean * k if self.scoring == "sum" else mean
        return base * self.multiplier

    @property
    def score_min(self) -> float:
        return self._bound(self.item_lows, lowest=True)

    @property
    def score_max(self) -> float:
        return self._bound(self.item_highs, lowest=False)

    @property
    def score_range(self) -> tuple[float, float]:
        return (self.score_min, self.score_max)


@dataclass(frozen=True, kw_only=True)
class InstrumentDef:
    """A validated questionnaire definition (see the module docstring for the rules).

    Build one with :meth:`from_dict` or :func:`load_toml`, which validate; the
    constructor itself trusts its arguments.
    """

    code: str
    name: str
    items: int
    min: float
    max: float
    scoring: str
    higher_is_better: bool
    version: str = "1"
    construct: str = ""
    citation: str = ""
    licence: str = ""
    description: str = ""
    integer: bool = True
    reverse: tuple[int, ...] = ()
    max_missing: int = 0
    multiplier: float = 1
    reliability: float | None = None
    norm_mean: float | None = None  # normative mean and SD of the total (reliable change)
    norm_sd: float | None = None
    total: bool = True
    subscales: tuple[SubscaleDef, ...] = field(default_factory=tuple)
    item_ranges: tuple[ItemRange, ...] = field(default_factory=tuple)

    # ---- derived views -------------------------------------------------------

    def own_range(self, item: int) -> ItemRange | None:
        """The ``[[item_ranges]]`` table that covers ``item``, or ``None`` (the instrument's range)."""
        for r in self.item_ranges:
            if item in r.items:
                return r
        return None

    def item_range(self, item: int) -> tuple[float, float]:
        """``(min, max)`` of one item: its own range, else the instrument's."""
        r = self.own_range(item)
        return (self.min, self.max) if r is None else (r.min, r.max)

    def item_values(self, item: int) -> tuple[float, ...] | None:
        """The only values ``item`` may take, or ``None`` when any value in its range is allowed."""
        r = self.own_range(item)
        return None if r is None else r.values

    @cached_property
    def item_lows(self) -> tuple[float, ...]:
        """The lower bound of items ``1..items``, in order."""
        return self._bounds(0)

    @cached_property
    def item_highs(self) -> tuple[float, ...]:
        """The upper bound of items ``1..items``, in order."""
        return self._bounds(1)

    def _bounds(self, which: int) -> tuple[float, ...]:
        out = [(self.min, self.max)[which]] * self.items
        for r in self.item_ranges:
            for i in r.items:
                out[i - 1] = (r.min, r.max)[which]
        return tuple(out)

    @property
    def item_names(self) -> list[str]:
        """Item column names, ``["<code>_1", ..., "<code>_<items>"]``."""
        return [f"{self.code}_{i}" for i in range(1, self.items + 1)]

    @property
    def measures(self) -> list[MeasureDef]:
        """The total (when ``total``) then each subscale, in definition order."""
        out: list[MeasureDef] = []
        if self.total:
            out.append(
                MeasureDef(
                    code=self.code,
                    instrument=self.code,
                    subscale=None,
                    name=self.name,
                    items=tuple(range(1, self.items + 1)),
                    reverse=tuple(sorted(self.reverse)),
                    scoring=self.scoring,
                    max_missing=self.max_missing,
                    multiplier=self.multiplier,
                    item_min=self.min,
                    item_max=self.max,
                    item_lows=self.item_lows,
                    item_highs=self.item_highs,
                    higher_is_better=self.higher_is_better,
                    reliability=self.reliability,
                    norm_mean=self.norm_mean,
                    norm_sd=self.norm_sd,
                )
            )
        for sub in self.subscales:
            out.append(self._subscale_measure(sub))
        return out

    def measure(self, code: str) -> MeasureDef:
        """The measure named ``code`` (``"scs_sf"`` or ``"scs_sf.self_kindness"``)."""
        for m in self.measures:
            if m.code == code:
                return m
        available = ", ".join(m.code for m in self.measures)
        raise NotFound(f"instrument {self.code!r} has no measure {code!r}; it has: {available}")

    def _subscale_measure(self, sub: SubscaleDef) -> MeasureDef:
        items = tuple(sorted(sub.items))
        if sub.reverse is None:
            reverse = tuple(i for i in sorted(self.reverse) if i in set(items))
        else:
            reverse = tuple(sorted(sub.reverse))
        return MeasureDef(
            code=f"{self.code}.{sub.code}",
            instrument=self.code,
            subscale=sub.code,
            name=sub.name or sub.code.replace("_", " "),
            items=items,
            reverse=reverse,
            scoring=sub.scoring or self.scoring,
            max_missing=sub.max_missing,
            multiplier=sub.multiplier,
            item_min=self.min,
            item_max=self.max,
            item_lows=tuple(self.item_lows[i - 1] for i in items),
            item_highs=tuple(self.item_highs[i - 1] for i in items),
            higher_is_better=(
                self.higher_is_better if sub.higher_is_better is None else sub.higher_is_better
            ),
            reliability=sub.reliability,
        )

    # ---- canonical form and identity -----------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Canonical plain dict in TOML shape: defaults and inheritance resolved.

        Keys whose value is ``None`` (no reliability) are left out, as TOML has no
        null; so is ``item_ranges`` when there are none, which keeps the hash of
        every definition written before item ranges existed. Item-range tables
        are listed by their lowest item, each with its items and values sorted. ``InstrumentDef.from_dict(d.to_dict())`` scores exactly like ``d``.
        """
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "version": self.version,
            "construct": self.construct,
            "citation": self.citation,
            "licence": self.licence,
            "description": self.description,
            "items": self.items,
            "min": _canonical_number(self.min),
            "max": _canonical_number(self.max),
            "integer": self.integer,
            "reverse": sorted(self.reverse),
            "higher_is_better": self.higher_is_better,
            "scoring": self.scoring,
            "max_missing": self.max_missing,
            "multiplier": _canonical_number(self.multiplier),
            "reliability": None if self.reliability is None else float(self.reliability),
            # absent unless declared (None is dropped), so older definitions keep their hash
            "norm_mean": None if self.norm_mean is None else _canonical_number(self.norm_mean),
            "norm_sd": None if self.norm_sd is None else _canonical_number(self.norm_sd),
            "total": self.total,
            "subscales": [],
        }
        if self.item_ranges:
            out["item_ranges"] = [
                _drop_none(
                    {
                        "items": sorted(r.items),
                        "min": _canonical_number(r.min),
                        "max": _canonical_number(r.max),
                        "values": None
                        if r.values is None
                        else [_canonical_number(v) for v in sorted(r.values)],
                    }
                )
                for r in sorted(self.item_ranges, key=lambda r: min(r.items))
            ]
        for sub in self.subscales:
            m = self._subscale_measure(sub)
            out["subscales"].append(
                _drop_none(
                    {
                        "code": sub.code,
                        "name": sub.name,
                        "items": list(m.items),
                        "scoring": m.scoring,
                        "reverse": list(m.reverse),
                        "higher_is_better": m.higher_is_better,
                        "max_missing": m.max_missing,
                        "multiplier": _canonical_number(m.multiplier),
                        "reliability": None if m.reliability is None else float(m.reliability),
                    }
                )
            )
        return _drop_none(out)

    def canonical_json(self) -> str:
        """:meth:`to_dict` as compact JSON with sorted keys (the hashed text)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of :meth:`canonical_json`; stable across key order and spelled-out defaults."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def to_toml(self) -> str:
        """The canonical definition as TOML text (loads back to the same :attr:`sha256`)."""
        data = self.to_dict()
        tables = ("subscales", "item_ranges")
        lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if k not in tables]
        for r in data.get("item_ranges", []):
            lines.append("")
            lines.append("[[item_ranges]]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in r.items())
        for sub in data.get("subscales", []):
            lines.append("")
            lines.append("[[subscales]]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in sub.items())
        return "\n".join(lines) + "\n"

    # ---- construction --------------------------------------------------------

    @classmethod
    def from_stored(cls, stored: Any, source: str) -> InstrumentDef:
        """A definition as ``instrument_version.definition`` holds it: the parsed dict, or
        the JSON text a raw SQLite cursor returns."""
        return cls.from_dict(json.loads(stored) if isinstance(stored, str) else stored, source=source)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<definition>") -> InstrumentDef:
        """Validate ``data`` (a parsed TOML table) and build the definition.

        Every problem is collected; if there is any, :class:`ValidationError` is
        raised with one :class:`Problem` per problem, each naming ``source`` (as
        ``file``), the field (in the message, e.g. ``field 'subscales[2].items'``),
        the offending value and the rule broken.
        """
        problems = _Problems(source)
        definition = _parse_instrument(data, problems)
        if problems or definition is None:
            raise ValidationError(
                problems.items,
                summary=(
                    f"{source}: invalid instrument definition "
                    f"({len(problems.items)} problem{'s' if len(problems.items) != 1 else ''})"
                ),
            )
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
    return InstrumentDef.from_dict(data, source=source)


# ---- validation ----------------------------------------------------------------


class _Problems:
    def __init__(self, source: str):
        self.source = source
        self.items: list[Problem] = []

    def add(self, field_name: str, rule: str, reason: str, value: object = None) -> None:
        self.items.append(
            Problem(
                rule=rule,
                message=f"field {field_name!r}: {reason}",
                file=self.source,
                value=value,
            )
        )

    def __bool__(self) -> bool:
        return bool(self.items)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _type_name(v: object) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(v), type(v).__name__)


def _check_unknown_keys(
    table: dict, allowed: tuple[str, ...], prefix: str, problems: _Problems
) -> None:
    for key in table:
        if key not in allowed:
            hint = _closest(key, allowed)
            reason = "unknown key" + (f"; did you mean {hint!r}?" if hint else "")
            reason += " Allowed keys: " + ", ".join(allowed)
            problems.add(f"{prefix}{key}", "unknown_key", reason)


def _closest(key: str, allowed: tuple[str, ...]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return match[0] if match else None


def _get_str(table, key, prefix, problems, *, required=False, default="") -> str | None:
    if key not in table:
        if required:
            problems.add(prefix + key, "missing_key", "required key is missing")
            return None
        return default
    v = table[key]
    if not isinstance(v, str):
        problems.add(prefix + key, "wrong_type", f"must be a string, not {_type_name(v)}", v)
        return None
    return v


def _get_bool(table, key, prefix, problems, *, required=False, default=None) -> bool | None:
    if key not in table:
        if required:
            problems.add(prefix + key, "missing_key", "required key is missing (true or false)")
        return default
    v = table[key]
    if not isinstance(v, bool):
        problems.add(prefix + key, "wrong_type", f"must be true or false, not {_type_name(v)}", v)
        return default
    return v


def _get_int(table, key, prefix, problems, *, required=False, default=None) -> int | None:
    if key not in table:
        if required:
            problems.add(prefix + key, "missing_key", "required key is missing")
        return default
    v = table[key]
    if not _is_int(v):
        problems.add(prefix + key, "wrong_type", f"must be a whole number, not {_type_name(v)}", v)
        return None
    return v


def _get_number(table, key, prefix, problems, *, required=False, default=None) -> float | None:
    if key not in table:
        if required:
            problems.add(prefix + key, "missing_key", "required key is missing")
        return default
    v = table[key]
    if not _is_number(v):
        problems.add(prefix + key, "wrong_type", f"must be a finite number, not {_type_name(v)}", v)
        return None
    return v


def _check_code(code: str | None, field_name: str, problems: _Problems) -> None:
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
            field_name, "wrong_type", f"must be a list of item numbers, not {_type_name(v)}", v
        )
        return None
    ok = True
    if not v and not allow_empty:
        problems.add(field_name, "empty", "must list at least one item", v)
        ok = False
    seen: set[int] = set()
    for x in v:
        if not _is_int(x):
            problems.add(
                field_name,
                "wrong_type",
                f"item numbers must be whole numbers, not {_type_name(x)}",
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


def _parse_instrument(data: Any, problems: _Problems) -> InstrumentDef | None:
    if not isinstance(data, dict):
        problems.add(
            "<root>",
            "wrong_type",
            f"an instrument definition must be a table, not {_type_name(data)}",
        )
        return None
    _check_unknown_keys(data, INSTRUMENT_KEYS, "", problems)
    for key in _REQUIRED_INSTRUMENT_KEYS:
        if key not in data:
            problems.add(key, "missing_key", "required key is missing")

    code = _get_str(data, "code", "", problems, default=None)
    _check_code(code, "code", problems)
    name = _get_str(data, "name", "", problems, default=None)
    if name is not None and not name.strip():
        problems.add("name", "empty", "must not be empty", name)
    version = _get_str(data, "version", "", problems, default="1")
    if version is not None and not version.strip():
        problems.add("version", "empty", 'must not be empty (e.g. "1")', version)
    construct = _get_str(data, "construct", "", problems)
    citation = _get_str(data, "citation", "", problems)
    licence = _get_str(data, "licence", "", problems)
    description = _get_str(data, "description", "", problems)

    n_items = _get_int(data, "items", "", problems)
    if n_items is not None and n_items < 1:
        problems.add("items", "items_range", "must be at least 1", n_items)
        n_items = None
    elif n_items is not None and n_items > MAX_ITEMS:
        problems.add("items", "items_range", f"must be at most {MAX_ITEMS:,} (no questionnaire has more)", n_items)
        n_items = None

    integer = _get_bool(data, "integer", "", problems, default=True)
    lo = _get_number(data, "min", "", problems)
    hi = _get_number(data, "max", "", problems)
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
    higher = _get_bool(data, "higher_is_better", "", problems)
    scoring = _check_scoring(
        _get_str(data, "scoring", "", problems, default=None), "scoring", problems
    )
    max_missing = _check_max_missing(
        _get_int(data, "max_missing", "", problems, default=0), n_items, "max_missing", problems
    )
    multiplier = _check_multiplier(
        _get_number(data, "multiplier", "", problems, default=1), "multiplier", problems
    )
    reliability = _check_reliability(
        _get_number(data, "reliability", "", problems), "reliability", problems
    )
    norm_mean = _get_number(data, "norm_mean", "", problems)
    norm_sd = _get_number(data, "norm_sd", "", problems)
    if norm_sd is not None and not (math.isfinite(norm_sd) and norm_sd > 0):
        problems.add("norm_sd", "norm_sd_range", "must be a positive number (the normative SD)", norm_sd)
        norm_sd = None
    if norm_mean is not None and not math.isfinite(norm_mean):
        problems.add("norm_mean", "wrong_type", "must be a finite number", norm_mean)
        norm_mean = None
    total = _get_bool(data, "total", "", problems, default=True)

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
        min=_canonical_number(lo),
        max=_canonical_number(hi),
        integer=integer,
        reverse=reverse or (),
        higher_is_better=higher,
        scoring=scoring,
        max_missing=max_missing,
        multiplier=_canonical_number(multiplier),
        reliability=reliability,
        norm_mean=None if norm_mean is None else _canonical_number(norm_mean),
        norm_sd=None if norm_sd is None else _canonical_number(norm_sd),
        total=total,
        subscales=subscales or (),
        item_ranges=item_ranges or (),
    )


def _array_of_tables(raw: Any, key: str, problems: _Problems) -> tuple[list[tuple[int, str, dict]], bool] | None:
    """``[[key]]`` as ``(index, "key[index].", table)`` entries and whether every entry was a table.

    None (with the problem recorded) when ``raw`` is not an array at all; an entry
    that is not a table is recorded and left out.
    """
    if not isinstance(raw, list):
        problems.add(key, "wrong_type", f"must be an array of tables ([[{key}]]), not {_type_name(raw)}")
        return None
    entries, ok = [], True
    for idx, table in enumerate(raw, start=1):
        if not isinstance(table, dict):
            problems.add(f"{key}[{idx}]", "wrong_type", f"must be a table, not {_type_name(table)}")
            ok = False
            continue
        entries.append((idx, f"{key}[{idx}].", table))
    return entries, ok


def _parse_item_ranges(
    raw: Any, n_items: int | None, integer: bool | None, problems: _Problems
) -> tuple[ItemRange, ...] | None:
    """``[[item_ranges]]``: items with a range of their own (each item in one table at most)."""
    tables = _array_of_tables(raw, "item_ranges", problems)
    if tables is None:
        return None
    entries, ok = tables
    out: list[ItemRange] = []
    owner: dict[int, int] = {}
    for idx, prefix, table in entries:
        n_before = len(problems.items)
        _check_unknown_keys(table, ITEM_RANGE_KEYS, prefix, problems)
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
        lo = _get_number(table, "min", prefix, problems, required=True)
        hi = _get_number(table, "max", prefix, problems, required=True)
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
                min=_canonical_number(lo),
                max=_canonical_number(hi),
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
        if not _is_number(x):
            problems.add(field_name, "wrong_type", f"values must be numbers, not {_type_name(x)}", x)
            continue
        if integer and float(x) != math.floor(x):
            problems.add(field_name, "non_integer_value", "must be whole numbers when integer = true", x)
        if lo is not None and hi is not None and not lo <= x <= hi:
            problems.add(
                field_name,
                "value_outside_range",
                f"{_canonical_number(x)} is outside this range's min..max ({_canonical_number(lo)}..{_canonical_number(hi)})",
                x,
            )
        if x in seen:
            problems.add(field_name, "duplicate_value", f"{_canonical_number(x)} is listed twice", x)
        seen.append(x)
    numbers = [x for x in seen if _is_number(x)]
    if lo is not None and hi is not None and numbers and lo < hi:
        ends = [f"{k} ({_canonical_number(b)})" for k, b in (("min", lo), ("max", hi)) if b not in numbers]
        if ends:
            # The ends are what reverse keying (min + max - value) and the score range rest on.
            problems.add(field_name, "values_miss_bounds",
                         f"must include the range's {' and '.join(ends)}: set min and max to the lowest and "
                         "highest allowed value", v)
    return tuple(sorted(_canonical_number(x) for x in numbers))


def _parse_subscales(
    raw: Any, n_items: int | None, problems: _Problems
) -> tuple[SubscaleDef, ...] | None:
    tables = _array_of_tables(raw, "subscales", problems)
    if tables is None:
        return None
    entries, ok = tables
    out: list[SubscaleDef] = []
    seen_codes: dict[str, int] = {}
    for idx, prefix, table in entries:
        n_before = len(problems.items)
        _check_unknown_keys(table, SUBSCALE_KEYS, prefix, problems)
        code = _get_str(table, "code", prefix, problems, required=True, default=None)
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
        name = _get_str(table, "name", prefix, problems)
        items = _get_item_list(
            table, "items", prefix, problems, n_items, required=True, allow_empty=False
        )
        scoring = _check_scoring(
            _get_str(table, "scoring", prefix, problems, default=None), prefix + "scoring", problems
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
        higher = _get_bool(table, "higher_is_better", prefix, problems)
        max_missing = _check_max_missing(
            _get_int(table, "max_missing", prefix, problems, default=0),
            len(items) if items is not None else None,
            prefix + "max_missing",
            problems,
        )
        multiplier = _check_multiplier(
            _get_number(table, "multiplier", prefix, problems, default=1),
            prefix + "multiplier",
            problems,
        )
        reliability = _check_reliability(
            _get_number(table, "reliability", prefix, problems), prefix + "reliability", problems
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
                multiplier=_canonical_number(multiplier),
                reliability=reliability,
            )
        )
    return tuple(out) if ok else None


# ---- helpers ---------------------------------------------------------------------


def _canonical_number(v):
    """Integral floats become ints so that ``min = 0`` and ``min = 0.0`` hash alike."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")
