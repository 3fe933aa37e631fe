"""The codebook: one row per exported variable, as CSV or a self-contained HTML page.

Columns: ``name, label, type, values, instrument, version, scoring, citation,
spss_name, stata_name``. ``type`` is the variable's kind (text, category,
integer, number, boolean, date); ``values`` its range (``0–40``) or its
categories (``A; B``); ``version`` the instrument versions the exported rows
were scored with (several, comma-separated, when a study changed version);
``scoring`` the measure's rule (sum or mean, reverse-scored items, proration,
multiplier, direction); ``spss_name`` and ``stata_name`` the name in ``.sav``
and ``.dta`` files where the format needs another one.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tracker.datasets.export.formats import variable_names
from tracker.datasets.export.tables import ExportTable, neutralise
from tracker.errors import TrackerError

CODEBOOK_COLUMNS = [
    "name",
    "label",
    "type",
    "values",
    "instrument",
    "version",
    "scoring",
    "citation",
    "spss_name",
    "stata_name",
]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Codebook: {{ study }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #bbb; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
td.name { font-family: monospace; white-space: nowrap; }
</style></head><body>
<h1>Codebook: {{ study }}</h1>
<p>{{ what }} export, {{ layout }} layout{% if wave %}, wave {{ wave }}{% endif %}{% if deidentified %},
de-identified{% endif %}: {{ rows }} variables.</p>
<table><thead><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in records %}<tr>{% for c in columns %}<td{% if c == 'name' %} class="name"{% endif %}>{{ r[c] }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
</body></html>
"""


def codebook_records(table: ExportTable) -> list[dict]:
    """One record per variable of ``table`` (CODEBOOK_COLUMNS)."""
    names = variable_names(table.variables)
    return [
        {
            "name": v.name,
            "label": v.label,
            "type": v.kind,
            "values": v.values,
            "instrument": v.instrument,
            "version": v.version,
            "scoring": v.scoring,
            "citation": v.citation,
            "spss_name": names["spss"][v.name],
            "stata_name": names["stata"][v.name],
        }
        for v in table.variables
    ]


def codebook_kind(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".html"):
        raise TrackerError(f"cannot tell the file type of codebook {path}: name it .csv or .html")
    return suffix[1:]


def write_codebook(table: ExportTable, path: str | Path, *, study: str = "") -> Path:
    """Write the codebook of ``table`` to ``path`` (.csv, text cells neutralised, or .html, escaped); atomic."""
    from tracker.fileio import atomic_path

    path = Path(path)
    kind = codebook_kind(path)
    with atomic_path(path) as tmp:
        write_codebook_file(table, tmp, kind, study=study)
    return path


def write_codebook_file(table: ExportTable, path: Path, kind: str, *, study: str = "") -> None:
    """Write the codebook straight to ``path`` (the caller makes it atomic)."""
    records = codebook_records(table)
    if kind == "csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(CODEBOOK_COLUMNS)
            writer.writerows([neutralise(r[c]) for c in CODEBOOK_COLUMNS] for r in records)
        return
    from jinja2 import Environment, StrictUndefined

    page = (
        Environment(autoescape=True, undefined=StrictUndefined)
        .from_string(_PAGE)
        .render(
            study=study,
            what=table.what,
            layout=table.layout,
            wave=table.wave,
            deidentified=table.deidentified,
            rows=len(records),
            columns=CODEBOOK_COLUMNS,
            records=records,
        )
    )
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
