"""Benchmark: importing a wide CSV against the raw driver writing the same rows.

    python benchmarks/bench_import.py                 # 10,000 participants x 100 items
    python benchmarks/bench_import.py 1000 10000      # several sizes
    python benchmarks/bench_import.py 10000 --backend sqlite --shape 10x10 --repeat 5
    TRACKER_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/bench_import.py

For each size, a study with 10 instruments of 10 items (0-4, integers) is set
up, and a wide CSV with one row per participant and every item answered is
generated (participants x 100 item values); then the same with one
instrument of 100 items (10x fewer administrations to write). Then, in the
same run:

* **raw, plain table** (the target's baseline): the same
  ``(administration_id, item, value)`` rows written by the driver alone into
  an equivalent table with the same unique key, in one transaction: SQLite
  ``executemany`` (same WAL / synchronous pragmas as the tracker's engine);
  PostgreSQL ``COPY ... FROM STDIN`` with ``write_row``. The rows are built
  before the clock starts.
* **raw binary COPY** (PostgreSQL only, not a target): the same rows as one
  prebuilt binary-format buffer, built before the clock starts, into the same
  plain table: what the server alone needs, with no Python work per row. The
  import writes its item rows this way (:func:`tracker.db.bulk.binary_item_rows`).
* **raw, tracker schema**: the same driver call writing the same rows into
  the tracker's own ``item_response`` table (its primary key, check and
  foreign key to ``administration``), the administrations inserted
  beforehand, untimed. This isolates what the import adds from what the
  schema costs: on PostgreSQL the foreign key's per-row check trigger makes
  ``COPY`` about 6x slower than into a plain table.
* **import**: ``tracker.ingest.import_responses`` on the CSV plus the commit,
  the whole path (read, validate, compare with stored, write administrations
  and item responses, batch and audit), in a fresh child process whose peak
  resident memory (``VmHWM``; interpreter and libraries included, about
  110 MB of it before the import starts) is reported. Its clock starts after
  the child's imports.
* **whole command** (issue 15): ``tracker --db URL import responses FILE
  --wave baseline`` as the user runs it, from process start to exit
  (interpreter start-up, imports, the import, the commit and the exit), wall
  seconds and the child's CPU seconds (user + sys); ``cli_ratio`` = raw
  seconds / whole-command seconds (target >= 0.5 on SQLite, 10 x 10). One
  untimed run first, with bytecode writing allowed, so that the timed runs
  start like an installed package (``PYTHONDONTWRITEBYTECODE`` would
  otherwise compile every tracker module on every run: about 0.1 s).

``run_mapped`` (``python benchmarks/bench_import.py --mapped``; issue 14): a
REDCap export of 5,000 rows x 300 columns, 200 of them ignored by its map,
against the same items in the wide layout; the whole ``tracker import
responses`` command timed in a new process and ``import_responses``
in-process, on SQLite (target: REDCap / wide < 2).

Each measurement is the median of ``repeat`` runs, each into a fresh copy of
the set-up database. Rates are item values per second; a ratio is
import rate / raw rate (targets: >= 0.5 on both backends, peak < 500 MB).
PostgreSQL is measured when ``TRACKER_BENCH_POSTGRES_URL`` (else
``TRACKER_TEST_POSTGRES_URL``, else the test default) is reachable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SHAPES = ((10, 10), (1, 100))  # (instruments, items each): 100 item columns either way
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

TOML = """code = "{code}"
name = "Benchmark scale {n}"
items = {items}
min = 0
max = 4
integer = true
scoring = "sum"
higher_is_better = true
max_missing = 1
"""


def _codes(instruments: int) -> list[str]:
    return [f"bench{n:02d}" for n in range(1, instruments + 1)]


def _write_inputs(
    folder: Path, participants: int, shape: tuple[int, int], seed: int = 1
) -> tuple[Path, Path, list[Path]]:
    rng = random.Random(seed)
    instruments, items = shape
    tomls = []
    for n, code in enumerate(_codes(instruments), start=1):
        path = folder / f"{code}.toml"
        path.write_text(TOML.format(code=code, n=n, items=items))
        tomls.append(path)
    roster = folder / "roster.csv"
    with roster.open("w") as fh:
        fh.write("code,cohort,enrolled\n")
        for p in range(participants):
            fh.write(f"B{p:06d},Bench,2027-03-01\n")
    data = folder / "wide.csv"
    columns = [f"{code}_{i}" for code in _codes(instruments) for i in range(1, items + 1)]
    with data.open("w") as fh:
        fh.write("participant,completed," + ",".join(columns) + "\n")
        for p in range(participants):
            values = ",".join(str(rng.randint(0, 4)) for _ in columns)
            fh.write(f"B{p:06d},2027-03-0{1 + p % 7},{values}\n")
    return data, roster, tomls


def _set_up(url: str, roster: Path, tomls: list[Path]) -> None:
    import datetime as dt

    from tracker.db.engine import make_engine, open_session
    from tracker.db.migrate import upgrade
    from tracker.study.cohorts import add_cohort
    from tracker.study.instruments import add_instrument
    from tracker.study.participants import enroll_csv
    from tracker.study.studies import create_study
    from tracker.study.waves import add_wave

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    session = open_session(url)
    try:
        study = create_study(session, "Bench")
        add_wave(session, study, "baseline", day=0)
        add_cohort(session, study, "Bench", arm="intervention", start=dt.date(2027, 3, 1))
        for path in tomls:
            add_instrument(session, study, str(path))
        enroll_csv(session, study, roster)
        session.commit()
    finally:
        session.close()


def _raw_rows(
    participants: int, shape: tuple[int, int], seed: int = 1
) -> list[tuple[int, int, float]]:
    rng = random.Random(seed)
    instruments, items = shape
    rows = []
    admin = 0
    for _ in range(participants):
        for _code in range(instruments):
            admin += 1
            rows.extend((admin, i, float(rng.randint(0, 4))) for i in range(1, items + 1))
    return rows


_RAW_CPU: list[float] = []  # CPU seconds (user + sys) of each raw SQLite run, in this process


def _raw_sqlite(folder: Path, rows) -> float:
    path = folder / f"raw-{uuid.uuid4().hex[:6]}.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE item_response (administration_id INTEGER NOT NULL, item INTEGER NOT NULL, "
        "value REAL, UNIQUE (administration_id, item))"
    )
    conn.commit()
    start, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO item_response (administration_id, item, value) VALUES (?, ?, ?)", rows
    )
    conn.commit()
    elapsed = time.perf_counter() - start
    _RAW_CPU.append(time.process_time() - cpu)
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return elapsed


def _raw_postgres(url: str, rows, *, binary: bool = False) -> float:
    """Seconds to COPY ``rows`` into a plain table: ``write_row`` (the target's baseline), or with
    ``binary`` one prebuilt binary-format buffer (the server's own floor: no Python per row)."""
    import numpy as np
    import psycopg
    from sqlalchemy.engine import make_url

    from tracker.db.bulk import binary_item_rows

    if binary:  # built before the clock starts, as the rows are
        ids, items, values = (np.asarray(c) for c in zip(*rows, strict=True))
        admins = np.unique(ids)  # _raw_rows: each administration's items 1..k in turn
        k = len(ids) // len(admins)
        assert (items == np.tile(np.arange(1, k + 1), len(admins))).all()
        buffer = binary_item_rows(admins, values.reshape(len(admins), k))

    u = make_url(url)
    conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE raw_item_response (administration_id integer NOT NULL, item integer NOT NULL, "
                "value double precision, UNIQUE (administration_id, item))"
            )
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur:
            if binary:
                with cur.copy(
                    "COPY raw_item_response (administration_id, item, value) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.write(buffer)
            else:
                with cur.copy(
                    "COPY raw_item_response (administration_id, item, value) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - start
        with conn.cursor() as cur:
            cur.execute("DROP TABLE raw_item_response")
        conn.commit()
    return elapsed


def _preload_administrations(url: str, participants: int) -> None:
    """Insert the administrations the raw rows refer to (not timed), for the schema baseline."""
    from tracker.db.engine import open_session
    from tracker.db.sql import dbapi_of, driver_sql, marks

    session = open_session(url)
    try:
        dbapi, dialect = dbapi_of(session)
        cur = dbapi.cursor()
        cur.execute("SELECT id FROM participant ORDER BY id")
        pids = [r[0] for r in cur.fetchall()][:participants]
        cur.execute(
            "SELECT i.id, v.id FROM instrument i JOIN instrument_version v ON v.instrument_id = i.id ORDER BY i.id"
        )
        instruments = cur.fetchall()
        cur.execute("SELECT id FROM wave")
        wave = cur.fetchone()[0]
        rows, admin = [], 0
        for p in pids:
            for iid, vid in instruments:
                admin += 1
                rows.append((admin, p, wave, iid, vid))
        cur.executemany(
            driver_sql(
                f"INSERT INTO administration (id, participant_id, wave_id, instrument_id, instrument_version_id) "
                f"VALUES ({marks(5)})",
                dialect,
            ),
            rows,
        )
        cur.close()
        session.commit()
    finally:
        session.close()


def _raw_schema(url: str, rows) -> float:
    """The raw driver writing the rows into the tracker's own item_response table (its key, check and FK)."""
    from tracker.db.engine import open_session
    from tracker.db.sql import dbapi_of

    session = open_session(url)
    try:
        dbapi, dialect = dbapi_of(session)
        cur = dbapi.cursor()
        start = time.perf_counter()
        if dialect == "postgresql":
            with cur.copy("COPY item_response (administration_id, item, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.executemany(
                "INSERT INTO item_response (administration_id, item, value) VALUES (?, ?, ?)", rows
            )
        cur.close()
        session.commit()
        return time.perf_counter() - start
    finally:
        session.close()


def _peak_mb() -> float:
    """This process's peak resident memory.

    ``VmHWM`` (Linux) is the high-water mark of this process image; ``ru_maxrss``
    is not used there because Linux carries it across fork + exec, so a child
    would report its parent's size (here: the 1M prebuilt raw rows).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (
        1024 * (1024 if sys.platform == "darwin" else 1)
    )


def _child(url: str, data: str) -> None:
    """Run in a fresh interpreter: import the file, print seconds and peak memory as JSON."""
    from tracker.db.engine import open_session
    from tracker.ingest import import_responses

    session = open_session(url)
    try:
        start = time.perf_counter()
        result = import_responses(session, None, data, wave="baseline")
        session.commit()
        elapsed = time.perf_counter() - start
    finally:
        session.close()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_mb": _peak_mb(),
                "values": result.values_written,
                "administrations": result.administrations_new,
            }
        )
    )


def _run_child(url: str, data: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(data)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class _Postgres:
    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def reachable(self) -> bool:
        from sqlalchemy import text

        try:
            with self.admin.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def create(self, template: str | None = None) -> str:
        from sqlalchemy import text

        name = f"bench_{uuid.uuid4().hex[:8]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def _measure(
    backend: str,
    participants: int,
    shape: tuple[int, int],
    folder: Path,
    data: Path,
    roster: Path,
    tomls,
    rows,
    repeat: int,
    pg: _Postgres | None,
) -> dict:
    raw_times, schema_times, import_runs, floor_times, cli_runs = [], [], [], [], []
    _RAW_CPU.clear()
    if backend == "sqlite":
        template = folder / "template.db"
        _set_up(f"sqlite:///{template}", roster, tomls)
        with sqlite3.connect(template) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        def fresh(label: str) -> str:
            target = folder / f"{label}-{uuid.uuid4().hex[:6]}.db"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
    else:
        template_url = pg.create()
        _set_up(template_url, roster, tomls)
        template = template_url.rsplit("/", 1)[1]

        def fresh(label: str) -> str:
            return pg.create(template)

    for _ in range(repeat):
        raw_times.append(
            _raw_sqlite(folder, rows) if backend == "sqlite" else _raw_postgres(fresh("raw"), rows)
        )
        if backend == "postgresql":
            floor_times.append(_raw_postgres(fresh("floor"), rows, binary=True))
        url = fresh("schema")
        _preload_administrations(url, participants)
        schema_times.append(_raw_schema(url, rows))
        import_runs.append(_run_child(fresh("import"), data))
        if not cli_runs:  # untimed: writes the bytecode of what the command imports
            _cli_import_timed(fresh("cli"), [str(data), "--wave", "baseline"])
        cli_runs.append(_cli_import_timed(fresh("cli"), [str(data), "--wave", "baseline"]))
    n = len(rows)
    raw = statistics.median(raw_times)
    schema = statistics.median(schema_times)
    imp = statistics.median(r["seconds"] for r in import_runs)
    assert all(r["values"] == n for r in import_runs), "import wrote a different number of values"
    return {
        "backend": backend,
        "participants": participants,
        "shape": f"{shape[0]} x {shape[1]}",
        "administrations": participants * shape[0],
        "values": n,
        "raw_seconds": raw,
        "schema_seconds": schema,
        "import_seconds": imp,
        "raw_rate": n / raw,
        "schema_rate": n / schema,
        "import_rate": n / imp,
        "ratio": raw / imp,
        "schema_ratio": schema / imp,
        "floor_rate": n / statistics.median(floor_times) if floor_times else None,
        "peak_mb": max(r["peak_mb"] for r in import_runs),
        "cli_seconds": statistics.median(w for w, _ in cli_runs),
        "cli_cpu_seconds": statistics.median(c for _, c in cli_runs),
        "cli_min_max": (min(w for w, _ in cli_runs), max(w for w, _ in cli_runs)),
        "cli_ratio": raw / statistics.median(w for w, _ in cli_runs),
        "raw_cpu_seconds": statistics.median(_RAW_CPU) if _RAW_CPU else None,
        "raw_min_max": (min(raw_times), max(raw_times)),
        "import_min_max": (
            min(r["seconds"] for r in import_runs),
            max(r["seconds"] for r in import_runs),
        ),
    }


def run(
    sizes=(10_000,),
    *,
    repeat: int = 3,
    shapes=SHAPES,
    postgres_url: str | None = None,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
) -> list[dict]:
    """Measure every size and shape on SQLite, and on PostgreSQL when reachable; one dict each.

    Keys: backend, participants, shape ("instruments x items"), administrations,
    values, raw_seconds, schema_seconds, import_seconds, raw_rate, schema_rate,
    import_rate (values/s), ratio (import rate / raw plain-table rate),
    schema_ratio (import rate / raw rate into the tracker's table), peak_mb,
    cli_seconds and cli_cpu_seconds (the whole ``tracker import responses`` command: wall, and the
    child's user + sys), cli_ratio (raw seconds / whole-command seconds).
    """
    results = []
    url = (
        postgres_url
        or os.environ.get("TRACKER_BENCH_POSTGRES_URL")
        or os.environ.get("TRACKER_TEST_POSTGRES_URL", PG_DEFAULT)
    )
    pg = _Postgres(url)
    backends = [b for b in backends if b == "sqlite" or pg.reachable()]
    try:
        for participants in sizes:
            for shape in shapes:
                with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
                    folder = Path(tmp)
                    data, roster, tomls = _write_inputs(folder, participants, shape)
                    rows = _raw_rows(participants, shape)
                    for backend in backends:
                        results.append(
                            _measure(
                                backend,
                                participants,
                                shape,
                                folder,
                                data,
                                roster,
                                tomls,
                                rows,
                                repeat,
                                pg,
                            )
                        )
    finally:
        pg.close()
    return results


MAPPED_ROWS, MAPPED_COLUMNS, MAPPED_IGNORED = 5_000, 300, 200
MAPPED_SHAPE = (
    9,
    11,
)  # record_id and 99 item columns (9 instruments of 11 items) are read; 200 are not


def _write_mapped_inputs(
    folder: Path, participants: int = MAPPED_ROWS, seed: int = 2
) -> dict[str, Path]:
    """A REDCap export of ``participants`` rows x 300 columns (record_id, 99 item fields named the REDCap
    way, ``bench01_q1``..., 200 other fields, a ``*_complete`` among them, that the map ignores), its map,
    and the same item values in the wide layout (participant + 99 ``<code>_<n>`` columns)."""
    rng = random.Random(seed)
    instruments, items = MAPPED_SHAPE
    codes = _codes(instruments)
    tomls = []
    for n, code in enumerate(codes, start=1):
        path = folder / f"{code}.toml"
        path.write_text(TOML.format(code=code, n=n, items=items))
        tomls.append(path)
    roster = folder / "roster.csv"
    with roster.open("w") as fh:
        fh.write("code,cohort,enrolled\n")
        for p in range(participants):
            fh.write(f"B{p:06d},Bench,2027-03-01\n")
    n_other = MAPPED_COLUMNS - 1 - instruments * items
    assert n_other == MAPPED_IGNORED
    others = [f"note_{j:03d}" for j in range(n_other - 1)] + ["bench_survey_complete"]
    redcap_items = [f"{code}_q{i}" for code in codes for i in range(1, items + 1)]
    wide_items = [f"{code}_{i}" for code in codes for i in range(1, items + 1)]
    # the ignored columns interleaved with the items, as REDCap exports them (a form's fields, then the next)
    redcap_header = ["record_id"]
    per_block = len(others) // instruments
    for b in range(instruments):
        redcap_header += (
            redcap_items[b * items : (b + 1) * items] + others[b * per_block : (b + 1) * per_block]
        )
    redcap_header += others[instruments * per_block :]
    assert len(redcap_header) == MAPPED_COLUMNS
    position = {name: j for j, name in enumerate(redcap_header)}
    redcap, wide = folder / "redcap.csv", folder / "wide.csv"
    with redcap.open("w") as rfh, wide.open("w") as wfh:
        rfh.write(",".join(redcap_header) + "\n")
        wfh.write("participant," + ",".join(wide_items) + "\n")
        for p in range(participants):
            values = [str(rng.randint(0, 4)) for _ in wide_items]
            row = [""] * MAPPED_COLUMNS
            row[0] = f"B{p:06d}"
            for name, value in zip(redcap_items, values, strict=True):
                row[position[name]] = value
            for name in others:
                row[position[name]] = (
                    "2" if name.endswith("_complete") else f"free text {rng.randint(0, 999)}"
                )
            rfh.write(",".join(row) + "\n")
            wfh.write(f"B{p:06d}," + ",".join(values) + "\n")
    imap = folder / "redcap.map.toml"
    imap.write_text(
        'format = "redcap"\nid_column = "record_id"\nwave = "baseline"\nother_columns = "ignore"\n'
        + "".join(
            f'\n[[items]]\ninstrument = "{code}"\npattern = "{code}_q{{n}}"\n' for code in codes
        )
    )
    return {"redcap": redcap, "wide": wide, "map": imap, "roster": roster, "tomls": tomls}


def _cli_import(url: str, argv: list[str]) -> float:
    """Wall seconds of the whole ``tracker import responses`` command, process start included."""
    return _cli_import_timed(url, argv)[0]


def _cli_import_timed(url: str, argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of the whole ``tracker import responses`` command, from process
    start to exit; the CPU time is the child's own, from ``wait4``."""
    tracker = Path(sys.executable).parent / "tracker"
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    # as the user runs it: an installed package has its bytecode compiled; a checkout gets it on the
    # first run (the caller makes one untimed), unless the environment forbids writing it
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    child = subprocess.Popen(
        [str(tracker), "--db", url, "import", "responses", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    if child.returncode:
        raise RuntimeError(
            f"tracker import responses exited {child.returncode}: {stderr.decode()[-2000:]}"
        )
    return wall, usage.ru_utime + usage.ru_stime


def _in_process_import(url: str, path: Path, **kwargs) -> tuple[float, int]:
    from tracker.db.engine import open_session
    from tracker.ingest import import_responses

    session = open_session(url)
    try:
        start = time.perf_counter()
        result = import_responses(session, None, path, **kwargs)
        session.commit()
        return time.perf_counter() - start, result.values_written
    finally:
        session.close()


def run_mapped(participants: int = MAPPED_ROWS, *, repeat: int = 3) -> dict:
    """A REDCap export through a map (5,000 rows x 300 columns, 200 of them ignored: the issue's benchmark) against the same items
    in the wide layout, on SQLite, each import into a fresh copy of the same set-up database. Timed both as
    the whole CLI command in a new process and as ``import_responses`` in this process; medians of
    ``repeat``. ``ratio`` = REDCap / wide (target < 2); both imports are checked to write the same values."""
    with tempfile.TemporaryDirectory(prefix="bench-mapped-") as tmp:
        folder = Path(tmp)
        files = _write_mapped_inputs(folder, participants)
        template = folder / "template.db"
        _set_up(f"sqlite:///{template}", files["roster"], files["tomls"])
        with sqlite3.connect(template) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        def fresh() -> str:
            target = folder / f"db-{uuid.uuid4().hex[:6]}.db"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"

        argv = {
            "redcap": [str(files["redcap"]), "--map", str(files["map"])],
            "wide": [str(files["wide"]), "--wave", "baseline"],
        }
        kwargs = {"redcap": {"map": files["map"]}, "wide": {"wave": "baseline"}}
        cli: dict[str, list[float]] = {"redcap": [], "wide": []}
        inproc: dict[str, list[float]] = {"redcap": [], "wide": []}
        written: dict[str, set[int]] = {"redcap": set(), "wide": set()}
        for _ in range(repeat):
            for kind in ("wide", "redcap"):  # alternated, so that a noisy moment falls on both
                cli[kind].append(_cli_import(fresh(), argv[kind]))
                seconds, values = _in_process_import(fresh(), files[kind], **kwargs[kind])
                inproc[kind].append(seconds)
                written[kind].add(values)
    values = participants * MAPPED_SHAPE[0] * MAPPED_SHAPE[1]
    assert written == {"redcap": {values}, "wide": {values}}, (
        f"the imports wrote different values: {written}"
    )
    med = {
        f"{where}_{kind}_s": statistics.median(times[kind])
        for where, times in (("cli", cli), ("inproc", inproc))
        for kind in ("redcap", "wide")
    }
    ratio = med["cli_redcap_s"] / med["cli_wide_s"]
    return {
        "rows": participants,
        "columns": MAPPED_COLUMNS,
        "ignored": MAPPED_IGNORED,
        "item_columns": MAPPED_SHAPE[0] * MAPPED_SHAPE[1],
        "values": values,
        "repeat": repeat,
        **med,
        "cli_min_max": {k: (min(v), max(v)) for k, v in cli.items()},
        "ratio": ratio,
        "inproc_ratio": med["inproc_redcap_s"] / med["inproc_wide_s"],
        "met": ratio < 2,
    }


def markdown_mapped(r: dict) -> str:
    mm = r["cli_min_max"]
    return "\n".join(
        [
            "| file | whole command, s (median; min–max) | in-process import_responses, s |",
            "|---|---:|---:|",
            f"| REDCap export through a map: {r['rows']:,} rows x {r['columns']} columns, {r['ignored']} ignored "
            f"| {r['cli_redcap_s']:.2f} ({mm['redcap'][0]:.2f}–{mm['redcap'][1]:.2f}) | {r['inproc_redcap_s']:.2f} |",
            f"| the same {r['item_columns']} item columns, wide layout | {r['cli_wide_s']:.2f} "
            f"({mm['wide'][0]:.2f}–{mm['wide'][1]:.2f}) | {r['inproc_wide_s']:.2f} |",
            f"| ratio REDCap / wide (target < 2) | {r['ratio']:.2f} | {r['inproc_ratio']:.2f} |",
        ]
    )


def markdown_cli(results: list[dict]) -> str:
    """The whole command beside the in-process import, both against the raw baseline of the same run."""
    lines = [
        "| backend | participants | instruments x items | raw s (min–max) | in-process import s (min–max) "
        "| whole command s (min–max) | raw CPU s | whole command CPU s | ratio in-process "
        "| ratio whole command (target >= 0.5) | CPU ratio whole command |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        raw_cpu = r.get("raw_cpu_seconds")
        cpu = (f"{raw_cpu:.2f}", f"{raw_cpu / r['cli_cpu_seconds']:.2f}") if raw_cpu else ("–", "–")
        lines.append(
            f"| {r['backend']} | {r['participants']:,} | {r['shape']} "
            f"| {r['raw_seconds']:.2f} ({r['raw_min_max'][0]:.2f}–{r['raw_min_max'][1]:.2f}) "
            f"| {r['import_seconds']:.2f} ({r['import_min_max'][0]:.2f}–{r['import_min_max'][1]:.2f}) "
            f"| {r['cli_seconds']:.2f} ({r['cli_min_max'][0]:.2f}–{r['cli_min_max'][1]:.2f}) "
            f"| {cpu[0]} | {r['cli_cpu_seconds']:.2f} | {r['ratio']:.2f} | {r['cli_ratio']:.2f} | {cpu[1]} |"
        )
    return "\n".join(lines)


def markdown(results: list[dict]) -> str:
    lines = [
        "| backend | participants | instruments x items | administrations | item values | raw, plain table (values/s) "
        "| raw binary COPY, plain table (values/s) "
        "| raw, tracker schema (values/s) | import (values/s) | import s | ratio to plain (target >= 0.5) "
        "| ratio to schema | peak MB (target < 500) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        floor = f"{r['floor_rate']:,.0f}" if r.get("floor_rate") else "–"
        lines.append(
            f"| {r['backend']} | {r['participants']:,} | {r['shape']} | {r['administrations']:,} | {r['values']:,} | "
            f"{r['raw_rate']:,.0f} | {floor} | "
            f"{r['schema_rate']:,.0f} | {r['import_rate']:,.0f} | {r['import_seconds']:.2f} | "
            f"{r['ratio']:.2f} | {r['schema_ratio']:.2f} | {r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def _main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Import benchmark: tracker import against the raw driver."
    )
    parser.add_argument(
        "sizes", nargs="*", type=int, default=[10_000], help="participants (default 10000)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument(
        "--shape",
        action="append",
        choices=[f"{a}x{b}" for a, b in SHAPES],
        help="instruments x items (repeatable; default both)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--mapped", action="store_true", help="the REDCap-through-a-map benchmark instead"
    )
    args = parser.parse_args(argv)
    if args.mapped:
        print(markdown_mapped(run_mapped(repeat=args.repeat)))
        return
    shapes = (
        tuple(tuple(int(x) for x in s.split("x")) for s in args.shape) if args.shape else SHAPES
    )
    backends = ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    results = run(args.sizes, repeat=args.repeat, shapes=shapes, backends=backends)
    load = os.getloadavg()
    print(markdown(results))
    print()
    print(markdown_cli(results))
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        _main(sys.argv[1:])
