"""The optional ``norm_mean`` / ``norm_sd`` instrument keys (issue 16): parsed, validated,
given to the total measure, and in the canonical form only when present."""

from __future__ import annotations

import pytest

from tracker.errors import ValidationError
from tracker.instruments import InstrumentDef, load_builtin

BASE = {"code": "demo", "name": "Demo scale", "items": 4, "min": 0, "max": 4,
        "higher_is_better": False, "scoring": "sum", "reliability": 0.8,
        "subscales": [{"code": "half", "items": [1, 2]}]}  # fmt: skip


def test_norms_reach_the_total_and_the_snapshot():
    d = InstrumentDef.from_dict({**BASE, "norm_mean": 6.5, "norm_sd": 3.0}, source="demo.toml")
    total, half = d.measures
    assert (total.norm_mean, total.norm_sd) == (6.5, 3)
    assert (half.norm_mean, half.norm_sd) == (None, None)  # the total's norms only
    snapshot = d.to_dict()
    assert snapshot["norm_mean"] == 6.5 and snapshot["norm_sd"] == 3
    assert list(snapshot).index("norm_mean") == list(snapshot).index("reliability") + 1
    again = InstrumentDef.from_dict(snapshot, source="snapshot")
    assert again.sha256 == d.sha256 and again.norm_sd == 3


def test_without_norms_the_snapshot_and_hash_are_unchanged():
    plain = InstrumentDef.from_dict(BASE, source="demo.toml")
    assert "norm_mean" not in plain.to_dict() and "norm_sd" not in plain.to_dict()
    assert plain.sha256 != InstrumentDef.from_dict({**BASE, "norm_sd": 3}, source="x").sha256
    # the hash of the library's PSS-10 as computed before these keys existed (commit ce2cacf)
    assert (
        load_builtin("pss10").sha256
        == "7b976ca8ab28ebbb2aa46ab48103b8272a96bb1a586fb1930c270426e7a3b532"
    )


@pytest.mark.parametrize(("extra", "field", "text"), [
    ({"norm_sd": 0}, "norm_sd", "must be a positive number (the normative SD)"),
    ({"norm_sd": -2.5}, "norm_sd", "must be a positive number (the normative SD)"),
    ({"norm_sd": "wide"}, "norm_sd", "must be a finite number, not"),
    ({"norm_mean": "high"}, "norm_mean", "must be a finite number, not"),
    ({"norm_means": 3}, "norm_means", "did you mean 'norm_mean'?"),
])  # fmt: skip
def test_bad_norms_are_refused_naming_the_key(extra, field, text):
    with pytest.raises(ValidationError) as info:
        InstrumentDef.from_dict({**BASE, **extra}, source="demo.toml")
    message = str(info.value)
    assert field in message and text in message, message
