"""Load a study's items, scores and metadata into tidy DataFrames.

Every query is plain SQL through a DBAPI cursor (:class:`tracker.db.reader.Reader`):
no ORM objects, and the same code whether the connection comes from a
SQLAlchemy session (the report, exports) or is opened directly by
``tracker analyze`` (:func:`tracker.db.reader.open_reader`), which then never
imports SQLAlchemy (a share of every command: BENCHMARKS.md, design figures).

Scores come from ``scale_score``, written with the items by the importer from
each administration's own stored instrument version; keyed item values (for
reliability) are computed from the item responses with that same version.

Loading can be limited to some waves, and items can be skipped: at 10,000
participants a study holds 1.7 million item rows, and reading them is most
of what a single ``tracker analyze`` command costs. :class:`StudyData` records
what was loaded and the analyses check it (:meth:`StudyData.require`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracker.db.reader import Reader, StudyRef
from tracker.errors import TrackerError
from tracker.instruments import InstrumentDef
from tracker.vocabulary import MODEL_ROLES

ADMIN_COLUMNS = [
    "administration_id", "participant", "cohort", "arm", "wave", "wave_order",
    "instrument", "version_id", "completed_on",
]
SCORE_COLUMNS = [
    "participant", "cohort", "arm", "wave", "wave_order", "instrument", "measure",
    "score", "items_answered", "items_total", "prorated",
]
ITEM_COLUMNS = [
    "administration_id", "participant", "cohort", "arm", "wave", "wave_order",
    "instrument", "item", "value", "completed_on",
]
KEYED_COLUMNS = ["participant", "cohort", "arm", "wave", "wave_order", "measure", "item", "value"]
MEASURE_COLUMNS = ["measure", "instrument", "name", "construct", "role",
                   "higher_is_better", "reliability", "score_min", "score_max", "n_items",
                   "norm_mean", "norm_sd"]

# administrations as integer keys only; names come from small lookup tables
_ADMIN_SQL = (
    "SELECT a.id, a.participant_id, a.wave_id, a.instrument_id, a.instrument_version_id, a.completed_on "
    "FROM administration a JOIN wave w ON w.id = a.wave_id "
    "WHERE w.study_id = ?{filters} ORDER BY a.id"
)
# (administration id x 2^16 + item number, value): two numbers per item response,
# not three (each value the driver hands back costs time, BENCHMARKS.md, design figures;
# item numbers are at most 10,000, see tracker.instruments.definition.MAX_ITEMS)
_RESPONSE_SQL = (
    "SELECT CAST(r.administration_id AS BIGINT) * 65536 + r.item, COALESCE(r.value, {null}) FROM item_response r "
    "JOIN administration a ON a.id = r.administration_id "
    "JOIN wave w ON w.id = a.wave_id WHERE w.study_id = ?{filters}"
)
# the same rows when the database holds this one study only: no join needed
_RESPONSE_SQL_ALL = (
    "SELECT CAST(r.administration_id AS BIGINT) * 65536 + r.item, COALESCE(r.value, {null}) FROM item_response r"
)
# Numbers only per score, so that the rows flatten straight into one float
# array: the participant; the wave and the measure's number in one integer
# (wave id x 2^16 + measure number); the score; and, when asked for, items
# answered, items in the measure and the prorated flag in one (answered x 2^20
# + total x 2 + prorated). When the ids are small enough (participant < 2^21,
# wave < 2^16) the participant goes into the wave's integer too ((participant x
# 2^16 + wave) x 2^16 + measure < 2^53), so that the analyses, which need no
# counts, read two numbers per score. Integers are computed as BIGINT
# (PostgreSQL's integer would overflow) and every packed value is an exact
# integer in float64. Each value the driver hands back costs time and each row
# more, so two numbers per score read faster than four (BENCHMARKS.md, design figures).
# The instrument is the measure code's part before any ".".
_MEASURE_NO = "CASE s.measure {measure_cases} ELSE 65535 END"
_SCORE_KEY = {
    False: "a.participant_id, CAST(a.wave_id AS BIGINT) * 65536 + " + _MEASURE_NO,
    True: "(CAST(a.participant_id AS BIGINT) * 65536 + a.wave_id) * 65536 + " + _MEASURE_NO,
}
_SCORE_COUNTS = (
    ", CAST(s.items_answered AS BIGINT) * 1048576 + s.items_total * 2 + CASE WHEN s.prorated THEN 1 ELSE 0 END"
)
_SCORE_SQL = (
    "SELECT {key}, COALESCE(s.score, {{null}}){counts} "
    "FROM scale_score s {{join}} administration a ON a.id = s.administration_id "
    "{{join}} wave w ON w.id = a.wave_id WHERE w.study_id = ?{{filters}}"
)
# SQLite's planner starts from the wave and seeks each administration's scores by key;
# scanning scale_score in key order and looking the administration up by id reads the
# same rows in less time (BENCHMARKS.md, design figures). CROSS JOIN is how SQLite
# is told the order; PostgreSQL chooses its own (hash joins).
_JOIN_IN_ORDER = {"sqlite": "CROSS JOIN"}
# SQLite has no NaN: a NULL comes back as this sentinel, far outside any item or score range
_SQLITE_NULL = -1.0e308


def _waves(wave) -> tuple[str, ...] | None:
    """None (every wave), or the wave names as a tuple (one name may be given as a string)."""
    if wave is None:
        return None
    return (wave,) if isinstance(wave, str) else tuple(wave)


def _filtered(reader: Reader, template: str, study: StudyRef, waves: tuple[str, ...] | None,
              instrument_ids: Sequence[int] | None = None, *, lead: Sequence = (), width: int | None = None,
              **parts: str):
    """Rows of ``template`` with ``{filters}`` limiting waves and instruments, ``{null}`` the NULL stand-in.

    ``lead``: parameters of placeholders that come before the study id. With
    ``width``, the rows (all numbers) come back as one float array, the NULL
    stand-in as NaN.
    """
    filters, params = "", [*lead, study.id]
    if waves is not None:
        filters += f" AND w.name IN ({', '.join('?' * len(waves)) or 'NULL'})"
        params.extend(waves)
    if instrument_ids is not None:
        filters += f" AND a.instrument_id IN ({', '.join('?' * len(instrument_ids)) or 'NULL'})"
        params.extend(instrument_ids)
    null = repr(_SQLITE_NULL) if reader.dialect == "sqlite" else "'NaN'::float8"
    sql = template.format(filters=filters, null=null, **parts)
    if "?" not in sql:
        params = []
    if width is None:
        return reader.rows(sql, *params)
    block = reader.numbers(sql, *params, width=width)
    block[block == _SQLITE_NULL] = np.nan
    return block


def _study_ref(source, study) -> StudyRef:
    """``study`` as a StudyRef: a Study, a StudyRef, a study name, or None for the only study.

    With a session, a name that does not resolve is explained by
    :func:`tracker.study.studies.resolve_study`; with a bare Reader, briefly.
    """
    if study is not None and not isinstance(study, str):
        return StudyRef.of(study)
    if isinstance(source, Reader):
        ref = source.study(study)
        if ref is None:
            from tracker.errors import NotFound

            raise NotFound(f"no study named {study!r}" if study else "the database does not hold exactly one study")
        return ref
    from tracker.study.studies import resolve_study

    return StudyRef.of(resolve_study(source, study))


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _as_datetime(value) -> dt.datetime | None:
    """A timestamp; SQLite hands back SQLAlchemy's text form, read as SQLAlchemy reads it."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


