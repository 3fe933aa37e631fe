"""The read store: every query the loaders, the analyses, the exports and the report run.

Convention (the read side and the write side share it)
-------------------------------------------------------
* SQL is written once, with ``?`` (qmark) placeholders, on every backend.
  :func:`tracker.db.sql.driver_sql` is the one place that turns them into
  the driver's (``%s`` for psycopg); :class:`tracker.db.reader.Reader` calls it
  for every statement. No other module spells a placeholder for a driver.
* Each query is a named function here taking the :class:`Reader` first and the
  study id next; it returns plain rows (lists of tuples) or, for the big tables,
  one float64 array. No SQL text, no dialect test and no ``driver_connection``
  outside ``tracker/db/`` on the read side.
* Every dialect difference of the read side is in this module: the NULL
  stand-in (SQLite has no NaN) and the join order SQLite is told to use.

Packed numbers
--------------
The big tables come back as numbers only, so that the driver's rows flatten
straight into one float array (each value the driver hands back costs
~0.13 us, and each row more). Integers are computed as BIGINT (PostgreSQL's
integer would overflow) and every packed value is an exact integer in float64;
:mod:`tracker.datasets.codec` unpacks them with the shifts below.

* an item response: ``administration id << ITEM_BITS | item`` and the value
  (item numbers are at most 10,000, see
  :data:`tracker.instruments.definition.MAX_ITEMS`);
* a score: the participant; ``wave id << MEASURE_BITS | measure number``; the
  score; and, when asked for, ``items answered << COUNT_BITS | items total << 1
  | prorated``. When the ids are small enough (participant < 2^21, wave <
  2^16, :func:`score_key_packs`) the participant goes into the wave's integer
  too, so that the analyses, which need no counts, read two numbers per
  score (fewer numbers per row read faster: BENCHMARKS.md, design figures).

Inside this module, reads pack further and hand back the same arrays: the
counts go into the score's key and an administration's five keys into one
number, each field as wide as the largest id (or count) needs, when all fit
in 53 bits; on SQLite an item response is one integer, many to a text
(:func:`_sqlite_item_responses`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np

from tracker.db.reader import Reader

ITEM_BITS = 16
MEASURE_BITS = 16
WAVE_BITS = 16
COUNT_BITS = 20
#: a measure number no stored definition names (would be a bug in the writer)
NO_MEASURE = (1 << MEASURE_BITS) - 1
T = TypeVar("T")

# SQLite has no NaN: a NULL comes back as this sentinel, far outside any item or score range
_SQLITE_NULL = -1.0e308
# SQLite's planner starts from the wave and seeks each administration's scores by key;
# scanning scale_score in key order and looking the administration up by id reads the
# same rows in less time (BENCHMARKS.md, design figures). CROSS JOIN is how SQLite is told
# the order; PostgreSQL
# chooses its own (hash joins).
_JOIN_IN_ORDER = {"sqlite": "CROSS JOIN"}

# administrations as integer keys only; names come from small lookup tables
_ADMIN_SQL = (
    "SELECT a.id, a.participant_id, a.wave_id, a.instrument_id, a.instrument_version_id{dates} "
    "FROM administration a JOIN wave w ON w.id = a.wave_id "
    "WHERE w.study_id = ?{filters} ORDER BY a.id"
)
_RESPONSE_KEY = (
    f"CAST(r.administration_id AS BIGINT) * {1 << ITEM_BITS} + r.item, COALESCE(r.value, {{null}})"
)
_RESPONSE_SQL = (
    f"SELECT {_RESPONSE_KEY} FROM item_response r "
    "JOIN administration a ON a.id = r.administration_id "
    "JOIN wave w ON w.id = a.wave_id WHERE w.study_id = ?{filters}"
)
# the same rows when the database holds this one study only: no join needed
_RESPONSE_SQL_ALL = f"SELECT {_RESPONSE_KEY} FROM item_response r"
# SQLite: an item response as one integer, key << VALUE_BITS | code, the code 0 for NULL,
# value + _VALUE_BIAS for a whole value in 1 - _VALUE_BIAS .. _VALUE_BIAS - 2, else _UNPACKED
# (that row's value is read again as a number)
VALUE_BITS = 12
_VALUE_BIAS = 1 << (VALUE_BITS - 1)
_UNPACKED = (1 << VALUE_BITS) - 1
_PACKABLE = f"r.value BETWEEN {1 - _VALUE_BIAS} AND {_VALUE_BIAS - 2} AND r.value = CAST(r.value AS INTEGER)"
_NOT_PACKABLE = f"r.value IS NOT NULL AND NOT ({_PACKABLE})"
_PACKED_RESPONSE = (
    f"(r.administration_id * {1 << ITEM_BITS} + r.item) * {1 << VALUE_BITS} + CASE WHEN r.value IS NULL "
    f"THEN 0 WHEN {_PACKABLE} THEN CAST(r.value AS INTEGER) + {_VALUE_BIAS} ELSE {_UNPACKED} END"
)
# administration ids per text of packed item responses (~10 items each: ~1 MB of text)
_CHUNK_IDS = 1 << 13
_MEASURE_NO = f"CASE s.measure {{measure_cases}} ELSE {NO_MEASURE} END"
_SCORE_KEY = {
    False: f"a.participant_id, CAST(a.wave_id AS BIGINT) * {1 << MEASURE_BITS} + " + _MEASURE_NO,
    True: f"(CAST(a.participant_id AS BIGINT) * {1 << WAVE_BITS} + a.wave_id) * {1 << MEASURE_BITS} + "
    + _MEASURE_NO,
}
_SCORE_COUNTS = (
    f", CAST(s.items_answered AS BIGINT) * {1 << COUNT_BITS} + s.items_total * 2 "
    "+ CASE WHEN s.prorated THEN 1 ELSE 0 END"
)
_SCORE_SQL = (
    "SELECT {key}, COALESCE(s.score, {{null}}){counts} "
    "FROM scale_score s {{join}} administration a ON a.id = s.administration_id "
    "{{join}} wave w ON w.id = a.wave_id WHERE w.study_id = ?{{filters}}"
)
# a date as days since 1970-01-01; SQLite keeps dates as ISO text (a time, if any, is a fraction of a day)
_DAYS = {
    "sqlite": "julianday(a.completed_on) - 2440587.5",
    "postgresql": "(a.completed_on - DATE '1970-01-01')",
}
_ADMIN_WHERE = "FROM administration a JOIN wave w ON w.id = a.wave_id WHERE w.study_id = ?{filters}"


def _filtered(
    reader: Reader,
    template: str,
    study_id: int,
    waves: Sequence[str] | None,
    instrument_ids: Sequence[int] | None = None,
    *,
    lead: Sequence = (),
    trail: Sequence = (),
    width: int | None = None,
    **parts: str,
):
    """Rows of ``template`` with ``{filters}`` limiting waves and instruments, ``{null}`` the NULL stand-in.

    ``lead`` / ``trail``: parameters of placeholders before the study id / after the filters. With
    ``width``, the rows (all numbers) come back as one float array, the NULL
    stand-in as NaN.
    """
    filters, params = "", [*lead, study_id]
    if waves is not None:
        filters += f" AND w.name IN ({', '.join('?' * len(waves)) or 'NULL'})"
        params.extend(waves)
    if instrument_ids is not None:
        filters += f" AND a.instrument_id IN ({', '.join('?' * len(instrument_ids)) or 'NULL'})"
        params.extend(instrument_ids)
    null = repr(_SQLITE_NULL) if reader.dialect == "sqlite" else "'NaN'::float8"
    sql = template.format(filters=filters, null=null, **parts)
    if sql.count("?") == len(trail):  # the template does not name the study
        params = []
    params.extend(trail)
    if width is None:
        return reader.rows(sql, *params)
    block = reader.numbers(sql, *params, width=width)
    block[block == _SQLITE_NULL] = np.nan
    return block


# -- small tables ------------------------------------------------------------------------------


def study_count(reader: Reader) -> int:
    return reader.rows("SELECT COUNT(*) FROM study")[0][0]


def wave_names(reader: Reader, study_id: int) -> list[str]:
    """The study's wave names in wave order."""
    return [
        row[0]
        for row in reader.rows(
            "SELECT name FROM wave WHERE study_id = ? ORDER BY position", study_id
        )
    ]


