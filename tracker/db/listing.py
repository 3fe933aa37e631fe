"""The light read commands' queries: lists and counts in plain SQL, no ORM, no pandas.

``study list``, ``wave list``, ``cohort list``, ``status`` and ``due`` are
what a coordinator runs many times a day; each is one or two queries over a
few hundred rows. Importing SQLAlchemy or pandas costs more than the whole
answer (BENCHMARKS.md, design figures), so these read
through a :class:`tracker.db.reader.Reader` (a direct ``sqlite3``/``psycopg``
connection when the URL is plain, else the one under a SQLAlchemy session)
and return plain lists of dicts. :func:`with_reader` chooses the connection.

Every function takes the reader first and returns rows in a stable order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from tracker.db.reader import Reader, StudyRef

T = TypeVar("T")

COMPLETION_COLUMNS = [
    "cohort",
    "arm",
    "wave",
    "wave_order",
    "instrument",
    "active",
    "completed",
    "percent",
    "withdrawn",
]
DUE_COLUMNS = [
    "cohort",
    "arm",
    "wave",
    "wave_order",
    "opens",
    "closes",
    "state",
    "participant",
    "missing",
]


def with_reader(
    url: str | None,
    study: str | None,
    fn: Callable[[Reader, StudyRef], T],
    *,
    needs_study: bool = True,
) -> T:
    """Run ``fn(reader, study_ref)`` on a direct connection, else through a SQLAlchemy session.

    The direct path is taken only when it is certain to work (see
    :func:`tracker.db.reader.open_reader`) and the study is found; anything
    else goes through the session, whose errors explain the problem (an
    unreachable server, an old schema, no such study). ``needs_study=False``
    passes None for the study (``study list``).
    """
    from tracker.db.reader import open_reader

    reader = open_reader(url)
    if reader is not None:
        try:
            ref = reader.study(study) if needs_study else None
            if ref is not None or not needs_study:
                return fn(reader, ref)
        finally:
            reader.close()
    from tracker.db.engine import open_session

    session = open_session(url)
    try:
        ref = None
        if needs_study:
            from tracker.study.studies import resolve_study

            ref = StudyRef.of(resolve_study(session, study))
        return fn(Reader.of(session), ref)
    finally:
        session.rollback()
        session.close()


def _date(value: Any) -> dt.date | None:
    """A DATE column's value: SQLite hands back text, PostgreSQL a date."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def studies(reader: Reader, _study: StudyRef | None = None) -> list[dict]:
    """``name, participants, created`` of every study, by name."""
    rows = reader.rows(
        "SELECT s.name, (SELECT COUNT(*) FROM participant p WHERE p.study_id = s.id), s.created_at "
        "FROM study s ORDER BY s.name"
    )
    return [
        {"name": name, "participants": n, "created": str(created)[:10]} for name, n, created in rows
    ]


def waves(reader: Reader, study: StudyRef) -> list[dict]:
    """``order, name, day, window`` of the study's waves, in order."""
    rows = reader.rows(
        "SELECT position, name, day_offset, window_days FROM wave WHERE study_id = ? ORDER BY position",
        study.id,
    )
    return [
        {"order": pos, "name": name, "day": day, "window": window}
        for pos, name, day, window in rows
    ]


def cohorts(reader: Reader, study: StudyRef) -> list[dict]:
    """``name, arm, start, participants, description`` of the study's cohorts, by name."""
    rows = reader.rows(
        "SELECT c.name, c.arm, c.start_date, (SELECT COUNT(*) FROM participant p WHERE p.cohort_id = c.id), "
        "c.description FROM cohort c WHERE c.study_id = ? ORDER BY c.name",
        study.id,
    )
    return [
        {
            "name": name,
            "arm": arm,
            "start": _date(start).isoformat() if start else "",
            "participants": n,
            "description": description or "",
        }
        for name, arm, start, n, description in rows
    ]


