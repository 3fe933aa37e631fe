"""The key-problem collector shared by instrument definitions and study files."""

from __future__ import annotations

from tracker.errors import ValidationError
from tracker.tomlcheck import KeyProblems, closest


def test_every_problem_is_kept_with_file_key_value_and_rule():
    problems = KeyProblems("f.toml", label="field {key!r}")
    table = {"itmes": 3, "min": "0", "flag": 1}
    problems.unknown_keys(table, ("items", "min", "flag"))
    assert problems.number(table, "min") is None
    assert problems.boolean(table, "flag", default=True) is True  # a bad value reads as the default
    assert problems.string(table, "name", required=True) is None
    assert problems.integer(table, "absent", default=0) == 0
    assert [(p.file, p.rule, p.value) for p in problems.items] == [
        ("f.toml", "unknown_key", None),
        ("f.toml", "wrong_type", "0"),
        ("f.toml", "wrong_type", 1),
        ("f.toml", "missing_key", None),
    ]
    assert (
        problems.items[0].message
        == "field 'itmes': unknown key; did you mean 'items'? Allowed keys: items, min, flag"
    )
    err = problems.error("invalid thing", advice="; nothing was written")
    assert isinstance(err, ValidationError) and len(err.problems) == 4
    assert str(err).splitlines()[0] == "f.toml: invalid thing (4 problems); nothing was written"
    assert (
        str(err).splitlines()[2]
        == "  f.toml: field 'min': must be a finite number, not string (value '0') [wrong_type]"
    )


def test_one_problem_brief_is_one_line():
    problems = KeyProblems("study.toml")
    problems.add("waves[0].day", "wrong_type", "must be a whole number of days, not 'zero'")
    err = problems.error("invalid study file", brief=True)
    assert isinstance(err, ValidationError) and [p.rule for p in err.problems] == ["wrong_type"]
    assert (
        str(err)
        == err.summary
        == "study.toml: waves[0].day: must be a whole number of days, not 'zero'"
    )
    assert str(problems.error("invalid study file")).startswith(
        "study.toml: invalid study file (1 problem)\n  "
    )


def test_array_of_tables():
    problems = KeyProblems("f.toml")
    entries, ok = problems.tables([{"a": 1}, "x", {"b": 2}], "subscales")
    assert [(i, prefix) for i, prefix, _ in entries] == [(1, "subscales[1]."), (3, "subscales[3].")]
    assert not ok and problems.items[0].message == "subscales[2]: must be a table, not string"
    assert problems.tables({"a": 1}, "subscales") is None
    assert closest("nmae", ("name", "items")) == "name" and closest("zzz", ("name",)) is None