def waves(reader: Reader, study_id: int) -> list[tuple]:
    """(name, position, day_offset, window_days) of each wave, in wave order."""
    return reader.rows(
        "SELECT name, position, day_offset, window_days FROM wave WHERE study_id = ? ORDER BY position",
        study_id,
    )


def cohorts(reader: Reader, study_id: int) -> list[tuple]:
    """(name, arm, start_date, description) of each cohort, by name (dates as the driver gives them)."""
    return reader.rows(
        "SELECT name, arm, start_date, description FROM cohort WHERE study_id = ? ORDER BY name",
        study_id,
    )


def participants(reader: Reader, study_id: int) -> list[tuple]:
    """(code, cohort, arm, enrolled_on, age, birth_year, gender, role, status, withdrawn_on,
    withdrawal_reason) of each participant, by code (dates as the driver gives them)."""
    return reader.rows(
        "SELECT p.code, c.name, c.arm, p.enrolled_on, p.age, p.birth_year, p.gender, p.role, p.status, "
        "p.withdrawn_on, p.withdrawal_reason FROM participant p JOIN cohort c ON c.id = p.cohort_id "
        "WHERE p.study_id = ? ORDER BY p.code",
        study_id,
    )


def import_batches(reader: Reader, study_id: int) -> list[tuple]:
    """(file_name, sha256, format, row_count, imported_at, os_user, map_name, map_sha256, map_text), by id."""
    return reader.rows(
        "SELECT file_name, sha256, format, row_count, imported_at, os_user, map_name, map_sha256, map_text "
        "FROM import_batch WHERE study_id = ? ORDER BY id",
        study_id,
    )


