"""Instrument definitions: validation messages, canonical form and hash, the library."""

from __future__ import annotations

import copy
import tomllib

import pytest

from tracker.errors import NotFound, ValidationError
from tracker.instruments import (
    InstrumentDef,
    SubscaleDef,
    builtin_codes,
    load_builtin,
    load_toml,
    loads_toml,
    resolve,
)

BASE = {
    "code": "demo",
    "name": "Demo scale",
    "items": 6,
    "min": 1,
    "max": 5,
    "reverse": [2, 5],
    "higher_is_better": True,
    "scoring": "sum",
    "max_missing": 1,
    "reliability": 0.8,
    "subscales": [
        {"code": "first", "items": [1, 2, 3], "scoring": "mean"},
        {"code": "second", "items": [4, 5, 6]},
    ],
}

EXPECTED_BUILTINS = {
    "pss10", "pss4", "scs_sf", "cams_r", "maas", "flourishing", "who5",
    "cd_risc10", "phq9", "gad7", "rating0_10",
}  # fmt: skip


def _with(**changes) -> dict:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


_DROP = object()


def _problems(data, source="demo.toml"):
    with pytest.raises(ValidationError) as info:
        InstrumentDef.from_dict(data, source=source)
    return info.value


# ---- a valid definition ----------------------------------------------------------


def test_valid_definition_builds_measures():
    d = InstrumentDef.from_dict(BASE, source="demo.toml")
    assert d.item_names == [f"demo_{i}" for i in range(1, 7)]
    assert [m.code for m in d.measures] == ["demo", "demo.first", "demo.second"]
    total, first, second = d.measures
    assert total.score_range == (6, 30)
    assert total.reverse == (2, 5)
    # Subscales inherit the instrument's reverse keys among their items and its
    # scoring unless they say otherwise; max_missing defaults to 0.
    assert first.reverse == (2,) and first.scoring == "mean" and first.score_range == (1, 5)
    assert second.reverse == (5,) and second.scoring == "sum" and second.score_range == (3, 15)
    assert first.max_missing == 0 and first.higher_is_better is True
    assert d.version == "1" and d.integer is True and d.total is True and d.multiplier == 1


def test_subscale_reverse_override_and_direction():
    data = _with(
        subscales=[{"code": "neg", "items": [2, 5], "reverse": [], "higher_is_better": False}]
    )
    neg = InstrumentDef.from_dict(data).measure("demo.neg")
    assert neg.reverse == () and neg.higher_is_better is False


def test_multiplier_scales_the_total_range_only():
    d = InstrumentDef.from_dict(_with(multiplier=4))
    assert d.measure("demo").score_range == (24, 120)
    assert d.measure("demo.second").score_range == (3, 15)


def test_total_false_keeps_only_subscales():
    d = InstrumentDef.from_dict(_with(total=False))
    assert [m.code for m in d.measures] == ["demo.first", "demo.second"]


def test_unknown_measure_is_not_found():
    d = InstrumentDef.from_dict(BASE)
    with pytest.raises(NotFound, match="demo.first"):
        d.measure("demo.third")


# ---- validation: file, field and reason in every message ---------------------------


