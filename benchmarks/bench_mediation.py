"""Benchmark: the mediation bootstrap (5,000 resamples x 8 models) and `tracker analyze mediation`.

The issue's target: 5,000 resamples x 8 models on 1,000 participants in under 3 s,
every resample of an analysis vectorised. Measured here, in the same run:

* ``tracker.analysis.mediation.mediation`` on 8 models (2 X x 4 Y, two parallel
  mediators; the shape of the seed's model), default B = 5000;
* the baseline: one ``numpy.linalg.lstsq`` of the largest equation (Y ~ X + M1 + M2)
  on the same n rows; the ratio says how many such fits the whole analysis costs
  (a loop over resamples would make 8 models x 4 equations x 5,000 = 160,000 such fits);
* ``scipy.stats.bootstrap`` (percentile, ``vectorized=True``) of one single-mediator
  model's a·b, against our one-model figure: the library route the issue offers;
* the whole CLI command, a process, on a demo study of that size (6 models: 2
  modifiable x 3 outcomes, 2 mediators), beside ``python -c 'import numpy, pandas,
  scipy.special'``, what any command pays first.

Run ``python benchmarks/bench_mediation.py [N ...]``; ``benchmarks/run.py`` calls
:func:`run` and :func:`markdown`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.analysis.mediation import bootstrap_indirect, mediation

BOOT = 5000
TARGET_SECONDS = 3.0
TRACKER = str(Path(sys.executable).parent / "tracker")
CLI_MAX = (
    10_000  # the CLI is timed on demo studies up to this size (building one takes minutes beyond)
)


def make_scores(n: int, seed: int = 11) -> pd.DataFrame:
    """Long scores at one wave: x1, x2 -> m1, m2 -> y1..y4, 3 % missing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    m = x @ [[0.5, -0.3], [0.2, -0.4]] + rng.normal(size=(n, 2))
    y = (
        m @ rng.normal(0.3, 0.1, size=(2, 4))
        + x @ rng.normal(0.1, 0.05, size=(2, 4))
        + rng.normal(size=(n, 4))
    )
    values = {
        "x1": x[:, 0],
        "x2": x[:, 1],
        "m1": m[:, 0],
        "m2": m[:, 1],
        **{f"y{j + 1}": y[:, j] for j in range(4)},
    }
    parts = []
    person = np.array([f"P{i:06d}" for i in range(n)])
    for name, v in values.items():
        v = v.copy()
        v[rng.random(n) < 0.03] = np.nan
        parts.append(
            pd.DataFrame({"participant": person, "wave": "baseline", "measure": name, "score": v})
        )
    return pd.concat(parts, ignore_index=True)


def _median(fn, repeats: int) -> tuple[float, float, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def _scipy_bootstrap(x, m, y, boot):
    from scipy import stats

    def indirect(x, m, y, axis=-1):
        # a from M ~ X, b from Y ~ X + M, both from the (co)variances along ``axis``
        xc = x - x.mean(axis=axis, keepdims=True)
        mc = m - m.mean(axis=axis, keepdims=True)
        yc = y - y.mean(axis=axis, keepdims=True)
        sxx, smm = (xc * xc).sum(axis), (mc * mc).sum(axis)
        sxm, sxy, smy = (xc * mc).sum(axis), (xc * yc).sum(axis), (mc * yc).sum(axis)
        return (sxm / sxx) * (sxx * smy - sxm * sxy) / (sxx * smm - sxm**2)

    return stats.bootstrap(
        (x, m, y),
        indirect,
        paired=True,
        vectorized=True,
        n_resamples=boot,
        method="percentile",
        random_state=np.random.default_rng(1),
    )


def bench_pure(n: int, repeats: int = 3) -> dict:
    scores = make_scores(n)
    xs, ms, ys = ["x1", "x2"], ["m1", "m2"], ["y1", "y2", "y3", "y4"]
    t, lo, hi = _median(
        lambda: mediation(scores, x=xs, mediators=ms, y=ys, wave="baseline", boot=BOOT), repeats
    )
    wide = scores.pivot(index="participant", columns="measure", values="score").dropna()
    design = np.column_stack([np.ones(len(wide)), wide[["x1", "m1", "m2"]].to_numpy()])
    target = wide["y1"].to_numpy()
    t_lstsq, _, _ = _median(lambda: np.linalg.lstsq(design, target, rcond=None), max(repeats, 50))
    one = wide[["x1", "m1", "y1"]].to_numpy().T
    t_one, _, _ = _median(
        lambda: bootstrap_indirect(one[0], one[1], one[2], boot=BOOT, seed=1), repeats
    )
    t_scipy, _, _ = _median(lambda: _scipy_bootstrap(one[0], one[1], one[2], BOOT), repeats)
    return {
        "participants": n,
        "models": 8,
        "boot": BOOT,
        "median_s": t,
        "min_s": lo,
        "max_s": hi,
        "lstsq_s": t_lstsq,
        "ratio_to_lstsq": t / t_lstsq,
        "one_model_s": t_one,
        "scipy_bootstrap_s": t_scipy,
        "scipy_ratio": t_scipy / t_one,
        "target_s": TARGET_SECONDS if n == 1_000 else None,
        "met": (t < TARGET_SECONDS) if n == 1_000 else None,
    }


def bench_cli(n: int, repeats: int = 3, workdir: Path | None = None) -> dict:
    from tracker.demo import run_demo

    work = Path(workdir or tempfile.mkdtemp(prefix=f"bench-mediation-{n}-"))
    db = work / "demo.db"
    if not db.exists():
        run_demo(work, participants=n, seed=2027, report=False)
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
    argv = [TRACKER, "analyze", "mediation", "--format", "json"]

    def one(cmd):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        return time.perf_counter() - start

    one(argv)
    times = [one(argv) for _ in range(repeats)]
    starts = [
        one([sys.executable, "-c", "import numpy, pandas, scipy.special"]) for _ in range(repeats)
    ]
    return {
        "participants": n,
        "cli_median_s": statistics.median(times),
        "cli_min_s": min(times),
        "cli_max_s": max(times),
        "start_s": statistics.median(starts),
        "cli_ratio_to_start": statistics.median(times) / statistics.median(starts),
    }


def run(sizes=(1_000,), repeats: int = 3) -> list[dict]:
    rows = []
    for n in sizes:
        row = bench_pure(n, repeats)
        if n <= CLI_MAX:
            row.update(bench_cli(n, repeats))
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| participants | 8 models × 5,000, median s (min–max) | one lstsq, ms | ratio | one model, s "
        "| scipy.stats.bootstrap, one model, s | scipy / ours | CLI `analyze mediation`, s | start-up, s "
        "| target (1,000) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        cli = (
            f"{r['cli_median_s']:.2f} ({r['cli_min_s']:.2f}–{r['cli_max_s']:.2f})"
            if "cli_median_s" in r
            else "—"
        )
        start = f"{r['start_s']:.2f}" if "start_s" in r else "—"
        target = (
            "—"
            if r["met"] is None
            else (f"< {r['target_s']:.0f} s: " + ("yes" if r["met"] else "**no**"))
        )
        lines.append(
            f"| {r['participants']:,} | {r['median_s']:.2f} ({r['min_s']:.2f}–{r['max_s']:.2f}) | "
            f"{1000 * r['lstsq_s']:.3f} | {r['ratio_to_lstsq']:,.0f}× | {r['one_model_s']:.3f} | "
            f"{r['scipy_bootstrap_s']:.3f} | {r['scipy_ratio']:.1f}× | {cli} | {start} | {target} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [1_000]
    print(markdown(run(sizes)))
