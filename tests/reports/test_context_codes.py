"""The report sections counted on integer codes equal the set- and groupby-based counts
they replaced (written out here as the reference), on the demo study and on awkward edits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tracker.reports.context.common import records
from tracker.reports.context.flow import _flow
from tracker.reports.context.measures import _completeness, _counts, _measure_info
from tracker.reports.context.paired import _paired


@pytest.fixture(scope="module")
def data(demo):
    from tracker.datasets import load_study_data
    from tracker.db.engine import open_session
    from tracker.study.studies import resolve_study

    with open_session(demo["db_url"]) as session:
        return load_study_data(session, resolve_study(session))


def _awkward(data):
    """Some administrations gone, a participant without any, one withdrawn without a reason."""
    admins = data.administrations
    first = data.participants["participant"].iloc[0]
    admins = admins[(admins["participant"] != first) & (admins.index % 7 != 3)]
    people = data.participants.copy()
    people.loc[people.index[1], ["status", "withdrawal_reason"]] = ["withdrawn", None]
    scores = data.scores[data.scores.index % 5 != 1]
    return dataclasses.replace(
        data, administrations=admins, participants=people, scores=scores, cache={}
    )


def _reference_flow_waves(data):
    """Per cohort: enrolled, withdrawn and each wave's counts, from sets of participant codes."""
    answered = data.administrations[["participant", "wave"]].drop_duplicates()
    out = []
    for c in records(data.cohorts):
        members = data.participants[data.participants["cohort"] == c["cohort"]]
        codes = set(members["participant"])
        withdrawn = set(members.loc[members["status"] == "withdrawn", "participant"])
        steps = []
        for w in data.wave_names():
            done = set(answered.loc[answered["wave"] == w, "participant"]) & codes
            missed = codes - done
            steps.append((w, len(done), len(missed), len(missed & withdrawn)))
        out.append((len(codes), len(withdrawn), steps))
    return out


@pytest.mark.parametrize("edit", [lambda d: d, _awkward])
def test_flow_counts_equal_the_set_counts(data, edit):
    data = edit(data)
    flow = _flow(data)
    got = [
        (
            c["enrolled"],
            c["withdrawn"],
            [(s["wave"], s["completed"], s["not_completed"], s["withdrawn"]) for s in c["waves"]],
        )
        for c in flow["cohorts"]
    ]
    assert got == _reference_flow_waves(data)
    assert all(c["active"] == c["enrolled"] - c["withdrawn"] for c in flow["cohorts"])


@pytest.mark.parametrize("edit", [lambda d: d, _awkward])
def test_completeness_counts_equal_the_groupby(data, edit):
    data = edit(data)
    s = data.scores
    fast = _counts(s)
    # float item counts take the groupby path
    slow = _counts(s.astype({"items_answered": float, "items_total": float}))
    assert fast.keys() == slow.keys()
    for key in fast:
        assert [float(v) for v in fast[key]] == [float(v) for v in slow[key]], key
    measures, _ = _measure_info(data)
    rows = _completeness(data, measures)
    assert rows and all(r["scored"] + r["not_scored"] == r["administrations"] for r in rows)


def _reference_paired(data, measures, pre, post):
    """The paired plot's pairs from object arrays (the code it replaced)."""
    from tracker.reports.context.common import PAIRED_SAMPLE

    s = data.scores
    s = s[s["measure"].isin(measures) & s["wave"].isin([pre, post]) & s["score"].notna()]
    person, people = pd.factorize(s["participant"])
    arm_of = np.empty(len(people), dtype=object)
    arm_of[person] = s["arm"].to_numpy(dtype=object)
    measure = s["measure"].to_numpy(dtype=object)
    is_pre = (s["wave"] == pre).to_numpy()
    score = s["score"].to_numpy(dtype=float)
    rng = np.random.Generator(np.random.PCG64(0))
    out = {}
    for m in measures:
        mine = measure == m
        before = np.full(len(people), np.nan)
        after = np.full(len(people), np.nan)
        before[person[mine & is_pre]] = score[mine & is_pre]
        after[person[mine & ~is_pre]] = score[mine & ~is_pre]
        both = ~np.isnan(before) & ~np.isnan(after)
        out[m] = {}
        for arm in sorted(set(arm_of[both])):
            keep = both & (arm_of == arm)
            values = np.column_stack([before[keep], after[keep]])
            shown = len(values)
            if shown > PAIRED_SAMPLE:
                values = values[np.sort(rng.choice(shown, PAIRED_SAMPLE, replace=False))]
            out[m][arm] = {"pairs": values.tolist(), "n": shown}
    return out


@pytest.mark.parametrize("edit", [lambda d: d, _awkward])
def test_paired_plot_data_equal_the_object_array_version(data, edit):
    data = edit(data)
    waves = data.wave_names()
    measures = [*data.measure_order()[:3], "no such measure"]
    assert _paired(data, measures, waves[0], waves[1]) == _reference_paired(
        data, measures, waves[0], waves[1]
    )


def test_characteristics_equal_the_per_group_version(data):
    """Ages and counts worked out once and picked per group, as worked out per group."""
    from tracker.reports.context.characteristics import _characteristics

    people = data.participants.copy()
    people.loc[people.index[:3], ["age", "gender"]] = [np.nan, None]
    people.loc[people.index[3], "birth_year"] = None
    shared = dataclasses.replace(data, participants=people, cache={})
    # enrolment dates as text send _characteristics down the per-group path
    as_text = people.assign(
        enrolled=people["enrolled"].map(lambda d: None if d is None else str(d))
    )
    per_group = dataclasses.replace(data, participants=as_text, cache={})
    got, expected = _characteristics(shared), _characteristics(per_group)
    assert got == expected
    assert any(r["label"] == "Age, mean (SD)" for r in got["rows"])
