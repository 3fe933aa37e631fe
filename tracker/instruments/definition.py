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

Modules
-------
This module is the model: the dataclasses, their derived views and the canonical
form. Reading and checking a file is :mod:`tracker.instruments.validate`
(``load_toml``, ``loads_toml``; also importable from here), writing one
:func:`tracker.instruments.tomltext.definition_toml`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tracker.errors import NotFound

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
        bounds = (
            list(per_item)
            if len(per_item) == k
            else [self.item_min if lowest else self.item_max] * k
        )
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
            "min": canonical_number(self.min),
            "max": canonical_number(self.max),
            "integer": self.integer,
            "reverse": sorted(self.reverse),
            "higher_is_better": self.higher_is_better,
            "scoring": self.scoring,
            "max_missing": self.max_missing,
            "multiplier": canonical_number(self.multiplier),
            "reliability": None if self.reliability is None else float(self.reliability),
            # absent unless declared (None is dropped), so older definitions keep their hash
            "norm_mean": None if self.norm_mean is None else canonical_number(self.norm_mean),
            "norm_sd": None if self.norm_sd is None else canonical_number(self.norm_sd),
            "total": self.total,
            "subscales": [],
        }
        if self.item_ranges:
            out["item_ranges"] = [
                _drop_none(
                    {
                        "items": sorted(r.items),
                        "min": canonical_number(r.min),
                        "max": canonical_number(r.max),
                        "values": None
                        if r.values is None
                        else [canonical_number(v) for v in sorted(r.values)],
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
                        "multiplier": canonical_number(m.multiplier),
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
        from tracker.instruments.tomltext import definition_toml

        return definition_toml(self.to_dict())

    # ---- construction --------------------------------------------------------

    @classmethod
    def from_stored(cls, stored: Any, source: str) -> InstrumentDef:
        """A definition as ``instrument_version.definition`` holds it: the parsed dict, or
        the JSON text a raw SQLite cursor returns."""
        return cls.from_dict(
            json.loads(stored) if isinstance(stored, str) else stored, source=source
        )

    @classmethod
    def from_dict(cls, data: Any, source: str = "<definition>") -> InstrumentDef:
        """Validate ``data`` (a parsed TOML table) and build the definition.

        Every problem is collected (:func:`tracker.instruments.validate.parse_definition`);
        if there is any, :class:`~tracker.errors.ValidationError` is raised with one
        :class:`~tracker.errors.Problem` per problem, each naming ``source`` (as
        ``file``), the field (in the message, e.g. ``field 'subscales[2].items'``),
        the offending value and the rule broken.
        """
        from tracker.instruments.validate import parse_definition

        return parse_definition(data, source)


# ---- helpers ---------------------------------------------------------------------


def canonical_number(v):
    """Integral floats become ints so that ``min = 0`` and ``min = 0.0`` hash alike."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def __getattr__(name: str):
    # load_toml and loads_toml lived here before validate.py; validate imports this module,
    # so they are looked up on first use rather than imported at the top.
    if name in ("load_toml", "loads_toml"):
        from tracker.instruments import validate

        return getattr(validate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
