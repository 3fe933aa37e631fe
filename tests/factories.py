"""Build small studies with item responses directly through the models.

The models path does not score: :func:`store_scores` writes ``scale_score``
as the importer does (tests/ingest checks the importer's own scores).

Used where a test needs stored responses without depending on the importers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select

from tracker.db.models import (
    Administration,
    Instrument,
    ItemResponse,
    Participant,
    Wave,
)
from tracker.study.cohorts import add_cohort
from tracker.study.instruments import add_instrument, current_versions
from tracker.study.participants import add_participant
from tracker.study.studies import create_study
from tracker.study.waves import add_wave


def build_study(
    session,
    *,
    n_per_arm: int = 12,
    seed: int = 7,
    arms=("intervention", "control"),
    waves=(("baseline", 0), ("post", 56)),
    instruments=("pss10", "who5"),
    effect: float = 1.0,
):
    """A study with one cohort per arm, the given waves and random but structured items.

    Returns the study and a dict ``items[(code, wave, instrument)] = np.array`` of
    the raw item values written (NaN = missing).
    """
    rng = np.random.default_rng(seed)
    study = create_study(session, "Factory study")
    for name, day in waves:
        add_wave(session, study, name, day=day, window=14)
    for arm in arms:
        add_cohort(session, study, f"{arm} cohort", arm=arm, start=dt.date(2027, 3, 1))
    for code in instruments:
        add_instrument(session, study, code)
    versions = current_versions(session, study)
    inst_ids = {i.code: i.id for i in session.scalars(select(Instrument))}
    wave_ids = {w.name: w.id for w in session.scalars(select(Wave))}
    written = {}
    for a, arm in enumerate(arms):
        for k in range(n_per_arm):
            code = f"{arm[:1].upper()}{k:03d}"
            add_participant(
                session, study, code, cohort=f"{arm} cohort", enrolled=dt.date(2027, 2, 20)
            )
            pid = session.scalar(select(Participant.id).where(Participant.code == code))
            trait = rng.normal()
            for w, (wave, _day) in enumerate(waves):
                shift = effect * w if a == 0 else 0.0
                for inst in instruments:
                    version = versions[inst]
                    d = version.definition
                    low, high, n_items = d["min"], d["max"], d["items"]
                    latent = trait + shift + rng.normal(scale=0.5)
                    direction = -1 if not d["higher_is_better"] else 1
                    raw = (
                        (low + high) / 2
                        + direction * latent * (high - low) / 4
                        + rng.normal(scale=0.7, size=n_items)
                    )
                    rev = [i - 1 for i in d.get("reverse", [])]
                    raw[rev] = low + high - raw[rev]
                    values = np.clip(np.rint(raw), low, high)
                    if rng.random() < 0.1:
                        values[rng.integers(n_items)] = np.nan
                    adm = Administration(
                        participant_id=pid,
                        wave_id=wave_ids[wave],
                        instrument_id=inst_ids[inst],
                        instrument_version_id=version.id,
                        completed_on=dt.date(2027, 3, 1),
                    )
                    session.add(adm)
                    session.flush()
                    session.add_all(
                        ItemResponse(
                            administration_id=adm.id,
                            item=i + 1,
                            value=None if np.isnan(v) else float(v),
                        )
                        for i, v in enumerate(values)
                    )
                    written[(code, wave, inst)] = values
    session.flush()
    store_scores(session)
    return study, written


def store_scores(session) -> None:
    """Write ``scale_score`` for administrations added through the models, as an import would."""
    from tracker.ingest.rescore import rescore_all

    rescore_all(session)