@pytest.mark.parametrize(
    ("changes", "field", "rule", "reason"),
    [
        ({"reverse": [2, 7]}, "reverse", "item_out_of_range", "item 7 is outside 1..6"),
        ({"reverse": [0]}, "reverse", "item_out_of_range", "item 0 is outside 1..6"),
        ({"reverse": [2, 2]}, "reverse", "duplicate_item", "listed twice"),
        ({"min": 5, "max": 5}, "min", "bounds_order", "must be less than max"),
        ({"min": 6, "max": 1}, "min", "bounds_order", "must be less than max"),
        ({"scoring": "median"}, "scoring", "unknown_scoring", "use one of: sum, mean"),
        ({"min": 0.5}, "min", "non_integer_bound", "whole number when integer = true"),
        ({"max": 4.5}, "max", "non_integer_bound", "whole number when integer = true"),
        ({"code": "PSS-10"}, "code", "invalid_code", "lowercase letters"),
        ({"code": "10pss"}, "code", "invalid_code", "starting with a letter"),
        ({"code": "pss.10"}, "code", "invalid_code", "lowercase letters"),
        ({"revers": [1]}, "revers", "unknown_key", "did you mean 'reverse'"),
        ({"max_missing": 6}, "max_missing", "max_missing_range", "between 0 and 5"),
        ({"max_missing": -1}, "max_missing", "max_missing_range", "between 0 and 5"),
        ({"reliability": 1.0}, "reliability", "reliability_range", "strictly between 0 and 1"),
        ({"reliability": 0}, "reliability", "reliability_range", "strictly between 0 and 1"),
        ({"items": "ten"}, "items", "wrong_type", "must be a whole number, not string"),
        ({"items": 0}, "items", "items_range", "at least 1"),
        ({"items": 10_001}, "items", "items_range", "at most 10,000"),
        ({"min": "0"}, "min", "wrong_type", "must be a finite number, not string"),
        ({"integer": "yes"}, "integer", "wrong_type", "true or false"),
        ({"higher_is_better": 1}, "higher_is_better", "wrong_type", "true or false"),
        ({"reverse": 4}, "reverse", "wrong_type", "list of item numbers"),
        ({"reverse": [1.5]}, "reverse", "wrong_type", "whole numbers"),
        ({"version": 2}, "version", "wrong_type", "must be a string"),
        ({"multiplier": 0}, "multiplier", "multiplier_range", "positive"),
        ({"name": _DROP}, "name", "missing_key", "required key is missing"),
        ({"scoring": _DROP}, "scoring", "missing_key", "required key is missing"),
        ({"higher_is_better": _DROP}, "higher_is_better", "missing_key", "required key"),
        ({"total": False, "subscales": []}, "total", "no_measures", "at least one [[subscales]]"),
        ({"subscales": {"code": "x"}}, "subscales", "wrong_type", "array of tables"),
    ],
)
def test_invalid_instrument_field(changes, field, rule, reason):
    err = _problems(_with(**changes))
    matching = [p for p in err.problems if p.rule == rule]
    assert matching, [str(p) for p in err.problems]
    p = matching[0]
    assert p.file == "demo.toml"
    assert f"field {field!r}" in p.message
    assert reason in p.message
    assert "demo.toml" in str(err) and reason in str(err)


@pytest.mark.parametrize(
    ("subscales", "field", "rule", "reason"),
    [
        ([{"code": "a", "items": [1, 9]}], "subscales[1].items", "item_out_of_range", "item 9 is outside 1..6"),
        ([{"code": "a", "items": []}], "subscales[1].items", "empty", "at least one item"),
        ([{"code": "a"}], "subscales[1].items", "missing_key", "required"),
        ([{"code": "a", "items": [1]}, {"code": "a", "items": [2]}], "subscales[2].code", "duplicate_subscale", "already used by subscales[1]"),
        ([{"code": "A b", "items": [1]}], "subscales[1].code", "invalid_code", "lowercase"),
        ([{"code": "a", "items": [1, 2], "scoring": "avg"}], "subscales[1].scoring", "unknown_scoring", "sum, mean"),
        ([{"code": "a", "items": [1, 2], "max_missing": 2}], "subscales[1].max_missing", "max_missing_range", "between 0 and 1"),
        ([{"code": "a", "items": [1, 2], "reverse": [3]}], "subscales[1].reverse", "reverse_not_in_subscale", "item 3 is reversed"),
        ([{"code": "a", "items": [1, 2], "reliability": 1.5}], "subscales[1].reliability", "reliability_range", "between 0 and 1"),
        ([{"code": "a", "items": [1, 2], "itmes": [1]}], "subscales[1].itmes", "unknown_key", "did you mean 'items'"),
        (["a"], "subscales[1]", "wrong_type", "must be a table"),
    ],
)  # fmt: skip
def test_invalid_subscale_field(subscales, field, rule, reason):
    err = _problems(_with(subscales=subscales))
    matching = [p for p in err.problems if p.rule == rule]
    assert matching, [str(p) for p in err.problems]
    assert f"field {field!r}" in matching[0].message
    assert reason in matching[0].message
    assert matching[0].file == "demo.toml"