def model_roles(reader: Reader, study_id: int) -> dict[str, str]:
    """Measure code -> its model role."""
    return dict(reader.rows("SELECT measure, role FROM model_role WHERE study_id = ?", study_id))


def participant_keys(reader: Reader, study_id: int) -> list[tuple]:
    """(id, code, cohort, arm) of each participant: the labels of the integer keys."""
    return reader.rows(
        "SELECT p.id, p.code, c.name, c.arm FROM participant p "
        "JOIN cohort c ON c.id = p.cohort_id WHERE p.study_id = ?",
        study_id,
    )


def wave_keys(reader: Reader, study_id: int) -> list[tuple]:
    """(id, name, position) of each wave."""
    return reader.rows("SELECT id, name, position FROM wave WHERE study_id = ?", study_id)


def instrument_keys(reader: Reader, study_id: int) -> list[tuple]:
    """(id, code) of each instrument."""
    return reader.rows("SELECT id, code FROM instrument WHERE study_id = ?", study_id)


def instrument_versions(reader: Reader, study_id: int) -> list[tuple]:
    """(id, instrument code, version, stored definition) of every stored version, by id."""
    return reader.rows(
        "SELECT v.id, i.code, v.version, v.definition FROM instrument_version v "
        "JOIN instrument i ON i.id = v.instrument_id WHERE i.study_id = ? ORDER BY v.id",
        study_id,
    )


def used_versions(reader: Reader, study_id: int, wave: str | None = None) -> set[int]:
    """Ids of the instrument versions the study's administrations (at ``wave``; None: any) used."""
    sql = (
        "SELECT DISTINCT a.instrument_version_id FROM administration a JOIN wave w ON w.id = a.wave_id "
        "WHERE w.study_id = ?" + (" AND w.name = ?" if wave is not None else "")
    )
    return {row[0] for row in reader.rows(sql, study_id, *([wave] if wave is not None else []))}


