"""Per-item ranges (``[[item_ranges]]``): validation, hash, scoring and value checks.

The golden files in ``golden/item_ranges/`` hold a definition and hand-worked
cases (raw items -> expected scores) and values that must be rejected.
"""

from __future__ import annotations

import copy
import math
import tomllib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.errors import ValidationError
from tracker.ingest.cells import CheckedCells, value_problem
from tracker.instruments import InstrumentDef, builtin_codes, load_builtin, loads_toml
from tracker.scoring import (
    NOT_ALLOWED,
    check_item_values,
    item_value_message,
    keyed_items_long,
    score_long,
    score_wide,
)

GOLDEN = Path(__file__).parent / "golden" / "item_ranges"
FILES = sorted(GOLDEN.glob("*.toml"))


def _golden(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _definition(path: Path) -> InstrumentDef:
    return InstrumentDef.from_dict(_golden(path)["definition"], source=path.name)


def _expected(v) -> float:
    return float(Fraction(v)) if isinstance(v, str) else float(v)


CASES = [pytest.param(p, c, id=f"{p.stem}-{c['id']}") for p in FILES for c in _golden(p)["case"]]
REJECTS = [
    pytest.param(p, c, id=f"{p.stem}-{c['id']}") for p in FILES for c in _golden(p)["reject"]
]


def test_golden_files_exist():
    assert [p.stem for p in FILES] == ["audit", "mixed"]


@pytest.mark.parametrize(("path", "case"), CASES)
def test_golden_case_long_and_wide(path, case):
    d = _definition(path)
    long = pd.DataFrame(
        {
            "administration_id": 1,
            "item": np.arange(1, d.items + 1),
            "value": np.asarray(case["values"], dtype=float),
        }
    )
    scores = score_long(long, d)
    wide = pd.DataFrame([case["values"]], columns=d.item_names, index=[1], dtype=float)
    pd.testing.assert_frame_equal(scores, score_wide(wide, d))
    got = scores.set_index("measure")
    assert set(case["expected"]) == set(got.index)
    for measure, raw in case["expected"].items():
        want = _expected(raw)
        if math.isnan(want):
            assert math.isnan(got.loc[measure, "score"]), measure
        else:
            assert got.loc[measure, "score"] == pytest.approx(want, rel=1e-12, abs=1e-12), measure
    assert set(got.index[got["prorated"]]) == set(case.get("prorated", []))
    for measure, n in case.get("answered", {}).items():
        assert got.loc[measure, "items_answered"] == n


@pytest.mark.parametrize(("path", "case"), REJECTS)
def test_golden_reject(path, case):
    d = _definition(path)
    values = pd.Series(case["values"], index=range(1, d.items + 1), dtype=object)
    rules = check_item_values(values, d, items=np.arange(1, d.items + 1))
    assert {str(i): r for i, r in rules.items() if r is not None} == case["rules"]
    for item, message in case.get("messages", {}).items():
        assert item_value_message(case["rules"][item], d, int(item)) == message

    # The engine refuses the same values, naming each item's own range.
    responses = pd.DataFrame(
        {"administration_id": 1, "item": range(1, d.items + 1), "value": case["values"]}
    )
    with pytest.raises(ValidationError) as info:
        score_long(responses, d)
    assert {p.rule for p in info.value.problems} == set(case["rules"].values())
    for message in case.get("messages", {}).values():
        assert any(p.message == message for p in info.value.problems), message
    wide = pd.DataFrame([case["values"]], columns=d.item_names, index=[1])
    with pytest.raises(ValidationError) as info:
        score_wide(wide, d)
    assert {(p.column, p.rule) for p in info.value.problems} == {
        (f"{d.code}_{i}", r) for i, r in case["rules"].items()
    }


# ---- definitions ---------------------------------------------------------------------

AUDIT = _golden(GOLDEN / "audit.toml")["definition"]


def _audit(**changes) -> dict:
    data = copy.deepcopy(AUDIT)
    data.update(changes)
    return data


def test_item_range_accessors_and_score_range():
    d = _definition(GOLDEN / "audit.toml")
    assert d.item_range(9) == (0, 4) and d.item_values(9) == (0, 2, 4)
    assert d.item_range(1) == (0, 4) and d.item_values(1) is None
    mixed = _definition(GOLDEN / "mixed.toml")
    assert mixed.item_lows == (1, 1, 1, 0) and mixed.item_highs == (5, 5, 5, 10)
    # mean of 4 items, up to 1 missing: the lowest score is the mean of the three
    # lowest item minima (0, 1, 1), the highest that of the three highest maxima.
    total = mixed.measure("mixed")
    assert total.score_min == pytest.approx(2 / 3) and total.score_max == pytest.approx(20 / 3)
    assert mixed.measure("mixed.pair").score_range == (1, 15)  # 1 + 0 .. 5 + 10


def test_reverse_keying_uses_the_items_own_range():
    mixed = _definition(GOLDEN / "mixed.toml")
    long = pd.DataFrame(
        {"administration_id": 1, "item": [1, 2, 3, 4], "value": [5.0, 1.0, 3.0, 2.0]}
    )
    keyed = keyed_items_long(long, mixed)
    total = keyed[keyed["measure"] == "mixed"]["value"].tolist()
    assert total == [5.0, 5.0, 3.0, 8.0]  # item 2: 1 + 5 - 1; item 4: 0 + 10 - 2


@pytest.mark.parametrize(
    ("ranges", "field", "rule", "reason"),
    [
        (
            [{"items": [9, 11], "min": 0, "max": 4}],
            "item_ranges[1].items",
            "item_out_of_range",
            "item 11 is outside 1..10",
        ),
        ([{"items": [], "min": 0, "max": 4}], "item_ranges[1].items", "empty", "at least one item"),
        ([{"items": [9], "max": 4}], "item_ranges[1].min", "missing_key", "required key"),
        (
            [{"items": [9], "min": 4, "max": 4}],
            "item_ranges[1].min",
            "bounds_order",
            "must be less than max",
        ),
        (
            [{"items": [9], "min": 0.5, "max": 4}],
            "item_ranges[1].min",
            "non_integer_bound",
            "whole number",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "values": [0, 5]}],
            "item_ranges[1].values",
            "value_outside_range",
            "5 is outside this range's min..max (0..4)",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "values": [0, 2, 2, 4]}],
            "item_ranges[1].values",
            "duplicate_value",
            "2 is listed twice",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "values": [0, 1.5, 4]}],
            "item_ranges[1].values",
            "non_integer_value",
            "whole numbers",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "values": [1, 2]}],
            "item_ranges[1].values",
            "values_miss_bounds",
            "must include the range's min (0) and max (4): set min and max to the lowest and highest allowed value",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "values": [0, 2]}],
            "item_ranges[1].values",
            "values_miss_bounds",
            "must include the range's max (4)",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "values": []}],
            "item_ranges[1].values",
            "empty",
            "non-empty list",
        ),
        (
            [{"items": [9], "min": 0, "max": 4, "value": [0, 2]}],
            "item_ranges[1].value",
            "unknown_key",
            "did you mean 'values'?",
        ),
        (
            [{"items": [9, 10], "min": 0, "max": 4}, {"items": [10], "min": 0, "max": 2}],
            "item_ranges[2].items",
            "duplicate_item_range",
            "item 10 already has its range in item_ranges[1]",
        ),
        ({"items": [9]}, "item_ranges", "wrong_type", "array of tables"),
    ],
)
def test_invalid_item_ranges(ranges, field, rule, reason):
    with pytest.raises(ValidationError) as info:
        InstrumentDef.from_dict(_audit(item_ranges=ranges), source="audit.toml")
    hits = [p for p in info.value.problems if p.rule == rule]
    assert hits, [str(p) for p in info.value.problems]
    assert hits[0].file == "audit.toml"
    assert f"field {field!r}" in hits[0].message and reason in hits[0].message


