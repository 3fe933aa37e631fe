"""The light commands' plain-SQL queries give what the ORM-and-pandas functions give."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from tests.factories import build_study
from tracker.db import listing
from tracker.db.engine import open_session
from tracker.db.reader import Reader, StudyRef, open_reader
from tracker.errors import NotFound


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) and math.isnan(x[k]):
                assert isinstance(y[k], float) and math.isnan(y[k]), k
            else:
                assert x[k] == y[k], (k, x[k], y[k])


@pytest.fixture
def study_url(db_url):
    from tracker.study.cohorts import add_cohort
    from tracker.study.participants import withdraw

    with open_session(db_url) as s:
        study, _ = build_study(s, n_per_arm=6, seed=3, waves=(("baseline", 0), ("post", 56), ("later", 120)))
        add_cohort(s, study, "unscheduled cohort", arm="control")
        withdraw(s, study, "I002", reason="moved", on=dt.date(2027, 3, 10))
        s.commit()
    return db_url


def test_listing_equals_the_orm_functions(study_url):
    from tracker.datasets.status import completion, due
    from tracker.study.cohorts import list_cohorts
    from tracker.study.studies import list_studies, resolve_study
    from tracker.study.waves import list_waves

    with open_session(study_url) as s:
        study = resolve_study(s)
        ref = StudyRef.of(study)
        reader = Reader.of(s)
        _same(listing.studies(reader), list_studies(s))
        _same(listing.waves(reader, ref), list_waves(s, study))
        _same(listing.cohorts(reader, ref), list_cohorts(s, study))
        _same(listing.completion(reader, ref), completion(s, study).to_dict("records"))
        for wave in (None, "post"):
            for today in (dt.date(2027, 1, 1), dt.date(2027, 4, 26), dt.date(2028, 1, 1)):
                expected = due(s, study, wave=wave, today=today).to_dict("records")
                _same(listing.due(reader, ref, wave=wave, today=today), expected)
        with pytest.raises(NotFound, match="no wave named 'nope'"):
            listing.due(reader, ref, wave="nope")


def test_the_direct_and_the_session_paths_agree(study_url):
    direct = open_reader(study_url)
    assert direct is not None
    try:
        ref = direct.study(None)
        via_direct = listing.completion(direct, ref)
    finally:
        direct.close()
    _same(listing.with_reader(study_url, None, listing.completion), via_direct)
    # a URL with options never takes the direct path, and still answers
    url = study_url + ("&" if "?" in study_url else "?") + ("connect_timeout=5" if "postgresql" in study_url
                                                            else "timeout=5")
    assert open_reader(url) is None
    assert [w["name"] for w in listing.with_reader(url, None, listing.waves)] == ["baseline", "post", "later"]
    with pytest.raises(NotFound):
        listing.with_reader(study_url, "No such study", listing.waves)