# -- administrations, items, scores ------------------------------------------------------------


def administrations(
    reader: Reader, study_id: int, waves: Sequence[str] | None, *, dates: bool = True
) -> np.ndarray:
    """The study's administrations by id (at ``waves``; None: every wave), as one float array.

    Columns: id, participant_id, wave_id, instrument_id, instrument_version_id
    and, with ``dates``, ``completed_on`` as days since 1970-01-01 (NaN: no
    date; :func:`tracker.datasets.codec.dates_of_days`). Numbers only, not the
    date's text, which reads in half the time (BENCHMARKS.md, design figures).
    """
    days = f", COALESCE({_DAYS[reader.dialect]}, {{null}})" if dates else ""
    join = _JOIN_IN_ORDER.get(reader.dialect, "JOIN")
    widths = _id_widths(reader)
    if sum(widths) > 53:  # the keys do not fit one exact float: one number each
        sql = _ADMIN_SQL.replace("{dates}", days).replace("JOIN", join, 1)
        return _filtered(reader, sql, study_id, waves, width=6 if dates else 5)
    # the five keys as one number: fewer numbers a row read faster (BENCHMARKS.md, design figures)
    key = "CAST(a.id AS BIGINT)"  # PostgreSQL's integer would overflow
    for column, bits in zip(_ADMIN_KEYS[1:], widths[1:], strict=True):
        key = f"({key}) * {1 << bits} + {column}"
    sql = _ADMIN_SQL.replace("{dates}", days).replace("JOIN", join, 1)
    sql = sql.replace(", ".join(_ADMIN_KEYS), key, 1)
    packed = _filtered(reader, sql, study_id, waves, width=2 if dates else 1)
    block = np.empty((len(packed), 6 if dates else 5))
    rest = packed[:, 0].astype(np.int64)
    for at in range(4, 0, -1):  # the version first: the last packed
        block[:, at] = rest & ((1 << widths[at]) - 1)
        rest >>= widths[at]
    block[:, 0] = rest
    if dates:
        block[:, 5] = packed[:, 1]
    return block


_ADMIN_KEYS = (
    "a.id",
    "a.participant_id",
    "a.wave_id",
    "a.instrument_id",
    "a.instrument_version_id",
)


def _id_widths(reader: Reader) -> list[int]:
    """Bits of the largest id of administration, participant, wave, instrument and version.

    Read from each whole table (a seek on its key), so that every id an
    administration holds fits, whatever study it belongs to.
    """
    tables = ("administration", "participant", "wave", "instrument", "instrument_version")
    sql = "SELECT " + ", ".join(f"(SELECT MAX(id) FROM {t})" for t in tables)
    return [max(int(top or 0), 1).bit_length() for top in reader.rows(sql)[0]]


def administration_count(reader: Reader, study_id: int, waves: Sequence[str] | None) -> int:
    """How many administrations the study has (at ``waves``; None: every wave)."""
    return _filtered(reader, "SELECT COUNT(*) " + _ADMIN_WHERE, study_id, waves)[0][0]


def unscored_count(reader: Reader, study_id: int, waves: Sequence[str] | None) -> int:
    """Administrations of the study (at ``waves``; None: all) with no stored score.

    Such administrations were written outside ``tracker import``. One
    anti-join (BENCHMARKS.md, design figures).
    """
    sql = (
        "SELECT COUNT(*) "
        + _ADMIN_WHERE
        + " AND NOT EXISTS (SELECT 1 FROM scale_score s WHERE s.administration_id = a.id)"
    )
    return _filtered(reader, sql, study_id, waves)[0][0]


