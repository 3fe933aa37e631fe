"""Load a study's items, scores and metadata into tidy DataFrames: :func:`load_study_data`.

Every query is a named function of :mod:`tracker.db.read_store`, plain SQL
through a DBAPI cursor (:class:`tracker.db.reader.Reader`): no ORM objects, and
the same code whether the connection comes from a SQLAlchemy session (the
report, exports) or is opened directly by ``tracker analyze``
(:func:`tracker.db.reader.open_reader`), which then never imports SQLAlchemy
(a share of every command: BENCHMARKS.md, design figures). The packed numbers it hands back are taken apart by
:mod:`tracker.datasets.codec`; integer keys become labels through
:class:`tracker.datasets.lookups.Lookups`.

Scores come from ``scale_score``, written with the items by the importer from
each administration's own stored instrument version; keyed item values (for
reliability) are computed from the item responses with that same version.

Loading can be limited to some waves, and items can be skipped: at 10,000
participants a study holds 1.7 million item rows, and reading them is most
of what a single ``tracker analyze`` command costs. :class:`StudyData` records
what was loaded and the analyses check it (:meth:`StudyData.require`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from tracker.datasets import frames
from tracker.datasets.codec import as_date, as_datetime
from tracker.datasets.frames import (  # noqa: F401  (the column lists: re-exported)
    ADMIN_COLUMNS,
    ITEM_COLUMNS,
    KEYED_COLUMNS,
    MEASURE_COLUMNS,
    SCORE_COLUMNS,
)
from tracker.datasets.lookups import Lookups, study_ref, wave_tuple
from tracker.db import read_store
from tracker.db.reader import Reader
from tracker.vocabulary import MODEL_ROLES


def load_items(session, study=None, *, wave: str | None = None) -> pd.DataFrame:
    """Every stored item response, one row per administration × item.

    ``study``: a Study, a study name, or None for the only study.

    Columns: ``administration_id, participant, cohort, arm, wave, wave_order,
    instrument, item, value, completed_on`` (value NaN = unanswered).
    """
    reader, ref = Reader.of(session), study_ref(session, study)
    admins = frames.administrations(reader, ref, wave_tuple(wave), Lookups(reader, ref))
    responses = frames.responses(reader, ref, wave_tuple(wave))
    out = responses.merge(admins.drop(columns="version_id"), on="administration_id", how="inner")
    return out[ITEM_COLUMNS].sort_values(
        ["participant", "wave_order", "instrument", "item"], ignore_index=True
    )


def load_scores(session, study=None, *, wave: str | None = None) -> pd.DataFrame:
    """Scale scores for every administration, one row per administration × measure.

    ``study``: a Study, a study name, or None for the only study.

    Columns: ``participant, cohort, arm, wave, wave_order, instrument, measure,
    score, items_answered, items_total, prorated``. ``score`` is NaN when more
    items are missing than the measure's ``max_missing`` allows.
    """
    reader, ref = Reader.of(session), study_ref(session, study)
    return frames.stored_scores(reader, ref, wave_tuple(wave), Lookups(reader, ref))


@dataclass
class StudyData:
    """Everything the analyses and the report read, as tidy DataFrames."""

    study: str
    waves: pd.DataFrame  # wave, wave_order, day, window
    cohorts: pd.DataFrame  # cohort, arm, start, description
    participants: pd.DataFrame  # participant, cohort, arm, enrolled, age, birth_year, gender, role, status, withdrawn_on, withdrawal_reason
    scores: (
        pd.DataFrame
    )  # SCORE_COLUMNS (without the last three when loaded with score_counts=False)
    keyed_items: (
        pd.DataFrame
    )  # participant, cohort, arm, wave, wave_order, measure, item, value (reverse-keyed)
    measures: pd.DataFrame  # measure, instrument, name, construct, role, higher_is_better, reliability, score_min, score_max, n_items, norm_mean, norm_sd
    batches: pd.DataFrame  # file_name, sha256, format, row_count, imported_at, os_user
    administrations: (
        pd.DataFrame | None
    )  # administration_id, participant, cohort, arm, wave, wave_order, instrument, completed_on
    db_revision: str | None
    score_waves: tuple[str, ...] | None = None  # waves whose scores were loaded (None: every wave)
    item_waves: tuple[str, ...] | None = (
        None  # waves whose keyed items were loaded (None: every wave)
    )
    item_instruments: tuple[str, ...] | None = (
        None  # instruments whose keyed items were loaded (None: all)
    )
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
    study = study_ref(source, study)
    lookups = Lookups(reader, study)
    waves = pd.DataFrame(
        read_store.waves(reader, study.id), columns=["wave", "wave_order", "day", "window"]
    )
    cohorts = pd.DataFrame(
        [
            (name, arm, as_date(start), description)
            for name, arm, start, description in read_store.cohorts(reader, study.id)
        ],
        columns=["cohort", "arm", "start", "description"],
    )
    # each distinct date read once: thousands of participants share a few hundred dates
    dates: dict = {}

    def date_of(value):
        if value not in dates:
            dates[value] = as_date(value)
        return dates[value]

    participants = pd.DataFrame(
        [
            (
                code,
                cohort,
                arm,
                date_of(enrolled),
                age,
                birth_year,
                gender,
                role,
                status,
                date_of(withdrawn),
                reason,
            )
            for code, cohort, arm, enrolled, age, birth_year, gender, role, status, withdrawn, reason in read_store.participants(
                reader, study.id
            )
        ],
        columns=[
            "participant",
            "cohort",
            "arm",
            "enrolled",
            "age",
            "birth_year",
            "gender",
            "role",
            "status",
            "withdrawn_on",
            "withdrawal_reason",
        ],
    )
    measures = frames.measures(reader, study, lookups)
    if callable(item_instruments):
        item_instruments = item_instruments(measures)
    score_waves = wave_tuple(score_waves)
    item_waves = wave_tuple(item_waves)
    scores = frames.stored_scores(reader, study, score_waves, lookups, counts=score_counts)
    admins = frames.administrations(reader, study, None, lookups) if administrations else None
    if item_waves == ():
        keyed = pd.DataFrame(columns=KEYED_COLUMNS)
    else:
        if admins is None:
            item_admins = frames.administrations(reader, study, item_waves, lookups, dates=False)
        elif item_waves is None:
            item_admins = admins
        else:
            item_admins = admins[admins["wave"].isin(item_waves)].reset_index(drop=True)
        instrument_ids = None
        if item_instruments is not None:
            item_instruments = tuple(item_instruments)
            item_admins = item_admins[item_admins["instrument"].isin(item_instruments)].reset_index(
                drop=True
            )
            instrument_ids = [
                lookups.instrument_ids[c] for c in item_instruments if c in lookups.instrument_ids
            ]
        block = read_store.item_responses(reader, study.id, item_waves, instrument_ids)
        defs = {
            vid: lookups.versions[vid][1] for vid in sorted(set(item_admins["version_id"].tolist()))
        }
        # the keyed items feed reliability only, which groups them itself: no sort needed
        keyed = frames.keyed_frame(item_admins, block, defs)

    batches = pd.DataFrame(
        [
            (name, sha, fmt, count, as_datetime(at), user, *imap)
            for name, sha, fmt, count, at, user, *imap in read_store.import_batches(
                reader, study.id
            )
        ],
        columns=[
            "file_name",
            "sha256",
            "format",
            "row_count",
            "imported_at",
            "os_user",
            "map_name",
            "map_sha256",
            "map_text",
        ],
    )
    return StudyData(
        study=study.name,
        waves=waves,
        cohorts=cohorts,
        participants=participants,
        scores=scores,
        keyed_items=keyed,
        measures=measures,
        batches=batches,
        administrations=admins.drop(columns="version_id") if administrations else None,
        db_revision=reader.revision(),
        score_waves=score_waves,
        item_waves=item_waves,
        item_instruments=item_instruments,
    )
