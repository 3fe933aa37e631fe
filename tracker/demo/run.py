"""``tracker demo``: a whole study built from nothing through the real workflow.

The steps are the ones a research coordinator takes, with the same files:

1. write ``study.toml`` (+ ``roster.csv`` and the study's own instrument
   ``confidence_calm_care.toml``) into the output directory;
2. ``tracker init --from study.toml`` (:func:`tracker.study.setup.init_database`);
3. write one wide CSV per wave into ``DIR/data/`` and import each with
   :func:`tracker.ingest.import_responses`, recording withdrawals between
   waves with the withdraw service;
4. write the report (:func:`tracker.reports.write_report`).
"""

from __future__ import annotations

import shutil
import time
from importlib import resources
from pathlib import Path

from tracker.config import redact_url
from tracker.errors import TrackerError

DEMO_STUDY = "Demo: mindfulness course vs waitlist control"
INSTRUMENTS = ("cams_r", "scs_sf", "cd_risc10", "pss10", "flourishing", "who5")
OWN_INSTRUMENT = "confidence_calm_care.toml"
MODEL = {
    "modifiable": ["cams_r", "scs_sf"],
    "intermediate": ["cd_risc10", "pss10"],
    "outcome": ["confidence_calm_care", "flourishing", "who5"],
}
PRIMARY = ("flourishing", "who5")  # the demo's primary outcomes (well-being)


def _study_toml(sim) -> str:
    """The demo's study file, commented so that it reads as an example."""
    from tracker.demo.simulate import START

    lines = [
        "# A whole study set-up in one file: `tracker init --from study.toml`.",
        "# Written by `tracker demo` as an example; copy it and change what differs.",
        "",
        "[study]",
        f'name = "{DEMO_STUDY}"',
        'description = "Simulated data: an 8-week mindfulness course for residents and a waitlist control."',
        "# built-in library codes (`tracker instrument list`) or paths to your own TOML files",
        "instruments = [" + ", ".join(f'"{c}"' for c in (*INSTRUMENTS, OWN_INSTRUMENT)) + "]",
        "# code,cohort,enrolled,age,birth_year,gender,role (pseudonymous codes only)",
        'roster = "roster.csv"',
        "",
    ]
    for wave in sim.waves:
        lines += [
            "[[waves]]",
            f'name = "{wave.name}"',
            f"{f'day = {wave.day}':<14}# days after each cohort's start",
            f"{f'window = {wave.window}':<14}# ± days in which answers count for this wave",
            "",
        ]
    for name, arm in (
        ("Mindfulness course 2026", "intervention"),
        ("Waitlist control 2026", "control"),
    ):
        lines += [
            "[[cohorts]]",
            f'name = "{name}"',
            f'arm = "{arm}"',
            f"start = {START.isoformat()}",
            "",
        ]
    lines += ["# roles in the conceptual model: modifiable -> intermediate -> outcome", "[model]"]
    lines += [
        f"{role} = [" + ", ".join(f'"{m}"' for m in measures) + "]"
        for role, measures in MODEL.items()
    ]
    lines += [
        "# primary outcomes: their own multiplicity family in the report; the rest are exploratory",
        "primary = [" + ", ".join(f'"{m}"' for m in PRIMARY) + "]",
    ]
    return "\n".join(lines) + "\n"


def _write_inputs(out: Path, sim) -> dict[str, Path]:
    (out / "data").mkdir(parents=True, exist_ok=True)
    with resources.as_file(resources.files("tracker.demo") / OWN_INSTRUMENT) as source:
        shutil.copyfile(source, out / OWN_INSTRUMENT)
    roster = sim.roster.drop(columns="arm").assign(
        enrolled=lambda r: [d.isoformat() for d in r["enrolled"]]
    )
    roster.to_csv(out / "roster.csv", index=False, lineterminator="\n")
    (out / "study.toml").write_text(_study_toml(sim), encoding="utf-8")
    files = {}
    for wave, frame in sim.responses.items():
        items = [c for c in frame.columns if c not in ("participant", "completed")]
        as_int = frame.astype({c: "Int64" for c in items})  # "3", not "3.0"; empty cell = missing
        path = out / "data" / f"{wave}.csv"
        as_int.to_csv(path, index=False, na_rep="", lineterminator="\n")
        files[wave] = path
    return files