def completion(reader: Reader, study: StudyRef) -> list[dict]:
    """The completion matrix: one row per cohort x wave x instrument.

    ``cohort, arm, wave, wave_order, instrument, active, completed, percent,
    withdrawn``: ``completed`` counts the cohort's *active* participants with an
    administration of the instrument at the wave, ``percent`` = 100 x
    completed / active (NaN without active participants); withdrawn
    participants are counted in ``withdrawn`` only. Ordered by cohort, wave
    order, instrument.
    """
    cohort_rows = reader.rows(
        "SELECT id, name, arm FROM cohort WHERE study_id = ? ORDER BY name", study.id
    )
    wave_rows = reader.rows(
        "SELECT id, name, position FROM wave WHERE study_id = ? ORDER BY position", study.id
    )
    instrument_rows = reader.rows(
        "SELECT id, code FROM instrument WHERE study_id = ? ORDER BY code", study.id
    )
    people = {
        (cid, status): n
        for cid, status, n in reader.rows(
            "SELECT cohort_id, status, COUNT(*) FROM participant WHERE study_id = ? GROUP BY cohort_id, status",
            study.id,
        )
    }
    done = {
        (cid, wid, iid): n
        for cid, wid, iid, n in reader.rows(
            "SELECT p.cohort_id, a.wave_id, a.instrument_id, COUNT(*) FROM administration a "
            "JOIN participant p ON p.id = a.participant_id WHERE p.study_id = ? AND p.status = 'active' "
            "GROUP BY p.cohort_id, a.wave_id, a.instrument_id",
            study.id,
        )
    }
    out = []
    for cid, cname, arm in cohort_rows:
        active = people.get((cid, "active"), 0)
        for wid, wname, position in wave_rows:
            for iid, code in instrument_rows:
                n = done.get((cid, wid, iid), 0)
                out.append(
                    {
                        "cohort": cname,
                        "arm": arm,
                        "wave": wname,
                        "wave_order": position,
                        "instrument": code,
                        "active": active,
                        "completed": n,
                        "percent": 100.0 * n / active if active else float("nan"),
                        "withdrawn": people.get((cid, "withdrawn"), 0),
                    }
                )
    return out


def completion_grid(matrix: list[dict]) -> list[dict]:
    """The matrix for people: one row per cohort and wave, a ``n/N (p%)`` cell per instrument."""
    grid: dict[tuple[str, int], dict] = {}
    for r in matrix:
        row = grid.setdefault(
            (r["cohort"], r["wave_order"]),
            {"cohort": r["cohort"], "arm": r["arm"], "wave": r["wave"], "active": r["active"]},
        )
        pct = "–" if r["percent"] != r["percent"] else f"{r['percent']:.0f}%"
        row[r["instrument"]] = f"{r['completed']}/{r['active']} ({pct})"
    return [grid[k] for k in sorted(grid)]


def due(
    reader: Reader, study: StudyRef, *, wave: str | None = None, today: dt.date | None = None
) -> list[dict]:
    """Active participants still lacking an instrument at a wave, with the state of its window.

    One row per wave x outstanding participant: ``cohort, arm, wave,
    wave_order, opens, closes`` (dates; None when the cohort has no start),
    ``state`` (``upcoming``, ``due``, ``overdue``, ``unscheduled``),
    ``participant`` and ``missing`` (instrument codes, comma-separated). A
    wave's window for a cohort is start + day ± window. Ordered by wave
    order, cohort, participant. ``wave``: one wave (NotFound if unknown).
    """
    from tracker.errors import NotFound

    today = today or dt.date.today()
    wave_rows = reader.rows(
        "SELECT id, name, position, day_offset, window_days FROM wave WHERE study_id = ? ORDER BY position",
        study.id,
    )
    if wave is not None:
        wave_rows = [w for w in wave_rows if w[1] == wave]
        if not wave_rows:
            known = ", ".join(
                repr(r[0])
                for r in reader.rows(
                    "SELECT name FROM wave WHERE study_id = ? ORDER BY position", study.id
                )
            )
            raise NotFound(
                f"no wave named {wave!r} in study {study.name!r}; waves: {known or 'none yet'}"
            )
    instruments = reader.rows(
        "SELECT id, code FROM instrument WHERE study_id = ? ORDER BY code", study.id
    )
    cohorts_by_id = {
        cid: (name, arm, _date(start))
        for cid, name, arm, start in reader.rows(
            "SELECT id, name, arm, start_date FROM cohort WHERE study_id = ?", study.id
        )
    }
    people = reader.rows(
        "SELECT id, code, cohort_id FROM participant WHERE study_id = ? AND status = 'active' ORDER BY code",
        study.id,
    )
    have: dict[tuple[int, int], set[int]] = {}
    for pid, wid, iid in reader.rows(
        "SELECT a.participant_id, a.wave_id, a.instrument_id FROM administration a "
        "JOIN participant p ON p.id = a.participant_id WHERE p.study_id = ?",
        study.id,
    ):
        have.setdefault((pid, wid), set()).add(iid)
    out = []
    for wid, wname, position, day, window in wave_rows:
        for pid, code, cid in people:
            answered = have.get((pid, wid), set())
            missing = sorted(c for iid, c in instruments if iid not in answered)
            if not missing:
                continue
            cname, arm, start = cohorts_by_id[cid]
            opens = closes = None
            state = "unscheduled"
            if start is not None:
                target = start + dt.timedelta(days=day)
                opens, closes = (
                    target - dt.timedelta(days=window),
                    target + dt.timedelta(days=window),
                )
                state = "upcoming" if today < opens else "overdue" if today > closes else "due"
            out.append(
                {
                    "cohort": cname,
                    "arm": arm,
                    "wave": wname,
                    "wave_order": position,
                    "opens": opens,
                    "closes": closes,
                    "state": state,
                    "participant": code,
                    "missing": ", ".join(missing),
                }
            )
    out.sort(key=lambda r: (r["wave_order"], r["cohort"], r["participant"]))
    return out


