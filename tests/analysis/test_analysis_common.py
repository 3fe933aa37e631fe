"""adjust_p against R p.adjust and statsmodels multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from tracker.analysis import adjust_p
from tracker.errors import AnalysisError


def test_adjust_p_matches_r_with_missing_values(ref, h):
    # R: p.adjust(c(0.01, NA, 0.04, 0.03, 0.2, 0.04, 0.0005, NA, 0.5), "holm" / "BH")
    r = ref["p_adjust"]
    p = np.array([np.nan if v is None else v for v in r["p"]])
    h.assert_close(adjust_p(p, "holm"), r["holm"], rtol=1e-12)
    h.assert_close(adjust_p(p, "fdr_bh"), r["BH"], rtol=1e-12)
    h.assert_close(adjust_p(p, "none"), r["p"], rtol=0)


p_values = st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=0, max_size=30)


# few examples: multipletests runs gc.collect() on every call (~0.1 s)
@settings(max_examples=25, deadline=None)
@given(p_values)
def test_adjust_p_matches_statsmodels_on_the_non_missing_values(p):
    p = np.array(p, dtype=float)
    ok = ~np.isnan(p)
    for ours, theirs in (("holm", "holm"), ("fdr_bh", "fdr_bh")):
        out = adjust_p(p, ours)
        assert np.array_equal(np.isnan(out), ~ok)
        if ok.any():
            expected = multipletests(p[ok], method=theirs)[1]
            np.testing.assert_allclose(out[ok], expected, rtol=1e-12, atol=1e-15)
            assert np.all(out[ok] >= p[ok] - 1e-15) and np.all(out[ok] <= 1.0)


@given(p_values, st.randoms(use_true_random=False))
def test_adjust_p_does_not_depend_on_order(p, rnd):
    p = np.array(p, dtype=float)
    perm = list(range(len(p)))
    rnd.shuffle(perm)
    for method in ("holm", "fdr_bh"):
        np.testing.assert_array_equal(adjust_p(p, method)[perm], adjust_p(p[perm], method))


def test_adjust_p_rejects_unknown_method():
    with pytest.raises(AnalysisError, match="bonferroni"):
        adjust_p([0.1], "bonferroni")
