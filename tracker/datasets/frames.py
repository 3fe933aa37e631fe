"""The frames :mod:`tracker.datasets.loaders` builds: administrations, item responses,
keyed items, stored scores and measures, each from :mod:`tracker.db.read_store`'s rows.

Integer keys become labels through :class:`tracker.datasets.lookups.Lookups`;
the column lists are the loaders' public contract (re-exported there).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tracker.datasets import codec
from tracker.datasets.lookups import Lookups, take_labels
from tracker.db import read_store
from tracker.db.reader import Reader, StudyRef
from tracker.errors import TrackerError
from tracker.instruments import InstrumentDef

ADMIN_COLUMNS = [
    "administration_id",
    "participant",
    "cohort",
    "arm",
    "wave",
    "wave_order",
    "instrument",
    "version_id",
    "completed_on",
]
SCORE_COLUMNS = [
    "participant",
    "cohort",
    "arm",
    "wave",
    "wave_order",
    "instrument",
    "measure",
    "score",
    "items_answered",
    "items_total",
    "prorated",
]
ITEM_COLUMNS = [
    "administration_id",
    "participant",
    "cohort",
    "arm",
    "wave",
    "wave_order",
    "instrument",
    "item",
    "value",
    "completed_on",
]
KEYED_COLUMNS = ["participant", "cohort", "arm", "wave", "wave_order", "measure", "item", "value"]
MEASURE_COLUMNS = [
    "measure",
    "instrument",
    "name",
    "construct",
    "role",
    "higher_is_better",
    "reliability",
    "score_min",
    "score_max",
    "n_items",
    "norm_mean",
    "norm_sd",
]


def administrations(
    reader: Reader,
    study: StudyRef,
    waves: tuple[str, ...] | None,
    lookups: Lookups,
    *,
    dates: bool = True,
) -> pd.DataFrame:
    """ADMIN_COLUMNS of the study's administrations, by id; ``dates=False`` leaves out ``completed_on``.

    Read as one float array of integer keys (and days since 1970 for the
    date), not as rows holding the date's text: 0.44-0.57 against 0.60-0.86 s
    of CPU for the 189,000 administrations of a 10,000-participant demo (best
    of 7 on a loaded machine, labels taken with ``take_labels``).
    """
    columns = ADMIN_COLUMNS if dates else ADMIN_COLUMNS[:-1]
    block = read_store.administrations(reader, study.id, waves, dates=dates)
    # each column contiguous: the frame takes them as they are (copy=False below)
    ids, participant_ids, wave_ids, instrument_ids, version_ids = np.ascontiguousarray(
        block[:, :5].T, dtype=np.int64
    )
    if not len(ids):
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype="int64"
                    if c in ("administration_id", "wave_order", "version_id")
                    else "object"
                )
                for c in columns
            }
        )
    person, wave = (
        lookups.positions("people", participant_ids),
        lookups.positions("waves", wave_ids),
    )
    out = {
        "administration_id": np.asarray(ids, dtype=np.int64),
        "participant": lookups.labels("people", 1, person),
        "cohort": lookups.labels("people", 2, person),
        "arm": lookups.labels("people", 3, person),
        "wave": lookups.labels("waves", 1, wave),
        "wave_order": lookups.column("waves", 2)[wave].astype(np.int64),
        "instrument": lookups.labels(
            "instruments", 1, lookups.positions("instruments", instrument_ids)
        ),
        "version_id": np.asarray(version_ids, dtype=np.int64),
    }
    if dates:
        out["completed_on"] = codec.dates_of_days(block[:, 5])
    # copy=False: no copy of the integer columns into one block (consolidation)
    return pd.DataFrame(out, copy=False)


def responses(
    reader: Reader,
    study: StudyRef,
    waves: tuple[str, ...] | None,
    instrument_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """(administration_id, item, value) for the study (value NaN: unanswered)."""
    block = read_store.item_responses(reader, study.id, waves, instrument_ids)
    administration_ids, items = codec.response_keys(block)
    return pd.DataFrame(
        {"administration_id": administration_ids, "item": items, "value": block[:, 1]}
    )


def keyed_items(
    admins: pd.DataFrame, responses: pd.DataFrame, defs: dict[int, InstrumentDef]
) -> pd.DataFrame:
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


def keyed_frame(
    admins: pd.DataFrame, block: np.ndarray, defs: dict[int, InstrumentDef]
) -> pd.DataFrame:
    """KEYED_COLUMNS of the item responses ``block`` (``read_store.item_responses``) of ``admins``.

    The frame :func:`keyed_items` then :func:`attach` (unsorted) make, row for
    row, built from arrays: no frame per version to concatenate, no search for
    each of the millions of rows' administration (a version's administrations
    are looked up once and repeated), columns written in place, and no
    consolidation copy of the integer columns.
    """
    from tracker.scoring import keyed_item_matrix

    ids = admins["administration_id"].to_numpy()
    if not len(ids) or not len(block):
        return _keyed_reference(admins, block, defs)
    administration_ids, items = codec.response_keys(block)
    # a response of no administration here (position -1) takes the appended -1: no version
    versions = np.append(admins["version_id"].to_numpy(), -1)
    version_per_row = versions[_positions(ids, administration_ids)]
    parts = []
    for vid, definition in defs.items():
        rows = version_per_row == vid
        if not rows.any():
            continue
        if not definition.measures:  # keyed_items_long's frame of object columns: the old way
            return _keyed_reference(admins, block, defs)
        responses = pd.DataFrame(
            {
                "administration_id": administration_ids[rows],
                "item": items[rows],
                "value": block[rows, 1],
            },
            copy=False,
        )
        parts.append(keyed_item_matrix(responses, definition))
    if not parts or not sum(keyed.size for *_, keyed in parts):
        return _keyed_reference(admins, block, defs)
    codes = sorted({code for _, slot_measure, _, _ in parts for code in slot_measure})
    n = sum(keyed.size for *_, keyed in parts)
    # positions as int32 (admins and codes are far fewer than 2^31): half the memory to fill
    admin_at, measure_no = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
    item, value = np.empty(n, dtype=np.int64), np.empty(n)
    start = 0
    for part_ids, slot_measure, slot_item, keyed in parts:
        end = start + keyed.size
        shape = keyed.shape
        admin_at[start:end].reshape(shape)[:] = _positions(ids, part_ids)[:, None]
        measure_no[start:end].reshape(shape)[:] = [codes.index(c) for c in slot_measure]
        item[start:end].reshape(shape)[:] = slot_item
        value[start:end].reshape(shape)[:] = keyed
        start = end
    out = {
        col: admins[col].array.take(admin_at) for col in ("participant", "cohort", "arm", "wave")
    }
    out["wave_order"] = admins["wave_order"].to_numpy()[admin_at]
    out["measure"] = take_labels(np.asarray(codes, dtype=object), measure_no)
    out["item"], out["value"] = item, value
    return pd.DataFrame({c: out[c] for c in KEYED_COLUMNS}, copy=False)


def _positions(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in the sorted ``ids`` (-1: not there)."""
    if not len(ids):
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.searchsorted(ids, keys)
    at[at == len(ids)] = 0
    return np.where(ids[at] == keys, at, -1)


