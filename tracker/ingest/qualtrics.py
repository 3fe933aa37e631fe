"""Qualtrics CSV exports of every vintage: their header rows, and the responses to skip.

Pure functions of the first rows of a CSV (lists of strings, as :mod:`csv` reads
them); no file or database access. Three variants are recognised:

``current``
    Three header rows: column names (``StartDate, EndDate, Status, ...,
    ResponseId, ..., Q1_1``), question text, and ImportIds as JSON
    (``{"ImportId":"QID2_1"}``, metadata as ``{"ImportId":"startDate","timeZone":...}``).
``2016``
    The same three rows, the ImportIds written with single quotes
    (``{'ImportId': 'QID2-1'}``); ``ResponseID`` rather than ``ResponseId``.
``legacy``
    Two header rows and no ImportIds: row 1 is ``V1 ... V10`` for the metadata
    (then the question names), row 2 the real metadata names (``ResponseID``,
    ``Status``, ``EndDate`` ...) followed by question text. These files often
    start with a BOM and end every row with an empty column.

Column names are kept as the file writes them (item names may contain spaces,
``Q11 Slider_1``, ``Q12 Side by side#1_1``); a legacy ``Vn`` column takes its
row-2 name. Trailing columns with no name in any header row are dropped.

Rows to skip (:meth:`QualtricsHeader.skip_reason`), decided on ``Status`` and
``DistributionChannel`` compared case-insensitively after stripping:

=========  =====================================================================
preview    Status ``Survey Preview``, ``Offline Survey Preview``, ``Preview Spam``,
           ``Survey Preview Spam`` or the numeric codes 1, 9, 17; or
           DistributionChannel ``preview``
test       Status ``Survey Test`` or ``Test`` or code 2; or DistributionChannel ``test``
spam       Status ``Spam`` or ``Imported Spam`` or codes 8, 12
=========  =====================================================================

Everything else is a real response and kept: ``IP Address`` (0), ``Imported``
(4), ``Offline`` (16), an empty Status, or a value Qualtrics may add later
(an unknown value is never a reason to drop someone's answers).
DistributionChannel ``anonymous``, ``email``, ``gl``, ``sms``, ``social``,
``qr``, ``personal``, ``offline`` and others are kept.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field

from tracker.errors import TrackerError

VARIANTS = ("current", "2016", "legacy")
#: Qualtrics' own columns (lowercased), in every vintage: never items. Some hold direct
#: identifiers (recipient names and e-mail, IP address, location) and must never be read.
METADATA_COLUMNS = frozenset(
    {
        "startdate",
        "enddate",
        "status",
        "ipaddress",
        "progress",
        "duration (in seconds)",
        "finished",
        "recordeddate",
        "responseid",
        "responseset",
        "recipientlastname",
        "recipientfirstname",
        "recipientemail",
        "externalreference",
        "externaldatareference",
        "locationlatitude",
        "locationlongitude",
        "locationaccuracy",
        "distributionchannel",
        "userlanguage",
        "name",
        "emailaddress",
    }
)
IDENTIFIER_COLUMNS = frozenset(
    {
        "ipaddress",
        "recipientlastname",
        "recipientfirstname",
        "recipientemail",
        "locationlatitude",
        "locationlongitude",
        "name",
        "emailaddress",
    }
)


def is_metadata(column: str) -> bool:
    """Whether ``column`` is one of Qualtrics' own columns (:data:`METADATA_COLUMNS`, or ``Q_...`` such as
    ``Q_RecaptchaScore``), compared case-insensitively after stripping spaces."""
    name = column.strip()
    return name.lower() in METADATA_COLUMNS or name.startswith("Q_")


SKIP_REASONS = ("preview", "test", "spam")

_STATUS_SKIP = {
    "survey preview": "preview",
    "offline survey preview": "preview",
    "preview spam": "preview",
    "survey preview spam": "preview",
    "preview": "preview",
    "1": "preview",
    "9": "preview",
    "17": "preview",
    "survey test": "test",
    "test": "test",
    "2": "test",
    "spam": "spam",
    "imported spam": "spam",
    "8": "spam",
    "12": "spam",
}
_CHANNEL_SKIP = {"preview": "preview", "test": "test"}
_NOUNS = {
    "preview": ("survey preview", "survey previews"),
    "test": ("test response", "test responses"),
    "spam": ("spam response", "spam responses"),
}

_JSON_IMPORT_ID = re.compile(r'\{\s*"ImportId"\s*:')
_SINGLE_IMPORT_ID = re.compile(r"\{\s*'ImportId'\s*:\s*'([^']*)'")
_V_COLUMN = re.compile(r"V\d+")


@dataclass(frozen=True)
class QualtricsHeader:
    """What the header rows of a Qualtrics export say.

    Attributes
    ----------
    variant
        ``"current"``, ``"2016"`` or ``"legacy"``.
    columns
        Column names, one per kept column (trailing unnamed columns dropped).
    header_rows
        Rows before the first response: 3 (current, 2016) or 2 (legacy).
    question_text
        Row 2, one entry per column (legacy: ``""`` for the metadata columns).
    import_ids
        The ImportId of each column (``"QID2_1"``, ``"startDate"``), ``None``
        where there is none (every column of a legacy export).
    completed_column
        ``EndDate``, else ``RecordedDate`` (as the file spells it), else ``None``.
    id_column
        ``ExternalReference`` or ``ExternalDataReference`` when present (the
        usual participant code), else ``None``.
    status_column, channel_column
        Index of ``Status`` / ``DistributionChannel``, or ``None``.
    """

    variant: str
    columns: list[str]
    header_rows: int
    question_text: list[str]
    import_ids: list[str | None]
    completed_column: str | None
    id_column: str | None
    status_column: int | None = None
    channel_column: int | None = None
    _lower: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def index(self, name: str) -> int | None:
        """The position of column ``name`` (case-insensitive), or ``None``."""
        return self._lower.get(name.strip().lower())

    def skip_reason(self, row: list[str]) -> str | None:
        """``"preview"``, ``"test"``, ``"spam"`` or ``None`` (keep) for one data row."""
        for col, table in (
            (self.status_column, _STATUS_SKIP),
            (self.channel_column, _CHANNEL_SKIP),
        ):
            if col is not None and col < len(row):
                reason = table.get(row[col].strip().lower())
                if reason:
                    return reason
        return None

    def skip_reasons(self, status: list[str] | None, channel: list[str] | None) -> list[str | None]:
        """:meth:`skip_reason` for many rows at once, given their ``Status`` and ``DistributionChannel``
        cells (``None`` for a column the file lacks): one dictionary look-up a row, no row copied."""
        n = len(status) if status is not None else len(channel) if channel is not None else 0
        out: list[str | None] = [None] * n
        if channel is not None:
            out = [_CHANNEL_SKIP.get(c.strip().lower()) for c in channel]
        if status is not None:  # Status decides first, as in skip_reason
            out = [
                _STATUS_SKIP.get(s.strip().lower()) or r for s, r in zip(status, out, strict=True)
            ]
        return out

    def classify(self, rows: list[list[str]]) -> SkipCounts:
        """Count the data rows (no header rows) to skip, by reason; empty rows are not counted."""
        counts: Counter[str] = Counter()
        total = 0
        for row in rows:
            if not any(c.strip() for c in row):
                continue
            total += 1
            reason = self.skip_reason(row)
            if reason:
                counts[reason] += 1
        return SkipCounts(rows=total, skipped={r: counts[r] for r in SKIP_REASONS if counts[r]})


@dataclass(frozen=True)
class SkipCounts:
    """``rows`` data rows seen; ``skipped`` maps a reason to how many rows it skipped."""

    rows: int
    skipped: dict[str, int]

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def all_skipped(self) -> bool:
        return self.rows > 0 and self.n_skipped == self.rows

    def describe(self) -> str:
        """``"2 survey previews and 1 spam response"`` (``""`` when nothing was skipped)."""
        parts = [f"{n} {_NOUNS[r][0] if n == 1 else _NOUNS[r][1]}" for r, n in self.skipped.items()]
        if len(parts) < 2:
            return "".join(parts)
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def summary(self) -> str | None:
        """:meth:`message` without the file name in front."""
        if not self.n_skipped:
            return None
        if self.all_skipped:
            return (
                f"every response was skipped ({self.describe()}, by Status or DistributionChannel); "
                "there is nothing to import"
            )
        return (
            f"{self.n_skipped} of {self.rows} responses skipped ({self.describe()}, "
            "by Status or DistributionChannel)"
        )

    def message(self, source: str) -> str | None:
        """The one warning (or, when every row was skipped, the statement) for ``source``; ``None`` when none."""
        summary = self.summary()
        return None if summary is None else f"{source}: {summary}"


def rows_from_text(text: str, limit: int | None = None) -> list[list[str]]:
    """CSV text (CRLF or LF, BOM or not) as rows of strings; at most ``limit`` rows."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    out = []
    for row in reader:
        out.append(row)
        if limit is not None and len(out) >= limit:
            break
    return out


