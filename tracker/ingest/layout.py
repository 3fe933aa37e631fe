"""What each column of an import file holds, decided from its header.

Column names are matched case-insensitively after trimming blanks. Item
columns are ``<code>_<n>`` for the study's instruments; a column the format
does not know is an error naming it, with a hint when it is a near miss
(``pss_10_1`` -> ``pss10_1``) or an instrument the study has not added.

With an import map (``--map``), :func:`tracker.ingest.mapped_layout.analyse_mapped`
finds the columns by the names the map gives instead (:mod:`tracker.ingest.importmap`).

Per format
----------
wide, xlsx
    ``participant``; optional ``wave`` (else ``--wave``), ``completed``
    (applies to every instrument of the row) and ``<code>_completed`` (that
    instrument only, overriding ``completed``); item columns.
long
    ``participant, instrument, item, value``; ``wave`` (else ``--wave``);
    optional ``completed``.
redcap
    ``record_id`` (the participant code); ``redcap_event_name`` mapped to waves
    by ``--event-map`` (a classic project without events takes ``--wave``);
    optional ``redcap_repeat_instance``; ``redcap_*``, checkboxes
    (``field___code``), ``*_complete`` and ``*_timestamp`` are REDCap's own and
    ignored; optional ``completed``. A decimal comma (``"36,5"``) is read as
    a decimal point. ``--id-column`` names another code column (``study_id``).
qualtrics
    Any of the three vintages :mod:`tracker.ingest.qualtrics` recognises
    (current, 2016, legacy ``V1...Vn``); the importer passes the column names
    it reads from their header rows. The participant code comes from the
    column named by ``--id-column`` (which any format accepts; a map defaults
    to ``ExternalReference``). Qualtrics' metadata columns
    (:func:`~tracker.ingest.qualtrics.is_metadata`, any ``Q_...`` column
    included) are ignored, the direct identifiers among them included: they
    are never read or stored. The completion date is ``EndDate`` (else
    ``RecordedDate``), date part. Preview, test and spam responses are
    skipped by the collector (``Layout.qualtrics``).

Outside Qualtrics, a column that holds a direct identifier (``email``,
``name``...) is refused rather than silently dropped: the tracker stores
pseudonymous codes only, and such a file should not be circulating.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np

from tracker.errors import Problem, TrackerError
from tracker.ingest.context import InstrumentInfo, StudyContext
from tracker.ingest.importmap import CellRules
from tracker.ingest.qualtrics import QualtricsHeader, is_metadata
from tracker.scoring import UNKNOWN_ITEM, item_value_message

ITEM_COLUMN = re.compile(r"^([a-z][a-z0-9_]*)_(\d+)$")
REDCAP_IGNORED = {
    "redcap_repeat_instrument",
    "redcap_survey_identifier",
    "redcap_data_access_group",
}
LONG_REQUIRED = ("participant", "instrument", "item", "value")


@dataclass
class ItemBlock:
    """The columns of one instrument's items: ``cols[k]`` holds item k+1 (-1: absent)."""

    instrument: InstrumentInfo
    cols: np.ndarray
    names: list[str]
    rules: CellRules | None = None  # a map's labels, missing and recode; REDCap's decimal comma


@dataclass
class Layout:
    fmt: str
    header: list[str]
    id_col: int
    id_name: str
    wave_col: int | None = None
    completed_col: int | None = None
    completed_by_code: dict[str, int] = field(default_factory=dict)
    event_col: int | None = None
    repeat_col: int | None = None
    qualtrics: QualtricsHeader | None = (
        None  # a Qualtrics export: its header, which says the rows to skip
    )
    unnamed: list[int] = field(default_factory=list)
    blocks: list[ItemBlock] = field(default_factory=list)
    # long format
    instrument_col: int | None = None
    item_col: int | None = None
    value_col: int | None = None
    # import maps
    map_name: str | None = None
    no_wave_source: bool = False  # rows outside [repeat] have no wave: each is a problem
    repeat_instrument_col: int | None = None  # redcap_repeat_instrument
    repeat_instrument: str | None = (
        None  # the map's [repeat] instrument; other repeating rows are skipped
    )
    repeat_waves: dict[int, int] = field(default_factory=dict)


def _norm(name: str) -> str:
    return name.strip().lower()