def test_item_range_typo_at_top_level_gets_did_you_mean():
    data = _audit()
    data["item_range"] = data.pop("item_ranges")
    with pytest.raises(ValidationError, match="did you mean 'item_ranges'"):
        InstrumentDef.from_dict(data)


# Hashes of the built-ins as the first stage computed them (before item ranges
# existed): a definition without item ranges must keep its hash.
FIRST_STAGE_SHA256 = {
    "cams_r": "62730638d8daeebc39caca86c044b065d421be29df959f99f46789f0348a49b1",
    "cd_risc10": "89871165d4a22def9c736fea5e0f0ca12788e3f0f5a1f6f29f846090d4ac0c69",
    "flourishing": "da2b22bfd3b11dcb40b3d93777b22cd67d8703f5484204531cd8c37eb5e64af6",
    "gad7": "4c8d74315509154f73a63c23091a02f6693e24716668abe52fe33b9d8190f531",
    "maas": "ad1d2545fa4c76310ec487307b6caf321309751dfe434e09b76642b83dacddc9",
    "phq9": "96f7164627642537202b95e35e66711ddeacfa93b145dc79145aea1019609d38",
    "pss10": "7b976ca8ab28ebbb2aa46ab48103b8272a96bb1a586fb1930c270426e7a3b532",
    "pss4": "df48c95b80ef16bc658155fd57a09a40243d4ba39dd20030f05777e1b9499b4b",
    "rating0_10": "da7b91fa61acf66f1a476be384d4e9c08183daf992b2a212707ed8fe6e437f9e",
    "scs_sf": "2edf88279fc118c8d1b9b2432322a4d8b24f412e9f0895f21a17ea5121c7c1e2",
    "who5": "d55d4db5a902b30820b0d4097cf60eab6deab5b163edc0dbadb3a575f5c22c7c",
}


