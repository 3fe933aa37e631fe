"""The one JSON-plain converter: what each kind of value becomes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tracker.jsonplain import plain


@pytest.mark.parametrize(
    "missing",
    [
        None,
        float("nan"),
        float("inf"),
        -float("inf"),
        np.nan,
        np.float32("nan"),
        pd.NA,
        pd.NaT,
        np.datetime64("NaT"),
        Decimal("NaN"),
    ],
)
def test_missing_and_non_finite_values_are_null(missing):
    assert plain(missing) is None


def test_numpy_numbers_become_python_numbers():
    for value, expected in [
        (np.int64(3), 3),
        (np.int8(-2), -2),
        (np.uint32(7), 7),
        (np.float64(2.5), 2.5),
        (np.float32(0.5), 0.5),
        (np.bool_(True), True),
        (np.str_("a"), "a"),
    ]:
        out = plain(value)
        assert out == expected
        assert type(out) is type(expected), value


def test_dates_become_iso_text():
    assert plain(dt.date(2027, 3, 4)) == "2027-03-04"
    assert plain(dt.datetime(2027, 3, 4, 9, 30)) == "2027-03-04T09:30:00"
    assert plain(pd.Timestamp("2027-03-04 09:30")) == "2027-03-04T09:30:00"
    assert plain(dt.datetime(2027, 3, 4, tzinfo=dt.UTC)) == "2027-03-04T00:00:00+00:00"


def test_decimal_becomes_a_float():
    out = plain(Decimal("1.25"))
    assert out == 1.25 and type(out) is float


def test_plain_values_pass_unchanged():
    for value in ["text", 0, -5, 1.5, True, False]:
        assert plain(value) is value


def test_containers_are_converted_value_by_value():
    value = {
        "a": np.int64(1),
        "b": [np.float64("nan"), dt.date(2027, 1, 2)],
        "c": (Decimal("2"), pd.NA),
    }
    out = plain(value)
    assert out == {"a": 1, "b": [None, "2027-01-02"], "c": [2.0, None]}
    assert (
        json.dumps(out, allow_nan=False) == '{"a": 1, "b": [null, "2027-01-02"], "c": [2.0, null]}'
    )
