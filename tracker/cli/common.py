"""What every command shares: options, the unit of work, output formatting.

Imports here stay light (click and the standard library) so that
``tracker --help`` never loads SQLAlchemy, pandas or scipy.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from tracker.formatting import FORMULA_PREFIXES, neutralise  # noqa: F401  (one rule for every text output)
from tracker.jsonplain import plain as _json_value  # the one JSON-plain converter

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
    from tracker.cli import complete

    return click.option(
        "--study",
        "study_name",
        metavar="NAME",
        envvar="TRACKER_STUDY",
        shell_complete=complete.studies,
        help="Study name [env TRACKER_STUDY]; may be omitted when the database holds one study.",
    )(f)


def parse_date_option(_ctx, param, value):
    """The callback of every date option (metavar ``DATE``): YYYY-MM-DD to a date.

    A bad date is a ``TrackerError`` (exit 1), not ``BadParameter`` (exit 2):
    it is bad data, not bad usage.
    """
    if value is None:
        return None
    from tracker.study.dates import parse_date

    flag = max(param.opts, key=len) if param.opts else f"--{param.name}"
    return parse_date(value, what=flag)


def date_option(*names: str, help: str, **kwargs):  # noqa: A002  (click's own keyword)
    """A ``DATE`` option: YYYY-MM-DD, parsed by :func:`parse_date_option`."""
    return click.option(*names, metavar="DATE", callback=parse_date_option, help=help, **kwargs)


def format_option(f):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


# An input file's layout is --layout; --format is only ever the output format (issue 15).
LAYOUTS = ["wide", "long", "redcap", "qualtrics", "xlsx"]


def one_layout(layout: str | None, legacy: str | None) -> str | None:
    """``--layout``, else the hidden ``--format`` (its name before issue 15, when the input
    layout and the output format shared one name); given both, they must agree."""
    if layout is not None and legacy is not None and layout != legacy:
        raise click.UsageError(
            f"--layout {layout} and --format {legacy} disagree: give --layout only"
        )
    return layout or legacy


def db_url(ctx: click.Context | None = None) -> str | None:
    """The ``--db`` given on the command line, else ``$TRACKER_DATABASE_URL``, else None (the default)."""
    from tracker.config import ENV_VAR

    ctx = ctx or click.get_current_context()
    return ctx.meta.get(DB_KEY) or os.environ.get(ENV_VAR) or None


@contextmanager
def unit_of_work() -> Iterator[Any]:
    """One session per command: committed on success, rolled back on any error."""
    from tracker.db.engine import session_scope

    with session_scope(db_url()) as session:
        yield session


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with terminal control characters shown as escapes: :func:`tracker.formatting.printable`."""
    from tracker.formatting import printable

    return printable(text, keep_newlines=keep_newlines)


def echo(text: str = "", *, err: bool = False) -> None:
    """``click.echo`` of a line that may carry user-given names: control characters escaped."""
    click.echo(visible(str(text), keep_newlines=True), err=err)


def render_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """An aligned table that fits the terminal (:func:`tracker.cli.tables.render`)."""
    from tracker.cli.tables import render

    return render(rows, columns)


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


def say_changes(what: str, changes: dict) -> None:
    if not changes:
        click.echo(f"{what} already has those values; nothing changed.")
        return

    def show(value) -> str:
        if value is None:
            return "(none)"
        return value.isoformat() if hasattr(value, "isoformat") else repr(value)

    click.echo(
        f"{what} updated: "
        + ", ".join(f"{f} {show(a)} -> {show(b)}" for f, (a, b) in changes.items())
        + "."
    )


def wave_option(flag: str, dest: str, help: str, *, required: bool = False, metavar: str = "WAVE"):
    """A wave-name option (``--from``, ``--to``): metavar WAVE, completing the study's waves."""
    from tracker.cli import complete

    return click.option(
        flag, dest, required=required, metavar=metavar, shell_complete=complete.waves, help=help
    )


def one_wave_option(help: str):
    """``--wave NAME``: one wave, completing the study's waves (``--from``/``--to`` are WAVE)."""
    return wave_option("--wave", "wave", help, metavar="NAME")


#: the mediation bootstrap's defaults, as :mod:`tracker.resampling` has them (a test
#: holds them equal; written here so that ``--help`` imports no numpy)
MEDIATION_BOOT = 5000
MEDIATION_SEED = 1


def bootstrap_options(boot_help: str, seed_help: str):
    """``--boot N`` and ``--seed N`` of the mediation bootstrap."""

    def decorate(f):
        f = click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=MEDIATION_SEED,
            show_default=True,
            metavar="N",
            help=seed_help,
        )(f)
        return click.option(
            "--boot",
            type=click.IntRange(min=1),
            default=MEDIATION_BOOT,
            show_default=True,
            metavar="N",
            help=boot_help,
        )(f)

    return decorate