def _hint(norm: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(norm, candidates, n=1, cutoff=0.8)
    return f"; did you mean {close[0]!r}?" if close else ""


def _identifier_columns() -> set[str]:
    from tracker.study.participants import IDENTIFIER_COLUMNS

    return IDENTIFIER_COLUMNS


def _duplicate_columns(norms: list[str], shown: list[str], bad) -> tuple[dict[str, int], set[int]]:
    """Each normalised column name's first position, and the positions that repeat one (reported to ``bad``)."""
    seen: dict[str, int] = {}
    duplicates: set[int] = set()
    for i, n in enumerate(norms):
        if not n:
            continue
        if n in seen:
            bad(
                i,
                "duplicate_column",
                f"column {shown[i]!r} appears twice (first as column {seen[n] + 1})",
            )
            duplicates.add(i)
        else:
            seen[n] = i
    return seen, duplicates


def analyse(
    header: list[str],
    ctx: StudyContext,
    *,
    fmt: str,
    name: str,
    fixed_wave: bool,
    has_event_map: bool,
    id_column: str | None,
) -> tuple[Layout, list[Problem], list[Problem]]:
    """The layout of ``header`` plus header problems and warnings.

    Raises :class:`TrackerError` straight away when no row could be read
    meaningfully (no participant column, no way to know the wave).
    """
    norms = [_norm(h) for h in header]
    shown = [h.strip() for h in header]
    located: list[tuple[int, Problem]] = []
    warnings: list[Problem] = []

    def bad(col: int, rule: str, message: str) -> None:
        located.append(
            (col, Problem(rule, message, file=name, row=1, column=shown[col] or f"#{col + 1}"))
        )

    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        sep = next(s for s in ";\t|" if s in header[0])
        raise TrackerError(
            f"{name}: the header is one column separated by {sep!r}; "
            "the tracker reads comma-separated files: save it as 'CSV UTF-8 (comma delimited)'"
        )
    seen, duplicates = _duplicate_columns(norms, shown, bad)

    def ordered() -> list[Problem]:
        return [p for _, p in sorted(located, key=lambda cp: cp[0])]

    if fmt == "long":
        layout = _long(
            norms,
            shown,
            ctx,
            seen,
            duplicates,
            bad,
            name=name,
            fixed_wave=fixed_wave,
            id_column=_norm(id_column) if id_column else "participant",
        )
        return layout, ordered(), warnings

    id_name = _norm(id_column) if id_column else {"redcap": "record_id"}.get(fmt, "participant")
    if fmt == "qualtrics" and not id_name:
        raise TrackerError(
            "a Qualtrics import needs --id-column NAME: the column holding the participant code (e.g. ExternalReference)"
        )
    if id_name not in seen:
        hint = _hint(id_name, [n for n in norms if n])
        raise TrackerError(f"{name}: there is no {id_name!r} column for the participant code{hint}")
    layout = Layout(fmt=fmt, header=shown, id_col=seen[id_name], id_name=shown[seen[id_name]])

    known = {id_name}
    if fmt == "redcap" and "redcap_event_name" in seen:
        layout.event_col = seen["redcap_event_name"]
        known.add("redcap_event_name")
        if not has_event_map:
            raise TrackerError(
                f"{name} has REDCap events (redcap_event_name): map them to waves with --event-map FILE (columns redcap_event_name,wave)"
            )
        if fixed_wave:
            raise TrackerError(
                f"{name} has REDCap events: they are mapped to waves by --event-map; drop --wave"
            )
    elif has_event_map:
        raise TrackerError(
            f"--event-map applies to REDCap exports with a redcap_event_name column; {name} has none"
        )
    else:
        if "wave" in seen and fmt != "redcap":
            layout.wave_col = seen["wave"]
            known.add("wave")
            if fixed_wave:
                raise TrackerError(
                    f"{name} has a 'wave' column: give either that column or --wave, not both"
                )
        elif not fixed_wave:
            raise TrackerError(
                f"{name}: which wave? add a 'wave' column or give --wave NAME (waves: {ctx.wave_names()})"
            )
    if fmt == "redcap" and "redcap_repeat_instance" in seen:
        layout.repeat_col = seen["redcap_repeat_instance"]
        known.add("redcap_repeat_instance")
    if fmt == "qualtrics":
        for col in ("enddate", "recordeddate"):
            if col in seen and col != id_name:
                layout.completed_col = seen[col]
                break
    elif "completed" in seen:
        layout.completed_col = seen["completed"]
        known.add("completed")

    identifiers = _identifier_columns()
    item_cols: dict[str, dict[int, int]] = {}
    candidates = ["participant", "wave", "completed"] + [
        n for info in ctx.instruments.values() for n in info.definition.item_names
    ]
    for i, n in enumerate(norms):
        if i == layout.id_col or n in known or i in duplicates:
            continue
        if not n:
            layout.unnamed.append(i)
            continue
        if fmt == "qualtrics" and is_metadata(shown[i]):
            continue
        if fmt == "redcap" and _redcap_bookkeeping(n):
            continue
        if n in identifiers:
            bad(
                i,
                "direct_identifier",
                f"column {shown[i]!r} holds a direct identifier; remove it: only pseudonymous codes are stored",
            )
            continue
        if (
            n.endswith("_completed")
            and n[: -len("_completed")] in ctx.instruments
            and fmt in ("wide", "xlsx")
        ):
            layout.completed_by_code[n[: -len("_completed")]] = i
            continue
        match = ITEM_COLUMN.fullmatch(n)
        if match and match.group(1) in ctx.instruments:
            info = ctx.instruments[match.group(1)]
            number = int(match.group(2))
            if not 1 <= number <= info.items:
                bad(i, UNKNOWN_ITEM, item_value_message(UNKNOWN_ITEM, info.definition))
            elif number in item_cols.setdefault(info.code, {}):  # pss4_1 and pss4_01
                bad(
                    i,
                    "duplicate_column",
                    f"item {number} of {info.code} appears twice (first as column {item_cols[info.code][number] + 1})",
                )
            else:
                item_cols[info.code][number] = i
            continue
        hint = _hint(n, candidates)
        if hint:
            bad(i, "unknown_column", f"unknown column {shown[i]!r}{hint}")
        elif match:
            code = match.group(1)
            bad(
                i,
                "unknown_instrument",
                f"unknown instrument {code!r}: add it to the study first with `tracker instrument add {code}`",
            )
        else:
            bad(
                i,
                "unknown_column",
                f"unknown column {shown[i]!r}; expected {id_name}, "
                f"{'wave, ' if fmt != 'redcap' else ''}completed and item columns <instrument>_<n>",
            )
    for code, numbers in item_cols.items():
        if not numbers:
            continue
        info = ctx.instruments[code]
        cols = np.full(info.items, -1, dtype=np.int64)
        for number, col in numbers.items():
            cols[number - 1] = col
        absent = [f"{code}_{k + 1}" for k in range(info.items) if cols[k] < 0]
        if absent:
            warnings.append(
                Problem(
                    "missing_item_columns",
                    f"{len(absent)} of {info.items} {code} item columns are missing ({', '.join(absent[:5])}"
                    f"{'…' if len(absent) > 5 else ''}); those items are stored as unanswered",
                    file=name,
                    row=1,
                )
            )
        names = [shown[cols[k]] if cols[k] >= 0 else f"{code}_{k + 1}" for k in range(info.items)]
        rules = CellRules(code, mapped=False) if fmt == "redcap" else None  # REDCap writes "36,5"
        layout.blocks.append(ItemBlock(info, cols, names, rules))
    layout.blocks.sort(key=lambda b: b.instrument.code)
    for code in list(layout.completed_by_code):
        if code not in item_cols:
            i = layout.completed_by_code.pop(code)
            bad(
                i,
                "unknown_column",
                f"column {shown[i]!r} gives a completion date but the file has no {code} items",
            )
    if not layout.blocks and not located:
        raise TrackerError(
            f"{name} has no item columns; expected columns <instrument>_<n> for the study's instruments "
            f"({', '.join(ctx.instruments) or 'none yet: tracker instrument add CODE'})"
        )
    return layout, ordered(), warnings


def _long(
    norms, shown, ctx, seen, duplicates, bad, *, name, fixed_wave, id_column="participant"
) -> Layout:
    required = (id_column, *LONG_REQUIRED[1:])
    missing = [c for c in required if c not in seen]
    if missing:
        raise TrackerError(
            f"{name}: a long file needs the columns {', '.join(required)} "
            f"(and wave, unless --wave); missing: {', '.join(missing)}"
        )
    layout = Layout(
        fmt="long",
        header=shown,
        id_col=seen[id_column],
        id_name=shown[seen[id_column]],
        instrument_col=seen["instrument"],
        item_col=seen["item"],
        value_col=seen["value"],
    )
    if "wave" in seen:
        if fixed_wave:
            raise TrackerError(
                f"{name} has a 'wave' column: give either that column or --wave, not both"
            )
        layout.wave_col = seen["wave"]
    elif not fixed_wave:
        raise TrackerError(
            f"{name}: which wave? add a 'wave' column or give --wave NAME (waves: {ctx.wave_names()})"
        )
    if "completed" in seen:
        layout.completed_col = seen["completed"]
    used = {
        layout.id_col,
        layout.instrument_col,
        layout.item_col,
        layout.value_col,
        layout.wave_col,
        layout.completed_col,
    }
    identifiers = _identifier_columns()
    expected = ["participant", "wave", "instrument", "item", "value", "completed"]
    for i, n in enumerate(norms):
        if i in used or i in duplicates:
            continue
        if not n:
            layout.unnamed.append(i)
        elif n in identifiers:
            bad(
                i,
                "direct_identifier",
                f"column {shown[i]!r} holds a direct identifier; remove it: only pseudonymous codes are stored",
            )
        else:
            bad(
                i,
                "unknown_column",
                f"unknown column {shown[i]!r}{_hint(n, expected) or '; expected ' + ', '.join(expected)}",
            )
    return layout


def _redcap_bookkeeping(norm: str) -> bool:
    """REDCap's own columns: checkboxes (``field___code``), ``*_complete``, ``redcap_*``, ``*_timestamp``."""
    return (
        "___" in norm
        or norm.endswith("_complete")
        or norm.startswith("redcap_")
        or norm.endswith("_timestamp")
        or norm in REDCAP_IGNORED
    )
