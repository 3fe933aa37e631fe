"""``import_responses``: one survey file in, all of it or none of it stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from tracker.db.bulk import translate_errors
from tracker.db.models import ImportBatch, Study
from tracker.errors import Problem, TrackerError
from tracker.ingest.cells import Problems
from tracker.ingest.collect import Collector
from tracker.ingest.context import StudyContext
from tracker.ingest.layout import Layout, analyse
from tracker.ingest.plan import (
    change_problems,
    changes,
    plan_blocks,
    soft_warnings,
    withdrawn_problems,
)
from tracker.ingest.source import csv_chunks, inspect_file, xlsx_chunks, xlsx_rows_estimate
from tracker.ingest.writer import write_plan
from tracker.study import audit

FORMATS = ("wide", "long", "redcap", "qualtrics", "xlsx")


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a refused change, would do).

    ``rows`` counts the data rows read (blank lines and header rows excluded).
    ``values_written`` counts item responses written: every item of each new
    administration (unanswered ones are stored as NULL) plus each changed
    value. ``values_changed`` counts changed item values (a changed completion
    date is listed in ``changes`` but not counted). ``changes`` lists ``(participant, wave, instrument, item, old,
    new)`` for stored values the file changes (``item`` is ``"completed"`` for
    the completion date). ``unchanged`` is true when everything in the file is
    already stored: nothing was written and no batch recorded.
    ``breakdown`` has one dict per wave and instrument: ``wave, instrument,
    new, changed, unchanged`` administrations. ``map_file`` and
    ``map_sha256`` name the import map the file was read with (None without).
    """

    batch_id: int | None
    file: str
    sha256: str
    format: str
    rows: int
    administrations_new: int = 0
    administrations_changed: int = 0
    values_written: int = 0
    values_changed: int = 0
    unchanged: bool = False
    dry_run: bool = False
    map_file: str | None = None
    map_sha256: str | None = None
    warnings: list[Problem] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)
    administrations_unchanged: int = 0
    breakdown: list[dict] = field(default_factory=list)


