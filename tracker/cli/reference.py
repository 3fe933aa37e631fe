"""The CLI reference (``docs/cli.md``), generated from the commands' own ``--help``.

``python -m tracker.cli.reference > docs/cli.md`` writes it;
``tests/cli/test_reference.py`` fails when the file is stale or a command is
missing from it, so the page and ``--help`` never disagree. The help is
rendered at 80 columns, as a terminal shows it.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

WIDTH = 80


def commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group under ``group``, depth first, in the order ``--help`` lists them."""
    ctx = click.Context(group, info_name="tracker")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


def help_text(path: tuple[str, ...]) -> str:
    """``tracker PATH --help`` as printed at :data:`WIDTH` columns."""
    from click.testing import CliRunner

    from tracker.cli import cli

    result = CliRunner().invoke(
        cli,
        [*path, "--help"],
        prog_name="tracker",
        terminal_width=WIDTH,
        env={"COLUMNS": str(WIDTH)},
    )
    if result.exit_code != 0:
        raise RuntimeError(
            f"tracker {' '.join(path)} --help exited {result.exit_code}: {result.output}"
        )
    return result.output.rstrip() + "\n"


def reference() -> str:
    """The whole reference page as Markdown."""
    from tracker.cli import cli

    out = [
        "# Command reference\n",
        "Generated from `tracker COMMAND --help` (80 columns) by",
        "`python -m tracker.cli.reference > docs/cli.md`; `tests/cli/test_reference.py`",
        "fails when this page is stale or a command is missing.\n",
        "Conventions:\n",
        "- `--format table|csv|json` is always what a command prints; an input file's",
        "  layout is `--layout` (`import responses`, `map draft`; `--format`, the old",
        "  name there, still works but is not listed). `export --layout` is the layout",
        "  of the file written.",
        "- A wave is `--wave NAME` or `--from WAVE --to WAVE`, a cohort or study `NAME`,",
        "  a measure `MEASURE`, a date `DATE` (YYYY-MM-DD).",
        "- `TRACKER_DATABASE_URL` is `--db`, `TRACKER_STUDY` is `--study`.",
        '- Shell completion (`eval "$(_TRACKER_COMPLETE=bash_source tracker)"`; zsh and',
        "  fish in the README) completes the database's wave, cohort, measure, study,",
        "  instrument and participant names.",
        '- "enrol" is the one spelling: `participant enrol` (`participant enroll`',
        "  still runs it).\n",
        "## tracker\n",
        "```text",
        help_text(()).rstrip(),
        "```\n",
    ]
    for path, _command in commands(cli):
        out += [
            f"{'#' * min(2 + len(path), 4)} tracker {' '.join(path)}\n",
            "```text",
            help_text(path).rstrip(),
            "```\n",
        ]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - the generator's entry point
    import sys

    sys.stdout.write(reference())
