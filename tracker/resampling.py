"""The percentile bootstrap of the mediation model's indirect effects, vectorised (pure: numpy).

This module imports numpy only (it is outside :mod:`tracker.analysis`, whose package
imports pandas and scipy): the report's worker processes run :func:`bootstrap_groups`
without importing either.

The bootstrap is vectorised: a resample is a vector of counts w (how often
each case was drawn), and every equation of a resample is the weighted least
squares solution from the weighted cross-product matrix S_b = sum_i w_bi z_i z_i'
of z = (1, X, M_1..M_k, covariates, Y). All resamples' S_b come from matrix
products (counts of B x n) @ (the d(d+1)/2 distinct products z_i z_j, n of each),
and the small normal equations are solved as one batch, by elimination over
whole columns of resamples: no Python loop per resample. Variables are centred
and scaled first (the coefficients are scaled back), so the normal equations
are well conditioned.

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
#: resamples solved together, as cells (chunk x n): their cross-products are small
#: (chunk x d(d+1)/2), so a chunk only bounds how many resamples one batch of solves takes
CHUNK_CELLS = 2_500_000
#: counts are drawn and multiplied in blocks of about this many cells, and of at least
#: COUNT_ROWS resamples: small enough that (block x n) @ (n x d(d+1)/2 - 1) takes
#: OpenBLAS's small-matrix path (no packing of the products, the block still in L2),
#: at half the cost a cell of larger blocks; below 6 rows that path is slow whatever n
#: (BENCHMARKS.md, design figures)
COUNT_CELLS = 60_000
COUNT_ROWS = 6
#: a resample whose normal-equation matrix has a determinant below this fraction of the
#: full sample's (variables scaled) is singular: an arm or a value missing from it
SINGULAR = 1e-10


def resample_counts(n: int, boot: int, seed: int):
    """The bootstrap resamples as counts, in chunks: yields float arrays (chunk, n).

    Resample b draws n case indices uniformly with replacement from
    ``numpy.random.default_rng(seed)``, in order; counts[b, i] is how often case i
    was drawn. The stream of draws does not depend on the chunk size.
    """
    for counts in _count_chunks(n, boot, seed, _count_rows(n)):
        yield counts.copy()


def _count_rows(n: int) -> int:
    return max(COUNT_ROWS, COUNT_CELLS // max(n, 1))


def _count_chunks(n: int, boot: int, seed: int, per_chunk: int):
    """The counts of :func:`resample_counts` in chunks of ``per_chunk`` resamples, in one reused buffer.

    Each chunk is valid until the next is drawn. ``integers`` draws the same values
    as int32 and as int64 below 2**31 (the same 32-bit bounded generator; a test
    holds it), int32 faster (2.4 vs 3.3 ns a draw here); ``np.bincount`` counts
    int64 far faster than int32 (BENCHMARKS.md, design figures), so the resamples'
    offsets are added into int64. Reused buffers spare the page faults of fresh ones.
    """
    rng = np.random.default_rng(seed)
    per_chunk = max(1, min(per_chunk, boot))
    drawn = np.int32 if n <= 2**31 else np.int64
    offsets = (np.arange(per_chunk, dtype=np.int64) * n)[:, None]
    cells = np.empty((per_chunk, n), dtype=np.int64)
    counts = np.empty((per_chunk, n))
    done = 0
    while done < boot:
        size = min(per_chunk, boot - done)
        idx = np.add(
            rng.integers(0, n, size=(size, n), dtype=drawn), offsets[:size], out=cells[:size]
        )
        np.copyto(counts[:size], np.bincount(idx.ravel(), minlength=size * n).reshape(size, n))
        yield counts[:size]
        done += size


def _packing(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unique cross-products of d variables: (rows, cols, at), (0, 0) left out.

    S is symmetric, so a resample needs only its d(d+1)/2 entries i <= j; the
    intercept's own entry is sum(w) / n = 1 exactly (every resample draws n cases).
    ``at[i, j]`` is the column of the packed S holding entry (i, j), -1 for (0, 0).
    """
    rows, cols = np.triu_indices(d)
    rows, cols = rows[1:], cols[1:]
    at = np.full((d, d), -1)
    at[rows, cols] = at[cols, rows] = np.arange(len(rows))
    return rows, cols, at


