"""What every command shares: options, the unit of work, output formatting.

Imports here stay light (click and the standard library) so that
``tracker --help`` never loads SQLAlchemy, pandas or scipy.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

DB_KEY = "tracker.db_url"


def _remember_db(ctx: click.Context, _param, value):
    # Only a --db typed on the command line is remembered: the group's and the
    # subcommand's option share one slot (ctx.meta), and the subcommand's, parsed
    # later, wins when both are given. The environment is read by db_url(), after
    # both: an option that read it itself would overwrite the group's --db.
    if value is not None:
        ctx.meta[DB_KEY] = value
    return value


def db_option(f=None, *, default: str = "./tracker.db"):
    """``--db URL`` (else ``$TRACKER_DATABASE_URL``, else ``default``, as the help says).

    ``--db`` wins over the environment wherever it stands: ``tracker --db X
    cohort list`` and ``tracker cohort list --db X`` both use X.
    Used bare (``@db_option``) or with the command's own default in the help
    (``@db_option(default="DIR/demo.db")``).
    """
    def decorate(func):
        return click.option(
            "--db",
            metavar="URL",
            expose_value=False,
            is_eager=True,
            callback=_remember_db,
            help=f"Database URL or SQLite path [env TRACKER_DATABASE_URL; default {default}].",
        )(func)

    return decorate if f is None else decorate(f)


def study_option(f):
    return click.option(
        "--study",
        "study_name",
        metavar="NAME",
        envvar="TRACKER_STUDY",
        help="Study name; may be omitted when the database holds one study.",
    )(f)


def format_option(f):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


def db_url(ctx: click.Context | None = None) -> str | None:
    """The ``--db`` given on the command line, else ``$TRACKER_DATABASE_URL``, else None (the default)."""
    from tracker.config import ENV_VAR

    ctx = ctx or click.get_current_context()
    return ctx.meta.get(DB_KEY) or os.environ.get(ENV_VAR) or None


@contextmanager
def unit_of_work() -> Iterator[Any]:
    """One session per command: committed on success, rolled back on any error."""
    from tracker.db.engine import open_session

    session = open_session(db_url())
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Characters that change what a terminal shows rather than showing themselves: C0/C1
# controls and DEL (ESC starts the sequences that recolour, move the cursor, retitle
# the window), line/paragraph separators, and the bidirectional controls (U+202E
# shows "exe.txt" as "txt.exe"). Names come from users and their files, so every
# table and line the CLI prints shows these as escapes instead (\x1b, \u202e).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with terminal control characters shown as escapes (``\\x1b``, ``\\u202e``).

    ``keep_newlines`` leaves line feeds alone, for messages of several lines.
    Everything else printable, including non-Latin scripts and emoji, is unchanged.
    """
    if text.isascii() and text.isprintable():  # the common case, at C speed
        return text
    out = []
    for ch in text:
        if (ch == "\n" and keep_newlines) or not (
            ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        ):
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def echo(text: str = "", *, err: bool = False) -> None:
    """``click.echo`` of a line that may carry user-given names: control characters escaped."""
    click.echo(visible(str(text), keep_newlines=True), err=err)


# Text cells a spreadsheet would run as a formula get a leading ' in CSV printed to
# stdout, as in exported files (tracker.datasets.export.FORMULA_PREFIXES: kept in
# step by tests/hostile/test_output.py; not imported, as that module loads pandas).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``'`` + text for text a spreadsheet would run as a formula; numbers and anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}"
    return visible(str(value))


def render_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Plain aligned text; numbers right-aligned, floats to 3 decimals."""
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    header = [visible(str(c)) for c in columns]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(header)]
    numeric = [all(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) or r.get(c) is None for r in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _json_value(value.item())
    return value


def json_records(rows: Sequence[dict], columns: Sequence[str] | None = None) -> list[dict]:
    """The rows as JSON-ready records: plain Python numbers, NaN and infinity as None."""
    columns = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    return [{c: _json_value(r.get(c)) for c in columns} for r in rows]


def render_json(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    return json.dumps(json_records(rows, columns), indent=2, allow_nan=False)


def _csv_cell(value: Any) -> Any:
    value = _json_value(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return visible(neutralise(value))
    return repr(value) if isinstance(value, float) else value


def render_csv(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """CSV for stdout: floats at full precision; text cells neutralised (formula-leading
    text gets a leading ``'``, as in exported files) and control characters escaped."""
    columns = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([_csv_cell(str(c)) for c in columns])
    for r in rows:
        writer.writerow([_csv_cell(r.get(c)) for c in columns])
    return buf.getvalue().rstrip("\n")


def repr_number(value: Any) -> Any:
    """Full precision for floats in machine-readable output."""
    value = _json_value(value)
    return repr(value) if isinstance(value, float) else value


def emit(rows: Sequence[dict], fmt: str = "table", columns: Sequence[str] | None = None) -> None:
    renderer = {"table": render_table, "json": render_json, "csv": render_csv}[fmt]
    click.echo(renderer(rows, columns))
