"""instrument add | list | show."""

from __future__ import annotations

import click

from tracker.cli.common import db_option, emit, format_option, study_option, unit_of_work


@click.group()
def instrument() -> None:
    """Questionnaire definitions: add, list, show."""


@instrument.command("add")
@db_option
@study_option
@click.argument("codes_or_files", nargs=-1, required=True, metavar="CODE_OR_FILE...")
def instrument_add(study_name, codes_or_files) -> None:
    """Add instruments from the built-in library or from TOML files.

    Example: tracker instrument add pss10 scs_sf ./confidence_calm_care.toml
    """
    from tracker.study.instruments import add_instrument
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        s = resolve_study(session, study_name)
        results = [add_instrument(session, s, item) for item in codes_or_files]
    for r in results:
        note = {"added": "added", "new version": "added as a new version", "unchanged": "already stored, unchanged"}[r.status]
        click.echo(f"{r.code} (version {r.version}, sha256 {r.sha256[:12]}): {note}")


@instrument.command("list")
@db_option
@study_option
@click.option("--library", is_flag=True, help="List the built-in library instead of the study's instruments.")
@format_option
def instrument_list(study_name, library, fmt) -> None:
    """List the study's instruments (or the built-in library).

    Example: tracker instrument list --library
    """
    from tracker.instruments import builtin_codes, load_builtin

    if library:
        defs = [load_builtin(code) for code in builtin_codes()]
    else:
        from tracker.study.instruments import definitions
        from tracker.study.studies import resolve_study

        with unit_of_work() as session:
            defs = list(definitions(session, resolve_study(session, study_name)).values())
    rows = [
        {
            "code": d.code, "version": d.version, "name": d.name, "items": d.items,
            "range": f"{_num(d.min)}-{_num(d.max)}" + (" (own ranges for some items)" if d.item_ranges else ""),
            "scoring": d.scoring,
            "measures": len(d.measures), "sha256": d.sha256[:12],
        }
        for d in defs
    ]
    emit(rows, fmt)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@instrument.command("show")
@db_option
@study_option
@click.argument("code")
def instrument_show(study_name, code) -> None:
    """Show items, range, reverse keys, subscales, scoring and proration of an instrument.

    Shows the study's stored definition, else the built-in one. Items whose
    range differs from the instrument's are listed as "item range" lines; in a
    TOML file they are one table per range:

    \b
      [[item_ranges]]
      items = [9, 10]
      min = 0
      max = 4
      values = [0, 2, 4]   # optional: the only values allowed

    Example: tracker instrument show scs_sf
    """
    from tracker.instruments import describe, load_builtin
    from tracker.study.instruments import definitions
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        stored = definitions(session, resolve_study(session, study_name))
    if code in stored:
        click.echo(describe(stored[code]))
    else:
        click.echo(describe(load_builtin(code)))
        click.echo("(built-in library definition; not yet added to this study: tracker instrument add " + code + ")")


COMMANDS = [instrument]
