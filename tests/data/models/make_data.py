"""Writes the data sets that reference.R fits (run from the repository root:
``python tests/data/models/make_data.py``, then ``Rscript tests/data/models/reference.R``).

Our own simulated data, not the seed study's: 80 participants in two arms
(intervention, control), two mediators and one outcome at two waves, with
missing values so that complete cases matter. ``boot_idx.csv`` holds the first
200 resamples (0-based case indices, one resample per row) that
``tracker.analysis.mediation.resample_counts(n, 200, seed=7)`` draws for the
60-row cross-sectional set, so that R refits exactly those resamples.
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(20261201)
    n = 80
    arm = np.where(np.arange(n) % 2 == 0, "intervention", "control")
    treat = (arm == "intervention").astype(float)
    m1_pre = rng.normal(50, 10, n)
    m2_pre = 0.4 * m1_pre + rng.normal(20, 8, n)
    y_pre = 0.3 * m1_pre - 0.2 * m2_pre + rng.normal(30, 6, n)
    m1_post = 0.6 * m1_pre + 6 * treat + rng.normal(20, 7, n)
    m2_post = 0.5 * m2_pre - 3 * treat + rng.normal(15, 6, n)
    y_post = 0.5 * y_pre + 0.25 * m1_post - 0.3 * m2_post + 1.5 * treat + rng.normal(10, 5, n)
    cols = {
        "m1_pre": m1_pre,
        "m2_pre": m2_pre,
        "y_pre": y_pre,
        "m1_post": m1_post,
        "m2_post": m2_post,
        "y_post": y_post,
    }
    for name in cols:  # a few missing scores
        cols[name][rng.choice(n, 3, replace=False)] = np.nan
    lines = ["participant,arm," + ",".join(cols)]
    for i in range(n):
        values = ",".join(
            "NA" if np.isnan(cols[c][i]) else repr(round(float(cols[c][i]), 3)) for c in cols
        )
        lines.append(f"P{i + 1:03d},{arm[i]},{values}")
    (HERE / "mediation_data.csv").write_text("\n".join(lines) + "\n")

    # the cross-sectional set: x, two mediators, y; 60 cases, one of them incomplete
    n2 = 60
    x = rng.normal(3, 1, n2)
    m1 = 0.7 * x + rng.normal(0, 1, n2)
    m2 = -0.4 * x + rng.normal(0, 1, n2)
    y = 0.5 * m1 + 0.3 * m2 + 0.2 * x + rng.normal(0, 1, n2)
    x[17] = np.nan
    rows = ["participant,x,m1,m2,y"] + [
        f"Q{i + 1:03d},{'NA' if np.isnan(x[i]) else repr(round(float(x[i]), 4))},{m1[i]:.4f},{m2[i]:.4f},{y[i]:.4f}"
        for i in range(n2)
    ]
    (HERE / "cross_data.csv").write_text("\n".join(rows) + "\n")

    complete = n2 - 1
    draws = np.random.default_rng(7).integers(
        0, complete, size=(200, complete)
    )  # as resample_counts draws them
    (HERE / "boot_idx.csv").write_text("\n".join(",".join(map(str, row)) for row in draws) + "\n")


if __name__ == "__main__":
    main()
