"""Import maps: how one source's files (REDCap, Qualtrics, any wide export) land in the study.

A map is a TOML file (SPEC "Import maps"); the data file itself is never
edited by hand. :func:`load_map` reads and checks it like an instrument file:
every problem at once, each naming its key, unknown keys with "did you mean".

Keys: ``format, id_column, completed, wave, other_columns, identifiers`` and
the tables ``[events]``, ``[repeat]`` and ``[[items]]`` (``instrument``,
``columns`` or ``pattern``, ``completed``, ``labels``, ``missing``,
``recode``). ``identifiers`` lists columns that are never read: their cells
are not parsed, stored or shown in any message.

Cell rules of an ``[[items]]`` table, applied to each distinct text of a
block (never per cell), in this order, after trimming blanks:

1. ``missing`` (compared ignoring case): the item is unanswered;
2. ``recode``: the raw code becomes the value given (then range-checked);
3. ``labels`` (ignoring case and surrounding spaces): the choice text
   becomes its value;
4. a decimal comma between digits (``"36,5"``) is read as a decimal point.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.errors import Problem, TrackerError, ValidationError
from tracker.ingest.context import InstrumentInfo, StudyContext

FORMATS = ("wide", "long", "redcap", "qualtrics", "xlsx")
TOP_KEYS = (
    "format",
    "id_column",
    "completed",
    "wave",
    "other_columns",
    "identifiers",
    "events",
    "repeat",
    "items",
)
ITEM_KEYS = ("instrument", "columns", "pattern", "completed", "labels", "missing", "recode")
REPEAT_KEYS = ("instrument", "waves")
OTHER_COLUMNS = ("error", "ignore")
DEFAULT_ID_COLUMNS = ("participant", "record_id", "externalreference")
_DECIMAL_COMMA = re.compile(r"^([+-]?\d+),(\d+)$")


@dataclass
class CellRules:
    """The text rules of one ``[[items]]`` table (or, without a map, a REDCap file's decimal commas)."""

    instrument: str
    labels: dict[str, float] = field(default_factory=dict)  # casefolded, trimmed text -> value
    missing: set[str] = field(default_factory=set)  # casefolded, trimmed
    recode: dict[str, float] = field(default_factory=dict)  # trimmed raw code -> value
    mapped: bool = True  # from a map (problem messages then name its keys)

    def text(self, raw: str) -> str:
        value = raw.strip()
        if not value:
            return ""
        folded = value.casefold()
        if folded in self.missing:
            return ""
        if value in self.recode:
            return _number_text(self.recode[value])
        if folded in self.labels:
            return _number_text(self.labels[folded])
        match = _DECIMAL_COMMA.match(value)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
        return value

    def translate(self, cells: np.ndarray) -> np.ndarray:
        """``cells`` (object array of text) with the rules applied, one call per distinct text."""
        codes, uniques = pd.factorize(cells.ravel(), use_na_sentinel=False)
        new = np.array([self.text(u) for u in uniques], dtype=object)
        return new[codes].reshape(cells.shape)

    def advice(self, rule: str) -> str:
        """What to change in the map for a cell breaking ``rule`` (empty without a map)."""
        if not self.mapped:
            return ""
        if rule == "not_a_number":
            return f" — add it to [[items]] labels for {self.instrument} (or to its missing)"
        if rule in ("out_of_range", "not_integer"):
            return f" — if it is a code, give its value in [[items]] recode for {self.instrument}"
        return ""


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class MapItems:
    instrument: InstrumentInfo
    columns: list[str]  # item k+1's column, "" = absent; for a pattern, the expanded names
    from_pattern: bool
    completed: str | None
    rules: CellRules


@dataclass
class ImportMap:
    path: Path
    name: str
    text: str
    sha256: str
    format: str | None = None
    id_column: str | None = None
    completed: str | None = None
    wave: str | None = None
    other_columns: str = "error"
    identifiers: list[str] = field(default_factory=list)
    events: dict[str, int | None] | None = None  # event -> wave id, None = skip
    repeat_instrument: str | None = None
    repeat_waves: dict[int, int] = field(default_factory=dict)  # instance -> wave id
    items: list[MapItems] = field(default_factory=list)


def _did_you_mean(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; keys: {', '.join(allowed)}"


def load_map(path: str | Path, ctx: StudyContext) -> ImportMap:
    """Read and check an import map against the study; every problem at once.

    Raises
    ------
    ValidationError
        Listing each problem with the key it concerns.
    TrackerError
        The file cannot be read or is not TOML.
    """
    import tomllib

    from tracker.ingest.source import inspect_file

    info = inspect_file(path, text=True)
    name = info.name
    text = info.path.read_text(encoding="utf-8-sig")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TrackerError(f"{name} is not valid TOML: {exc}") from None
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem("import_map", f"{key}: {message}", file=name))

    imap = ImportMap(path=info.path, name=name, text=text, sha256=info.sha256)
    for key in data:
        if key not in TOP_KEYS:
            bad(key, f"unknown key{_did_you_mean(key, TOP_KEYS)}")

    def string(table: dict, key: str, where: str) -> str | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            bad(where, f"must be a column name (text), not {value!r}")
            return None
        return value.strip()

    fmt = data.get("format")
    if fmt is not None:
        if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
            bad("format", f"{fmt!r} is not a format; formats: {', '.join(FORMATS)}")
        else:
            imap.format = fmt.lower()
    imap.id_column = string(data, "id_column", "id_column")
    imap.completed = string(data, "completed", "completed")
    wave = data.get("wave")
    if wave is not None:
        if not isinstance(wave, str) or wave.strip() not in ctx.waves:
            bad("wave", f"unknown wave {wave!r}; waves: {ctx.wave_names()}")
        else:
            imap.wave = wave.strip()
    other = data.get("other_columns", "error")
    if other not in OTHER_COLUMNS:
        bad("other_columns", f'must be "error" or "ignore", not {other!r}')
    else:
        imap.other_columns = other
    identifiers = data.get("identifiers", [])
    if not isinstance(identifiers, list) or not all(
        isinstance(c, str) and c.strip() for c in identifiers
    ):
        bad("identifiers", 'must be a list of column names, e.g. identifiers = ["email", "name"]')
    else:
        imap.identifiers = [c.strip() for c in identifiers]

    def wave_id(value, where: str, *, skip: bool) -> tuple[bool, int | None]:
        if skip and value == "skip":
            return True, None
        if isinstance(value, str) and value.strip() in ctx.waves:
            return True, ctx.waves[value.strip()].id
        also = ' (or "skip")' if skip else ""
        bad(where, f"unknown wave {value!r}; waves: {ctx.wave_names()}{also}")
        return False, None

    events = data.get("events")
    if events is not None:
        if not isinstance(events, dict):
            bad("events", 'must be a table: [events] then lines event_name = "wave" (or "skip")')
        else:
            imap.events = {}
            for event, value in events.items():
                ok, wid = wave_id(value, f"events.{event}", skip=True)
                if ok:
                    imap.events[event.strip()] = wid
    repeat = data.get("repeat")
    if repeat is not None:
        if not isinstance(repeat, dict):
            bad("repeat", "must be a table with instrument and waves")
        else:
            for key in repeat:
                if key not in REPEAT_KEYS:
                    bad(f"repeat.{key}", f"unknown key{_did_you_mean(key, REPEAT_KEYS)}")
            imap.repeat_instrument = string(repeat, "instrument", "repeat.instrument")
            if imap.repeat_instrument is None and "instrument" not in repeat:
                bad(
                    "repeat.instrument",
                    "missing: the redcap_repeat_instrument value of the repeated rows",
                )
            waves = repeat.get("waves")
            if not isinstance(waves, dict) or not waves:
                bad(
                    "repeat.waves",
                    'must be a table instance -> wave, e.g. waves = { 1 = "visit-1" }',
                )
            else:
                for instance, value in waves.items():
                    if not instance.strip().isdigit() or int(instance) < 1:
                        bad(f"repeat.waves.{instance}", "an instance is a whole number from 1")
                        continue
                    ok, wid = wave_id(value, f"repeat.waves.{instance}", skip=False)
                    if ok:
                        imap.repeat_waves[int(instance)] = wid
    items = data.get("items")
    if items is None:
        bad("items", "missing: add one [[items]] table per instrument in the file")
    elif not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
        bad("items", "must be [[items]] tables")
    else:
        seen_instruments: set[str] = set()
        seen_columns: dict[str, str] = {}
        for n, table in enumerate(items, start=1):
            where = f"items[{n}]"
            parsed = _items(table, where, ctx, bad)
            if parsed is None:
                continue
            code = parsed.instrument.code
            if code in seen_instruments:
                bad(
                    f"{where}.instrument",
                    f"{code} has two [[items]] tables; give each instrument one",
                )
                continue
            seen_instruments.add(code)
            for column in parsed.columns:
                if not column:
                    continue
                key = column.strip().lower()
                if key in seen_columns:
                    bad(
                        f"{where}.columns",
                        f"column {column!r} is already an item of {seen_columns[key]}",
                    )
                else:
                    seen_columns[key] = code
            imap.items.append(parsed)
    if problems:
        n = len(problems)
        raise ValidationError(
            problems,
            f"{name}: the import map has {n} problem{'s' if n != 1 else ''}; nothing was imported",
        )
    return imap


def _items(table: dict, where: str, ctx: StudyContext, bad) -> MapItems | None:
    for key in table:
        if key not in ITEM_KEYS:
            bad(f"{where}.{key}", f"unknown key{_did_you_mean(key, ITEM_KEYS)}")
    code = table.get("instrument")
    info = ctx.instruments.get(code.strip().lower()) if isinstance(code, str) else None
    if code is None:
        bad(f"{where}.instrument", "missing: the code of the study's instrument these columns hold")
    elif info is None:
        bad(
            f"{where}.instrument",
            f"{code!r} is not an instrument of the study "
            f"({', '.join(ctx.instruments) or 'none yet'}); add it with "
            "`tracker instrument add CODE_OR_FILE`",
        )
    label = info.code if info is not None else str(code)
    k = info.items if info is not None else None
    columns: list[str] = []
    from_pattern = False
    if ("columns" in table) == ("pattern" in table):
        bad(where, f'give either columns = [...] or pattern = "...{{n}}" for {label}')
    elif "columns" in table:
        cols = table["columns"]
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            bad(
                f"{where}.columns", 'must be a list of column names ("" for an item the file lacks)'
            )
        elif k is not None and len(cols) != k:
            bad(
                f"{where}.columns",
                f"lists {len(cols)} columns but {label} has {k} items; "
                'give one per item, in order ("" for an item the file lacks)',
            )
        elif not any(c.strip() for c in cols):
            bad(f"{where}.columns", f"names no column for {label}")
        else:
            columns = [c.strip() for c in cols]
    else:
        pattern = table["pattern"]
        if not isinstance(pattern, str) or "{n}" not in pattern:
            bad(
                f"{where}.pattern",
                f'must be a column name with {{n}} for the item number, e.g. "{label}_q{{n}}"',
            )
        elif k is not None:
            columns = [pattern.replace("{n}", str(i)).strip() for i in range(1, k + 1)]
            from_pattern = True
    completed = table.get("completed")
    if completed is not None and (not isinstance(completed, str) or not completed.strip()):
        bad(f"{where}.completed", f"must be a column name, not {completed!r}")
        completed = None
    rules = CellRules(label)
    for key, target in (("labels", rules.labels), ("recode", rules.recode)):
        mapping = table.get(key, {})
        if not isinstance(mapping, dict):
            bad(
                f"{where}.{key}",
                f'must be a table of text = number, e.g. {key} = {{ "Never" = 0 }}',
            )
            continue
        for text, value in mapping.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                bad(f"{where}.{key}.{text}", f"must be a number, not {value!r}")
                continue
            target[text.strip().casefold() if key == "labels" else text.strip()] = float(value)
    missing = table.get("missing", [])
    if not isinstance(missing, list) or not all(
        isinstance(m, str | int | float) and not isinstance(m, bool) for m in missing
    ):
        bad(
            f"{where}.missing",
            'must be a list of cell values, e.g. missing = ["-99", "Don\'t know"]',
        )
    else:
        rules.missing = {
            _number_text(m).casefold() if not isinstance(m, str) else m.strip().casefold()
            for m in missing
        }
    if info is None or not columns:
        return None
    return MapItems(info, columns, from_pattern, completed.strip() if completed else None, rules)
