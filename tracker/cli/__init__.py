"""The ``tracker`` command line: a thin layer over the library.

Each command parses options, calls one library function inside one unit of
work, and formats the result. Problems a user can fix (``TrackerError``) end as
``Error: …`` with exit status 1; usage mistakes exit 2 (Click).
"""

from __future__ import annotations

import functools
import os

import click

from tracker import __version__
from tracker.cli.common import db_option, visible
from tracker.errors import TrackerError


class TrackerGroup(click.Group):
    """The ``tracker`` group: every problem a user can act on ends as ``Error: …``, exit 1.

    Messages carry names users typed or imported, so their control characters
    are escaped (:func:`tracker.cli.common.visible`) like everything else printed.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            raise click.ClickException(visible(str(exc), keep_newlines=True)) from None
        except click.ClickException as exc:
            exc.message = visible(exc.message, keep_newlines=True)
            raise
        except Exception as exc:  # database and file errors a user can act on
            from tracker.cli.common import db_url
            from tracker.cli.dberrors import translate

            translated = translate(exc, db_url(ctx))
            if translated is None:
                raise
            raise click.ClickException(visible(translated, keep_newlines=True)) from None


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracker")
@db_option
def cli() -> None:
    """Track training cohorts, survey waves and questionnaire scores; evaluate pre/post change.

    \b
    Start:    tracker init --study "Resident wellbeing 2027"
    Demo:     tracker demo --out demo
    Help:     tracker COMMAND --help
    Settings: TRACKER_DATABASE_URL is --db, TRACKER_STUDY is --study
    Complete: eval "$(_TRACKER_COMPLETE=bash_source tracker)" in ~/.bashrc
              (zsh, fish: see the README); TAB completes commands, options,
              and the study's wave, cohort, measure and study names
    """


def _format_commands(
    group: click.Group, ctx: click.Context, formatter: click.HelpFormatter
) -> None:
    """A group's command list with each summary whole, wrapped to the width (Click cuts it with "...")."""
    rows = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            rows.append((name, command.get_short_help_str(limit=1_000)))
    if rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _whole_summaries(group: click.Group) -> None:
    group.format_commands = functools.partial(_format_commands, group)
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _whole_summaries(command)


def _register() -> None:
    from tracker.cli import (
        analyze_cmds,
        audit_cmds,
        data_cmds,
        instrument_cmds,
        map_cmds,
        model_cmds,
        report_cmds,
        setup_cmds,
        study_cmds,
    )

    for module in (
        setup_cmds,
        study_cmds,
        instrument_cmds,
        map_cmds,
        data_cmds,
        analyze_cmds,
        model_cmds,
        report_cmds,
        audit_cmds,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)
    _whole_summaries(cli)


_register()


def main() -> None:
    # One BLAS thread: the analyses work on small matrices, where OpenBLAS's threads cost
    # more than they give (a factor analysis ran several times slower with two: BENCHMARKS.md, design figures).
    # Only effective before numpy is imported; an explicit setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cli(prog_name="tracker")