def test_definitions_without_item_ranges_keep_their_hash():
    assert {c: load_builtin(c).sha256 for c in builtin_codes()} == FIRST_STAGE_SHA256
    assert "item_ranges" not in load_builtin("pss10").to_dict()
    # an explicit empty list is the same definition
    data = load_builtin("pss10").to_dict() | {"item_ranges": []}
    assert InstrumentDef.from_dict(data).sha256 == FIRST_STAGE_SHA256["pss10"]


def test_item_ranges_are_hashed_canonically_and_round_trip():
    base = InstrumentDef.from_dict(_audit())
    # order of tables, items and values does not matter; the content does
    split = _audit(item_ranges=[{"items": [10, 9], "min": 0.0, "max": 4, "values": [4, 0, 2]}])
    assert InstrumentDef.from_dict(split).sha256 == base.sha256
    assert InstrumentDef.from_dict(_audit(item_ranges=[])).sha256 != base.sha256
    assert (
        InstrumentDef.from_dict(_audit(item_ranges=[{"items": [9, 10], "min": 0, "max": 4}])).sha256
        != base.sha256
    )
    again = loads_toml(base.to_toml())
    assert again == base and again.sha256 == base.sha256
    assert (
        "[[item_ranges]]\nitems = [9, 10]\nmin = 0\nmax = 4\nvalues = [0, 2, 4]\n" in base.to_toml()
    )
    assert InstrumentDef.from_stored(base.canonical_json(), "db") == base


def test_code_with_a_trailing_newline_is_refused():
    with pytest.raises(ValidationError, match="field 'code': must be lowercase") as info:
        InstrumentDef.from_dict(_audit(code="nl\n"))
    assert info.value.problems[0].value == "nl\n"


def test_checks_need_item_numbers_when_items_have_their_own_range():
    d = InstrumentDef.from_dict(_audit())
    with pytest.raises(ValueError, match="pass the item number"):
        check_item_values(pd.Series([1]), d)
    # one item number for every value
    assert check_item_values(pd.Series(["3", "4", ""]), d, items=9).tolist() == [
        NOT_ALLOWED,
        None,
        None,
    ]


# ---- the importer's cell check ----------------------------------------------------------


def test_checked_cells_use_each_columns_item():
    d = InstrumentDef.from_dict(_audit())
    cells = np.array([["3", "3", "2"], ["4", "", "x"]], dtype=object)
    # columns are items 1, 9 and 10 (a wide block with items 2-8 absent)
    checked = CheckedCells(cells, d, items=np.array([1, 9, 10]))
    assert checked.bad.tolist() == [[False, True, False], [False, False, True]]
    assert checked.rule(0, 1) == NOT_ALLOWED and checked.rule(1, 2) == "not_a_number"
    assert checked.item(0, 1) == 9
    assert (
        np.isnan(checked.values[0, 1]) and checked.values[0, 0] == 3 and checked.values[0, 2] == 2
    )
    assert checked.nonempty.tolist() == [[True, True, True], [True, False, True]]
    problem = value_problem(
        checked.rule(0, 1), d, text="3", item=checked.item(0, 1), row=2, column="audit_9"
    )
    assert problem.message == "not one of the allowed values; audit item 9 takes 0, 2 or 4"
    assert (problem.rule, problem.row, problem.column, problem.value) == (
        "not_allowed",
        2,
        "audit_9",
        "3",
    )


