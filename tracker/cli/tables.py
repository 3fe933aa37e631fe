"""Tables for the terminal that fit its width (rich), with the report's number formats.

A table wider than the terminal is not squeezed until its numbers break:
its columns are split into blocks that each fit, printed one under the other,
and every block repeats the label columns (measure, group, ...) so each row
can be read on its own, as R prints a wide data frame. Cells are folded only
when a single column is wider than the terminal. Numbers never wrap.

The width is ``$COLUMNS`` when set, else the terminal's, else 80 (a pipe or
a file). p-values print as the report prints them (``< .001``); other floats
with three decimals; missing values as "—". Every text cell has its control
characters shown as escapes (:func:`tracker.formatting.printable`).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from typing import Any

from tracker.formatting import DASH, fmt_p, printable

GAP = 2  # spaces between columns


def terminal_width() -> int:
    """``$COLUMNS``, else the terminal's width, else 80; never below 40."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return max(40, int(env))
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def is_p_column(name: str) -> bool:
    return name == "p" or name.startswith("p_") or name.endswith("_p")


def cell(value: Any, column: str = "") -> str:
    """One value as the terminal shows it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if is_p_column(column):
            return fmt_p(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}"
    return printable(str(value))


def _numeric(rows: Sequence[dict], column: str) -> bool:
    values = [r.get(column) for r in rows]
    return all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) or hasattr(v, "dtype")
        for v in values
    ) and any(v is not None for v in values)


def _labels(
    columns: Sequence[str], numeric: dict[str, bool], widths: dict[str, int], width: int
) -> list[str]:
    """The leading text columns that identify a row: the first always, a second when both take
    at most two thirds of the width."""
    labels: list[str] = []
    for c in columns:
        if (
            numeric[c]
            or len(labels) == 2
            or (labels and sum(widths[x] + GAP for x in [*labels, c]) > 2 * width // 3)
        ):
            break
        labels.append(c)
    return labels


def blocks(
    columns: Sequence[str], widths: dict[str, int], labels: list[str], width: int
) -> list[list[str]]:
    """Columns packed into blocks that fit ``width``, each starting with the label columns."""
    rest = [c for c in columns if c not in labels]
    base = sum(widths[c] + GAP for c in labels)
    out: list[list[str]] = []
    current: list[str] = []
    used = base
    for c in rest:
        need = widths[c] + GAP
        if current and used + need - GAP > width:
            out.append(labels + current)
            current, used = [], base
        current.append(c)
        used += need
    if current or not out:
        out.append(labels + current)
    return out


def render(
    rows: Sequence[dict], columns: Sequence[str] | None = None, *, width: int | None = None
) -> str:
    """``rows`` as one or more aligned tables that fit ``width`` (default: the terminal's)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    if not rows:
        return "(none)"
    width = width or terminal_width()
    columns = list(columns or rows[0].keys())
    text = {c: [cell(r.get(c), c) for r in rows] for c in columns}
    numeric = {c: _numeric(rows, c) for c in columns}
    widths = {c: max(len(c), *(len(v) for v in text[c])) for c in columns}
    labels = _labels(columns, numeric, widths, width)
    console = Console(
        width=width,
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
        soft_wrap=False,
        emoji=False,
        markup=False,
    )
    out = []
    for block in blocks(columns, widths, labels, width):
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, GAP // 2),
            collapse_padding=True,
        )
        for c in block:
            table.add_column(
                printable(c),
                justify="right" if numeric[c] else "left",
                no_wrap=numeric[c],
                overflow="fold",
                min_width=min(widths[c], width // 3) if numeric[c] else None,
            )
        for i in range(len(rows)):
            table.add_row(*(text[c][i] for c in block))
        with console.capture() as capture:
            console.print(table)
        out.append("\n".join(line.rstrip() for line in capture.get().rstrip("\n").splitlines()))
    return "\n\n".join(out)
