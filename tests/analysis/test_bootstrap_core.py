"""The bootstrap core against the straightforward computation it replaces.

The reference below is the previous core, written out: the full d x d weighted
cross-products of every resample, ``np.linalg.det`` for the singularity rule and
``np.linalg.solve`` for the coefficients. The fast core (packed symmetric
cross-products, elimination over whole columns, the determinant as the product of
the pivots, int32 draws in small reused blocks, one stream of draws for groups of
the same n) must give the same replicates, the same NaN (singular) resamples and
the same counts as numpy's int64 draws.
"""

from __future__ import annotations

import numpy as np
import pytest

import tracker.resampling as boot
from tracker.resampling import (
    bootstrap_groups,
    bootstrap_models,
    resample_counts,
    stack_model,
)


def reference(raw, models, counts):
    """Replicates (B, k) per model: full S per resample, det + solve (the previous core)."""
    raw = np.asarray(raw, dtype=float)
    n = len(raw)
    centre, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(n), (raw - centre) / scale])
    full = z.T @ z / n
    S = np.einsum("bi,ij,ik->bjk", counts, z, z) / n

    def solve(regs, responses):
        A = S[:, regs][:, :, regs]
        rhs = S[:, regs][:, :, responses]
        det = np.linalg.det(A)
        bad = ~(np.abs(det) > boot.SINGULAR * abs(np.linalg.det(full[np.ix_(regs, regs)])))
        A = A.copy()
        A[bad] = np.eye(len(regs))
        coef = np.linalg.solve(A, rhs)
        coef[bad] = np.nan
        return coef

    out = []
    for ix, im, ic, iy in models:
        ix, im, ic, iy = ix + 1, [j + 1 for j in im], [j + 1 for j in ic], iy + 1
        a = solve([0, ix, *ic], im)[:, 1, :]
        b = solve([0, ix, *im, *ic], [iy])[:, 2 : 2 + len(im), 0]
        out.append(a * b * (scale[iy - 1] / scale[ix - 1]))
    return out


def int64_counts(n, B, seed):
    """The contract: resample b is n draws of ``default_rng(seed).integers(0, n)`` (int64), in order."""
    idx = np.random.default_rng(seed).integers(0, n, size=(B, n))
    return np.stack([np.bincount(row, minlength=n) for row in idx]).astype(float)


def model_data(n, k, q, *, seed=0, treated=None):
    """(raw, model) of X -> k mediators -> Y with q covariates; X 0/1 with ``treated`` cases if given."""
    rng = np.random.default_rng(seed)
    if treated is None:
        x = rng.normal(size=n)
    else:
        x = np.zeros(n)
        x[:treated] = 1.0
    cov = rng.normal(size=(n, q))
    m = 0.5 * x[:, None] + cov.sum(axis=1, keepdims=True) * 0.2 + rng.normal(size=(n, k))
    y = m.sum(axis=1) + 0.3 * x + rng.normal(size=n)
    return stack_model(x, m, y, cov if q else None)


@pytest.mark.parametrize(
    ("n", "k", "q", "treated", "rtol"),
    [
        (40, 1, 0, None, 1e-12),
        (40, 3, 2, None, 1e-12),
        (25, 2, 1, 4, 1e-12),
        (12, 1, 0, 3, 1e-12),
        (9, 2, 0, 2, 1e-10),
    ],
)
def test_replicates_and_singular_resamples_equal_the_det_solve_reference(n, k, q, treated, rtol):
    # with few treated cases many resamples miss an arm (or hold one treated case only): the
    # product of the pivots must flag exactly the resamples np.linalg.det flagged. (9 cases, 2
    # treated, 2 mediators: some estimable resamples are ill-conditioned, and the two solvers'
    # rounding differs by up to 1e-11 there.)
    raw, model = model_data(n, k, q, treated=treated)
    counts = int64_counts(n, 2000, 3)
    (ours,) = bootstrap_models(raw, [model], counts=counts)
    (theirs,) = reference(raw, [model], counts)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    if treated is not None:
        assert 0 < np.isnan(ours[:, 0]).sum() < 2000
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-14 * np.nanmax(np.abs(theirs)))


def test_several_models_and_a_hand_made_resample_missing_an_arm():
    raw, (ix, im, ic, iy) = model_data(30, 2, 1, treated=10)
    models = [(ix, im, ic, iy), (ix, im[:1], [], iy), (ix, im[1:], ic, im[0])]
    counts = int64_counts(30, 300, 5)
    counts[0] = 0.0
    counts[0, 10:] = 1.5  # an untreated-only resample (30 cases drawn among the 20 untreated)
    counts[1] = 0.0
    counts[1, 0], counts[1, 10:] = 1.0, 29 / 20  # one treated case: estimable
    ours = bootstrap_models(raw, models, counts=counts)
    theirs = reference(raw, models, counts)
    for o, t in zip(ours, theirs, strict=True):
        assert np.isnan(o[0]).all() and np.isfinite(o[1]).all()
        np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-13 * np.nanmax(np.abs(t)))


