"""Property tests of the scoring engine over built-in and randomly generated definitions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.instruments import InstrumentDef, builtin_codes, load_builtin
from tracker.scoring import reverse_key, score_long, score_wide

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def definitions(draw) -> InstrumentDef:
    if draw(st.booleans()):
        return load_builtin(draw(st.sampled_from(builtin_codes())))
    k = draw(st.integers(1, 8))
    lo = draw(st.integers(-2, 3))
    hi = lo + draw(st.integers(1, 6))
    integer = draw(st.booleans())
    data = {
        "code": "gen",
        "name": "Generated",
        "items": k,
        "min": lo,
        "max": hi,
        "integer": integer,
        "reverse": sorted(draw(st.sets(st.integers(1, k)))),
        "scoring": draw(st.sampled_from(["sum", "mean"])),
        "higher_is_better": draw(st.booleans()),
        "max_missing": draw(st.integers(0, k - 1)),
        "multiplier": draw(st.sampled_from([1, 4, 0.5])),
        "subscales": [],
    }
    for j in range(draw(st.integers(0, 2))):
        items = sorted(draw(st.sets(st.integers(1, k), min_size=1)))
        sub = {
            "code": f"s{j}",
            "items": items,
            "scoring": draw(st.sampled_from(["sum", "mean"])),
            "max_missing": draw(st.integers(0, len(items) - 1)),
        }
        if draw(st.booleans()):
            sub["reverse"] = sorted(draw(st.sets(st.sampled_from(items))))
        data["subscales"].append(sub)
    data["total"] = draw(st.booleans()) if data["subscales"] else True
    return InstrumentDef.from_dict(data)


@st.composite
def responses(draw, definition: InstrumentDef, allow_missing: bool = True) -> np.ndarray:
    """An administrations x items matrix of valid values (NaN = missing)."""
    n = draw(st.integers(1, 6))
    if definition.integer:
        value = st.integers(int(definition.min), int(definition.max)).map(float)
    else:
        value = st.floats(definition.min, definition.max, allow_nan=False)
    cell = st.one_of(st.just(math.nan), value) if allow_missing else value
    rows = draw(st.lists(st.lists(cell, min_size=definition.items, max_size=definition.items),
                         min_size=n, max_size=n))  # fmt: skip
    return np.array(rows, dtype=float)


def _as_long(matrix: np.ndarray, drop_missing_rows: bool = False) -> pd.DataFrame:
    n, k = matrix.shape
    frame = pd.DataFrame(
        {
            "administration_id": np.repeat(np.arange(100, 100 + n), k),
            "item": np.tile(np.arange(1, k + 1), n),
            "value": matrix.ravel(),
        }
    )
    if drop_missing_rows:
        frame = frame[frame["value"].notna()].reset_index(drop=True)
    return frame


def _as_wide(matrix: np.ndarray, definition: InstrumentDef) -> pd.DataFrame:
    return pd.DataFrame(
        matrix, columns=definition.item_names, index=np.arange(100, 100 + len(matrix))
    )


@SETTINGS
@given(st.data())
def test_scores_stay_inside_the_measure_range(data):
    d = data.draw(definitions())
    matrix = data.draw(responses(d))
    out = score_long(_as_long(matrix), d)
    for m in d.measures:
        rows = out[out["measure"] == m.code]
        cols = [i - 1 for i in m.items]
        missing = np.isnan(matrix[:, cols]).sum(axis=1)
        scored = missing <= m.max_missing
        assert (rows["score"].notna().to_numpy() == scored).all()
        s = rows["score"].dropna()
        tol = 1e-9 * max(1.0, abs(m.score_max), abs(m.score_min))
        assert ((s >= m.score_min - tol) & (s <= m.score_max + tol)).all(), (m, s.tolist())
        assert (rows["items_answered"].to_numpy() == len(cols) - missing).all()
        assert (rows["prorated"].to_numpy() == (scored & (missing > 0))).all()


@SETTINGS
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=20),
    st.integers(-5, 5),
    st.integers(1, 10),
)
def test_reversing_twice_is_identity(values, lo, width):
    v = np.array(values + [math.nan])
    hi = lo + width
    twice = reverse_key(reverse_key(v, lo, hi), lo, hi)
    np.testing.assert_allclose(
        twice, v, rtol=0, atol=1e-9 * max(1.0, np.nanmax(np.abs(v), initial=0))
    )
    ints = np.arange(lo, hi + 1, dtype=float)
    np.testing.assert_array_equal(reverse_key(reverse_key(ints, lo, hi), lo, hi), ints)


@SETTINGS
@given(st.data())
def test_complete_response_is_the_plain_score(data):
    d = data.draw(definitions())
    matrix = data.draw(responses(d, allow_missing=False))
    out = score_long(_as_long(matrix), d)
    assert not out["prorated"].any()
    for m in d.measures:
        cols = [i - 1 for i in m.items]
        keyed = matrix[:, cols].copy()
        for i in m.reverse:
            j = m.items.index(i)
            keyed[:, j] = m.item_min + m.item_max - keyed[:, j]
        plain = keyed.sum(axis=1) if m.scoring == "sum" else keyed.mean(axis=1)
        got = out.loc[out["measure"] == m.code, "score"].to_numpy()
        np.testing.assert_allclose(got, plain * m.multiplier, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.data())
def test_proration_equals_person_mean_imputation(data):
    """A prorated score is the plain score with each missing item replaced by the
    mean of the answered (keyed) items, which is what proration means."""
    d = data.draw(definitions())
    matrix = data.draw(responses(d))
    out = score_long(_as_long(matrix), d)
    for m in d.measures:
        cols = [i - 1 for i in m.items]
        keyed = matrix[:, cols].copy()
        for i in m.reverse:
            j = m.items.index(i)
            keyed[:, j] = m.item_min + m.item_max - keyed[:, j]
        got = out.loc[out["measure"] == m.code, "score"].to_numpy()
        for r in range(len(keyed)):
            row = keyed[r]
            answered = row[~np.isnan(row)]
            if len(answered) == 0 or len(row) - len(answered) > m.max_missing:
                assert np.isnan(got[r])
                continue
            filled = np.where(np.isnan(row), answered.mean(), row)
            plain = filled.sum() if m.scoring == "sum" else filled.mean()
            assert got[r] == pytest.approx(plain * m.multiplier, rel=1e-9, abs=1e-9)


@SETTINGS
@given(st.data(), st.booleans())
def test_score_wide_equals_score_long(data, drop_missing_rows):
    d = data.draw(definitions())
    matrix = data.draw(responses(d))
    # Administrations with no answered item at all have no long rows to drop to.
    if drop_missing_rows:
        matrix = matrix[~np.isnan(matrix).all(axis=1)]
        if len(matrix) == 0:
            return
    long_scores = score_long(_as_long(matrix, drop_missing_rows), d)
    wide_scores = score_wide(_as_wide(matrix, d), d)
    pd.testing.assert_frame_equal(long_scores, wide_scores)