class _Lookups:
    """Participant, wave and instrument names by id, for turning integer keys into labels."""

    def __init__(self, reader: Reader, study: StudyRef):
        people = reader.rows("SELECT p.id, p.code, c.name, c.arm FROM participant p "
                             "JOIN cohort c ON c.id = p.cohort_id WHERE p.study_id = ?", study.id)
        waves = reader.rows("SELECT id, name, position FROM wave WHERE study_id = ?", study.id)
        instruments = reader.rows("SELECT id, code FROM instrument WHERE study_id = ?", study.id)
        self.tables = {"people": people, "waves": waves, "instruments": instruments}
        self._index: dict[str, pd.Index] = {}
        self._columns: dict[tuple[str, int], np.ndarray] = {}
        self.instrument_ids = {code: iid for iid, code in instruments}
        # every stored version of the study's instruments, parsed once: (instrument code, definition)
        self.versions: dict[int, tuple[str, InstrumentDef]] = {
            vid: (code, InstrumentDef.from_stored(stored, f"stored {code}@{version}"))
            for vid, code, version, stored in reader.rows(
                "SELECT v.id, i.code, v.version, v.definition FROM instrument_version v "
                "JOIN instrument i ON i.id = v.instrument_id WHERE i.study_id = ? ORDER BY v.id", study.id)
        }

    def measure_codes(self) -> list[str]:
        """Every measure code of every stored version (sorted)."""
        return sorted({m.code for _, d in self.versions.values() for m in d.measures})

    def newest(self) -> dict[str, InstrumentDef]:
        """Instrument code -> its newest stored definition, by code."""
        latest = {code: d for _, (code, d) in sorted(self.versions.items())}  # higher ids overwrite
        return dict(sorted(latest.items()))

    def positions(self, table: str, keys) -> np.ndarray:
        """Row positions in ``table`` of the ids ``keys`` (take a :meth:`column` at them)."""
        if table not in self._index:
            self._index[table] = pd.Index([row[0] for row in self.tables[table]])
        return self._index[table].get_indexer(np.asarray(keys))

    def column(self, table: str, field: int) -> np.ndarray:
        """Field ``field`` of every row of ``table``, in row order (built once)."""
        if (table, field) not in self._columns:
            self._columns[table, field] = np.asarray([row[field] for row in self.tables[table]], dtype=object)
        return self._columns[table, field]

    def rank(self, table: str, field: int) -> np.ndarray:
        """Each row's rank when ``table`` is sorted by ``field`` (the order sorting the values gives)."""
        values = [row[field] for row in self.tables[table]]
        out = np.empty(len(values), dtype=np.int64)
        out[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
        return out

    def __call__(self, table: str, keys, field: int) -> np.ndarray:
        return self.column(table, field)[self.positions(table, keys)]


def _administrations(reader: Reader, study: StudyRef, waves: tuple[str, ...] | None,
                     lookups: _Lookups, *, dates: bool = True) -> pd.DataFrame:
    """ADMIN_COLUMNS of the study's administrations, by id; ``dates=False`` leaves out ``completed_on``.

    Without dates every column is an integer key, read as one float array
    (the keyed items need no dates, and read faster without them:
    BENCHMARKS.md, design figures).
    """
    columns = ADMIN_COLUMNS if dates else ADMIN_COLUMNS[:-1]
    if dates:
        rows = _filtered(reader, _ADMIN_SQL, study, waves)
        ids, participant_ids, wave_ids, instrument_ids, version_ids, completed = zip(*rows, strict=True) if rows \
            else ((),) * 6
    else:
        block = _filtered(reader, _ADMIN_SQL.replace(", a.completed_on", ""), study, waves, width=5).astype(np.int64)
        ids, participant_ids, wave_ids, instrument_ids, version_ids = block.T
    if not len(ids):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("administration_id", "wave_order", "version_id") else "object")
                             for c in columns})
    person, wave = lookups.positions("people", participant_ids), lookups.positions("waves", wave_ids)
    out = {
        "administration_id": np.asarray(ids, dtype=np.int64),
        "participant": lookups.column("people", 1)[person],
        "cohort": lookups.column("people", 2)[person],
        "arm": lookups.column("people", 3)[person],
        "wave": lookups.column("waves", 1)[wave],
        "wave_order": lookups.column("waves", 2)[wave].astype(np.int64),
        "instrument": lookups("instruments", instrument_ids, 1),
        "version_id": np.asarray(version_ids, dtype=np.int64),
    }
    if dates:
        parsed = {value: _as_date(value) for value in set(completed)}
        out["completed_on"] = [parsed[value] for value in completed]
    return pd.DataFrame(out)


