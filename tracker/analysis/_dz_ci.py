"""Cohen's dz confidence limits for many rows at once: :func:`dz_confidence_intervals`.

The same bracketing and bisection as :func:`tracker.analysis.change.dz_confidence_interval`
(and :func:`tracker.analysis._dist.bisect_root`), step for step, on arrays: every row
goes through the same sequence of noncentral-t evaluations as it would alone (the CDF
is evaluated element by element), so the limits are the same to the last bit, while a
paired-change table pays one vectorised evaluation per step instead of one per row.
"""

from __future__ import annotations

import numpy as np

from tracker.analysis._dist import nct_cdf

_WIDEN = 60  # bracket-widening steps, as in dz_confidence_interval
_XTOL, _RTOL, _MAXITER = 1e-12, 4e-16, 200  # bisect_root's stopping rule as called there


def dz_confidence_intervals(dz, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of dz for each (dz, n), as ``dz_confidence_interval`` gives them."""
    dz = np.asarray(dz, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    df = n - 1
    root_n = np.sqrt(n)
    t_obs = dz * root_n
    alpha = (1.0 - level) / 2.0
    finite = np.isfinite(t_obs)
    lo = np.full(dz.shape, np.nan)
    hi = np.full(dz.shape, np.nan)
    lo[finite] = _solve(t_obs[finite], df[finite], 1.0 - alpha) / root_n[finite]
    hi[finite] = _solve(t_obs[finite], df[finite], alpha) / root_n[finite]
    return lo, hi


def dz_lookup(pairs, min_pairs: int, one_at_a_time):
    """(dz, n) -> dz's CI for the rows of these (pre, post) pairs, all computed in one pass.

    Each row's dz is computed as :func:`tracker.analysis.change.paired_change` computes
    it (d = post - pre over the complete pairs, mean / SD, when there are ``min_pairs``
    and the differences are not all equal to 10 decimals); a (dz, n) not found (none
    should be) is left to ``one_at_a_time`` (``dz_confidence_interval``), so the limits
    are that function's either way.
    """
    wanted = []
    for x, y in pairs:
        keep = ~np.isnan(x) & ~np.isnan(y)
        n = int(keep.sum())
        if n < min_pairs:
            continue
        d = y[keep] - x[keep]
        if np.ptp(np.round(d, 10)) > 0:
            wanted.append((d.mean() / d.std(ddof=1), n))
    lows, highs = dz_confidence_intervals([w[0] for w in wanted], [w[1] for w in wanted])
    limits = {w: (lo, hi) for w, lo, hi in zip(wanted, lows, highs, strict=True)}

    def dz_ci(dz: float, n: int) -> tuple[float, float]:
        found = limits.get((dz, n))
        return found if found is not None else one_at_a_time(dz, n)

    return dz_ci


def _solve(t_obs: np.ndarray, df: np.ndarray, target: float) -> np.ndarray:
    """The noncentrality at which P(T <= t_obs) = target, per row (NaN: no bracket)."""

    def f(rows: np.ndarray, ncp: np.ndarray) -> np.ndarray:
        return nct_cdf(t_obs[rows], df[rows], ncp) - target

    # cdf falls as ncp rises: widen [lo, hi] until the root is inside
    step = 2.0 + np.abs(t_obs) * 0.5
    lo, hi = t_obs - step, t_obs + step
    for bound, sign in ((lo, -1.0), (hi, 1.0)):
        active = np.arange(len(t_obs))
        for _ in range(_WIDEN):
            if not active.size:
                break
            values = f(active, bound[active])
            active = active[values < 0] if sign < 0 else active[values > 0]
            bound[active] += sign * step[active]
            step[active] *= 2.0
    everyone = np.arange(len(t_obs))
    f_lo, f_hi = f(everyone, lo), f(everyone, hi)
    bracketed = (f_lo >= 0) & (f_hi <= 0)  # NaN from nct far in the tails, or no bracket
    out = np.full(len(t_obs), np.nan)
    out[bracketed & (f_lo == 0)] = lo[bracketed & (f_lo == 0)]
    at_hi = bracketed & (f_lo != 0) & (f_hi == 0)
    out[at_hi] = hi[at_hi]
    active = np.flatnonzero(bracketed & (f_lo != 0) & (f_hi != 0))
    for _ in range(_MAXITER):
        if not active.size:
            break
        mid = lo[active] + (hi[active] - lo[active]) / 2.0
        narrow = hi[active] - lo[active] <= _XTOL + _RTOL * np.abs(mid)
        out[active[narrow]] = mid[narrow]
        active, mid = active[~narrow], mid[~narrow]
        f_mid = f(active, mid)
        zero = f_mid == 0
        out[active[zero]] = mid[zero]
        active, mid, f_mid = active[~zero], mid[~zero], f_mid[~zero]
        same = np.copysign(1.0, f_mid) == np.copysign(1.0, f_lo[active])
        lo[active[same]], f_lo[active[same]] = mid[same], f_mid[same]
        hi[active[~same]] = mid[~same]
    out[active] = lo[active] + (hi[active] - lo[active]) / 2.0
    return out
