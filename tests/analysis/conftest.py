"""Fixtures for the analysis tests: the R reference values and the public data sets they
were computed from (tests/data/analysis, written by tests/data/analysis/reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "analysis"


@pytest.fixture(scope="session")
def ref() -> dict:
    """Everything reference.R computed, keyed as in that script."""
    return json.loads((DATA / "reference.json").read_text())


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def paired_long(
    frame: pd.DataFrame,
    pre_col: str,
    post_col: str,
    measure: str,
    pre: str = "pre",
    post: str = "post",
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Wide (participant, pre_col, post_col) -> long participant, wave, measure, score."""
    parts = []
    for wave, col in ((pre, pre_col), (post, post_col)):
        part = frame[["participant", *extra]].copy()
        part["wave"] = wave
        part["measure"] = measure
        part["score"] = frame[col].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def assert_close(actual, expected, rtol: float = 1e-6, atol: float = 1e-12, what: str = ""):
    """Relative agreement, NaN only where the reference is None/NaN."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    np.testing.assert_allclose(a.reshape(e.shape), e, rtol=rtol, atol=atol, err_msg=what)


def assert_nulls_explained(df: pd.DataFrame) -> None:
    """Every missing value in a numeric column sits in a row whose note says something."""
    numeric = [c for c in df.columns if c != "note" and pd.api.types.is_numeric_dtype(df[c])]
    missing = df[numeric].isna().any(axis=1)
    unexplained = df[missing & (df["note"] == "")]
    assert unexplained.empty, f"nulls without a note:\n{unexplained}"


@pytest.fixture(scope="session")
def h():
    """The helpers above, as a fixture (works under any pytest import mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        paired_long=paired_long,
        assert_close=assert_close,
        assert_nulls_explained=assert_nulls_explained,
    )