def _solve_batch(
    S: np.ndarray,
    at: np.ndarray,
    regressors: list[int],
    responses: list[int],
    wanted: list[int],
    det_full: float,
) -> np.ndarray:
    """Weighted LS coefficients (resample, wanted regressor, response) from the packed S; NaN when singular.

    The normal equations are symmetric positive semi-definite, so Gaussian elimination
    needs no pivoting; it runs on whole columns (one entry of every resample at a
    time), the wanted regressors ordered last so that only they are back-substituted.
    The determinant is the product of the pivots (a symmetric reordering keeps it):
    the singularity rule is unchanged, |det| not above ``SINGULAR`` x the full
    sample's (an exactly singular system gives a pivot of 0 or of rounding size, and
    then a NaN or a determinant of rounding size).
    """
    order = [r for r in regressors if r not in wanted] + list(wanted)
    p, first = len(order), len(order) - len(wanted)
    ones = np.ones(len(S))

    def entry(i: int, j: int) -> np.ndarray:
        column = at[i, j]
        return ones if column < 0 else S[:, column]

    # a[i][j] (j >= i): the upper triangle, eliminated in place; rhs[i][r]: the responses
    a = [[entry(order[i], order[j]) if j >= i else ones for j in range(p)] for i in range(p)]
    rhs = [[entry(order[i], r) for r in responses] for i in range(p)]
    coef = np.empty((len(S), len(wanted), len(responses)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for t in range(p - 1):
            for i in range(t + 1, p):
                f = a[t][i] / a[t][t]
                for j in range(i, p):
                    a[i][j] = a[i][j] - f * a[t][j]
                for r in range(len(responses)):
                    rhs[i][r] = rhs[i][r] - f * rhs[t][r]
        det = a[0][0]
        for t in range(1, p):
            det = det * a[t][t]
        for r in range(len(responses)):
            x: dict[int, np.ndarray] = {}
            for i in range(p - 1, first - 1, -1):
                acc = rhs[i][r]
                for j in range(i + 1, p):
                    acc = acc - a[i][j] * x[j]
                x[i] = coef[:, i - first, r] = acc / a[i][i]
    coef[~(np.abs(det) > SINGULAR * abs(det_full))] = np.nan
    return coef


def _prepare(raw: np.ndarray, models: list[tuple[int, list[int], list[int], int]]) -> list[dict]:
    """Per model of one group: its own packed cross-products, its two systems, the full-sample determinants.

    Each model's products hold only its own variables, in its own order (1, X,
    mediators, covariates, Y): its replicates do not depend on which other models
    share its cases (the small-matrix kernels of the BLAS round by column position).
    """
    raw = np.asarray(raw, dtype=float)
    n = raw.shape[0]
    centre, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(n), (raw - centre) / scale])
    d = z.shape[1]
    full = ((z[:, :, None] * z[:, None, :]).reshape(n, d * d).sum(axis=0) / n).reshape(d, d)
    units = []
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
        own = [0, ix, *im, *ic, iy]  # the model's variables; local j is own[j]
        k, q = len(im), len(ic)
        rows, cols, at = _packing(len(own))
        units.append(
            {
                "packed": np.ascontiguousarray(z[:, own][:, rows] * z[:, own][:, cols]),
                "at": at,
                "a": ([0, 1, *range(2 + k, 2 + k + q)], list(range(2, 2 + k)), [1], dets[0]),
                "y": (list(range(2 + k + q)), [2 + k + q], list(range(2, 2 + k)), dets[1]),
                # the scaled indirect effect a~ b~ is in units of sd(Y) / sd(X)
                "back": scale[iy - 1] / scale[ix - 1],
                "out": [],
                "k": k,
            }
        )
    return units


def _solve_chunk(unit: dict, S: np.ndarray) -> None:
    """Append one model's replicates of a chunk (S: its packed cross-products over n)."""
    a = _solve_batch(S, unit["at"], *unit["a"])[:, 0, :]
    b = _solve_batch(S, unit["at"], *unit["y"])[:, :, 0]
    unit["out"].append(a * b * unit["back"])


def bootstrap_groups(
    groups: list[tuple[np.ndarray, list[tuple[int, list[int], list[int], int]]]],
    *,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    counts=None,
) -> list[list[np.ndarray]]:
    """:func:`bootstrap_models` of several groups (raw, models); groups of the same n share the draws.

    The resamples depend only on n, ``boot`` and ``seed``, so groups of as many cases
    (other participants, the same count) get each chunk of counts drawn once.
    Returns per group what :func:`bootstrap_models` returns for it alone. The counts
    are drawn in cache-sized blocks (``COUNT_CELLS``) and their cross-products gathered
    into chunks of ``CHUNK_CELLS`` // n resamples, solved together.
    """
    prepared = [_prepare(raw, models) for raw, models in groups]
    by_n: dict[int, list[dict]] = {}
    for (raw, _), units in zip(groups, prepared, strict=True):
        by_n.setdefault(len(raw), []).extend(units)
    for n, units in by_n.items():
        if counts is None:
            per_chunk = max(1, min(CHUNK_CELLS // max(n, 1), boot))
            blocks = _count_chunks(n, boot, seed, min(per_chunk, _count_rows(n)))
        else:
            blocks = [np.asarray(counts, dtype=float)]
            per_chunk = max(1, len(blocks[0]))
        S = [np.empty((per_chunk, unit["packed"].shape[1])) for unit in units]
        filled = 0
        for w in blocks:
            done = 0
            while done < len(w):
                take = min(len(w) - done, per_chunk - filled)
                for unit, s in zip(units, S, strict=True):
                    np.matmul(w[done : done + take], unit["packed"], out=s[filled : filled + take])
                filled, done = filled + take, done + take
                if filled == per_chunk:
                    for unit, s in zip(units, S, strict=True):
                        _solve_chunk(unit, s / n)
                    filled = 0
        if filled:
            for unit, s in zip(units, S, strict=True):
                _solve_chunk(unit, s[:filled] / n)
    return [
        [
            np.concatenate(unit["out"], axis=0) if unit["out"] else np.empty((0, unit["k"]))
            for unit in units
        ]
        for units in prepared
    ]


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
    All models share the resamples (they depend only on n, ``boot`` and ``seed``) and
    the counts; each multiplies them by its own variables' products. Returns per model an array
    (B, k) of a_j b_j in raw units, NaN where a resample's equations are singular.
    ``counts`` (B, n) replaces the seeded resamples (the tests feed R the same ones).
    """
    return bootstrap_groups([(raw, models)], boot=boot, seed=seed, counts=counts)[0]


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