def _keyed_reference(admins: pd.DataFrame, block: np.ndarray, defs) -> pd.DataFrame:
    """:func:`keyed_frame` through :func:`keyed_items` and :func:`attach` (for the empty cases)."""
    administration_ids, items = codec.response_keys(block)
    responses = pd.DataFrame(
        {"administration_id": administration_ids, "item": items, "value": block[:, 1]}
    )
    return attach(keyed_items(admins, responses, defs), admins, KEYED_COLUMNS, sort=False)


def stored_scores(
    reader: Reader,
    study: StudyRef,
    waves: tuple[str, ...] | None,
    lookups: Lookups,
    *,
    counts: bool = True,
) -> pd.DataFrame:
    """``scale_score`` rows of the study (SCORE_COLUMNS), sorted by participant, wave and measure.

    ``counts=False`` leaves out ``items_answered``, ``items_total`` and
    ``prorated`` (the analyses do not use them; the report does).

    Refuses a study with administrations that have no stored scores (written
    through the models rather than ``tracker import``): analysing without them
    would silently leave them out.
    """
    codes = lookups.measure_codes()
    packed = read_store.score_key_packs(lookups.max_id("people"), lookups.max_id("waves"))
    block = read_store.scale_scores(reader, study.id, waves, codes, packed=packed, counts=counts)
    participant_ids, wave_ids, measure_no = codec.score_keys(block, packed)
    if (
        measure_no == read_store.NO_MEASURE
    ).any():  # a stored measure no definition names: would be a bug in the writer
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
    scored = (
        len(
            pd.unique(
                (person * len(lookups.tables["waves"]) + wave) * max(len(instruments), 1)
                + instrument_no[measure_no]
            )
        )
        if len(block)
        else 0
    )  # a hash: np.unique sorts, slower
    if scored != read_store.administration_count(reader, study.id, waves):
        missing = read_store.unscored_count(reader, study.id, waves)
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
        "participant": lookups.labels("people", 1, person),
        "cohort": lookups.labels("people", 2, person),
        "arm": lookups.labels("people", 3, person),
        "wave": lookups.labels("waves", 1, wave),
        "wave_order": wave_order[wave],
        "instrument": take_labels(np.asarray(instrument_of, dtype=object), measure_no),
        "measure": take_labels(np.asarray(codes, dtype=object), measure_no),
        "score": np.ascontiguousarray(codec.score_values(block, packed)),
    }
    if counts:
        out["items_answered"], out["items_total"], out["prorated"] = codec.score_counts(block)
    # copy=False: no copy of the integer columns into one block (consolidation)
    return pd.DataFrame(out, copy=False)