def _default_db(out: Path) -> str:
    """``DIR/demo.db``; a demo database left by an earlier run is replaced, anything else refused."""
    path = out / "demo.db"
    if path.exists():
        from tracker.db.read_store import sqlite_study_names

        if sqlite_study_names(path) != [DEMO_STUDY]:
            raise TrackerError(
                f"{path} exists and is not a database made by `tracker demo`; move it away or "
                "choose another --out directory"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _require_empty(url: str) -> None:
    from sqlalchemy import inspect

    from tracker.db.engine import check_reachable, make_engine

    engine = make_engine(url)
    try:
        check_reachable(engine)
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        raise TrackerError(
            f"the database given to `tracker demo` must be empty, and it has tables ({shown}); "
            "give --db an empty database, or leave --db (and TRACKER_DATABASE_URL) unset to use DIR/demo.db"
        )


def run_demo(
    out_dir: str | Path = "demo",
    *,
    url: str | None = None,
    participants: int = 80,
    seed: int = 2027,
    report: bool = True,
    progress=None,
    parallel: bool = False,
) -> dict:
    """Build the demo study in ``out_dir`` and write its report.

    Parameters
    ----------
    out_dir
        Directory for ``study.toml``, ``roster.csv``, the study's own instrument,
        ``data/*.csv``, ``demo.db`` (unless ``url``) and ``report.html``.
    url
        Database URL; it must be empty. Default ``sqlite:///DIR/demo.db``.
    participants
        Number of participants, allocated alternately to the two arms.
    seed
        Seed of the simulation: the same seed and size give the same data.
    report
        Write ``report.html`` (benchmarks time the report on its own).
    progress
        Optional callable taking one line of text per step.
    parallel
        Draw the report's charts in two spawned processes while the study is built
        (the CLI does); off by default, as spawned processes re-import an unguarded script.

    Returns
    -------
    dict
        ``report_path`` (or None), ``db_url``, ``study``, ``study_file``,
        ``data_files``, ``participants``, ``withdrawn``, ``imported`` (rows per
        wave) and ``seconds`` (per step).
    """
    say = progress or (lambda _line: None)
    if participants < 4:
        raise TrackerError("--participants must be at least 4 (two per arm)")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    if url is None:
        url = _default_db(out)
    else:
        _require_empty(url)
    workers = None
    if report and parallel:  # chart processes import matplotlib while the study is built
        from tracker.reports.charts import ChartWorkers

        workers = ChartWorkers()
    try:
        return _run(out, url, participants, seed, report, say, workers)
    finally:
        if workers is not None:
            workers.close()


def _run(out: Path, url: str, participants: int, seed: int, report: bool, say, workers) -> dict:
    from tracker.demo.simulate import SimulationSettings, simulate
    from tracker.instruments import load_toml, resolve

    seconds: dict[str, float] = {}
    t = time.perf_counter()

    with resources.as_file(resources.files("tracker.demo") / OWN_INSTRUMENT) as own:
        definitions = [resolve(code) for code in INSTRUMENTS] + [load_toml(own)]
    sim = simulate(definitions, SimulationSettings(participants=participants, seed=seed))
    files = _write_inputs(out, sim)
    seconds["simulate"] = time.perf_counter() - t
    say(
        f"Wrote {out / 'study.toml'}, roster.csv ({participants} participants) and {len(files)} wave files in {out / 'data'}"
    )

    t = time.perf_counter()
    from tracker.study.setup import init_database

    init_database(url, study_file=out / "study.toml")
    seconds["init"] = time.perf_counter() - t
    say(f"Created study {DEMO_STUDY!r} in {redact_url(url)}")

    t = time.perf_counter()
    from tracker.db.engine import open_session
    from tracker.ingest import import_responses
    from tracker.study.participants import withdraw
    from tracker.study.studies import resolve_study

    imported: dict[str, int] = {}
    session = open_session(url)
    try:
        study = resolve_study(session, DEMO_STUDY)
        for wave in sim.waves:
            result = import_responses(session, study, files[wave.name], wave=wave.name, fmt="wide")
            session.commit()
            imported[wave.name] = result.rows
            say(f"Imported data/{files[wave.name].name}: {_describe(result)}")
            leaving = sim.withdrawals[sim.withdrawals["after_wave"] == wave.name]
            for row in leaving.itertuples():
                withdraw(session, study, row.participant, reason=row.reason, on=row.withdrawn_on)
            session.commit()
            if len(leaving):
                say(
                    f"Withdrew {len(leaving)} participant{'s' if len(leaving) != 1 else ''} after {wave.name}"
                )
        seconds["import"] = time.perf_counter() - t

        report_path = None
        if report:
            t = time.perf_counter()
            from tracker.reports import write_report

            written = write_report(session, study, out / "report.html", workers=workers)
            report_path = written["path"]
            seconds["report"] = time.perf_counter() - t
            seconds.update({f"report_{k}": v for k, v in written["seconds"].items()})
    finally:
        session.close()
    return {
        "report_path": report_path,
        "db_url": url,
        "study": DEMO_STUDY,
        "study_file": out / "study.toml",
        "data_files": list(files.values()),
        "participants": participants,
        "withdrawn": int(len(sim.withdrawals)),
        "imported": imported,
        "seconds": seconds,
    }


def _describe(result) -> str:
    text = (
        f"{result.rows} rows, {result.administrations_new} questionnaires, "
        f"{result.values_written} item values"
    )
    if result.warnings:
        from collections import Counter

        kinds = Counter(p.rule.replace("_", "-") for p in result.warnings)
        text += "; warnings: " + ", ".join(f"{n} {rule}" for rule, n in sorted(kinds.items()))
    return text
