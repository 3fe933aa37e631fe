"""reliability()'s block layout (all measure x wave matrices at once on integer codes) against a
plain pandas pivot per block, on awkward item tables: missing rows and values, an item nobody
answered, two items, a constant item, shuffled rows, text / object / categorical / integer keys."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from tracker.analysis import item_total, reliability
from tracker.errors import AnalysisError

rel = importlib.import_module("tracker.analysis.reliability")  # the module, not the function

SCALES = {  # measure: items (names shared across measures, in another order)
    "a": ["x", "y", "z", "w"],
    "b": ["z", "y", "x"],
    "pair": ["p", "q"],
    "const": ["x", "y", "c"],
    "silent": ["s"],
}


def awkward_items(seed=0, n=60):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    rows = []
    for wave, people in (("pre", range(n)), ("post", range(10, n - 5))):
        for measure, names in SCALES.items():
            if measure in ("b", "const") and wave == "post":
                continue
            for i in people:
                for j, name in enumerate(names):
                    value = float(np.clip(np.round(3 + f[i] + rng.normal()), 1, 5))
                    if name == "c":
                        value = 2.0
                    elif measure == "silent" or (measure, wave, name) == ("a", "post", "w"):
                        value = np.nan  # nobody answered
                    elif rng.random() < 0.04:
                        value = np.nan
                    if rng.random() < 0.03:
                        continue  # no row at all
                    rows.append((f"p{i:03d}", wave, measure, name, value, j))
    frame = pd.DataFrame(rows, columns=["participant", "wave", "measure", "item", "value", "j"])
    return frame.drop(columns="j")


def reference_blocks(items):
    """One measure x wave at a time by pandas: participants sorted, items in order of
    appearance, never-answered items left out, then every incomplete row."""
    out = []
    for (measure, wave), sub in items.groupby(["measure", "wave"], sort=False, observed=True):
        names = list(pd.unique(sub["item"]))
        wide = sub.pivot(index="participant", columns="item", values="value")
        wide = wide.reindex(columns=names).sort_index()
        empty = [name for name in names if wide[name].isna().all()]
        notes = [f"item(s) {', '.join(map(str, empty))} never answered: left out"] if empty else []
        wide = wide.drop(columns=empty).dropna()
        Y = np.ascontiguousarray(wide.to_numpy())  # row-major, as sums along axis 0 depend on it
        out.append((str(measure), str(wave), Y, [str(c) for c in wide.columns], notes))
    return out


def sparse_layout(monkeypatch):
    """Force the sort of the distinct (block, participant) keys instead of the dense table."""
    monkeypatch.setattr(rel, "DENSE_PER_ROW", 0)
    monkeypatch.setattr(rel, "DENSE_MIN", 0)


def assert_same_blocks(got, expected):
    assert [b[:2] for b in got] == [b[:2] for b in expected]
    for (m, w, Y, names, notes), (_, _, Y_ref, names_ref, notes_ref) in zip(
        got, expected, strict=True
    ):
        assert names == names_ref and notes == notes_ref, (m, w)
        assert Y.shape == Y_ref.shape and Y.flags.c_contiguous, (m, w)
        np.testing.assert_array_equal(Y, Y_ref)


def as_dtype(items, kind):
    out = items.copy()
    keys = ["participant", "wave", "measure", "item"]
    if kind == "object":
        out[keys] = out[keys].astype(object)
    elif kind == "category":
        out[keys] = out[keys].astype("category")
    elif kind == "int_items":
        out["item"] = out["item"].map({n: i + 1 for i, n in enumerate("xyzwpqcs")})
    return out


@pytest.mark.parametrize("kind", ["str", "object", "category", "int_items"])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("dense", [True, False])
def test_blocks_match_a_pivot_per_block(kind, shuffle, dense, monkeypatch):
    items = as_dtype(awkward_items(), kind)
    if shuffle:
        items = items.sample(frac=1.0, random_state=3)
    if not dense:
        sparse_layout(monkeypatch)
    got = list(rel._blocks(items))
    assert_same_blocks(got, reference_blocks(items))
    shapes = {(m, w): (Y.shape, names) for m, w, Y, names, _ in got}
    assert len(shapes[("a", "post")][1]) == 3  # w never answered at post
    assert shapes[("silent", "pre")][0][1] == 0


@pytest.mark.parametrize("dense", [True, False])
def test_reliability_notes_on_awkward_blocks(dense, monkeypatch, h):
    if not dense:
        sparse_layout(monkeypatch)
    items = awkward_items(seed=1)
    out = reliability(items).set_index(["measure", "wave"])
    h.assert_nulls_explained(out.reset_index())
    assert "w never answered: left out" in out.loc[("a", "post"), "note"]
    assert np.isfinite(out.loc[("a", "post"), "omega"]) and out.loc[("a", "post"), "k"] == 3
    assert out.loc[("pair", "pre"), "note"] == "omega needs at least 3 items"
    assert np.isfinite(out.loc[("pair", "pre"), "alpha_std"])
    assert "zero variance" in out.loc[("const", "pre"), "note"]
    assert np.isnan(out.loc[("const", "pre"), "alpha_std"])
    assert out.loc[("silent", "pre"), "k"] == 0
    assert "fewer than 2 items" in out.loc[("silent", "pre"), "note"]
    # the same numbers from the pandas blocks, row for row
    expected = []
    for measure, wave, Y, _, notes in reference_blocks(items):
        row = {"measure": measure, "wave": wave, "n": Y.shape[0], "k": Y.shape[1]}
        row.update(rel._alpha_stats(Y, notes))
        row["note"] = rel.join_notes(*notes)
        expected.append(row)
    expected = rel.frame(expected, rel.COLUMNS, strings=("measure", "wave"), ints=("n", "k"))
    pd.testing.assert_frame_equal(out.reset_index(), expected, check_exact=True)


def test_both_layouts_give_identical_frames(monkeypatch):
    items = awkward_items(seed=2).sample(frac=1.0, random_state=1)
    dense, dense_items = reliability(items), item_total(items)
    sparse_layout(monkeypatch)
    pd.testing.assert_frame_equal(reliability(items), dense, check_exact=True)
    pd.testing.assert_frame_equal(item_total(items), dense_items, check_exact=True)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("same_value", [True, False])
def test_a_repeated_cell_is_an_error(dense, same_value, monkeypatch):
    if not dense:
        sparse_layout(monkeypatch)
    items = awkward_items(seed=3)
    extra = items.iloc[[len(items) // 2]].copy()
    if not same_value:
        extra["value"] = 9.0
    with pytest.raises(AnalysisError, match="duplicated"):
        reliability(pd.concat([items, extra], ignore_index=True))


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["b", "a", None, None, "a", "a", "c", np.nan], dtype="str"),
        pd.Series(["b", "a", None, np.nan, np.nan, None, "a", 1, 1.0], dtype=object),
        pd.Series(["b", "a", None, "a", "a"], dtype="string"),
        pd.Series(pd.Categorical(["b", "a", None, None, "a"])),
        pd.Series([3, 1, 1, 2]),
        pd.Series([1.0, np.nan, np.nan, 0.0, -0.0]),
        pd.Series(["x"], dtype="str"),
        pd.Series([], dtype="str"),
    ],
)
@pytest.mark.parametrize("sort", [False, True])
def test_run_length_codes_are_factorize(values, sort):
    codes, uniques = rel._codes(values, sort=sort)
    expected_codes, expected_uniques = pd.factorize(values, sort=sort, use_na_sentinel=False)
    np.testing.assert_array_equal(codes, expected_codes)
    assert type(uniques) is type(expected_uniques)
    assert list(map(repr, uniques)) == list(map(repr, expected_uniques))


def test_constant_is_ptp_zero():
    Y = np.array([[1.0, 2.0, np.inf, 0.0, -np.inf], [1.0, 3.0, np.inf, -0.0, 1.0]])
    with np.errstate(invalid="ignore"):  # inf - inf
        np.testing.assert_array_equal(rel._constant(Y), np.ptp(Y, axis=0) == 0)
