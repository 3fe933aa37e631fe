"""Benchmark: score 1,000,000 PSS-10 item responses with ``score_long``.

100,000 administrations x 10 items, about 3% of values missing (so some
administrations are prorated and a few have too many missing). Reports the median
wall time of 5 runs, after one untimed warm-up run.

Run ``python benchmarks/bench_scoring.py``; a suite runner can call :func:`run`.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from tracker.instruments import load_builtin
from tracker.scoring import score_long

N_ADMINISTRATIONS = 100_000
MISSING_RATE = 0.03
REPEATS = 5
TARGET_SECONDS = 2.0


def make_responses(
    n_administrations: int = N_ADMINISTRATIONS, seed: int = 20240601
) -> pd.DataFrame:
    """Long PSS-10 responses with values 0-4 and ``MISSING_RATE`` of them NaN."""
    rng = np.random.default_rng(seed)
    k = load_builtin("pss10").items
    values = rng.integers(0, 5, size=(n_administrations, k)).astype(float)
    values[rng.random(values.shape) < MISSING_RATE] = np.nan
    return pd.DataFrame(
        {
            "administration_id": np.repeat(np.arange(1, n_administrations + 1), k),
            "item": np.tile(np.arange(1, k + 1), n_administrations),
            "value": values.ravel(),
        }
    )


def run(n_administrations: int = N_ADMINISTRATIONS, repeats: int = REPEATS) -> dict:
    """Time ``score_long`` on generated PSS-10 data; returns a flat record."""
    definition = load_builtin("pss10")
    responses = make_responses(n_administrations)
    out = score_long(responses, definition)  # warm-up, and the result summarised below
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        score_long(responses, definition)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "benchmark": "score_long pss10",
        "administrations": n_administrations,
        "item_responses": len(responses),
        "missing_rate": MISSING_RATE,
        "repeats": repeats,
        "median_seconds": median,
        "min_seconds": min(times),
        "responses_per_second": len(responses) / median,
        "prorated": int(out["prorated"].sum()),
        "missing_scores": int(out["score"].isna().sum()),
        "target_seconds": TARGET_SECONDS,
        "within_target": median < TARGET_SECONDS,
    }


def markdown(result: dict) -> str:
    return (
        f"| {result['benchmark']} | {result['item_responses']:,} responses "
        f"({result['administrations']:,} administrations) | "
        f"median {result['median_seconds']:.3f} s of {result['repeats']} | "
        f"{result['responses_per_second'] / 1e6:.2f} M responses/s | "
        f"target < {result['target_seconds']:.0f} s: {'yes' if result['within_target'] else 'NO'} |"
    )


if __name__ == "__main__":
    print(markdown(run()))