def test_checked_cells_long_value_column_item_per_row():
    d = InstrumentDef.from_dict(_audit())
    values = np.array([["3"], ["3"], ["4"], ["1"]], dtype=object)
    items = np.array(
        [[1], [9], [10], [0]]
    )  # 0: an unknown item, checked against the instrument's range
    checked = CheckedCells(values, d, items=items)
    assert checked.bad[:, 0].tolist() == [False, True, False, False]


def test_checked_cells_without_item_ranges_unchanged():
    d = load_builtin("pss4")
    cells = np.array([["0", "5", "2.5", " 4 "]], dtype=object)
    checked = CheckedCells(cells, d)
    assert [checked.rule(0, j) for j in range(4)] == [None, "out_of_range", "not_integer", None]
    assert checked.values[0, 3] == 4
    assert value_problem("out_of_range", d, text="5").message == (
        "out of range; pss4 items take a whole number from 0 to 4"
    )


# ---- properties over random definitions with item ranges ------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _ranged(draw):
    k = draw(st.integers(2, 7))
    ranges, owned = [], set()
    for _ in range(draw(st.integers(1, 3))):
        free = sorted(set(range(1, k + 1)) - owned)
        if not free:
            break
        items = sorted(draw(st.sets(st.sampled_from(free), min_size=1)))
        owned |= set(items)
        lo = draw(st.integers(-3, 3))
        hi = lo + draw(st.integers(1, 8))
        r = {"items": items, "min": lo, "max": hi}
        if draw(st.booleans()):  # the ends are always among the values
            r["values"] = sorted(draw(st.sets(st.integers(lo, hi))) | {lo, hi})
        ranges.append(r)
    data = {
        "code": "gen",
        "name": "Generated",
        "items": k,
        "min": 0,
        "max": 4,
        "higher_is_better": True,
        "reverse": sorted(draw(st.sets(st.integers(1, k)))),
        "scoring": draw(st.sampled_from(["sum", "mean"])),
        "max_missing": draw(st.integers(0, k - 1)),
        "item_ranges": ranges,
    }
    d = InstrumentDef.from_dict(data)
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        row = []
        for i in range(1, k + 1):
            allowed = d.item_values(i) or tuple(
                range(int(d.item_range(i)[0]), int(d.item_range(i)[1]) + 1)
            )
            row.append(
                float(draw(st.sampled_from(allowed))) if draw(st.integers(0, 4)) else math.nan
            )
        rows.append(row)
    return d, np.array(rows)


@settings(max_examples=80, deadline=None)
@given(_ranged())
def test_valid_values_pass_and_scores_stay_within_the_measure_range(case):
    d, matrix = case
    items = np.tile(np.arange(1, d.items + 1), (len(matrix), 1))
    flat = pd.Series(matrix.ravel())
    assert check_item_values(flat, d, items=items.ravel()).isna().all()
    wide = pd.DataFrame(matrix, columns=d.item_names, index=range(len(matrix)))
    scores = score_wide(wide, d)
    m = d.measure("gen")
    got = scores["score"].dropna()
    assert ((got >= m.score_min - 1e-9) & (got <= m.score_max + 1e-9)).all()
    # the extremes are reached by a complete response at every item's keyed minimum / maximum
    lows = [
        d.item_range(i)[1] if i in d.reverse else d.item_range(i)[0] for i in range(1, d.items + 1)
    ]
    highs = [
        d.item_range(i)[0] if i in d.reverse else d.item_range(i)[1] for i in range(1, d.items + 1)
    ]
    if d.max_missing == 0:
        edge = score_wide(pd.DataFrame([lows, highs], columns=d.item_names, index=[0, 1]), d)[
            "score"
        ].tolist()
        assert edge == pytest.approx([m.score_min, m.score_max])


def test_describe_shows_item_ranges_and_own_range_reversal():
    from tracker.instruments import describe

    text = describe(_definition(GOLDEN / "mixed.toml"))
    assert "  item range   item 4: 0-10\n" in text
    assert "  reverse      2, 4 (scored as min + max - value of each item's own range)\n" in text
    audit = describe(_definition(GOLDEN / "audit.toml"))
    assert "  item range   items 9, 10: 0-4, values 0, 2, 4\n" in audit
