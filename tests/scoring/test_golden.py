"""Golden scoring tests: hand-worked item responses -> expected scores, per built-in.

The expected values live in ``golden/<code>.toml`` beside the arithmetic that
produced them and the published rule they come from (see ``golden/README.md``).
"""

from __future__ import annotations

import math
import tomllib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.errors import ValidationError
from tracker.instruments import builtin_codes, load_builtin
from tracker.scoring import check_item_values, score_long, score_wide

GOLDEN = Path(__file__).parent / "golden"


def _golden(code: str) -> dict:
    return tomllib.loads((GOLDEN / f"{code}.toml").read_text(encoding="utf-8"))


def _expected(v) -> float:
    """A golden number: int, float, nan, or an exact fraction written "a/b"."""
    return float(Fraction(v)) if isinstance(v, str) else float(v)


def _long(values: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "administration_id": 1,
            "item": np.arange(1, len(values) + 1),
            "value": np.asarray(values, dtype=float),
        }
    )


CASES = [
    pytest.param(code, case, id=f"{code}-{case['id']}")
    for code in builtin_codes()
    for case in _golden(code)["case"]
]
REJECTS = [
    pytest.param(code, case, id=f"{code}-{case['id']}")
    for code in builtin_codes()
    for case in _golden(code)["reject"]
]


def test_every_builtin_has_a_golden_file():
    assert sorted(p.stem for p in GOLDEN.glob("*.toml")) == builtin_codes()


@pytest.mark.parametrize("code", builtin_codes())
def test_golden_file_covers_the_rules(code):
    """Each golden file exercises every measure, reverse keying, proration,
    too-many-missing and rejection, where the instrument has them."""
    d = load_builtin(code)
    g = _golden(code)
    assert g["instrument"] == code and g["source"]
    measures = {m.code for m in d.measures}
    for case in g["case"]:
        assert set(case["expected"]) == measures, case["id"]
        assert len(case["values"]) == d.items, case["id"]
    if d.reverse:
        assert any(
            not any(isinstance(v, float) and math.isnan(v) for v in c["values"]) for c in g["case"]
        )
    if any(m.max_missing > 0 for m in d.measures):
        assert any(c.get("prorated") for c in g["case"]), "no prorated case"
    assert any(
        any(isinstance(v, float) and math.isnan(v) for v in c["expected"].values())
        for c in g["case"]
    ), "no too-many-missing case"
    assert g["reject"], "no rejected values"


@pytest.mark.parametrize(("code", "case"), CASES)
def test_golden_case_long_and_wide(code, case):
    d = load_builtin(code)
    long_scores = score_long(_long(case["values"]), d)
    wide = pd.DataFrame([case["values"]], columns=d.item_names, index=[1], dtype=float)
    wide_scores = score_wide(wide, d)
    pd.testing.assert_frame_equal(long_scores, wide_scores)

    got = long_scores.set_index("measure")
    for measure, raw in case["expected"].items():
        want = _expected(raw)
        score = got.loc[measure, "score"]
        if math.isnan(want):
            assert math.isnan(score), f"{measure}: expected missing, got {score}"
        else:
            assert score == pytest.approx(want, rel=1e-12, abs=1e-12), measure
    prorated = set(case.get("prorated", []))
    assert set(got.index[got["prorated"]]) == prorated
    for measure, n in case.get("answered", {}).items():
        assert got.loc[measure, "items_answered"] == n, measure
    assert (got["items_total"] == [d.measure(m).n_items for m in got.index]).all()


@pytest.mark.parametrize(("code", "case"), REJECTS)
def test_golden_reject(code, case):
    d = load_builtin(code)
    values = pd.Series(case["values"], index=range(1, d.items + 1), dtype=object)
    rules = check_item_values(values, d)
    flagged = {str(item): rule for item, rule in rules.items() if rule is not None}
    assert flagged == case["rules"]

    # The scoring engine refuses the same values rather than scoring them.
    responses = pd.DataFrame(
        {"administration_id": 1, "item": list(range(1, d.items + 1)), "value": case["values"]}
    )
    with pytest.raises(ValidationError) as info:
        score_long(responses, d)
    assert sorted(p.rule for p in info.value.problems) == sorted(case["rules"].values())