def _import_id(cell: str) -> str | None:
    text = cell.strip()
    if _JSON_IMPORT_ID.match(text):
        try:
            value = json.loads(text).get("ImportId")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    match = _SINGLE_IMPORT_ID.match(text)
    return match.group(1) if match else None


def detect_variant(rows: list[list[str]]) -> str | None:
    """``"current"``, ``"2016"``, ``"legacy"`` or ``None`` (not a Qualtrics export) from the first rows."""
    if not rows:
        return None
    third = rows[2] if len(rows) > 2 else []
    if any(_JSON_IMPORT_ID.match(c.strip()) for c in third):
        return "current"
    if any(_SINGLE_IMPORT_ID.match(c.strip()) for c in third):
        return "2016"
    first = [c.strip().lstrip("\ufeff") for c in rows[0]]
    if (
        first
        and first[0] == "V1"
        and len(rows) > 1
        and sum(bool(_V_COLUMN.fullmatch(c)) for c in first) >= 2
    ):
        return "legacy"
    return None


def read_header(rows: list[list[str]], source: str = "<file>") -> QualtricsHeader:
    """Read the header rows of a Qualtrics export (pass at least its first 3 rows).

    Raises :class:`TrackerError` when the rows are not a Qualtrics export of a
    known variant, naming the file and what was expected.
    """
    variant = detect_variant(rows)
    if variant is None:
        raise TrackerError(
            f"{source} does not look like a Qualtrics CSV export: expected row 3 to hold ImportIds "
            "({\"ImportId\": ...}, or {'ImportId': ...} in 2016 exports) or row 1 to be V1, V2, ... (legacy "
            "exports); for a plain CSV use --layout wide"
        )
    n_header = 2 if variant == "legacy" else 3
    head = [[c.lstrip("\ufeff") if j == 0 else c for j, c in enumerate(r)] for r in rows[:n_header]]
    width = max(len(r) for r in head)
    head = [r + [""] * (width - len(r)) for r in head]
    while width and not any(r[width - 1].strip() for r in head):
        width -= 1
    names_row = [c.strip() for c in head[0][:width]]
    second = [c.strip() for c in head[1][:width]]
    if variant == "legacy":
        # V1..Vn are placeholders; row 2 holds the metadata names (ResponseID, Status, EndDate ...).
        columns = [
            second[j] if _V_COLUMN.fullmatch(n) and second[j] and " " not in second[j] else n
            for j, n in enumerate(names_row)
        ]
        question = ["" if columns[j] != names_row[j] else second[j] for j in range(width)]
        import_ids: list[str | None] = [None] * width
    else:
        columns = names_row
        question = second
        import_ids = [_import_id(c) for c in head[2][:width]]
    lower: dict[str, int] = {}
    for j, name in enumerate(columns):
        lower.setdefault(name.lower(), j)

    def first_of(*names: str) -> str | None:
        for n in names:
            if n.lower() in lower:
                return columns[lower[n.lower()]]
        return None

    return QualtricsHeader(
        variant=variant,
        columns=columns,
        header_rows=n_header,
        question_text=question,
        import_ids=import_ids,
        completed_column=first_of("EndDate", "RecordedDate"),
        id_column=first_of("ExternalReference", "ExternalDataReference"),
        status_column=lower.get("status"),
        channel_column=lower.get("distributionchannel"),
        _lower=lower,
    )
