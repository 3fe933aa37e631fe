"""Scoring engine behaviour beyond the golden values: shapes, ordering, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracker.errors import ValidationError
from tracker.instruments import InstrumentDef, load_builtin
from tracker.scoring import (
    KEYED_COLUMNS,
    SCORE_COLUMNS,
    check_item_numbers,
    check_item_values,
    coerce_item_values,
    item_value_message,
    keyed_items_long,
    reverse_key,
    score_long,
    score_wide,
)


def _long(rows):
    return pd.DataFrame(rows, columns=["administration_id", "item", "value"])


def _complete(adm, values):
    return [(adm, i, v) for i, v in enumerate(values, start=1)]


PSS4 = load_builtin("pss4")
SCS = load_builtin("scs_sf")


def test_output_columns_dtypes_and_order():
    rows = _complete(20, [4, 1, 0, 3]) + _complete(3, [0, 4, 4, 0])
    out = score_long(_long(rows), PSS4)
    assert list(out.columns) == SCORE_COLUMNS
    assert out["administration_id"].tolist() == [3, 20]  # sorted ids
    assert out["score"].tolist() == [0.0, 14.0]
    assert out["score"].dtype == "float64"
    assert out["items_answered"].dtype == "int64" and out["items_total"].dtype == "int64"
    assert out["prorated"].dtype == bool


def test_measures_in_definition_order_per_administration():
    rows = _complete("b", [3] * 12) + _complete("a", [3] * 12)
    out = score_long(_long(rows), SCS)
    assert out["administration_id"].tolist() == ["a"] * 7 + ["b"] * 7
    assert out["measure"].tolist()[:7] == [m.code for m in SCS.measures]
    assert (out["score"] == 3.0).all()


def test_absent_rows_count_as_missing_items():
    # pss10 item 10 has no row at all: prorated like an explicit NaN
    pss = load_builtin("pss10")
    rows = [(1, i, 1) for i in range(1, 10)]
    out = score_long(_long(rows), pss)
    assert out.loc[0, "items_answered"] == 9 and bool(out.loc[0, "prorated"])
    assert out.loc[0, "score"] == pytest.approx(170 / 9)


def test_empty_input_gives_empty_output():
    out = score_long(_long([]), PSS4)
    assert list(out.columns) == SCORE_COLUMNS and len(out) == 0


def test_string_values_are_parsed():
    rows = [(1, 1, "4"), (1, 2, " 1 "), (1, 3, "0"), (1, 4, "3")]
    assert score_long(_long(rows), PSS4)["score"].tolist() == [14.0]


def test_unknown_item_and_bad_value_are_all_reported():
    rows = [(1, 1, 4), (1, 5, 1), (1, 3, 9), (2, 2, "x")]
    with pytest.raises(ValidationError) as info:
        score_long(_long(rows), PSS4)
    got = sorted((p.rule, p.row, p.column) for p in info.value.problems)
    assert got == [
        ("not_a_number", 3, "value"),
        ("out_of_range", 2, "value"),
        ("unknown_item", 1, "item"),
    ]


def test_duplicate_rows_are_refused():
    rows = [(1, 1, 4), (1, 1, 3), (1, 2, 1)]
    with pytest.raises(ValidationError) as info:
        score_long(_long(rows), PSS4)
    assert {p.rule for p in info.value.problems} == {"duplicate_row"}
    assert "item 1" in str(info.value)


def test_missing_columns_and_ids_are_refused():
    with pytest.raises(ValidationError, match="missing_column"):
        score_long(pd.DataFrame({"item": [1], "value": [1]}), PSS4)
    with pytest.raises(ValidationError, match="missing_id"):
        score_long(_long([(None, 1, 1)]), PSS4)


def test_problem_list_is_capped_but_counted():
    rows = [(a, 1, 9) for a in range(200)]
    with pytest.raises(ValidationError) as info:
        score_long(_long(rows), PSS4)
    assert len(info.value.problems) == 50
    assert info.value.summary.startswith("200 problems")


def test_score_wide_ignores_other_columns_and_needs_all_items():
    frame = pd.DataFrame(
        {"participant": ["p1"], "pss4_1": [4], "pss4_2": [1], "pss4_3": [0], "pss4_4": [3]},
        index=pd.Index([7], name="administration_id"),
    )
    assert score_wide(frame, PSS4)["score"].tolist() == [14.0]
    with pytest.raises(ValidationError) as info:
        score_wide(frame.drop(columns=["pss4_3"]), PSS4)
    assert info.value.problems[0].column == "pss4_3"


def test_score_wide_reports_cells():
    frame = pd.DataFrame({f"pss4_{i}": [1, 1] for i in range(1, 5)}, index=[10, 11])
    frame.loc[11, "pss4_2"] = 7
    with pytest.raises(ValidationError) as info:
        score_wide(frame, PSS4)
    (p,) = info.value.problems
    assert (p.rule, p.row, p.column, p.value) == ("out_of_range", 11, "pss4_2", 7)


def test_score_wide_refuses_duplicate_ids():
    frame = pd.DataFrame({f"pss4_{i}": [1, 1] for i in range(1, 5)}, index=[10, 10])
    with pytest.raises(ValidationError, match="duplicate_row"):
        score_wide(frame, PSS4)


def test_continuous_items_and_mean_scoring():
    vas = InstrumentDef.from_dict(
        {"code": "vas", "name": "VAS", "items": 2, "min": 0, "max": 100, "integer": False,
         "scoring": "mean", "higher_is_better": True, "reverse": [2], "max_missing": 1}
    )  # fmt: skip
    out = score_long(_long([(1, 1, 12.5), (1, 2, 30.25), (2, 1, 40.0)]), vas)
    # adm 1: (12.5 + (100 - 30.25)) / 2 = (12.5 + 69.75) / 2 = 41.125; adm 2: 40 (prorated)
    assert out["score"].tolist() == [41.125, 40.0]
    assert out["prorated"].tolist() == [False, True]


def test_all_missing_administration_scores_missing_not_zero():
    out = score_long(_long([(1, i, np.nan) for i in range(1, 5)]), PSS4)
    assert np.isnan(out.loc[0, "score"]) and out.loc[0, "items_answered"] == 0
    assert not out.loc[0, "prorated"]


def test_keyed_items_long_subscales_keep_their_own_keying():
    values = [2, 4, 3, 1, 5, 4, 3, 2, 1, 4, 2, 3]
    keyed = keyed_items_long(_long(_complete(1, values)), SCS)
    assert list(keyed.columns) == KEYED_COLUMNS
    total = keyed[keyed["measure"] == "scs_sf"].set_index("item")["value"]
    assert total[1] == 4 and total[12] == 3 and total[2] == 4  # 6-2, 6-3, unreversed
    judgment = keyed[keyed["measure"] == "scs_sf.self_judgment"]
    assert judgment["item"].tolist() == [11, 12] and judgment["value"].tolist() == [2, 3]  # raw
    assert len(keyed) == 12 + 6 * 2


def test_keyed_items_long_pss10_reverses_only_reverse_items():
    pss = load_builtin("pss10")
    keyed = keyed_items_long(_long(_complete(1, [3, 2, 4, 1, 0, 3, 2, 1, 2, np.nan])), pss)
    assert keyed["value"].tolist()[:9] == [3, 2, 4, 3, 4, 3, 2, 3, 2]
    assert np.isnan(keyed["value"].iloc[9])


def test_reverse_key_is_its_own_inverse():
    v = np.array([0.0, 1.0, 4.0, np.nan])
    once = reverse_key(v, 0, 4)
    assert once[:3].tolist() == [4.0, 3.0, 0.0]
    np.testing.assert_array_equal(reverse_key(once, 0, 4), v)


def test_check_item_values_rules():
    values = pd.Series([3, "3", " ", None, np.nan, "abc", 2.5, 5, -1, True, np.inf, "4.0"])
    assert check_item_values(values, PSS4).tolist() == [
        None, None, None, None, None, "not_a_number", "not_integer", "out_of_range",
        "out_of_range", "not_a_number", "out_of_range", None,
    ]  # fmt: skip


def test_check_item_values_keeps_index_and_handles_nullable_and_string_dtypes():
    s = pd.Series([1, pd.NA, 9], dtype="Int64", index=[5, 6, 7])
    assert check_item_values(s, PSS4).to_dict() == {5: None, 6: None, 7: "out_of_range"}
    t = pd.Series(["1", None, "x"], dtype="string")
    assert check_item_values(t, PSS4).tolist() == [None, None, "not_a_number"]
    assert coerce_item_values(t).tolist()[0] == 1.0


def test_check_item_values_continuous_allows_fractions():
    vas = InstrumentDef.from_dict(
        {"code": "vas", "name": "VAS", "items": 1, "min": 0, "max": 100, "integer": False,
         "scoring": "sum", "higher_is_better": True}
    )  # fmt: skip
    assert check_item_values(pd.Series([0.5, 99.9, 100.1]), vas).tolist() == [
        None,
        None,
        "out_of_range",
    ]


def test_check_item_numbers():
    items = pd.Series([1, 4, 0, 5, 2.5, None, "3"])
    assert check_item_numbers(items, PSS4).tolist() == [
        None, None, "unknown_item", "unknown_item", "unknown_item", "unknown_item", None,
    ]  # fmt: skip


def test_item_value_messages_name_the_allowed_values():
    assert item_value_message("out_of_range", PSS4) == (
        "out of range; pss4 items take a whole number from 0 to 4"
    )
    assert "1 to 4" in item_value_message("unknown_item", PSS4)
    with pytest.raises(ValueError):
        item_value_message("nope", PSS4)


def test_problems_locate_non_integer_index_labels_in_the_message():
    frame = pd.DataFrame({f"pss4_{i}": [1] for i in range(1, 5)}, index=["adm-x"])
    frame["pss4_1"] = 9
    with pytest.raises(ValidationError) as info:
        score_wide(frame, PSS4)
    (p,) = info.value.problems
    assert p.row is None and p.message.startswith("at index 'adm-x': out of range")
