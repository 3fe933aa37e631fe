"""`make bench`: every benchmark of the project in one run, written to BENCHMARKS.md.

Sizes default to 100, 1,000, 10,000 and 100,000 participants
(``--sizes 100,1000`` for a quicker run). Each figure is the median of
repeated runs with its min and max; speeds are ratios against a baseline
measured in the same run (raw sqlite3 executemany, raw psycopg COPY,
pingouin, a bare ``python -c pass``), because this machine is noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_analysis  # noqa: E402
import bench_cli  # noqa: E402
import bench_export  # noqa: E402
import bench_import  # noqa: E402
import bench_mediation  # noqa: E402
import bench_report  # noqa: E402
import bench_scoring  # noqa: E402


def speed_reference() -> dict:
    """Two fixed workloads timed here, so that runs on machines of different speed can be compared.

    The absolute targets (seconds) depend on the machine; these say how fast
    this one was: a pure-Python loop and starting Python with numpy, pandas
    and scipy.special, what every ``tracker analyze`` process pays first.
    """
    import subprocess
    import timeit

    loop = min(timeit.repeat("sum(range(1_000_000))", number=1, repeat=7))
    starts = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy, pandas, scipy.special"], check=True)
        starts.append(time.perf_counter() - t)
    return {"loop_ms": loop * 1000, "start_s": sorted(starts)[2], "model": _cpu_model()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    pg = "unreachable"
    try:
        import psycopg

        url = os.environ.get(
            "TRACKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        )
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # the table says why
        pg = f"unreachable ({exc.__class__.__name__})"
    import numpy
    import pandas
    import scipy
    import sqlalchemy

    return {
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "sqlalchemy": sqlalchemy.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        **{f"speed_{k}": v for k, v in speed_reference().items()},
    }


def fmt(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "**no**"
    if isinstance(x, float):
        return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(label for _, label in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(key)) for key, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def loglog_svg(series: dict[str, list[tuple[int, float]]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, points in series.items():
        points = sorted(p for p in points if p[1] and p[1] > 0)
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    xs = [p[0] for pts in series.values() for p in pts]
    if xs:  # a slope-1 guide: linear growth
        lo, hi = min(xs), max(xs)
        ax.plot(
            [lo, hi], [0.01, 0.01 * hi / lo], color="0.7", linestyle="--", label="linear (slope 1)"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("participants")
    ax.set_ylabel("seconds (median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def slope(points: list[tuple[int, float]]) -> float | None:
    pts = sorted(dict(p for p in points if p[1] and p[1] > 0).items())  # one point per size
    if len(pts) < 2:
        return None
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    return math.log(y1 / y0) / math.log(x1 / x0)


#: A hand-kept section at the end of BENCHMARKS.md, carried over when the file is rewritten:
#: the figures the code comments refer to ("BENCHMARKS.md, design figures").
KEPT_SECTION = "## Figures behind design decisions (moved from code comments)"


def write_page(out: Path, text: str) -> None:
    """Write ``text`` to ``out``, keeping the :data:`KEPT_SECTION` of the page it replaces."""
    old = out.read_text() if out.exists() else ""
    if KEPT_SECTION in old:
        text = text.rstrip("\n") + "\n\n" + old[old.index(KEPT_SECTION) :]
    out.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="Rewrite BENCHMARKS.md from benchmarks/out/results.json without measuring.",
    )
    parser.add_argument(
        "--only",
        default="",
        help="Comma-separated steps to measure again (help, light, scoring, import, import_mapped, "
        "analysis, "
        "cli_analyses, report, mediation, export); the others are kept from "
        "benchmarks/out/results.json.",
    )
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads((HERE / "out" / "results.json").read_text())
        write_page(
            Path(args.out),
            render(
                saved["machine"],
                saved["results"],
                saved.get("sizes", []),
                saved.get("seconds", 0),
                saved.get("measured", {}),
            ),
        )
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    info = machine()
    results: dict[str, list[dict]] = {}
    only = {x for x in args.only.split(",") if x}
    measured: dict[str, str] = {}
    saved_path = HERE / "out" / "results.json"
    if only and saved_path.exists():
        saved = json.loads(saved_path.read_text())
        results = saved["results"]
        measured = saved.get("measured", {})

    def save():
        (HERE / "out").mkdir(exist_ok=True)
        saved_path.write_text(
            json.dumps(
                {
                    "machine": info,
                    "results": results,
                    "sizes": sizes,
                    "seconds": time.perf_counter() - started,
                    "measured": measured,
                },
                indent=1,
                default=str,
            )
        )

    def step(name, fn):
        if only and name not in only:
            return
        t = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        results[name] = fn()
        measured[name] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        save()  # after every step: a later step's failure keeps what was measured
        print(
            f"[bench] {name} done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True
        )

    step("help", lambda: [bench_cli.bench_help()])
    step("light", lambda: [bench_cli.bench_light(500, repeat=max(args.repeat, 7))])
    step("scoring", lambda: [bench_scoring.run(repeats=max(args.repeat, 5))])
    step("import", lambda: bench_import.run(sizes, repeat=args.repeat))
    # the fixed size (5,000 rows x 300 columns), whatever --sizes says
    step("import_mapped", lambda: [bench_import.run_mapped(repeat=args.repeat)])
    step("analysis", lambda: bench_analysis.run(sizes, repeats=args.repeat))
    step("cli_analyses", lambda: [bench_cli.bench_analyses(n, repeat=args.repeat) for n in sizes])
    step("report", lambda: bench_report.run(sizes, repeats=args.repeat))
    step(
        "mediation",
        lambda: bench_mediation.run([n for n in sizes if n <= 10_000], repeats=args.repeat),
    )
    # exports up to 10,000 participants: the items at 100,000 are 17 million rows per format
    step(
        "export",
        lambda: bench_export.run(
            [n for n in sizes if n <= 10_000] or sizes[:1], repeats=args.repeat
        ),
    )
    save()
    write_page(
        Path(args.out), render(info, results, sizes, time.perf_counter() - started, measured)
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def summary(results: dict) -> list[str]:
    """One row per target of the issue, with the measured figure and whether it is met."""
    rows = []

    def add(work, figure, target, met):
        rows.append({"work": work, "figure": figure, "target": target, "met": met})

    h = results["help"][0]
    add(
        "tracker --help",
        f"{h['median_s']:.3f} s (median of {h['runs']}); heavy modules: {h['heavy_imported']}",
        "< 0.3 s, none",
        h["met"],
    )
    if results.get("light"):
        li = results["light"][0]
        add(
            f"light commands (study list, wave list, cohort list, status, due), {li['size']} participants",
            f"slowest {li['worst']} {li['worst_s']:.3f} s (median of {li['runs']}); python -c pass "
            f"{li['baseline_s']:.3f} s, tracker --help {li['help_s']:.3f} s in the same run",
            f"< {bench_cli.LIGHT_TARGET_S} s each",
            li["met"],
        )
    for backend, baseline in (
        ("sqlite", "raw sqlite3 executemany"),
        ("postgresql", "raw psycopg COPY"),
    ):
        for r in results["import"]:
            if r["backend"] == backend and r["participants"] == 10_000:
                extra = f"; peak {r['peak_mb']:.0f} MB" if backend == "sqlite" else ""
                ok = r["ratio"] >= 0.5 and (backend != "sqlite" or r["peak_mb"] < 500)
                add(
                    f"import 1 M values, {backend}, {r['shape']} items",
                    f"{r['ratio']:.2f}x {baseline}{extra}",
                    ">= 0.5x" + ("; < 500 MB" if backend == "sqlite" else ""),
                    ok,
                )
                if backend == "sqlite" and "cli_ratio" in r:
                    add(
                        f"the same, the whole `tracker import responses` command, {r['shape']} items",
                        f"{r['cli_ratio']:.2f}x {baseline} ({r['cli_seconds']:.2f} s against "
                        f"{r['raw_seconds']:.2f} s in the same run)",
                        ">= 0.5x (issue 15)",
                        r["cli_ratio"] >= 0.5,
                    )
    for r in results.get("import_mapped", []):
        add(
            f"REDCap export through a map, {r['rows']:,} rows x {r['columns']} columns ({r['ignored']} ignored), "
            "against the same items in the wide layout: whole `tracker import responses`, SQLite",
            f"{r['ratio']:.2f}x ({r['cli_redcap_s']:.2f} s vs {r['cli_wide_s']:.2f} s; in-process "
            f"{r['inproc_ratio']:.2f}x)",
            "< 2x",
            r["met"],
        )
    sc = results["scoring"][0]
    add("scoring 1 M item responses", f"{sc['median_seconds']:.3f} s", "< 2 s", sc["within_target"])
    for r in results["cli_analyses"]:
        if r["size"] == 10_000:
            if "all_median_s" in r:
                add(
                    "five analyses, CLI --format json, 10,000 participants: one call, `tracker analyze all`",
                    f"{r['all_median_s']:.2f} s",
                    "< 5 s",
                    r["all_met"],
                )
            add(
                "the same five as five commands, a process each",
                f"{r['median_s']:.2f} s",
                "< 5 s",
                r["met"],
            )
    speed = [r for r in results["analysis"] if "speedup" in r]
    if speed:
        figures = ", ".join(f"{r['speedup']:.1f}x at {r['participants']:,}" for r in speed)
        add(
            "correlation matrix vs pingouin.pairwise_corr",
            f"{figures}; identical numbers",
            ">= 10x",
            all(r["within_target"] for r in speed),
        )
    for r in results.get("mediation", []):
        if r["participants"] == 1_000:
            add(
                "mediation bootstrap, 5,000 resamples x 8 models, 1,000 participants",
                f"{r['median_s']:.2f} s ({r['ratio_to_lstsq']:,.0f}x one numpy lstsq of the same rows)",
                "< 3 s",
                r["met"],
            )
    for r in results["report"]:
        if r["benchmark"].startswith("tracker demo"):
            add(
                "tracker demo, from nothing to the report",
                f"{r['median_seconds']:.2f} s",
                "< 10 s",
                r["within_target"],
            )
        elif r["participants"] == 10_000:
            add(
                "report, 10,000 participants",
                f"{r['median_seconds']:.2f} s",
                f"< {bench_report.REPORT_TARGET_SECONDS:g} s (issue 17)",
                r["within_target"],
            )
    for r in results.get("export", []):
        if r["participants"] == 10_000 and r["export"] == "scores wide" and "total_s" in r:
            add(
                f"export scores (wide), 10,000 participants, .{r['format']}",
                f"{r['total_s']:.2f} s",
                "—",
                None,
            )
    return [
        "## Summary against the targets",
        "",
        table(
            rows, [("work", "work"), ("figure", "measured"), ("target", "target"), ("met", "met")]
        ),
        "",
    ]


def render(
    info: dict, results: dict, sizes: list[int], seconds: float, measured: dict | None = None
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`benchmarks/run.py`) on {info['date']} in {seconds / 60:.0f} min; "
        f"study sizes {', '.join(f'{n:,}' for n in sizes)} participants.",
        "",
    ]
    if measured:
        lines += [
            "Each step as last measured (`--only` re-measures some and keeps the others): "
            + "; ".join(f"{step} {when}" for step, when in measured.items())
            + ".",
            "",
        ]
    lines += ["| machine | |", "|---|---|"]
    labels = {
        "speed_model": "cpu model",
        "speed_loop_ms": "speed: `sum(range(1_000_000))`, ms (best of 7)",
        "speed_start_s": "speed: `python -c 'import numpy, pandas, scipy.special'`, s (median of 5)",
    }
    lines += [
        f"| {labels.get(k, k)} | {fmt(v, 3) if isinstance(v, float) else v} |"
        for k, v in info.items()
        if k != "date"
    ]
    lines += [
        "",
        "Medians of repeated runs (min–max beside them). Ratios are against a baseline",
        "measured in the same run, because absolute times on this shared 2-core machine move by ±30 %.",
        "Targets in seconds depend on the machine itself: the two speed rows say how fast this one was,",
        "for comparing runs on different machines.",
        "",
    ]

    lines += summary(results)
    lines += ["## Targets", ""]
    help_row = results["help"][0]
    lines.append(
        table(
            [help_row],
            [
                ("work", "work"),
                ("median_s", "median s"),
                ("min_s", "min"),
                ("max_s", "max"),
                ("baseline_s", "python -c pass, s"),
                ("heavy_imported", "heavy modules imported"),
                ("target", "target"),
                ("met", "met"),
            ],
        )
    )
    if results.get("light"):
        li = results["light"][0]
        lines += [
            "",
            f"The light commands, each a new process on a {li['size']}-participant demo study (SQLite),",
            "interleaved with the two baselines in the same run; they read through plain SQL",
            "(`tracker.db.listing`), so they import neither pandas nor SQLAlchemy:",
            "",
            bench_cli.light_markdown(li),
        ]
    score = results["scoring"][0]
    lines += [
        "",
        "Scoring 1,000,000 item responses (100,000 PSS-10 administrations × 10 items):",
        "",
        "```",
        bench_scoring.markdown(score),
        "```",
        "",
    ]

    lines += [
        "## Import, per size",
        "",
        "`import_responses` end to end (parse, validate, write, commit) in a fresh process; baseline: raw",
        "`sqlite3.executemany` (SQLite) or raw psycopg `COPY` (PostgreSQL) of the same (administration_id, item, value)",
        "rows in one transaction; ratio = baseline time / import time (target ≥ 0.5). Peak memory: the import",
        "process's maximum resident set.",
        "",
        "The baseline's table is the plain equivalent: a rowid table with a UNIQUE(administration_id, item) key.",
        "The tracker's own item_response is WITHOUT ROWID on SQLite (a storage choice the baseline could also",
        'make); "raw, tracker schema" is the same driver call into the tracker\'s table. Besides the item rows,',
        "an import writes one administration per participant and instrument and one scale_score row per",
        "measure: the 10 × 10 shape writes 10× more of both than the 1 × 100 shape. On PostgreSQL, an import",
        "writes its item rows as binary COPY built with numpy, and one of 200,000 values or more that at least",
        "doubles the item table checks the foreign keys and builds the keys and indexes once, after the rows",
        "(see the README). That is why it can outrun the baseline, which pays the per-row index insert and",
        "psycopg's per-row `write_row`; the binary COPY column is the server's own rate for the same rows.",
        "",
    ]
    lines.append(bench_import.markdown(results["import"]))
    if any("cli_seconds" in r for r in results["import"]):
        lines += [
            "",
            "The import as the user runs it: the whole `tracker import responses` command in a new",
            "process (interpreter start and imports included, bytecode cached as in an installed",
            "package), beside the in-process `import_responses` and the raw baseline of the same",
            "repeat. CPU is the child's user + sys; the CPU ratio is the steadier one on a shared",
            "machine.",
            "",
            bench_import.markdown_cli([r for r in results["import"] if "cli_seconds" in r]),
        ]
    if results.get("import_mapped"):
        lines += [
            "",
            "## Import through a map",
            "",
            "`bench_import.run_mapped`: a REDCap export of 5,000 rows × 300 columns (record_id, 99 item fields",
            'named the REDCap way, 200 other fields the map ignores with `other_columns = "ignore"`) against',
            "the same item values in the wide layout, each into a fresh copy of the same SQLite study. The whole",
            "`tracker import responses` command in a new process (start-up included), and `import_responses`",
            "in-process; medians, the two kinds alternated in each repeat.",
            "",
            bench_import.markdown_mapped(results["import_mapped"][0]),
        ]

    lines += [
        "",
        "## Analyses, per size",
        "",
        "In-process timings of the pure analysis functions; pingouin is the reference for",
        "the correlation matrix (numbers asserted identical in the same run).",
        "",
    ]
    lines.append(bench_analysis.markdown(results["analysis"]))
    lines += [
        "",
        "From the CLI, on a demo study of that size (target < 5 s at 10,000): the five",
        "`tracker analyze … --format json` commands, a new process each, and the same five analyses with the",
        "same options in one call, `tracker analyze all … --format json`. The benchmark checks, in the same",
        "run, that the one call prints exactly the records of the five commands.",
        "",
    ]
    cli_rows = [
        {**r, **{f"cmd_{k}": v for k, v in r.get("detail", {}).items()}}
        for r in results["cli_analyses"]
    ]
    lines.append(
        table(
            cli_rows,
            [
                ("size", "participants"),
                ("all_median_s", "analyze all, median s"),
                ("all_min_s", "min"),
                ("all_max_s", "max"),
                ("all_met", "met (10,000)"),
                ("median_s", "five commands, median s"),
                ("min_s", "min"),
                ("max_s", "max"),
                ("cmd_correlations", "correlations"),
                ("cmd_change", "change"),
                ("cmd_compare", "compare"),
                ("cmd_trajectory", "trajectory"),
                ("cmd_reliability", "reliability"),
                ("met", "met (10,000)"),
            ],
        )
    )
    start = info.get("speed_start_s")
    floor = f"{start:.2f} s" if isinstance(start, float) else "see the machine table"
    lines += [
        "",
        "Each command starts Python and imports click, numpy, pandas and scipy.special ("
        + floor
        + " before any",
        "work on this machine, measured with `python -c`: five commands pay it five times; SQLAlchemy is not",
        "imported on this path), then reads only the waves and tables its analysis needs: stored scale scores,",
        "and item responses only for reliability and for the reliable change index of measures without a",
        "published reliability. At 100 participants, where reading and analysing take little, the five",
        "commands show what starting costs on this machine. `tracker analyze all` starts once and reads once:",
        "every wave's scores and the items of the reliability wave, which also give the reliable change",
        "index its baseline alphas.",
    ]
    if results.get("mediation"):
        lines += [
            "",
            "## Mediation",
            "",
            bench_mediation.__doc__.split("\n\n", 1)[1].strip(),
            "",
            bench_mediation.markdown(results["mediation"]),
        ]
    lines += ["", "## Demo and report", ""]
    lines.append(bench_report.markdown(results["report"]))

    if results.get("export"):
        lines += [
            "",
            "## Exports, per format",
            "",
            "`benchmarks/bench_export.py`: each export's table built once (read the study, lay it out; the",
            "*table* column), then written to each format with the CLI's writer (*write*); the export's",
            "time in a format is the sum. In-process: the CLI adds its start-up once.",
            "",
        ]
        lines.append(bench_export.markdown(results["export"]))

    series = {
        "import (SQLite)": [
            (r["participants"], r["import_seconds"])
            for r in results["import"]
            if r.get("backend") == "sqlite"
        ],
        "analyses (CLI, five)": [(r["size"], r["median_s"]) for r in results["cli_analyses"]],
        "analyses (CLI, analyze all)": [
            (r["size"], r["all_median_s"]) for r in results["cli_analyses"] if "all_median_s" in r
        ],
        "report": [
            (r["participants"], r["median_seconds"])
            for r in results["report"]
            if r.get("benchmark") == "tracker report"
        ],
    }
    lines += [
        "",
        "## Growth",
        "",
        "Time against participants, log-log; the dashed line has slope 1 (linear growth).",
        "",
    ]
    svg_path = ROOT / "docs" / "benchmarks-growth.svg"
    svg_path.write_text(loglog_svg(series))
    lines.append("![time against participants](docs/benchmarks-growth.svg)")
    lines.append("")
    for label, pts in series.items():
        s = slope(pts)
        if s is not None:
            kind = "linear or better" if s <= 1.15 else "worse than linear"
            lines.append(f"- {label}: slope {s:.2f} between the two largest sizes — {kind}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