def _responses(reader: Reader, study: StudyRef, waves: tuple[str, ...] | None,
               instrument_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """(administration_id, item, value) for the study, via the raw DBAPI cursor."""
    only_study = waves is None and instrument_ids is None and reader.rows("SELECT COUNT(*) FROM study")[0][0] == 1
    block = _filtered(reader, _RESPONSE_SQL_ALL if only_study else _RESPONSE_SQL, study, waves, instrument_ids,
                      width=2)
    key = block[:, 0].astype(np.int64)
    return pd.DataFrame({"administration_id": key >> 16, "item": key & 0xFFFF, "value": block[:, 1]})


def load_items(session, study=None, *, wave: str | None = None) -> pd.DataFrame:
    """Every stored item response, one row per administration × item.

    ``study``: a Study, a study name, or None for the only study.

    Columns: ``administration_id, participant, cohort, arm, wave, wave_order,
    instrument, item, value, completed_on`` (value NaN = unanswered).
    """
    reader, ref = Reader.of(session), _study_ref(session, study)
    admins = _administrations(reader, ref, _waves(wave), _Lookups(reader, ref))
    responses = _responses(reader, ref, _waves(wave))
    out = responses.merge(admins.drop(columns="version_id"), on="administration_id", how="inner")
    return out[ITEM_COLUMNS].sort_values(["participant", "wave_order", "instrument", "item"], ignore_index=True)


def _keyed_items(admins: pd.DataFrame, responses: pd.DataFrame, defs: dict[int, InstrumentDef]) -> pd.DataFrame:
    """Item values keyed in each measure's direction, by each administration's own version."""
    from tracker.scoring import keyed_items_long

    keyed = []
    version_of = admins.set_index("administration_id")["version_id"]
    version_per_row = version_of.reindex(responses["administration_id"]).to_numpy()
    for vid, definition in defs.items():
        block = responses[version_per_row == vid]
        if not block.empty:
            keyed.append(keyed_items_long(block, definition))
    if not keyed:
        return pd.DataFrame(columns=["administration_id", "measure", "item", "value"])
    return pd.concat(keyed, ignore_index=True)


def _administration_count(reader: Reader, study: StudyRef, waves: tuple[str, ...] | None) -> int:
    """How many administrations the study has (at ``waves``; None: every wave)."""
    return _filtered(reader, "SELECT COUNT(*) FROM administration a JOIN wave w ON w.id = a.wave_id "
                             "WHERE w.study_id = ?{filters}", study, waves)[0][0]


def _stored_scores(reader: Reader, study: StudyRef, waves: tuple[str, ...] | None, lookups: _Lookups,
                   *, counts: bool = True) -> pd.DataFrame:
    """``scale_score`` rows of the study (SCORE_COLUMNS), sorted by participant, wave and measure.

    ``counts=False`` leaves out ``items_answered``, ``items_total`` and
    ``prorated`` (the analyses do not use them; the report does).

    Refuses a study with administrations that have no stored scores (written
    through the models rather than ``tracker import``): analysing without them
    would silently leave them out.
    """
    from tracker.db.scores import unscored

    codes = lookups.measure_codes()
    packed = max((row[0] for row in lookups.tables["people"]), default=0) < 2**21 \
        and max((row[0] for row in lookups.tables["waves"]), default=0) < 2**16
    width = (2 if packed else 3) + counts
    block = np.empty((0, width))
    if codes:
        # the measure codes are bound parameters of the CASE, before the study id
        cases = " ".join(f"WHEN ? THEN {n}" for n in range(len(codes)))
        sql = _SCORE_SQL.format(key=_SCORE_KEY[packed], counts=_SCORE_COUNTS if counts else "")
        block = _filtered(reader, sql, study, waves, lead=codes, measure_cases=cases, width=width,
                          join=_JOIN_IN_ORDER.get(reader.dialect, "JOIN"))
    if packed:
        key = block[:, 0].astype(np.int64)
        participant_ids, wave_ids, measure_no = key >> 32, (key >> 16) & 0xFFFF, key & 0xFFFF
    else:
        wave_measure = block[:, 1].astype(np.int64)
        participant_ids, wave_ids, measure_no = block[:, 0], wave_measure >> 16, wave_measure & 0xFFFF
    if (measure_no == 0xFFFF).any():  # a stored measure no definition names: would be a bug in the writer
        raise RuntimeError("scale_score holds a measure that no stored instrument version defines")
    person = lookups.positions("people", participant_ids)
    wave = lookups.positions("waves", wave_ids)
    instrument_of = [code.split(".", 1)[0] for code in codes]  # of each measure code
    instruments = sorted(set(instrument_of))
    instrument_no = np.asarray([instruments.index(code) for code in instrument_of], dtype=np.int64)
    # An administration (unique per participant, wave and instrument) is scored when it has a
    # score row: comparing the administrations counted with those the rows name costs a
    # fraction of the anti-join that finds the unscored ones (BENCHMARKS.md, design figures),
    # so the anti-join runs only to say how many are missing.
    scored = len(pd.unique((person * len(lookups.tables["waves"]) + wave) * max(len(instruments), 1)
                           + instrument_no[measure_no])) if len(block) else 0  # a hash: np.unique sorts, slower
    if scored != _administration_count(reader, study, waves):
        missing = unscored(reader, study.id, waves)
        raise TrackerError(
            f"{missing:,} administration(s) of study {study.name!r} have no stored scores (written outside "
            "`tracker import`?); run `tracker db rescore` to score them from their items"
        )
    columns = SCORE_COLUMNS if counts else SCORE_COLUMNS[:-3]
    if not len(block):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    wave_order = lookups.column("waves", 2).astype(np.int64)
    # sorted by participant code, wave order and measure code (the codes are sorted, so the
    # measure's number orders it) on integers, not by sorting the frame's strings
    order = np.lexsort((measure_no, wave_order[wave], lookups.rank("people", 1)[person]))
    person, wave, measure_no, block = person[order], wave[order], measure_no[order], block[order]
    out = {
        "participant": lookups.column("people", 1)[person],
        "cohort": lookups.column("people", 2)[person],
        "arm": lookups.column("people", 3)[person],
        "wave": lookups.column("waves", 1)[wave],
        "wave_order": wave_order[wave],
        "instrument": np.asarray(instrument_of, dtype=object)[measure_no],
        "measure": np.asarray(codes, dtype=object)[measure_no],
        "score": block[:, 1 if packed else 2],
    }
    if counts:
        packed_counts = block[:, -1].astype(np.int64)
        out["items_answered"] = packed_counts >> 20
        out["items_total"] = (packed_counts & 0xFFFFF) >> 1
        out["prorated"] = (packed_counts & 1) == 1
    return pd.DataFrame(out)


def load_scores(session, study=None, *, wave: str | None = None) -> pd.DataFrame:
    """Scale scores for every administration, one row per administration × measure.

    ``study``: a Study, a study name, or None for the only study.

    Columns: ``participant, cohort, arm, wave, wave_order, instrument, measure,
    score, items_answered, items_total, prorated``. ``score`` is NaN when more
    items are missing than the measure's ``max_missing`` allows.
    """
    reader, ref = Reader.of(session), _study_ref(session, study)
    return _stored_scores(reader, ref, _waves(wave), _Lookups(reader, ref))


def _attach(frame: pd.DataFrame, admins: pd.DataFrame, *, sort: bool = True) -> pd.DataFrame:
    """Add the administration's participant, cohort, arm, wave and instrument to each row.

    Positional lookup (admins are ordered by id) instead of a merge: the keyed
    item table has millions of rows.
    """
    ids = admins["administration_id"].to_numpy()
    pos = np.searchsorted(ids, frame["administration_id"].to_numpy())
    keep = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == frame["administration_id"].to_numpy())
    if not keep.all():
        frame, pos = frame[keep], pos[keep]
    # one constructor call: adding the six columns one by one to a large frame of keyed
    # items cost a visible share of the load (BENCHMARKS.md, design figures)
    columns = {col: frame[col].array for col in frame.columns}
    for col in ("participant", "cohort", "arm", "wave", "wave_order", "instrument"):
        columns[col] = admins[col].array.take(pos)  # keeps the dtype: no second look at 620,000 strings
    out = pd.DataFrame(columns)
    if sort:
        out = out.sort_values(["participant", "wave_order", "measure"], ignore_index=True)
    return out


