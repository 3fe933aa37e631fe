"""Numbers and text for people: one implementation for the report and the terminal.

The report's Jinja2 filters and the CLI's tables both format through here, so
a p-value reads ``< .001`` in both and a confidence interval is written the
same way. Machine-readable output (``--format csv|json``) never passes
through these: it keeps full precision.
"""

from __future__ import annotations

import math
import re
from typing import Any

DASH = "—"
MINUS = "−"


def missing(value: Any) -> bool:
    """None or NaN."""
    if value is None:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        return False


def fmt_num(value: Any, digits: int = 2) -> str:
    """A number to ``digits`` decimals with a true minus sign; missing is "—"."""
    if missing(value):
        return DASH
    text = f"{float(value):.{digits}f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def fmt_int(value: Any) -> str:
    """A count with thousands separators; missing is "—"."""
    if missing(value):
        return DASH
    return f"{int(value):,}"


def fmt_p(value: Any) -> str:
    """A p-value as APA style writes it: ".023", "< .001", "> .999"; missing is "—"."""
    if missing(value):
        return DASH
    p = float(value)
    if p < 0.001:
        return "< .001"
    if p > 0.999:
        return "> .999"
    return f"{p:.3f}".lstrip("0")


def fmt_ci(low: Any, high: Any, digits: int = 2) -> str:
    """A confidence interval "[low, high]"; "—" when either end is missing."""
    if missing(low) or missing(high):
        return DASH
    return f"[{fmt_num(low, digits)}, {fmt_num(high, digits)}]"


def fmt_pct(value: Any, digits: int = 0) -> str:
    """A proportion (0-1) as a percentage."""
    if missing(value):
        return DASH
    return f"{100 * float(value):.{digits}f} %"


# C0 and C1 control characters (tab and newline included: a table cell is one line) and
# the Unicode bidirectional controls that can make a terminal show text out of order
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``).

    A name holding ESC could otherwise rewrite the user's terminal, and U+202E
    reverse what follows it on screen.
    """
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                            else f"\\u{ord(m.group()):04x}", text)
