"""Numbers and text for people: one implementation for the report and the terminal.

The report's Jinja2 filters and the CLI's tables both format through here, so
a p-value reads ``< .001`` in both and a confidence interval is written the
same way. Machine-readable output (``--format csv|json``) never passes
through these: it keeps full precision.
"""

from __future__ import annotations

import math
from typing import Any

DASH = "—"
MINUS = "−"


def plural(n: int, word: str) -> str:
    """``n`` (thousands separated) and ``word``, with an s unless n is 1: ``1 row``, ``2,000 rows``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


#: Text a spreadsheet runs as a formula when a cell starts with one of these (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``'`` + text for text a spreadsheet would run as a formula; numbers and anything else unchanged.

    Every text format a spreadsheet opens (CSV on stdout and in files, xlsx, the codebook and
    key files) goes through this; the importer removes the ``'`` again from codes and names.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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


# Characters that change what a terminal shows rather than showing themselves: C0/C1
# controls and DEL (ESC starts the sequences that recolour, move the cursor, retitle
# the window), line/paragraph separators, and the bidirectional controls (U+202E
# shows "exe.txt" as "txt.exe"). Names come from users and their files, so every
# table and line the CLI prints shows these as escapes instead (\x1b, \u202e).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with terminal control characters shown as escapes (``\\x1b``, ``\\u202e``).

    ``keep_newlines`` leaves line feeds alone, for messages of several lines.
    Everything else printable, including non-Latin scripts and emoji, is unchanged.
    """
    if text.isascii() and text.isprintable():  # the common case, at C speed
        return text
    import unicodedata

    out = []
    for ch in text:
        if (ch == "\n" and keep_newlines) or not (
            ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        ):
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)