def item_responses(
    reader: Reader,
    study_id: int,
    waves: Sequence[str] | None,
    instrument_ids: Sequence[int] | None = None,
) -> np.ndarray:
    """``n x 2`` array of (packed administration id and item, value) of the study's item responses.

    ``waves`` / ``instrument_ids`` limit them (None: all); value NaN is an unanswered item.
    Row order: the table's key order when unfiltered, else the query plan's.
    """
    only_study = waves is None and instrument_ids is None and study_count(reader) == 1
    template = _RESPONSE_SQL_ALL if only_study else _RESPONSE_SQL
    if reader.dialect == "sqlite":
        return _sqlite_item_responses(reader, template, study_id, waves, instrument_ids)
    return _filtered(reader, template, study_id, waves, instrument_ids, width=2)


def _sqlite_item_responses(
    reader: Reader,
    template: str,
    study_id: int,
    waves: Sequence[str] | None,
    instrument_ids: Sequence[int] | None,
) -> np.ndarray:
    """:func:`item_responses` on SQLite: each response one integer, many to a text.

    The driver makes a tuple and a Python number of every value (0.85 s of CPU
    for the 1.7 million rows of a 10,000-participant demo); ``group_concat`` of
    one integer a row (``_PACKED_RESPONSE``) parsed by numpy costs 0.4 s. A
    value the packing cannot hold (not whole, out of range) is read again as a
    float, by key. Exact: the column never holds -0.0 (SQLite stores a whole
    REAL as an integer). Chunked by administration id: never all the text at once.
    """
    # one aggregate a SELECT: SQLite then seeks the end of the key instead of scanning the table
    low, high = reader.rows(
        "SELECT (SELECT MIN(administration_id) FROM item_response), "
        "(SELECT MAX(administration_id) FROM item_response)"
    )[0]
    if low is None:
        return np.empty((0, 2))
    if high >= 1 << 31:  # the packed integer would not fit in 63 bits: read the rows as numbers
        return _filtered(reader, template, study_id, waves, instrument_ids, width=2)
    where = " AND " if " WHERE " in template else " WHERE "
    sql = template.replace(_RESPONSE_KEY, _PACKED_RESPONSE, 1)
    sql = sql.replace("SELECT ", "SELECT group_concat(", 1).replace(" FROM ", ") FROM ", 1)
    sql += where + "r.administration_id >= ? AND r.administration_id < ?"
    parts = []
    for start in range(low, high + 1, _CHUNK_IDS):
        (text,) = _filtered(
            reader, sql, study_id, waves, instrument_ids, trail=(start, start + _CHUNK_IDS)
        )[0]
        if text:
            parts.append(np.fromstring(text, dtype=np.int64, sep=","))
    packed = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    block = np.empty((len(packed), 2))
    block[:, 0] = packed >> VALUE_BITS
    code = packed & _UNPACKED
    block[:, 1] = np.where(code == 0, np.nan, code - _VALUE_BIAS)
    unpacked = np.flatnonzero(code == _UNPACKED)
    if len(unpacked):
        rest = _filtered(
            reader, template + where + _NOT_PACKABLE, study_id, waves, instrument_ids, width=2
        )
        keys = block[unpacked, 0]
        order = np.argsort(rest[:, 0])
        at = order[np.minimum(np.searchsorted(rest[order, 0], keys), len(rest) - 1)]
        if len(rest) != len(keys) or not (rest[at, 0] == keys).all():
            raise RuntimeError("item responses changed while they were read")
        block[unpacked] = rest[at]
    return block


def score_key_packs(max_participant_id: int, max_wave_id: int) -> bool:
    """Whether participant, wave and measure fit in one exactly representable integer (< 2^53)."""
    return max_participant_id < 2**21 and max_wave_id < 2**WAVE_BITS