class _Progress:
    """Progress in records of the file: each counts once as it is read and, when the
    import writes, once more in proportion to the administrations written. So
    ``done == total / 2`` exactly when reading ends and writing begins."""

    def __init__(self, callback: Callable[[int, int], None] | None, estimate: int, writes: bool):
        self.callback = callback
        self.factor = 2 if writes else 1
        self.total = max(estimate, 1) * self.factor
        self.done = 0

    def report(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = max(total, 1)
        self.done = min(max(done, self.done), self.total)
        if self.callback is not None:
            self.callback(self.done, self.total)


def _infer_format(fmt: str | None, path: Path) -> str:
    if fmt is None:
        return "xlsx" if path.suffix.lower() == ".xlsx" else "wide"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise TrackerError(f"unknown import format {fmt!r}; formats: {', '.join(FORMATS)}")
    return fmt


def _resolve(session: Session, study: Study | str | None) -> Study:
    if isinstance(study, Study):
        return study
    from tracker.study.studies import resolve_study

    return resolve_study(session, study)


def import_responses(
    session: Session,
    study: Study | str | None,
    path: str | Path,
    *,
    wave: str | None = None,
    fmt: str | None = None,
    dry_run: bool = False,
    update: bool = False,
    event_map: str | Path | None = None,
    id_column: str | None = None,
    map: str | Path | None = None,  # noqa: A002 - the SPEC's name (study.import_responses(..., map=...))
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import one file of questionnaire responses, all of it or nothing, in the caller's transaction.

    Parameters
    ----------
    session
        The caller's session; it is flushed, never committed.
    study
        A :class:`~tracker.db.models.Study`, a study name, or None for the only study.
    path
        The file: CSV (UTF-8, BOM allowed) or .xlsx (first worksheet).
    wave
        The wave of every row, when the file has no ``wave`` column (or REDCap events).
    fmt
        ``wide`` (default), ``long``, ``redcap``, ``qualtrics`` or ``xlsx`` (the
        default for a ``.xlsx`` file). See :mod:`tracker.ingest.layout`.
    dry_run
        Validate and compare only; write nothing, record no batch.
    update
        Overwrite stored values the file changes, auditing each administration.
    event_map
        REDCap: CSV ``redcap_event_name,wave`` (or REDCap's event list export with a
        ``wave`` column); with a map it replaces the map's ``[events]``.
    id_column
        The column holding the participant code (any format; a Qualtrics file
        without a map needs it); with a map it wins over ``id_column``.
    map
        An import map (TOML, SPEC "Import maps"; :mod:`tracker.ingest.importmap`).
        Its ``format`` and ``wave`` apply unless ``fmt`` and ``wave`` are given.
        Its content and SHA-256 are stored with the import batch.
    progress
        ``progress(done, total)``, called as rows are read and as administrations
        are written; ``total`` is an estimate until the whole file has been read.

    Returns
    -------
    ImportResult

    Raises
    ------
    ValidationError
        (:class:`~tracker.ingest.problems.ImportRefused`) Listing every problem
        in the file at once (row, column, value and rule; identical ones as one
        line): cell values, duplicates, withdrawn participants, unmapped events
        and, when ``update`` is false, stored values the file would change.
        ``all_problems`` holds each one. Nothing has been written. A bad map
        raises a plain ValidationError naming each key.
    TrackerError
        The file cannot be read, is not UTF-8, or its header cannot be used; it
        holds no answers; or (Qualtrics) every response in it was a preview, a
        test or spam, which the message says, with their counts.
    Conflict
        Another import wrote the same administrations at the same time.
    """
    study = _resolve(session, study)
    path = Path(path)
    ctx = StudyContext(session, study)
    if not ctx.instruments:  # before the map, which names instruments, and before the file
        raise TrackerError(
            f"study {study.name!r} has no instruments yet; add them first: tracker instrument add CODE"
        )
    imap = None
    if map is not None:
        from tracker.ingest.importmap import load_map

        imap = load_map(map, ctx)
        fmt = fmt or imap.format
        wave = wave if wave is not None else imap.wave
        fmt = _infer_format(fmt, path)
        if fmt == "long":
            raise TrackerError(
                f"{imap.name}: an import map describes a wide-family file (wide, xlsx, redcap, "
                "qualtrics); a long file needs no map"
            )
    else:
        fmt = _check_options(_infer_format(fmt, path), event_map, id_column)
    info = inspect_file(path, text=fmt != "xlsx")
    fixed_wave_id = None
    if wave is not None:
        from tracker.study.studies import get_wave

        fixed_wave_id = get_wave(session, study, wave).id
    emap = emap_name = None
    if event_map is not None:
        from tracker.ingest.eventmap import load_event_map

        emap, emap_name = load_event_map(event_map, ctx)
    elif imap is not None and imap.events is not None:
        emap, emap_name = imap.events, imap.name
    estimate = xlsx_rows_estimate(info) if fmt == "xlsx" else info.lines
    ticker = _Progress(progress, estimate, writes=not dry_run)

    # 1. read and check the whole file; nothing is written before it is all valid
    problems = Problems()
    layout, collector, records = _read(
        info,
        fmt,
        ctx,
        problems,
        ticker,
        fixed_wave_id=fixed_wave_id,
        event_map=emap,
        event_map_name=emap_name,
        id_column=id_column,
        imap=imap,
    )
    blocks = collector.blocks()
    if not blocks and not problems:
        skipped = collector.skip_counts()
        if skipped.all_skipped:
            raise TrackerError(skipped.message(info.name))
        if skipped.n_skipped:
            raise TrackerError(
                f"{info.name} holds no answers: every item cell of the responses not skipped is empty "
                f"({skipped.summary()})"
            )
        raise TrackerError(f"{info.name} holds no answers: every item cell is empty")
    ticker.report(records, records * ticker.factor)  # the read half is done

    # 2. compare with what is stored; every problem of every kind is listed in one refusal
    plans = plan_blocks(session, blocks)
    if (
        not plans and not problems
    ):  # e.g. a long file whose values are all empty, for nothing stored
        raise TrackerError(f"{info.name} holds no answers: every item cell is empty")
    problems.extend(withdrawn_problems(ctx, plans, info.name, layout.id_name).items)
    completed_column = (
        layout.header[layout.completed_col] if layout.completed_col is not None else None
    )
    change_list = changes(ctx, plans)
    if change_list and not update:
        changed = change_problems(ctx, plans, info.name, completed_column)
        if not problems:
            raise changed.error(
                info.name,
                ("stored value would change", "stored values would change"),
                "; import with --update to apply the changes",
            )
        problems.extend(changed.items)
        advice = (
            f"; {changed.total:,} of them {'is a stored value' if changed.total == 1 else 'are stored values'}"
            " that would change (import with --update to apply changes)"
        )
        raise problems.error(info.name, advice=advice)
    if problems:
        raise problems.error(info.name)
    warnings = collector.warnings + soft_warnings(
        ctx, plans, info.name, completed_column, layout.id_name
    )
    result = ImportResult(
        batch_id=None,
        file=info.name,
        sha256=info.sha256,
        format=fmt,
        rows=collector.rows_read,
        administrations_new=sum(int(p.new.sum()) for p in plans),
        administrations_changed=sum(int(p.changed.sum()) for p in plans),
        administrations_unchanged=sum(int((~p.to_write).sum()) for p in plans),
        values_written=sum(
            int(p.new.sum()) * p.block.instrument.items + p.values_changed for p in plans
        ),
        values_changed=sum(p.values_changed for p in plans),
        dry_run=dry_run,
        warnings=warnings,
        changes=change_list,
        breakdown=_breakdown(ctx, plans),
        map_file=imap.name if imap else None,
        map_sha256=imap.sha256 if imap else None,
    )
    if result.administrations_new + result.administrations_changed == 0:
        result.unchanged = True
    elif not dry_run:
        # 3. write, in the caller's transaction
        result.batch_id = _write(session, ctx, plans, result, path, ticker, records, imap)
    ticker.report(ticker.total)
    return result


def _check_options(fmt: str, event_map, id_column) -> str:
    if event_map is not None and fmt != "redcap":
        raise TrackerError(
            '--event-map applies to REDCap exports (--layout redcap, or a map with format = "redcap")'
        )
    if fmt == "qualtrics" and not id_column:
        raise TrackerError(
            "a Qualtrics import needs --id-column NAME: the column holding the participant code "
            "(e.g. ExternalReference)"
        )
    return fmt


def _read(
    info,
    fmt: str,
    ctx: StudyContext,
    problems: Problems,
    ticker: _Progress,
    *,
    fixed_wave_id,
    event_map,
    event_map_name,
    id_column,
    imap=None,
) -> tuple[Layout, Collector, int]:
    """Stream the file through the layout and the collector; returns them and the records read."""
    chunks = xlsx_chunks(info, problems) if fmt == "xlsx" else csv_chunks(info)
    try:
        first = next(chunks, [])
        header_rows = 1
        header = first[0][1] if first else []
        if not any(c.strip() for c in header):
            raise TrackerError(f"{info.name}: row 1 (the header) is empty")
        qualtrics = None
        if (
            fmt == "qualtrics"
        ):  # current, 2016 or legacy: the header rows say which, and the column names
            from tracker.ingest.qualtrics import read_header

            qualtrics = read_header([cells for _, cells in first[:3]], info.name)
            header_rows = qualtrics.header_rows
            # a legacy export ends every row with an empty column: it stays, unnamed, so rows keep their width
            header = qualtrics.columns + [""] * (len(header) - len(qualtrics.columns))
        if imap is not None:
            from tracker.ingest.mapped_layout import analyse_mapped

            layout, header_problems, warnings = analyse_mapped(
                header,
                ctx,
                imap,
                fmt=fmt,
                name=info.name,
                fixed_wave=fixed_wave_id is not None,
                events=event_map,
                id_column=id_column,
            )
        else:
            layout, header_problems, warnings = analyse(
                header,
                ctx,
                fmt=fmt,
                name=info.name,
                fixed_wave=fixed_wave_id is not None,
                has_event_map=event_map is not None,
                id_column=id_column,
            )
        layout.qualtrics = qualtrics
        problems.extend(header_problems)
        collector = Collector(
            layout,
            ctx,
            problems,
            warnings,
            name=info.name,
            fixed_wave_id=fixed_wave_id,
            event_map=event_map,
            event_map_name=event_map_name,
        )
        records = len(first)
        collector.add(first[header_rows:])
        ticker.report(records)
        for chunk in chunks:
            collector.add(chunk)
            records += len(chunk)
            ticker.report(records)
        collector.finish()
    finally:
        chunks.close()
    return layout, collector, records


def _write(
    session: Session,
    ctx: StudyContext,
    plans,
    result: ImportResult,
    path: Path,
    ticker: _Progress,
    records: int,
    imap=None,
) -> int:
    """Record the batch, write the plan and audit the import; returns the batch id."""
    to_write = result.administrations_new + result.administrations_changed
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        ticker.report(records + records * done // to_write)

    with translate_errors():
        batch = ImportBatch(
            study_id=ctx.study.id,
            file_name=path.name,
            sha256=result.sha256,
            format=result.format,
            row_count=result.rows,
            item_count=result.values_written,
            os_user=audit.os_user(),
            map_name=Path(imap.name).name if imap else None,
            map_text=imap.text if imap else None,
            map_sha256=imap.sha256 if imap else None,
        )
        session.add(batch)
        session.flush()
        write_plan(session, ctx, plans, batch_id=batch.id, progress=advance)
        audit.record(
            session,
            study_id=ctx.study.id,
            action="import",
            entity="import_batch",
            key=path.name,
            after={
                "file": path.name,
                "sha256": result.sha256,
                "format": result.format,
                "rows": result.rows,
                "administrations_new": result.administrations_new,
                "administrations_changed": result.administrations_changed,
                "values_written": result.values_written,
                "values_changed": result.values_changed,
                **({"map": Path(imap.name).name, "map_sha256": imap.sha256} if imap else {}),
            },
            import_batch_id=batch.id,
        )
        session.flush()
    return batch.id


def _breakdown(ctx: StudyContext, plans) -> list[dict]:
    out: dict[tuple[int, str], dict] = {}
    for plan in plans:
        b = plan.block
        for wid in np.unique(b.wave).tolist():
            sel = b.wave == wid
            wave = ctx.wave_by_id[wid]
            out[(wave.id, b.instrument.code)] = {
                "wave": wave.name,
                "instrument": b.instrument.code,
                "new": int((plan.new & sel).sum()),
                "changed": int((plan.changed & sel).sum()),
                "unchanged": int((~plan.to_write & sel).sum()),
            }
    order = {w.id: i for i, w in enumerate(ctx.waves.values())}
    return [out[k] for k in sorted(out, key=lambda k: (order[k[0]], k[1]))]
