"""The percentile bootstrap of the mediation model's indirect effects, vectorised (pure: numpy).

This module imports numpy only (it is outside :mod:`tracker.analysis`, whose package
imports pandas and scipy): the report's worker processes run :func:`bootstrap_jobs`
without importing either.

The bootstrap is vectorised: a resample is a vector of counts w (how often
each case was drawn), and every equation of a resample is the weighted least
squares solution from the weighted cross-product matrix S_b = sum_i w_bi z_i z_i'
of z = (1, X, M_1..M_k, covariates, Y). All resamples' S_b come from one
matrix product (counts of B x n) @ (outer products of n x d^2), and the small
normal equations are solved as one batch: no Python loop per resample.
Variables are centred and scaled first (the coefficients are scaled back), so
the normal equations are well conditioned.

The resamples depend only on n, B and the seed: resample b draws n case indices
uniformly with replacement from ``numpy.random.default_rng(seed)``, in order
(Efron & Tibshirani 1993). :mod:`tracker.analysis.mediation` fits the model
and words the records.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BOOT = 5000
DEFAULT_SEED = 1
CONFIDENCE = 0.95
#: resamples of one chunk are at most this many counts (chunk x n): 2 MB of float64, which
#: stays in cache: faster than larger chunks (BENCHMARKS.md, design figures)
CHUNK_CELLS = 250_000
#: a resample whose normal-equation matrix has a determinant below this fraction of the
#: full sample's (variables scaled) is singular: an arm or a value missing from it
SINGULAR = 1e-10


def resample_counts(n: int, boot: int, seed: int):
    """The bootstrap resamples as counts, in chunks: yields float arrays (chunk, n).

    Resample b draws n case indices uniformly with replacement from
    ``numpy.random.default_rng(seed)``, in order; counts[b, i] is how often case i
    was drawn. The stream of draws does not depend on the chunk size. (64-bit
    indices: ``np.bincount`` counts int64 far faster than int32 (BENCHMARKS.md, design
    figures); ``integers`` draws the same values either way.)
    """
    rng = np.random.default_rng(seed)
    per_chunk = max(1, CHUNK_CELLS // max(n, 1))
    done = 0
    while done < boot:
        size = min(per_chunk, boot - done)
        idx = rng.integers(0, n, size=(size, n))
        idx += (np.arange(size, dtype=np.int64) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)
        done += size


def _solve_batch(S: np.ndarray, regressors: list[int], responses: list[int], det_full: float):
    """Weighted LS coefficients (resample, regressor, response) from the cross-products; NaN when singular."""
    A = S[:, regressors][:, :, regressors]
    rhs = S[:, regressors][:, :, responses]
    det = np.linalg.det(A)
    bad = ~(np.abs(det) > SINGULAR * abs(det_full))
    if bad.any():
        A = A.copy()
        A[bad] = np.eye(len(regressors))
    coef = np.linalg.solve(A, rhs)
    coef[bad] = np.nan
    return coef


def bootstrap_models(
    raw: np.ndarray,
    models: list[tuple[int, list[int], list[int], int]],
    *,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    counts=None,
) -> list[np.ndarray]:
    """Bootstrap replicates of the indirect effects of several models on the same cases.

    ``raw`` (n, v): complete cases of every variable the models use; ``models``: per
    model the column of X, the columns of its mediators, of its covariates and of Y.
    All models share the resamples (they depend only on n, ``boot`` and ``seed``), the
    counts and one cross-product matrix per resample. Returns per model an array
    (B, k) of a_j b_j in raw units, NaN where a resample's equations are singular.
    ``counts`` (B, n) replaces the seeded resamples (the tests feed R the same ones).
    """
    raw = np.asarray(raw, dtype=float)
    n = raw.shape[0]
    centre, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(n), (raw - centre) / scale])
    d = z.shape[1]
    outer = (z[:, :, None] * z[:, None, :]).reshape(n, d * d)
    full = (outer.sum(axis=0) / n).reshape(d, d)
    plans = []
    for ix, im, ic, iy in models:
        ix, im, ic, iy = (
            ix + 1,
            [j + 1 for j in im],
            [j + 1 for j in ic],
            iy + 1,
        )  # after the intercept
        a_regs, y_regs = [0, ix, *ic], [0, ix, *im, *ic]
        dets = (
            np.linalg.det(full[np.ix_(a_regs, a_regs)]),
            np.linalg.det(full[np.ix_(y_regs, y_regs)]),
        )
        # the scaled indirect effect a~ b~ is in units of sd(Y) / sd(X)
        plans.append((a_regs, y_regs, im, iy, dets, scale[iy - 1] / scale[ix - 1]))
    chunks = resample_counts(n, boot, seed) if counts is None else [np.asarray(counts, dtype=float)]
    out: list[list[np.ndarray]] = [[] for _ in models]
    for w in chunks:
        S = ((w @ outer) / n).reshape(len(w), d, d)
        for slot, (a_regs, y_regs, im, iy, (det_a, det_y), back) in zip(out, plans, strict=True):
            a = _solve_batch(S, a_regs, im, det_a)[:, 1, :]
            b = _solve_batch(S, y_regs, [iy], det_y)[:, 2 : 2 + len(im), 0]
            slot.append(a * b * back)
    return [
        np.concatenate(parts, axis=0) if parts else np.empty((0, len(m[1])))
        for parts, m in zip(out, models, strict=True)
    ]


def bootstrap_jobs(
    jobs, *, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED
) -> list[list[np.ndarray]]:
    """:func:`bootstrap_models` of each job ``(raw, models)``, one after the other: a list per job.

    The unit of work a report worker process runs (this module imports numpy only).
    """
    return [bootstrap_models(raw, models, boot=boot, seed=seed) for raw, models in jobs]


def bootstrap_indirect(
    x, m, y, covariates=None, *, boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED, counts=None
) -> np.ndarray:
    """Bootstrap replicates of the indirect effects a_j b_j of one model: an array (B, k).

    ``x`` (n,), ``m`` (n, k), ``y`` (n,), ``covariates`` (n, q) or None, complete
    cases. Each replicate is the OLS fit of the resampled cases (a case drawn
    twice counts twice), scaled back to the raw units; NaN where singular.
    """
    raw, model = stack_model(x, m, y, covariates)
    return bootstrap_models(raw, [model], boot=boot, seed=seed, counts=counts)[0]


def stack_model(x, m, y, covariates):
    """(raw, model) for :func:`bootstrap_models`: the columns X, M_1..M_k, covariates, Y and their positions."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    m = np.asarray(m, dtype=float).reshape(n, -1)
    cov = (
        np.empty((n, 0))
        if covariates is None
        else np.asarray(covariates, dtype=float).reshape(n, -1)
    )
    k, q = m.shape[1], cov.shape[1]
    raw = np.column_stack([x, m, cov, np.asarray(y, dtype=float)])
    return raw, (0, list(range(1, 1 + k)), list(range(1 + k, 1 + k + q)), 1 + k + q)


def percentile_ci(reps: np.ndarray) -> tuple[float, float, int]:
    """(low, high, number of finite replicates): the 2.5 and 97.5 percentiles, numpy's linear rule."""
    ok = reps[np.isfinite(reps)]
    if ok.size == 0:
        return float("nan"), float("nan"), 0
    lo, hi = np.quantile(ok, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return float(lo), float(hi), int(ok.size)