def attach(
    frame: pd.DataFrame, admins: pd.DataFrame, columns: Sequence[str], *, sort: bool = True
) -> pd.DataFrame:
    """``columns`` of ``frame``'s rows, each with its administration's participant, cohort, arm, wave and instrument.

    Positional lookup (admins are ordered by id) instead of a merge: the keyed
    item table has millions of rows. Only the ``columns`` asked for are built,
    in their order (no second copy to drop or reorder them).
    """
    ids = admins["administration_id"].to_numpy()
    pos = np.searchsorted(ids, frame["administration_id"].to_numpy())
    keep = (pos < len(ids)) & (
        ids[np.minimum(pos, len(ids) - 1)] == frame["administration_id"].to_numpy()
    )
    if not keep.all():
        frame, pos = frame[keep], pos[keep]
    # one constructor call (adding the columns one by one costs a visible share of the load:
    # BENCHMARKS.md, design figures); .take keeps the dtype: no second look at the strings
    out = pd.DataFrame(
        {
            col: frame[col].array if col in frame.columns else admins[col].array.take(pos)
            for col in columns
        }
    )
    if sort:
        out = out.sort_values(["participant", "wave_order", "measure"], ignore_index=True)
    return out


def measures(reader: Reader, study: StudyRef, lookups: Lookups) -> pd.DataFrame:
    """One row per measure of each instrument's newest version, with its model role."""
    roles = read_store.model_roles(reader, study.id)
    rows = []
    for code, definition in lookups.newest().items():
        for m in definition.measures:
            rows.append(
                {
                    "measure": m.code,
                    "instrument": code,
                    "name": m.name,
                    "construct": definition.construct,
                    "role": roles.get(m.code),
                    "higher_is_better": m.higher_is_better,
                    "reliability": m.reliability,
                    "score_min": m.score_min,
                    "score_max": m.score_max,
                    "n_items": m.n_items,
                    "norm_mean": m.norm_mean,
                    "norm_sd": m.norm_sd,
                }
            )
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)
