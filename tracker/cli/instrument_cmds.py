"""instrument add | list | show."""

from __future__ import annotations

import click

from tracker.cli import complete
from tracker.cli.common import db_option, echo, emit, format_option, study_option, unit_of_work


@click.group()
def instrument() -> None:
    """Questionnaire definitions: add, list, show, from-redcap."""


@instrument.command("add")
@db_option
@study_option
@click.argument("codes_or_files", nargs=-1, required=True, metavar="CODE_OR_FILE...")
def instrument_add(study_name, codes_or_files) -> None:
    """Add instruments: each CODE_OR_FILE a built-in library code or a TOML file.

    Example: tracker instrument add pss10 scs_sf ./confidence_calm_care.toml
    """
    from tracker.study.instruments import add_instrument
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        s = resolve_study(session, study_name)
        results = [add_instrument(session, s, item) for item in codes_or_files]
    for r in results:
        note = {
            "added": "added",
            "new version": "added as a new version",
            "unchanged": "already stored, unchanged",
        }[r.status]
        echo(f"{r.code} (version {r.version}, sha256 {r.sha256[:12]}): {note}")


@instrument.command("list")
@db_option
@study_option
@click.option(
    "--library", is_flag=True, help="List the built-in library instead of the study's instruments."
)
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
            "code": d.code,
            "version": d.version,
            "name": d.name,
            "items": d.items,
            "range": f"{_num(d.min)}-{_num(d.max)}"
            + (" (own ranges for some items)" if d.item_ranges else ""),
            "scoring": d.scoring,
            "measures": len(d.measures),
            "sha256": d.sha256[:12],
        }
        for d in defs
    ]
    emit(rows, fmt)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@instrument.command("show")
@db_option
@study_option
@click.argument("code", shell_complete=complete.instruments)
@format_option
def instrument_show(study_name, code, fmt) -> None:
    """Show items, range, reverse keys, subscales, scoring and proration of instrument CODE.

    Shows the study's stored definition, else the built-in one. Items whose
    range differs from the instrument's are listed as "item range" lines; in a
    TOML file they are one table per range:

    \b
      [[item_ranges]]
      items = [9, 10]
      min = 0
      max = 4
      values = [0, 2, 4]   # optional: the only values allowed

    \b
    JSON and CSV: one record per measure (the total, then each subscale):
      instrument, version, sha256 (first 12 hex digits)
      source            study (stored in the study) or built-in
      measure, subscale (null for the total), name
      items, reverse    item numbers (JSON arrays; CSV: space-separated)
      scoring           sum or mean; multiplier
      item_min, item_max    the lowest and highest value of its items
      score_min, score_max  the score's range
      higher_is_better, max_missing (items that may be missing; prorated)
      reliability       the published reliability, or null

    Example: tracker instrument show scs_sf --format csv
    """
    from tracker.instruments import describe, load_builtin
    from tracker.study.instruments import definitions
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:
        stored = definitions(session, resolve_study(session, study_name))
    definition = stored[code] if code in stored else load_builtin(code)
    if fmt != "table":
        rows = _measure_rows(
            definition, "study" if code in stored else "built-in", csv=fmt == "csv"
        )
        emit(rows, fmt, MEASURE_FIELDS)
    elif code in stored:
        echo(describe(definition))
    else:
        echo(describe(definition))
        click.echo(
            "(built-in library definition; not yet added to this study: tracker instrument add "
            + code
            + ")"
        )


MEASURE_FIELDS = [
    "instrument",
    "version",
    "sha256",
    "source",
    "measure",
    "subscale",
    "name",
    "items",
    "reverse",
    "scoring",
    "multiplier",
    "item_min",
    "item_max",
    "score_min",
    "score_max",
    "higher_is_better",
    "max_missing",
    "reliability",
]


def _measure_rows(d, source: str, *, csv: bool) -> list[dict]:
    """``instrument show``'s records: one per measure of definition ``d``."""

    def numbers(items):
        return " ".join(str(i) for i in items) if csv else list(items)

    return [
        {
            "instrument": d.code,
            "version": d.version,
            "sha256": d.sha256[:12],
            "source": source,
            "measure": m.code,
            "subscale": m.subscale,
            "name": m.name,
            "items": numbers(m.items),
            "reverse": numbers(m.reverse),
            "scoring": m.scoring,
            "multiplier": m.multiplier,
            "item_min": min(m.item_lows) if m.item_lows else m.item_min,
            "item_max": max(m.item_highs) if m.item_highs else m.item_max,
            "score_min": m.score_min,
            "score_max": m.score_max,
            "higher_is_better": m.higher_is_better,
            "max_missing": m.max_missing,
            "reliability": m.reliability,
        }
        for m in d.measures
    ]


@instrument.command("from-redcap")
@click.argument("dictionary", type=click.Path(dir_okay=False))
@click.option(
    "--form",
    "form",
    required=True,
    metavar="NAME",
    help="The REDCap form (instrument) name, as in the dictionary's Form Name column.",
)
@click.option(
    "--code", default=None, metavar="CODE", help="Instrument code (default: the form name)."
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Folder for CODE.toml and CODE.map.toml (created if missing; files are never overwritten).",
)
def instrument_from_redcap(dictionary, form, code, out_dir) -> None:
    """Turn one form of a REDCap data DICTIONARY (CSV) into an instrument TOML and its import map.

    Radio, dropdown, yesno, truefalse and slider fields and integer/number text
    fields become items in field order, each with its own range (choice codes,
    the slider's 0-100, or the validation min/max). Choice labels go into the
    map's labels. Other fields and identifiers are left out and listed. A
    dictionary holds no reverse keying or scoring rule: the TOML sums and says
    so; edit it before `tracker instrument add`.

    Example: tracker instrument from-redcap dictionary.csv --form pss --out instruments/
    """
    from tracker.instruments.redcap_form import instrument_from_redcap

    r = instrument_from_redcap(dictionary, form, out_dir, code=code)
    click.echo(
        f"form {r.form}: {len(r.items)} item{'s' if len(r.items) != 1 else ''} -> instrument {r.code}"
    )
    for i in r.items:
        rng = (
            ", ".join(_num(v) for v in i.values)
            if i.values is not None
            else f"{_num(i.min)}-{_num(i.max)}"
        )
        click.echo(f"  {i.number:>3}  {i.field}  {i.field_type}  {rng}")
    if r.left_out:
        click.echo(f"left out ({len(r.left_out)}):")
        for x in r.left_out:
            click.echo(f"  {x.field}  {x.field_type}: {x.reason}")
    if r.identifiers:
        click.echo("identifiers (never read by the import): " + ", ".join(r.identifiers))
    for c in r.label_conflicts:
        click.echo(f"label left out of the map: {c}")
    click.echo(
        "reverse keying and scoring are not in a dictionary: the TOML sums the items; check it before adding"
    )
    for p in r.written:
        click.echo(f"wrote {p}")


COMMANDS = [instrument]