def test_all_problems_are_collected():
    err = _problems(_with(code="Bad", scoring="median", reverse=[9], reliability=2.0, typo=1))
    rules = {p.rule for p in err.problems}
    assert {
        "invalid_code",
        "unknown_scoring",
        "item_out_of_range",
        "reliability_range",
        "unknown_key",
    } <= rules
    assert err.summary.startswith("demo.toml: invalid instrument definition (5 problems)")


def test_not_a_table():
    err = _problems(["code"])
    assert err.problems[0].rule == "wrong_type"


def test_load_toml_reports_the_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('code = "mine"\nname = "Mine"\nitems = 3\nmin = 0\nmax = 4\n'
                    'scoring = "sum"\nhigher_is_better = true\nreverse = [4]\n')  # fmt: skip
    with pytest.raises(ValidationError) as info:
        load_toml(path)
    (p,) = info.value.problems
    assert p.file == str(path) and "field 'reverse'" in p.message and "item 4" in p.message
    assert str(path) in str(info.value)


def test_load_toml_syntax_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('code = "x\n')
    with pytest.raises(ValidationError) as info:
        load_toml(path)
    assert info.value.problems[0].rule == "toml_syntax"
    assert info.value.problems[0].file == str(path)


def test_load_toml_missing_file(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        load_toml(tmp_path / "nope.toml")


# ---- canonical form and hash ---------------------------------------------------------


def test_hash_is_stable_across_key_order():
    reordered = dict(reversed(list(copy.deepcopy(BASE).items())))
    reordered["subscales"] = [dict(reversed(list(s.items()))) for s in reordered["subscales"]]
    a = InstrumentDef.from_dict(BASE)
    b = InstrumentDef.from_dict(reordered)
    assert a.sha256 == b.sha256
    assert a.canonical_json() == b.canonical_json()


def test_hash_ignores_spelled_out_defaults_and_number_spelling():
    explicit = _with(version="1", integer=True, total=True, multiplier=1, min=1.0, reverse=[5, 2])
    explicit["subscales"][1]["scoring"] = "sum"  # what it inherits anyway
    explicit["subscales"][1]["max_missing"] = 0
    assert InstrumentDef.from_dict(explicit).sha256 == InstrumentDef.from_dict(BASE).sha256


@pytest.mark.parametrize(
    "changes",
    [
        {"version": "2"},
        {"reverse": [2]},
        {"max_missing": 2},
        {"scoring": "mean"},
        {"reliability": 0.81},
        {"reliability": _DROP},
        {"multiplier": 4},
        {"higher_is_better": False},
        {"citation": "Someone (2020)"},
        {"max": 6},
        {"integer": False},
        {"total": False},
        {"subscales": [{"code": "first", "items": [1, 2, 3]}]},
    ],
)
def test_a_changed_field_changes_the_hash(changes):
    assert InstrumentDef.from_dict(_with(**changes)).sha256 != InstrumentDef.from_dict(BASE).sha256


def test_to_dict_round_trips_and_is_toml_shaped():
    d = InstrumentDef.from_dict(BASE)
    again = InstrumentDef.from_dict(d.to_dict())
    assert again.sha256 == d.sha256 and again.measures == d.measures
    from_toml = loads_toml(d.to_toml())
    assert from_toml.sha256 == d.sha256
    assert tomllib.loads(d.to_toml()) == d.to_dict()


def test_definitions_are_immutable_and_hashable():
    d = InstrumentDef.from_dict(BASE)
    with pytest.raises(AttributeError):
        d.items = 3  # type: ignore[misc]
    assert {d: 1}[InstrumentDef.from_dict(BASE)] == 1


def test_python_constructed_subscale_inherits():
    d = InstrumentDef(
        code="x", name="X", items=4, min=0, max=3, scoring="sum", higher_is_better=False,
        reverse=(1, 3), subscales=(SubscaleDef(code="a", items=(1, 2)),),
    )  # fmt: skip
    a = d.measure("x.a")
    assert a.reverse == (1,) and a.scoring == "sum" and a.higher_is_better is False
    assert InstrumentDef.from_dict(d.to_dict()).sha256 == d.sha256


# ---- the built-in library -------------------------------------------------------------


def test_builtin_library_has_the_spec_instruments():
    assert set(builtin_codes()) == EXPECTED_BUILTINS


@pytest.mark.parametrize("code", sorted(EXPECTED_BUILTINS))
def test_builtin_definitions_are_complete(code):
    d = load_builtin(code)
    assert d.code == code
    assert d.name and d.construct and d.licence and d.description
    if code != "rating0_10":
        assert d.citation
    assert d.to_dict() == InstrumentDef.from_dict(d.to_dict()).to_dict()


def test_builtin_files_hold_no_item_wording():
    """Scoring definitions only: no key could carry item text."""
    for code in builtin_codes():
        data = load_builtin(code).to_dict()
        assert not {"questions", "text", "wording", "labels"} & set(data)


def test_builtin_scoring_rules():
    pss = load_builtin("pss10")
    assert pss.reverse == (4, 5, 7, 8) and pss.measure("pss10").score_range == (0, 40)
    assert load_builtin("pss4").reverse == (2, 3)
    assert load_builtin("cams_r").measure("cams_r").score_range == (12, 48)
    assert load_builtin("cams_r").reverse == (2, 6, 7)
    assert load_builtin("who5").measure("who5").score_range == (0, 100)
    assert load_builtin("flourishing").measure("flourishing").score_range == (8, 56)
    assert load_builtin("cd_risc10").measure("cd_risc10").score_range == (0, 40)
    assert load_builtin("phq9").measure("phq9").score_range == (0, 27)
    assert load_builtin("gad7").measure("gad7").score_range == (0, 21)
    assert load_builtin("maas").measure("maas").score_range == (1, 6)
    scs = load_builtin("scs_sf")
    assert scs.reverse == (1, 4, 8, 9, 11, 12)
    subs = {m.subscale: m for m in scs.measures if m.subscale}
    assert {k: v.items for k, v in subs.items()} == {
        "self_kindness": (2, 6), "self_judgment": (11, 12), "common_humanity": (5, 10),
        "isolation": (4, 8), "mindfulness": (3, 7), "over_identification": (1, 9),
    }  # fmt: skip
    assert all(m.reverse == () for m in subs.values())
    assert {k for k, v in subs.items() if not v.higher_is_better} == {
        "self_judgment", "isolation", "over_identification",
    }  # fmt: skip


def test_load_builtin_unknown_lists_codes():
    with pytest.raises(NotFound) as info:
        load_builtin("pss99")
    assert "pss10" in str(info.value) and "who5" in str(info.value)


def test_resolve_code_or_path(tmp_path):
    assert resolve("gad7").code == "gad7"
    path = tmp_path / "custom.toml"
    path.write_text(load_builtin("gad7").to_toml().replace('code = "gad7"', 'code = "my_gad"'))
    assert resolve(str(path)).code == "my_gad"
    assert resolve(path).code == "my_gad"
    with pytest.raises(NotFound):
        resolve(str(tmp_path / "absent.toml"))
    with pytest.raises(NotFound, match="available"):
        resolve("absent_code")


def test_library_files_are_package_resources():
    from importlib import resources

    files = {p.name for p in resources.files("tracker.instruments.library").iterdir()}
    assert {f"{c}.toml" for c in EXPECTED_BUILTINS} <= files


def test_describe_names_every_measure_and_rule():
    from tracker.instruments import describe

    text = describe(load_builtin("scs_sf"))
    assert text.startswith("scs_sf: Self-Compassion Scale - Short Form")
    assert "reverse      1, 4, 8, 9, 11, 12 (scored as 6 - value)" in text
    assert "scs_sf.self_judgment" in text and "lower is better" in text
    assert "prorated with up to 2 missing" in text
    who5 = describe(load_builtin("who5"))
    assert "x 4" in who5 and "range 0-100" in who5


def test_subscale_positional_construction():
    sub = SubscaleDef("a", (1, 2), "mean", 1, ())
    assert (sub.code, sub.items, sub.scoring, sub.max_missing, sub.reverse) == (
        "a", (1, 2), "mean", 1, (),
    )  # fmt: skip