def scale_scores(
    reader: Reader,
    study_id: int,
    waves: Sequence[str] | None,
    measure_codes: Sequence[str],
    *,
    packed: bool,
    counts: bool,
) -> np.ndarray:
    """The study's stored scores as one float array (see the module's *Packed numbers*).

    Columns: the key (one packed number when ``packed``, else participant and
    packed wave and measure), the score (NaN: not computable) and, with
    ``counts``, the packed counts. The measure number is the position of the
    score's measure in ``measure_codes``; a measure not among them is
    :data:`NO_MEASURE`.
    """
    width = (2 if packed else 3) + counts
    if not measure_codes:
        return np.empty((0, width))
    # the measure codes are bound parameters of the CASE, before the study id
    cases = " ".join(f"WHEN ? THEN {n}" for n in range(len(measure_codes)))
    read = {"lead": measure_codes, "measure_cases": cases}
    read["join"] = _JOIN_IN_ORDER.get(reader.dialect, "JOIN")
    if packed and counts:  # the counts inside the key when they fit: two numbers a row, not three
        bits = [*_id_widths(reader)[1:3], len(measure_codes).bit_length()]
        count_bits = max(min((52 - sum(bits)) // 2, COUNT_BITS), 0)
        top, key = (1 << count_bits) - 1, "CAST(a.participant_id AS BIGINT)"
        for part, size in zip(("a.wave_id", _MEASURE_NO), bits[1:], strict=True):
            key = f"({key}) * {1 << size} + {part}"
        key = (  # a count that does not fit: -1, and the three numbers are read instead
            f"CASE WHEN s.items_answered BETWEEN 0 AND {top} AND s.items_total BETWEEN 0 AND {top} "
            f"THEN (({key}) * {1 << count_bits} + s.items_answered) * {2 << count_bits} + "
            "s.items_total * 2 + CASE WHEN s.prorated THEN 1 ELSE 0 END ELSE -1 END"
        ).replace(f"ELSE {NO_MEASURE}", f"ELSE {(1 << bits[2]) - 1}")
        sql = _SCORE_SQL.format(key=key, counts="")
        two = _filtered(reader, sql, study_id, waves, width=2, **read) if top else None
        if two is not None and not (two[:, 0] < 0).any():
            return _unpack_counts(two, bits, count_bits)
    sql = _SCORE_SQL.format(key=_SCORE_KEY[packed], counts=_SCORE_COUNTS if counts else "")
    return _filtered(reader, sql, study_id, waves, width=width, **read)


def _unpack_counts(two: np.ndarray, bits: list[int], count_bits: int) -> np.ndarray:
    """:func:`scale_scores`' three columns (packed key, score, packed counts) from its two."""
    rest, fields = two[:, 0].astype(np.int64), []
    for size in (1, count_bits, count_bits, bits[2], bits[1]):  # the last packed first
        fields.append(rest & ((1 << size) - 1))
        rest >>= size
    prorated, total, answered, measure, wave = fields
    measure[measure == (1 << bits[2]) - 1] = NO_MEASURE
    block = np.empty((len(two), 3))
    block[:, 0] = (((rest << WAVE_BITS) + wave) << MEASURE_BITS) + measure
    block[:, 1] = two[:, 1]
    block[:, 2] = (answered << COUNT_BITS) + (total << 1) + prorated
    return block


# -- outside a study -----------------------------------------------------------------------------


def sqlite_study_names(path) -> list[str] | None:
    """The study names in the SQLite file ``path``, opened read-only; None when it is not such a database."""
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return [r[0] for r in conn.execute("SELECT name FROM study")]
    except sqlite3.Error:
        return None


def newest_by_code(versions: Iterable[tuple[int, str, T]]) -> dict[str, T]:
    """Each instrument's newest version: ``(version_id, code, value)`` in, ``{code: value}`` out, by code.

    The one rule of "newest instrument version": the version stored last, i.e.
    the highest ``instrument_version.id``, not the highest ``version`` text
    (versions are free text: "1", "2b", "2027-03"). ``value`` is whatever the
    caller holds for a version (the ORM row, a parsed definition).
    """
    newest: dict[str, tuple[int, T]] = {}
    for version_id, code, value in versions:
        if code not in newest or version_id > newest[code][0]:
            newest[code] = (version_id, value)
    return {code: newest[code][1] for code in sorted(newest)}
