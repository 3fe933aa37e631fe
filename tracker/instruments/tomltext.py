"""Writing TOML text by hand (tomllib only reads): generated files with comments, instrument definitions."""

from __future__ import annotations

import math
import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    """A key, bare when TOML allows it, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value) -> str:
    """A scalar, list or (inline) dict as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold {value!r} here")
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_comment(text: str, limit: int = 100) -> str:
    """``text`` made safe for one comment line: control characters and HTML tags out, spaces collapsed."""
    plain = re.sub(r"<[^>]*>", " ", text)
    plain = _CONTROL.sub(" ", plain)
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


def definition_toml(data: dict) -> str:
    """An instrument definition's canonical dict (``InstrumentDef.to_dict()``) as TOML text.

    Plain keys first, then each ``[[item_ranges]]`` and ``[[subscales]]`` table,
    in the dict's order; ``loads_toml`` reads it back to the same definition.
    """
    tables = ("subscales", "item_ranges")
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in data.items() if k not in tables]
    for name in ("item_ranges", "subscales"):
        for table in data.get(name, []):
            lines += ["", f"[[{name}]]"]
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
