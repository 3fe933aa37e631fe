"""Benchmark: ``tracker export`` per format on demo studies (default 10,000 participants).

For each export (scores wide, scores long, items wide, items long, and the
de-identified scores long) the table is built once (read the study and lay it
out: :func:`tracker.datasets.export.export_table`), then written to each format
(``.csv .xlsx .sav .dta .rds .parquet``) with the writer the CLI uses
(:func:`tracker.datasets.export.formats.write`); an export's time in a format is
the table's time plus the write's. The study is built once, untimed, by
``run_demo(..., report=False)``. Each figure is the median of ``repeats`` runs.
A table with more rows than a worksheet holds is refused for .xlsx, as the
CLI refuses it; the row says so.

Run ``python benchmarks/bench_export.py [N ...]`` (default 10000); the suite
runner calls :func:`run`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ["csv", "xlsx", "sav", "dta", "rds", "parquet"]
CASES = [
    ("scores", "wide", False),
    ("scores", "long", False),
    ("items", "wide", False),
    ("items", "long", False),
    ("scores", "long", True),
]
REPEATS = 3


def _median(fn, repeats: int) -> tuple[float, float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), value


def bench_size(work: Path, participants: int, repeats: int = REPEATS) -> list[dict]:
    from tracker.datasets.export import export_table
    from tracker.datasets.export.formats import XLSX_MAX_ROWS, write
    from tracker.db.engine import open_session
    from tracker.demo import run_demo

    demo = run_demo(work / f"study{participants}", participants=participants, report=False)
    rows = []
    with open_session(demo["db_url"]) as session:
        for what, layout, deidentify in CASES:
            build, build_min, table = _median(
                lambda w=what, lay=layout, d=deidentify: export_table(
                    session, None, w, layout=lay, deidentify=d
                ),
                repeats,
            )
            for kind in FORMATS:
                name = f"{what} {layout}{' de-identified' if deidentify else ''}"
                row = {
                    "participants": participants,
                    "export": name,
                    "format": kind,
                    "rows": len(table.frame),
                    "columns": len(table.variables),
                    "table_s": build,
                }
                if kind == "xlsx" and len(table.frame) > XLSX_MAX_ROWS:
                    rows.append({**row, "note": f"refused: more than {XLSX_MAX_ROWS:,} rows"})
                    continue
                out = work / f"{what}-{layout}-{int(deidentify)}.{kind}"
                median, low, _ = _median(lambda t=table, o=out: write(t, o), repeats)
                rows.append(
                    {
                        **row,
                        "write_s": median,
                        "write_min_s": low,
                        "total_s": build + median,
                        "megabytes": out.stat().st_size / 1e6,
                        "note": "",
                    }
                )
                out.unlink()
            session.rollback()
    return rows


def run(sizes=(10_000,), repeats: int = REPEATS) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        return [row for n in sizes for row in bench_size(Path(tmp), n, repeats)]


def markdown(results: list[dict]) -> str:
    lines = [
        "| participants | export | rows | format | table (s) | write (s) | export total (s) | file (MB) | note |",
        "|---:|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        write = f"{r['write_s']:.2f}" if "write_s" in r else "—"
        total = f"{r['total_s']:.2f}" if "total_s" in r else "—"
        size = f"{r['megabytes']:.1f}" if "megabytes" in r else "—"
        lines.append(
            f"| {r['participants']:,} | {r['export']} | {r['rows']:,} | .{r['format']} | "
            f"{r['table_s']:.2f} | {write} | {total} | {size} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--repeat=")]
    repeat = next(
        (int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--repeat=")), REPEATS
    )
    print(markdown(run([int(a) for a in args] or [10_000], repeats=repeat)))
