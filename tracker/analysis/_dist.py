"""Distribution functions from ``scipy.special`` rather than ``scipy.stats``.

``scipy.stats`` takes several times longer to import than ``scipy.special``,
a large share of a ``tracker analyze`` command (BENCHMARKS.md, design figures).
The frozen-distribution methods of ``scipy.stats`` call these same special
functions (``t.sf`` -> ``stdtr``, ``t.ppf`` -> ``stdtrit``,
``norm.ppf`` -> ``ndtri``, ``f.ppf`` -> ``fdtri``, ``nct.cdf`` -> ``nctdtr``),
so the numbers do not change; ``tests/analysis/test_dist.py`` checks each
against ``scipy.stats``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special


def norm_cdf(z):
    """Standard normal CDF, Phi(z)."""
    return special.ndtr(z)


def norm_sf(z):
    """Standard normal upper tail, 1 - Phi(z), accurate far in the tail."""
    return special.ndtr(-np.asarray(z, dtype=float))


def norm_ppf(q):
    """Standard normal quantile."""
    return special.ndtri(q)


def t_sf(x, df):
    """Student t upper tail P(T > x) with ``df`` degrees of freedom."""
    return special.stdtr(df, -np.asarray(x, dtype=float))


def t_ppf(q, df):
    """Student t quantile."""
    return special.stdtrit(df, q)


def f_ppf(q, dfn, dfd):
    """F quantile."""
    return special.fdtri(dfn, dfd, q)


def f_sf(x, dfn, dfd):
    """F upper tail P(F > x)."""
    return special.fdtrc(dfn, dfd, x)


def nct_cdf(x, df, nc):
    """Noncentral t CDF P(T <= x) with ``df`` degrees of freedom and noncentrality ``nc``."""
    return special.nctdtr(df, nc, x)


def rankdata(a) -> np.ndarray:
    """Ranks 1..n of ``a`` with ties given their average rank (``scipy.stats.rankdata``)."""
    a = np.asarray(a, dtype=float)
    order = np.argsort(a, kind="mergesort")
    ordered = a[order]
    # group starts in sorted order; a tie group spanning sorted positions i..j gets (i + j) / 2 + 1
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], a.size] - 1
    average = (starts + ends) / 2.0 + 1.0
    ranks = np.empty(a.size, dtype=float)
    ranks[order] = np.repeat(average, ends - starts + 1)
    return ranks


def bisect_root(
    f, lo: float, hi: float, *, xtol: float = 1e-12, rtol: float = 4e-16, maxiter: int = 200
) -> float:
    """Root of a continuous ``f`` with f(lo) and f(hi) of opposite signs (or zero), by bisection.

    Slower than Brent's method but simple enough to be obviously right, and
    avoids importing ``scipy.optimize`` (BENCHMARKS.md, design figures) for the one root the change
    analysis needs per measure. Stops when the bracket is narrower than
    ``xtol + rtol * |x|``.
    """
    f_lo = f(lo)
    if f_lo == 0:
        return lo
    if f(hi) == 0:
        return hi
    for _ in range(maxiter):
        mid = lo + (hi - lo) / 2.0
        if hi - lo <= xtol + rtol * abs(mid):
            return mid
        f_mid = f(mid)
        if f_mid == 0:
            return mid
        if math.copysign(1.0, f_mid) == math.copysign(1.0, f_lo):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return lo + (hi - lo) / 2.0


def brent_minimize(
    f, lo: float, hi: float, *, xatol: float = 1e-10, maxiter: int = 500
) -> tuple[float, float]:
    """Minimum of ``f`` on [lo, hi] by Brent's method (golden section with parabolic steps).

    Brent (1973), *Algorithms for Minimization without Derivatives*, ch. 5,
    the procedure ``localmin``: returns (x, f(x)). Stops when the bracket
    around x is within ``2 tol`` of it, tol = sqrt(eps) |x| + xatol / 3, the
    same stopping rule as ``scipy.optimize.minimize_scalar(method="bounded")``,
    which is slow to import for the one 1-D search of each mixed model
    (tests/analysis/test_dist.py compares the two).
    """
    golden = 0.5 * (3.0 - math.sqrt(5.0))
    sqrt_eps = math.sqrt(2.2e-16)
    a, b = lo, hi
    x = w = v = a + golden * (b - a)
    fx = fw = fv = f(x)
    d = e = 0.0
    for _ in range(maxiter):
        m = 0.5 * (a + b)
        tol = sqrt_eps * abs(x) + xatol / 3.0
        tol2 = 2.0 * tol
        if abs(x - m) <= tol2 - 0.5 * (b - a):
            break
        parabolic = False
        if abs(e) > tol:
            # the parabola through (v, fv), (w, fw), (x, fx): its vertex is x + p / q
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0:
                p = -p
            q = abs(q)
            previous, e = e, d
            if abs(p) < abs(0.5 * q * previous) and q * (a - x) < p < q * (b - x):
                d = p / q
                u = x + d
                if u - a < tol2 or b - u < tol2:  # not too close to the ends
                    d = tol if x < m else -tol
                parabolic = True
        if not parabolic:
            e = (b - x) if x < m else (a - x)
            d = golden * e
        u = x + (d if abs(d) >= tol else math.copysign(tol, d))
        fu = f(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return x, fx
