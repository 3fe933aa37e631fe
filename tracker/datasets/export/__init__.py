"""Exports for analysts and for sharing: scores, item responses and their codebook.

Library functions (the CLI's ``tracker export`` calls them; so can Python):

- :func:`export_scores` and :func:`export_items` write one table to one or
  more files (``.csv .xlsx .sav .dta .rds .parquet``; see
  :mod:`tracker.datasets.export.formats`), optionally de-identified
  (:mod:`tracker.datasets.export.deidentify`), with its codebook and the
  de-identification key.
- :func:`export_codebook` writes the codebook of an export without its data.

Each takes the session first, the study as a name (None: the only study) or a
:class:`~tracker.db.models.Study`, and never commits. Every file written is
recorded in the audit trail (action ``export``, entity ``export``, the file as
key): what was exported, the layout, wave, format, rows, whether it was
de-identified and whether a key file was written; the event carries the time
and the OS user. All the files of one call are written to temporary files
first and renamed together at the end: when one fails, none is left behind.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tracker.datasets.export.deidentify import Deidentifier, age_band
from tracker.datasets.export.formats import FORMATS, format_of, require_library
from tracker.datasets.export.tables import (
    FORMULA_PREFIXES,
    ITEMS_LONG_COLUMNS,
    LAYOUTS,
    SCORES_LONG_COLUMNS,
    ExportTable,
    Variable,
    items_table,
    neutralise,
    scores_table,
)
from tracker.errors import TrackerError

__all__ = [
    "FORMATS",
    "FORMULA_PREFIXES",
    "ITEMS_LONG_COLUMNS",
    "LAYOUTS",
    "SCORES_LONG_COLUMNS",
    "Deidentifier",
    "ExportResult",
    "ExportTable",
    "Variable",
    "age_band",
    "export_codebook",
    "export_items",
    "export_scores",
    "export_table",
    "format_of",
    "items_table",
    "neutralise",
    "scores_table",
]


@dataclass(frozen=True)
class ExportResult:
    """What one export call wrote."""

    path: Path  # the first data file (the codebook, for export_codebook)
    rows: int
    columns: list[str]
    paths: tuple[Path, ...] = ()  # every data file
    deidentified: bool = False
    key_path: Path | None = None
    codebook_path: Path | None = None
    table: ExportTable | None = field(default=None, repr=False, compare=False)


def _study(session, study):
    if study is None or isinstance(study, str):
        from tracker.study.studies import resolve_study

        return resolve_study(session, study)
    return study


def _paths(out) -> list[Path]:
    outs = [Path(out)] if isinstance(out, str | Path) else [Path(o) for o in out]
    if not outs:
        raise TrackerError("name at least one output file (--out FILE)")
    return outs


def export_table(
    session,
    study,
    what: str,
    *,
    wave: str | None = None,
    layout: str = "wide",
    deidentify: bool | Deidentifier = False,
) -> ExportTable:
    """The table an export of ``what`` (``scores`` or ``items``) writes, without writing it."""
    from tracker.datasets.export.tables import build_items, build_scores, check_layout, load_facts

    study = _study(session, study)
    check_layout(layout)
    if what not in ("scores", "items"):
        raise TrackerError(f"unknown export {what!r}; exports: scores, items")
    if wave is not None:
        from tracker.study.studies import get_wave

        get_wave(session, study, wave)
    facts = load_facts(session, study, wave)
    build = build_scores if what == "scores" else build_items
    table = build(session, study, wave=wave, layout=layout, facts=facts)
    if deidentify:
        deidentifier = (
            deidentify if isinstance(deidentify, Deidentifier) else Deidentifier.from_facts(facts)
        )
        table = deidentifier.apply(table)
        table.deidentifier = deidentifier
    return table


def _export(
    session, study, what: str, out, *, wave, layout, deidentify, key_out, codebook
) -> ExportResult:
    from tracker.datasets.export import codebook as cb
    from tracker.datasets.export import formats
    from tracker.fileio import atomic_path, check_writable

    study = _study(session, study)
    outs = _paths(out)
    for path in outs:  # before any work: a wrong name or a missing library costs nothing
        require_library(format_of(path))
        check_writable(path)
    if codebook is not None:
        cb.codebook_kind(codebook)
        check_writable(codebook)
    if key_out is not None:
        if not deidentify:
            raise TrackerError(
                "a key file (--key-out) maps de-identified codes to the study's: add --deidentify"
            )
        check_writable(key_out)
    targets = [p.resolve() for p in outs + [Path(x) for x in (codebook, key_out) if x is not None]]
    if len(set(targets)) < len(targets):
        raise TrackerError(
            "the same file is named twice among --out, --codebook and --key-out: name each once"
        )
    table = export_table(session, study, what, wave=wave, layout=layout, deidentify=deidentify)
    deidentifier = table.deidentifier
    for path in outs:
        formats.check(table, path)
    with ExitStack() as stack:  # every file complete before any is renamed into place
        for path in outs:
            formats.write_file(table, stack.enter_context(atomic_path(path)), format_of(path))
        if codebook is not None:
            cb.write_codebook_file(
                table,
                stack.enter_context(atomic_path(codebook)),
                cb.codebook_kind(codebook),
                study=study.name,
            )
        if key_out is not None:
            deidentifier.write_key_file(stack.enter_context(atomic_path(key_out)))
    _audit(session, study, table, outs, key_out=key_out, codebook=codebook)
    return ExportResult(
        path=outs[0],
        rows=len(table.frame),
        columns=[v.name for v in table.variables],
        paths=tuple(outs),
        deidentified=table.deidentified,
        key_path=Path(key_out) if key_out is not None else None,
        codebook_path=Path(codebook) if codebook is not None else None,
        table=table,
    )


def _audit(
    session,
    study,
    table: ExportTable,
    files: list[Path],
    *,
    key_out=None,
    codebook=None,
    what: str | None = None,
) -> None:
    from tracker.study.audit import record

    for path in files:
        record(
            session,
            study_id=study.id,
            action="export",
            entity="export",
            key=str(path),
            after={
                "what": what or table.what,
                "layout": table.layout,
                "wave": table.wave,
                "format": path.suffix.lower().lstrip("."),
                "rows": len(table.frame),
                "columns": len(table.variables),
                "deidentified": table.deidentified,
                "key_file": str(key_out) if key_out is not None else None,
                "codebook": str(codebook) if codebook is not None else None,
            },
        )


def export_scores(
    session,
    study,
    out,
    *,
    wave: str | None = None,
    layout: str = "wide",
    deidentify: bool | Deidentifier = False,
    key_out=None,
    codebook=None,
) -> ExportResult:
    """Write scale scores with the analyst columns to ``out`` (one path or several).

    Parameters
    ----------
    study
        A study name, None (the only study) or a Study.
    out
        A file name or a list of them; the suffix names the format
        (``.csv .xlsx .sav .dta .rds .parquet``). Several files of one call
        hold the same rows (and, de-identified, the same new codes).
    wave, layout
        One wave (None: every wave); ``wide`` (a row per participant and wave)
        or ``long`` (a row per score). Columns: :mod:`tracker.datasets.export.tables`.
    deidentify
        True for new random codes and the rules of
        :mod:`tracker.datasets.export.deidentify`, or a :class:`Deidentifier`
        to reuse one mapping across calls.
    key_out
        Where to write the key (new code -> study code); only with ``deidentify``.
    codebook
        Where to write the codebook of the table (.csv or .html).
    """
    return _export(
        session,
        study,
        "scores",
        out,
        wave=wave,
        layout=layout,
        deidentify=deidentify,
        key_out=key_out,
        codebook=codebook,
    )


def export_items(
    session,
    study,
    out,
    *,
    wave: str | None = None,
    layout: str = "wide",
    deidentify: bool | Deidentifier = False,
    key_out=None,
    codebook=None,
) -> ExportResult:
    """Write item responses to ``out``; the wide layout re-imports with ``tracker import responses``.

    The options are those of :func:`export_scores`. A de-identified item
    export does not re-import: its codes are not the study's.
    """
    return _export(
        session,
        study,
        "items",
        out,
        wave=wave,
        layout=layout,
        deidentify=deidentify,
        key_out=key_out,
        codebook=codebook,
    )


def export_codebook(
    session,
    study,
    out,
    *,
    of: str = "scores",
    wave: str | None = None,
    layout: str = "wide",
    deidentify: bool = False,
) -> ExportResult:
    """Write the codebook (.csv or .html) of the export ``of`` (scores or items) with these options."""
    from tracker.datasets.export import codebook as cb
    from tracker.fileio import check_writable

    study = _study(session, study)
    cb.codebook_kind(out)
    check_writable(out)
    table = export_table(session, study, of, wave=wave, layout=layout, deidentify=deidentify)
    path = cb.write_codebook(table, out, study=study.name)
    _audit(session, study, table, [path], what=f"codebook of {of}")
    return ExportResult(
        path=path,
        rows=len(table.variables),
        columns=list(cb.CODEBOOK_COLUMNS),
        paths=(path,),
        deidentified=table.deidentified,
        codebook_path=path,
        table=table,
    )