@dataclass
class StudyData:
    """Everything the analyses and the report read, as tidy DataFrames."""

    study: str
    waves: pd.DataFrame          # wave, wave_order, day, window
    cohorts: pd.DataFrame        # cohort, arm, start, description
    participants: pd.DataFrame   # participant, cohort, arm, enrolled, age, birth_year, gender, role, status, withdrawn_on, withdrawal_reason
    scores: pd.DataFrame         # SCORE_COLUMNS (without the last three when loaded with score_counts=False)
    keyed_items: pd.DataFrame    # participant, cohort, arm, wave, wave_order, measure, item, value (reverse-keyed)
    measures: pd.DataFrame       # measure, instrument, name, construct, role, higher_is_better, reliability, score_min, score_max, n_items, norm_mean, norm_sd
    batches: pd.DataFrame        # file_name, sha256, format, row_count, imported_at, os_user
    administrations: pd.DataFrame | None  # administration_id, participant, cohort, arm, wave, wave_order, instrument, completed_on
    db_revision: str | None
    score_waves: tuple[str, ...] | None = None  # waves whose scores were loaded (None: every wave)
    item_waves: tuple[str, ...] | None = None   # waves whose keyed items were loaded (None: every wave)
    item_instruments: tuple[str, ...] | None = None  # instruments whose keyed items were loaded (None: all)
    cache: dict = field(default_factory=dict, repr=False)  # derived values reused across analyses

    def require(self, *, scores=(), items=(), instruments=None) -> None:
        """Raise if the scores or keyed items of these waves (None: every wave) were not loaded.

        ``instruments``: the keyed items needed are those of these instruments
        (None: every instrument). A programming error, not a user's: the caller
        loaded less than it analyses.
        """
        checks = [("scores", self.score_waves, scores), ("items", self.item_waves, items)]
        if items != ():
            checks.append(("items of instruments", self.item_instruments, instruments))
        for kind, loaded, wanted in checks:
            if loaded is None:
                continue
            if wanted is None or not set(wanted) <= set(loaded):
                raise RuntimeError(f"{kind} {wanted or 'all'} needed, only {list(loaded)} loaded")

    def wave_names(self) -> list[str]:
        return list(self.waves.sort_values("wave_order")["wave"])

    def measure_order(self) -> list[str]:
        """Measures ordered modifiable → intermediate → outcome → unassigned, as the roles say."""
        order = {role: rank for rank, role in enumerate(MODEL_ROLES)}
        m = self.measures.assign(_rank=self.measures["role"].map(order).fillna(3))
        return list(m.sort_values(["_rank", "measure"], kind="stable")["measure"])