def due_by_cohort(rows: list[dict]) -> list[dict]:
    """:func:`due` grouped for people: one row per wave and cohort with the codes listed."""
    groups: dict[tuple[int, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["wave_order"], r["cohort"]), []).append(r)
    out = []
    for key in sorted(groups):
        group = groups[key]
        first = group[0]
        out.append(
            {
                "wave": first["wave"],
                "cohort": first["cohort"],
                "arm": first["arm"],
                "opens": first["opens"].isoformat() if first["opens"] is not None else "",
                "closes": first["closes"].isoformat() if first["closes"] is not None else "",
                "state": first["state"],
                "outstanding": len(group),
                "participants": " ".join(r["participant"] for r in group),
            }
        )
    return out


# -- names for shell completion -------------------------------------------------


def _measure_codes(reader: Reader, study: StudyRef) -> list[str]:
    """Every measure of the study's instruments (newest version): ``code`` and ``code.subscale``,
    read from the stored definitions without building them, then any measure holding a model role."""
    import json

    rows = reader.rows(
        "SELECT i.code, v.definition FROM instrument i JOIN instrument_version v ON v.instrument_id = i.id "
        "WHERE i.study_id = ? AND v.id = (SELECT MAX(v2.id) FROM instrument_version v2 "
        "WHERE v2.instrument_id = i.id) ORDER BY i.code",
        study.id,
    )
    out: list[str] = []
    for code, definition in rows:
        data = json.loads(definition) if isinstance(definition, str | bytes) else (definition or {})
        if data.get("total", True) is not False:
            out.append(code)
        out.extend(
            f"{code}.{sub['code']}" for sub in data.get("subscales") or [] if sub.get("code")
        )
    roles = [
        m
        for (m,) in reader.rows(
            "SELECT measure FROM model_role WHERE study_id = ? ORDER BY measure", study.id
        )
    ]
    return out + [m for m in roles if m not in out]


NAME_QUERIES: dict[str, Callable[[Reader, StudyRef], list[str]]] = {
    "wave": lambda r, s: [
        n for (n,) in r.rows("SELECT name FROM wave WHERE study_id = ? ORDER BY position", s.id)
    ],
    "cohort": lambda r, s: [
        n for (n,) in r.rows("SELECT name FROM cohort WHERE study_id = ? ORDER BY name", s.id)
    ],
    "instrument": lambda r, s: [
        n for (n,) in r.rows("SELECT code FROM instrument WHERE study_id = ? ORDER BY code", s.id)
    ],
    "participant": lambda r, s: [
        n for (n,) in r.rows("SELECT code FROM participant WHERE study_id = ? ORDER BY code", s.id)
    ],
    "measure": _measure_codes,
}


def names(url: str | None, study: str | None, kind: str) -> list[str]:
    """The names of ``kind`` (``study``, ``wave``, ``cohort``, ``measure``, ``instrument``,
    ``participant``) in the database, for shell completion: ``[]`` on any trouble.

    Only the direct connection is tried (:func:`tracker.db.reader.open_reader`):
    completion must never create a SQLite file, migrate, wait on a session or
    print a traceback into the user's prompt. No database, an old schema, no
    such study or several studies without ``--study``: nothing to complete.
    """
    from tracker.db.reader import open_reader

    try:
        reader = open_reader(url)
        if reader is None:
            return []
        try:
            if kind == "study":
                return [n for (n,) in reader.rows("SELECT name FROM study ORDER BY name")]
            ref = reader.study(study)
            return [] if ref is None else NAME_QUERIES[kind](reader, ref)
        finally:
            reader.close()
    except Exception:  # completion answers nothing rather than break the prompt
        return []