def test_near_singular_resamples_keep_the_rule_and_the_values():
    # M2 is M1 plus a little noise: each resample's Y equation is ill-conditioned (condition
    # ~1e10) yet above the singular threshold; the two solvers agree to the conditioning
    rng = np.random.default_rng(4)
    n = 50
    x = rng.normal(size=n)
    m1 = 0.5 * x + rng.normal(size=n)
    m = np.column_stack([m1, m1 + 1e-5 * rng.normal(size=n)])
    raw, model = stack_model(x, m, m1 + x + rng.normal(size=n), None)
    counts = int64_counts(n, 500, 1)
    (ours,) = bootstrap_models(raw, [model], counts=counts)
    (theirs,) = reference(raw, [model], counts)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


@pytest.mark.parametrize("n", [1, 6, 59, 501])
@pytest.mark.parametrize(("chunk", "cells", "rows"), [(None, None, None), (7, 3, 1), (10, 4, 4)])
def test_draws_are_the_int64_stream_in_any_blocks(monkeypatch, n, chunk, cells, rows):
    # int32 draws, reused buffers and blocks that straddle the solve chunks change nothing
    if chunk is not None:
        monkeypatch.setattr(boot, "CHUNK_CELLS", chunk * n)
        monkeypatch.setattr(boot, "COUNT_CELLS", cells * n)
        monkeypatch.setattr(boot, "COUNT_ROWS", rows)
    expected = int64_counts(n, 37, 9)
    np.testing.assert_array_equal(np.vstack(list(resample_counts(n, 37, 9))), expected)
    if n > 5:
        raw, model = model_data(n, 2, 1)
        np.testing.assert_allclose(
            bootstrap_models(raw, [model], boot=37, seed=9)[0],
            bootstrap_models(raw, [model], counts=expected)[0],
            rtol=1e-12,
        )


def test_int32_draws_equal_int64_draws():
    for n in (2, 9901, 2**31):
        a = np.random.default_rng(1).integers(0, n, size=(3, 1001))
        b = np.random.default_rng(1).integers(0, n, size=(3, 1001), dtype=np.int32)
        np.testing.assert_array_equal(a, b)


def test_groups_of_the_same_n_share_the_draws_and_get_what_they_get_alone():
    first, m1 = model_data(60, 2, 0, seed=1)
    second, m2 = model_data(60, 1, 2, seed=2)
    third, m3 = model_data(45, 3, 1, seed=3)
    groups = [(first, [m1]), (third, [m3]), (second, [m2, m2])]
    together = bootstrap_groups(groups, boot=400, seed=11)
    for (raw, models), reps in zip(groups, together, strict=True):
        alone = bootstrap_models(raw, models, boot=400, seed=11)
        for r, a in zip(reps, alone, strict=True):
            np.testing.assert_array_equal(r, a)


def test_the_report_shape_shares_draws_across_complete_case_groups(monkeypatch):
    # two outcomes missing in different participants, as many of each: two groups, one stream
    import pandas as pd

    import tracker.analysis._mediation_model as model_module
    from tracker.analysis.mediation import mediation

    rng = np.random.default_rng(8)
    n = 80
    people = [f"P{i:03d}" for i in range(n)]
    x = rng.normal(size=n)
    m = 0.4 * x + rng.normal(size=n)
    values = {"x": x, "m": m, "y1": m + rng.normal(size=n), "y2": m - rng.normal(size=n)}
    values["y1"][:3] = np.nan
    values["y2"][5:8] = np.nan
    scores = pd.concat(
        pd.DataFrame({"participant": people, "wave": "w1", "measure": k, "score": v})
        for k, v in values.items()
    )
    passes = []
    real = model_module.bootstrap_groups
    monkeypatch.setattr(
        model_module,
        "bootstrap_groups",
        lambda groups, **kw: passes.append([len(r) for r, _ in groups]) or real(groups, **kw),
    )
    both = mediation(scores, x="x", mediators=["m"], y=["y1", "y2"], wave="w1", boot=300)
    assert passes == [[77, 77]]
    for y in ("y1", "y2"):
        alone = mediation(scores, x="x", mediators=["m"], y=y, wave="w1", boot=300)
        # (the OLS point estimates of a wider frame can differ in the last bit: rtol, not exact)
        pd.testing.assert_frame_equal(
            both[both["y"] == y].reset_index(drop=True), alone, check_exact=False, rtol=1e-12
        )


@pytest.mark.parametrize("n", [40, 3000])
def test_a_models_replicates_do_not_depend_on_the_other_models_of_its_group(n):
    # the report splits the models between two worker processes: a model must get the same
    # replicates, to the bit, whatever else shares its cases (and its columns' positions)
    raw, (ix, im, ic, iy) = model_data(n, 2, 1, seed=6)
    rng = np.random.default_rng(7)
    wide = np.column_stack([rng.normal(size=(n, 2)), raw, rng.normal(size=n)])
    shift = 2
    moved = (ix + shift, [j + shift for j in im], [j + shift for j in ic], iy + shift)
    other = (0, [1, *moved[1]], [], wide.shape[1] - 1)
    alone = bootstrap_models(raw, [(ix, im, ic, iy)], boot=300, seed=2)[0]
    shared = bootstrap_models(wide, [other, moved], boot=300, seed=2)[1]
    np.testing.assert_array_equal(shared, alone)
