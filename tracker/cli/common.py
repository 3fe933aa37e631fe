"""What every command shares: options, the unit of work, output formatting.

Imports here stay light (click and the standard library) so that
``tracker --help`` never loads SQLAlchemy, pandas or scipy.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

DB_KEY = "tracker.db_url"


def _remember_db(ctx: click.Context, _param, value):
    if value is not None:
        ctx.meta[DB_KEY] = value
    return value


def db_option(f=None, *, default: str = "./tracker.db"):
    """``--db URL`` (else ``$TRACKER_DATABASE_URL``, else ``default``, as the help says).

    Used bare (``@db_option``) or with the command's own default in the help
    (``@db_option(default="DIR/demo.db")``).
    """
    def decorate(func):
        return click.option(
            "--db",
            metavar="URL",
            envvar="TRACKER_DATABASE_URL",
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


def db_url() -> str | None:
    ctx = click.get_current_context()
    return ctx.meta.get(DB_KEY)


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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def render_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Plain aligned text; numbers right-aligned, floats to 3 decimals."""
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) or r.get(c) is None for r in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
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


def render_csv(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    columns = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if _json_value(r.get(c)) is None else repr_number(r.get(c)) for c in columns])
    return buf.getvalue().rstrip("\n")


def repr_number(value: Any) -> Any:
    """Full precision for floats in machine-readable output."""
    value = _json_value(value)
    return repr(value) if isinstance(value, float) else value


def emit(rows: Sequence[dict], fmt: str = "table", columns: Sequence[str] | None = None) -> None:
    renderer = {"table": render_table, "json": render_json, "csv": render_csv}[fmt]
    click.echo(renderer(rows, columns))