def _measures(reader: Reader, study: StudyRef, lookups: _Lookups) -> pd.DataFrame:
    """One row per measure of each instrument's newest version, with its model role."""
    roles = dict(reader.rows("SELECT measure, role FROM model_role WHERE study_id = ?", study.id))
    rows = []
    for code, definition in lookups.newest().items():
        for m in definition.measures:
            rows.append({
                "measure": m.code, "instrument": code, "name": m.name,
                "construct": definition.construct, "role": roles.get(m.code),
                "higher_is_better": m.higher_is_better, "reliability": m.reliability,
                "score_min": m.score_min, "score_max": m.score_max, "n_items": m.n_items,
                "norm_mean": m.norm_mean, "norm_sd": m.norm_sd,
            })
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)


def load_study_data(
    source,
    study,
    *,
    score_waves: Sequence[str] | None = None,
    item_waves: Sequence[str] | None = None,
    item_instruments: Sequence[str] | Callable[[pd.DataFrame], Sequence[str]] | None = None,
    administrations: bool = True,
    score_counts: bool = True,
) -> StudyData:
    """Read a study: metadata, scores and keyed items.

    ``source`` is a SQLAlchemy session or a :class:`tracker.db.reader.Reader`;
    ``study`` a :class:`tracker.db.models.Study`, a ``StudyRef``, a study name,
    or None for the only study.
    ``score_waves`` / ``item_waves`` limit the scores / keyed items to those
    waves (None: every wave; an empty list: none), ``item_instruments`` the
    keyed items to those instruments (None: all; a function: the instruments it
    names given the ``measures`` table). ``administrations=False``
    skips the administrations table (the report's flow and provenance use it);
    ``score_counts=False`` the scores' ``items_answered``, ``items_total`` and
    ``prorated`` columns (the report's data quality table uses them).
    Metadata (waves, cohorts, participants, measures, batches) is always whole.
    """
    reader = source if isinstance(source, Reader) else Reader.of(source)
    study = _study_ref(source, study)
    lookups = _Lookups(reader, study)
    waves = pd.DataFrame(
        reader.rows("SELECT name, position, day_offset, window_days FROM wave WHERE study_id = ? ORDER BY position",
                    study.id),
        columns=["wave", "wave_order", "day", "window"],
    )
    cohorts = pd.DataFrame(
        [(name, arm, _as_date(start), description) for name, arm, start, description in reader.rows(
            "SELECT name, arm, start_date, description FROM cohort WHERE study_id = ? ORDER BY name", study.id)],
        columns=["cohort", "arm", "start", "description"],
    )
    participants = pd.DataFrame(
        [(code, cohort, arm, _as_date(enrolled), age, birth_year, gender, role, status, _as_date(withdrawn), reason)
         for code, cohort, arm, enrolled, age, birth_year, gender, role, status, withdrawn, reason in reader.rows(
             "SELECT p.code, c.name, c.arm, p.enrolled_on, p.age, p.birth_year, p.gender, p.role, p.status, "
             "p.withdrawn_on, p.withdrawal_reason FROM participant p JOIN cohort c ON c.id = p.cohort_id "
             "WHERE p.study_id = ? ORDER BY p.code", study.id)],
        columns=["participant", "cohort", "arm", "enrolled", "age", "birth_year", "gender", "role",
                 "status", "withdrawn_on", "withdrawal_reason"],
    )
    measures = _measures(reader, study, lookups)
    if callable(item_instruments):
        item_instruments = item_instruments(measures)
    score_waves = _waves(score_waves)
    item_waves = _waves(item_waves)
    scores = _stored_scores(reader, study, score_waves, lookups, counts=score_counts)
    admins = _administrations(reader, study, None, lookups) if administrations else None
    if item_waves == ():
        keyed = pd.DataFrame(columns=KEYED_COLUMNS)
    else:
        if admins is None:
            item_admins = _administrations(reader, study, item_waves, lookups, dates=False)
        elif item_waves is None:
            item_admins = admins
        else:
            item_admins = admins[admins["wave"].isin(item_waves)].reset_index(drop=True)
        instrument_ids = None
        if item_instruments is not None:
            item_instruments = tuple(item_instruments)
            item_admins = item_admins[item_admins["instrument"].isin(item_instruments)].reset_index(drop=True)
            instrument_ids = [lookups.instrument_ids[c] for c in item_instruments if c in lookups.instrument_ids]
        responses = _responses(reader, study, item_waves, instrument_ids)
        defs = {vid: lookups.versions[vid][1] for vid in sorted(set(item_admins["version_id"].tolist()))}
        keyed = _keyed_items(item_admins, responses, defs)
        # the keyed items feed reliability only, which groups them itself: no sort needed
        keyed = _attach(keyed, item_admins, sort=False)[KEYED_COLUMNS]

    batches = pd.DataFrame(
        [(name, sha, fmt, count, _as_datetime(at), user, *imap) for name, sha, fmt, count, at, user, *imap in reader.rows(
            "SELECT file_name, sha256, format, row_count, imported_at, os_user, map_name, map_sha256, map_text "
            "FROM import_batch WHERE study_id = ? ORDER BY id", study.id)],
        columns=["file_name", "sha256", "format", "row_count", "imported_at", "os_user", "map_name", "map_sha256",
                 "map_text"],
    )
    return StudyData(
        study=study.name, waves=waves, cohorts=cohorts, participants=participants, scores=scores,
        keyed_items=keyed, measures=measures, batches=batches,
        administrations=admins.drop(columns="version_id") if administrations else None,
        db_revision=reader.revision(), score_waves=score_waves, item_waves=item_waves,
        item_instruments=item_instruments,
    )
