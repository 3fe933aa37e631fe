"""map draft."""

from __future__ import annotations

import click

from tracker.cli.common import LAYOUTS, one_layout


@click.group("map")
def map_group() -> None:
    """Import maps: how one source's files land in the study."""


@map_group.command("draft")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--layout",
    "fmt",
    type=click.Choice(LAYOUTS),
    default=None,
    help="The file's layout [default: guessed from the extension and the header]. "
    "(--format, its old name, still works.)",
)
@click.option("--format", "legacy_fmt", type=click.Choice(LAYOUTS), default=None, hidden=True)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    help="The map file to write (never over an existing file).",
)
def map_draft(file, fmt, legacy_fmt, out) -> None:
    """Draft an import map from the header of FILE, to check and edit.

    Every column of the file is listed once: guessed item blocks (runs like
    stress1..stress10 or Q5_1..Q5_10), the id and date columns, likely
    identifiers, and the rest under other_columns, with a comment on each guess.

    Example: tracker map draft export.csv --out export.map.toml
    """
    from tracker.ingest.draft import draft_map_file

    fmt = one_layout(fmt, legacy_fmt)
    d = draft_map_file(file, out, fmt)
    what = f"{d.fmt} ({d.variant} export)" if d.variant else d.fmt
    click.echo(f"{file}: {len(d.columns)} columns, format {what}")
    click.echo(f"  id column: {d.id_column or '(none found: name it in the map)'}")
    click.echo(f"  date column: {d.completed or '(none)'}")
    for b in d.blocks:
        named = [c for c in b.columns if c]
        click.echo(f"  items {b.code}: {len(b.columns)} ({named[0]} .. {named[-1]})")
    if d.identifiers:
        click.echo("  identifiers (never read): " + ", ".join(d.identifiers))
    click.echo(f"  other columns: {len(d.others)}")
    click.echo(f"wrote {d.written}: check every guess before importing with it")


COMMANDS = [map_group]
