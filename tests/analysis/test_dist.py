"""The scipy.special distribution helpers against scipy.stats (the reference) on a grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from tracker.analysis import _dist

X = np.array([-40.0, -8.5, -2.0, -0.3, 0.0, 0.7, 1.96, 3.1, 12.0, 40.0])
DF = [1.0, 2.5, 7.0, 29.0, 400.0, 1e5]
Q = np.array([1e-12, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999])


def close(a, b, rtol=1e-12, atol=1e-300):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_normal():
    close(_dist.norm_cdf(X), stats.norm.cdf(X))
    close(_dist.norm_sf(X), stats.norm.sf(X))
    close(_dist.norm_ppf(Q), stats.norm.ppf(Q))


@pytest.mark.parametrize("df", DF)
def test_student_t(df):
    close(_dist.t_sf(X, df), stats.t.sf(X, df))
    close(_dist.t_ppf(Q, df), stats.t.ppf(Q, df), rtol=1e-10)


@pytest.mark.parametrize(("dfn", "dfd"), [(1, 1), (4, 12), (99, 9702), (9999, 99990)])
def test_f(dfn, dfd):
    x = np.array([0.01, 0.5, 1.0, 1.7, 9.0])
    close(_dist.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd), rtol=1e-10)
    close(_dist.f_ppf(Q[1:-1], dfn, dfd), stats.f.ppf(Q[1:-1], dfn, dfd), rtol=1e-9)


@pytest.mark.parametrize(("df", "nc"), [(4, 0.0), (19, 2.5), (99, -7.0), (9999, 30.0)])
def test_noncentral_t(df, nc):
    x = np.array([-10.0, -1.0, 0.0, 2.0, 8.0, 35.0])
    close(_dist.nct_cdf(x, df, nc), stats.nct.cdf(x, df, nc), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    "values",
    [
        [3.0, 1.0, 2.0],
        [1.0, 1.0, 1.0],
        [0.5, 0.2, 0.5, 0.2, 0.9, 0.5, -1.0],
        list(np.random.default_rng(7).integers(0, 6, 200).astype(float)),
        [],
    ],
)
def test_rankdata_average_ties(values):
    close(_dist.rankdata(values), stats.rankdata(values))


@pytest.mark.parametrize(
    ("target", "lo", "hi"), [(0.975, -20.0, 20.0), (0.025, -5.0, 60.0), (0.5, 0.0, 9.0)]
)
def test_bisect_root_matches_brentq(target, lo, hi):
    def f(ncp):
        return float(stats.nct.cdf(3.2, 14, ncp)) - target

    ours = _dist.bisect_root(f, lo, hi, xtol=1e-12)
    ref = optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-15)
    assert abs(ours - ref) < 1e-11
    assert abs(f(ours)) < 1e-10


@pytest.mark.parametrize(
    ("f", "lo", "hi"),
    [
        (lambda x: (x - 0.3) ** 2, -1.0, 2.0),
        (lambda x: np.cosh(x - 1.7) + 0.1 * x, 0.0, 4.0),
        (lambda x: -np.log1p(np.exp(x)) + 0.5 * x + 0.02 * x**4, -3.0, 3.0),
        (lambda x: x, 2.0, 5.0),  # minimum at the lower end
        (lambda x: abs(x - 1.234567), 1.0, 2.0),  # not smooth: golden-section steps
    ],
)
def test_brent_minimize_matches_scipy_bounded(f, lo, hi):
    ours_x, ours_f = _dist.brent_minimize(f, lo, hi, xatol=1e-10)
    ref = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    assert abs(ours_x - ref.x) < 1e-8
    assert ours_f <= ref.fun + 1e-12 or abs(ours_f - ref.fun) < 1e-12
