"""`tracker --help` start-up, the light read commands, and the five analyses from the CLI with --format json.

Run alone: ``python benchmarks/bench_cli.py [N ...]``; ``run(sizes)`` serves
``benchmarks/run.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TRACKER = str(BIN / "tracker")
HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "statsmodels")


def _timed(argv: list[str], env: dict | None = None) -> float:
    return _run(argv, env)[0]


def _run(argv: list[str], env: dict | None = None) -> tuple[float, str]:
    """Wall seconds of one process, and what it printed on stdout."""
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, env=env, text=True)
    return time.perf_counter() - start, done.stdout


def bench_help(repeat: int = 7) -> dict:
    """Median wall time of `tracker --help` over ``repeat`` runs (after one warm-up)."""
    _timed([TRACKER, "--help"])
    times = [_timed([TRACKER, "--help"]) for _ in range(repeat)]
    baseline = [_timed([sys.executable, "-c", "pass"]) for _ in range(repeat)]
    probe = (
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys\nfrom tracker.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
                f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
        .removeprefix("HEAVY:")
    )
    return {
        "work": "tracker --help",
        "size": None,
        "runs": repeat,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "baseline": "python -c pass",
        "baseline_s": statistics.median(baseline),
        "target": "< 0.3 s, no heavy imports",
        "heavy_imported": probe or "none",
        "met": statistics.median(times) < 0.3 and not probe,
    }


# what a coordinator runs many times a day (issue 15: each < 0.5 s wall on a 500-participant study)
LIGHT = [["study", "list"], ["wave", "list"], ["cohort", "list"], ["status"], ["due"]]
LIGHT_TARGET_S = 0.5


def bench_light(n: int = 500, repeat: int = 7, workdir: Path | None = None) -> dict:
    """Median wall time of each light command as a process, on an n-participant demo study.

    ``python -c pass`` (starting Python) and ``tracker --help`` (starting the
    CLI) are timed in the same run, interleaved with the commands, as
    baselines: the commands' figures are only meaningful next to them on
    this noisy machine. Each command is also probed in-process for heavy
    modules (pandas, SQLAlchemy, ...) it loads.
    """
    from tracker.demo import run_demo

    work = Path(workdir or tempfile.mkdtemp(prefix=f"bench-light-{n}-"))
    db = work / "demo.db"
    if not db.exists():
        run_demo(work, participants=n, seed=2027, report=False)
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
    argvs = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tracker --help": [TRACKER, "--help"],
    }
    argvs.update({"tracker " + " ".join(a): [TRACKER, *a] for a in LIGHT})
    for argv in argvs.values():  # warm the file cache
        _timed(argv, env)
    times: dict[str, list[float]] = {k: [] for k in argvs}
    for _ in range(repeat):
        for name, argv in argvs.items():
            times[name].append(_timed(argv, env))
    heavy = {}
    for argv in LIGHT:
        probe = (
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys\nfrom tracker.cli import cli\ntry:\n    cli(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
                    f"print('HEAVY:' + ','.join(m for m in {(*HEAVY, 'sqlalchemy')!r} if m in sys.modules))",
                    *argv,
                ],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=work,  # not a checkout's tracker/ on sys.path
            )
            .stdout.strip()
            .splitlines()[-1]
            .removeprefix("HEAVY:")
        )
        heavy["tracker " + " ".join(argv)] = probe or "none"
    commands = [k for k in argvs if k.startswith("tracker ") and k != "tracker --help"]
    rows = {
        k: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v)}
        for k, v in times.items()
    }
    worst = max(rows[k]["median_s"] for k in commands)
    return {
        "work": "light commands",
        "size": n,
        "runs": repeat,
        "commands": rows,
        "heavy_imported": heavy,
        "baseline": "python -c pass",
        "baseline_s": rows["python -c pass"]["median_s"],
        "help_s": rows["tracker --help"]["median_s"],
        "worst_s": worst,
        "worst": max(commands, key=lambda k: rows[k]["median_s"]),
        "target": f"< {LIGHT_TARGET_S} s each, {n} participants",
        "met": worst < LIGHT_TARGET_S,
    }


def light_markdown(row: dict) -> str:
    """The light commands' table: one line per process timed, the baselines first."""
    lines = [
        "| process | median s | min | max | over python -c pass, s | heavy modules imported |",
        "|---|---|---|---|---|---|",
    ]
    base = row["baseline_s"]
    for name, r in row["commands"].items():
        heavy = row["heavy_imported"].get(name, "—")
        lines.append(
            f"| `{name}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} | "
            f"{r['median_s'] - base:+.3f} | {heavy} |"
        )
    return "\n".join(lines)


ANALYSES = [
    ["analyze", "correlations", "--wave", "baseline"],
    ["analyze", "change", "--from", "baseline", "--to", "post", "--by", "arm"],
    ["analyze", "compare", "--from", "baseline", "--to", "post"],
    ["analyze", "trajectory"],
    ["analyze", "reliability", "--wave", "baseline"],
]
# the same five with the same options, in one process (not the mediation model `all` also runs)
ALL = [
    "analyze", "all", "--from", "baseline", "--to", "post", "--by", "arm", "--wave", "baseline",
    "--analyses", "correlations,change,compare,trajectory,reliability",
]  # fmt: skip


def bench_analyses(n: int, repeat: int = 3, workdir: Path | None = None) -> dict:
    """Build an n-participant demo study once, then time the five analyses from the CLI."""
    from tracker.demo import run_demo

    work = Path(workdir or tempfile.mkdtemp(prefix=f"bench-analyses-{n}-"))
    db = work / "demo.db"
    if not db.exists():
        run_demo(work, participants=n, seed=2027, report=False)
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{db}"}
    totals, per, together, alone, at_once = [], {}, [], {}, None
    for _ in range(repeat):
        total = 0.0
        for argv in ANALYSES:
            t, out = _run([TRACKER, *argv, "--format", "json"], env)
            per.setdefault(argv[1], []).append(t)
            alone[argv[1]] = json.loads(out)
            total += t
        totals.append(total)
        t, out = _run([TRACKER, *ALL, "--format", "json"], env)
        together.append(t)
        at_once = json.loads(out)
    if at_once != alone:  # the one-process figure counts only if it prints the same records
        raise AssertionError(
            f"tracker analyze all differs from the five commands at {n} participants"
        )
    return {
        "work": "five analyses, CLI --format json",
        "size": n,
        "runs": repeat,
        "median_s": statistics.median(totals),
        "min_s": min(totals),
        "max_s": max(totals),
        "detail": {k: statistics.median(v) for k, v in per.items()},
        "all_median_s": statistics.median(together),
        "all_min_s": min(together),
        "all_max_s": max(together),
        "target": "< 5 s at 10,000",
        "met": None if n != 10_000 else statistics.median(totals) < 5,
        "all_met": None if n != 10_000 else statistics.median(together) < 5,
    }


def run(sizes=(100, 1_000, 10_000)) -> list[dict]:
    rows = [bench_help(), bench_light()]
    rows.extend(bench_analyses(n) for n in sizes)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["light"]:  # python benchmarks/bench_cli.py light [N]
        result = bench_light(int(sys.argv[2]) if len(sys.argv) > 2 else 500)
        print(light_markdown(result))
        print(
            f"worst: {result['worst']} {result['worst_s']:.3f} s; target {result['target']}; met {result['met']}"
        )
        raise SystemExit(0)
    sizes = [int(a) for a in sys.argv[1:]] or [1_000]
    for row in run(sizes):
        print(row)
