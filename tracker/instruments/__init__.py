"""Instrument definitions: the model (``definition``), reading and checking TOML (``validate``), the built-in library.

>>> from tracker.instruments import resolve
>>> pss = resolve("pss10")            # a built-in code, or a path to a .toml file
>>> pss.item_names[:2], [m.code for m in pss.measures]
(['pss10_1', 'pss10_2'], ['pss10'])
"""

from __future__ import annotations

from tracker.instruments.definition import (
    InstrumentDef,
    ItemRange,
    MeasureDef,
    SubscaleDef,
)
from tracker.instruments.describe import describe, describe_measure
from tracker.instruments.library import builtin_codes, load_builtin, resolve
from tracker.instruments.validate import load_toml, loads_toml

__all__ = [
    "InstrumentDef",
    "ItemRange",
    "MeasureDef",
    "SubscaleDef",
    "builtin_codes",
    "describe",
    "describe_measure",
    "load_builtin",
    "load_toml",
    "loads_toml",
    "resolve",
]
