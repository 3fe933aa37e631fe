"""The report's content as a plain dict: every number, table and sentence, before HTML.

:func:`build_context` takes a :class:`~tracker.datasets.StudyData` and runs the
analyses of :mod:`tracker.datasets.analyses` -- the functions behind
``tracker analyze ... --format json`` -- so the report prints the numbers that
command prints. Nothing here computes a statistic: this module counts
participants and administrations, arranges the analysis results and words them.

The dict holds only str, int, float, bool, None, lists and dicts (missing
numbers are None), so it can be dumped as JSON, compared in tests and used
from a notebook.

The sections live in their own modules (``flow``, ``characteristics``,
``measures``, ``findings``, ``paired``, ``methods``); this module puts them
together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from tracker.datasets import StudyData
from tracker.reports.context.characteristics import _characteristics, suppress
from tracker.reports.context.common import (
    NOT_RECORDED,
    PAIRED_SAMPLE,
    SMALL_CELL,
    _run,
    plain,
    records,
)
from tracker.reports.context.findings import _findings
from tracker.reports.context.flow import _flow, analysed
from tracker.reports.context.measures import _chart_measures, _completeness, _measure_info
from tracker.reports.context.methods import DEFINITIONS, software_versions
from tracker.reports.context.paired import _paired
from tracker.reports.context.provenance import _corrections
from tracker.reports.context.scope import (
    ReportScope,
    adjust_by_family,
    apply_scope,
    comparisons,
    families,
)

__all__ = [
    "DEFINITIONS",
    "NOT_RECORDED",
    "PAIRED_SAMPLE",
    "ReportScope",
    "SMALL_CELL",
    "build_context",
    "plain",
    "records",
    "software_versions",
    "suppress",
]


def _first_alphas(rel_rows: list[dict], waves: list[str]) -> dict[str, float]:
    """The first wave's alphas of a reliability table: what the reliable change index would compute.

    A measure's alpha depends on its own items only, so the change tables take these
    instead of computing them again (none for a measure the table has none for).
    """
    return {
        r["measure"]: float(r["alpha"])
        for r in rel_rows
        if waves and r["wave"] == waves[0] and r["alpha"] is not None and r["alpha"] == r["alpha"]
    }


def build_context(
    data: StudyData,
    *,
    generated_at: dt.datetime | None = None,
    instruments: list[dict] | None = None,
    database: str | None = None,
    scope: ReportScope | None = None,
    primary: Sequence[str] = (),
    corrections: list[dict] | None = None,
    workers=None,
    reliability=None,
    charts_ready=None,
) -> dict:
    """Everything the report shows, as a plain dict.

    Parameters
    ----------
    data
        The loaded study (:func:`tracker.datasets.load_study_data`).
    generated_at
        Time of generation (default now, UTC).
    instruments
        Provenance rows ``code, version, sha256`` of the instrument definitions.
    database
        A description of the database (dialect and server version).
    scope
        The cohorts, wave pair, primary outcomes and subscales the report covers
        (default: everything; see :mod:`tracker.reports.context.scope`).
    primary
        The measures marked primary outcomes in the study; ``scope.primary``, when
        given, replaces them. Those not among the report's measures are left out.
    corrections
        Audit records (:func:`tracker.study.audit.corrections`) of the corrections
        and ``--update`` changes, listed in the provenance.
    workers
        :class:`~tracker.reports.workers.ChartWorkers`: the mediation bootstrap runs in
        them while the other analyses run here (the same records either way).
    reliability
        A :class:`~tracker.reports.offload.Reliability` started in a worker: ``data``
        then holds no keyed items (they are read, if need be, when it is collected).
    charts_ready
        Called with the context once everything the charts draw is in it (before the
        mediation model is collected and the findings are worded): the report starts
        drawing then.

    Returns
    -------
    dict
        Keys ``study, generated_at, waves, arms, reference_arm, measures,
        chart_measures, findings, flow, characteristics, completeness,
        reliability, correlations, mediation, change, compare, trajectory, paired,
        planning, methods, provenance``. Analysis tables are lists of records with
        exactly the columns of ``tracker analyze ... --format json`` plus
        ``note``; a section that could not run has ``error`` set to the reason.
        In the change and compare tables ``p_adj`` is Holm-adjusted within the
        row's ``family`` (primary or exploratory) and group, ``family_size``
        p-values; with no primary outcomes that is the adjustment of
        ``tracker analyze change``. Also ``scope`` and ``families``.
    """
    from tracker.analysis.compare import choose_reference_arm
    from tracker.datasets import analyses
    from tracker.reports.mediation import DEFINITIONS as MEDIATION_DEFINITIONS
    from tracker.reports.mediation import mediation_context, planning_context, start_mediation

    generated_at = generated_at or dt.datetime.now(dt.UTC)
    scope = scope or ReportScope()
    data = apply_scope(data, scope)
    waves = data.wave_names()
    arms = sorted(data.cohorts["arm"].dropna().unique().tolist())
    reference = choose_reference_arm(arms) if len(arms) >= 2 else None
    measures, info = _measure_info(data)
    chart = _chart_measures(measures)
    has_scores = not data.scores.empty
    order = [m["measure"] for m in measures]
    if scope.primary is not None:
        chosen = list(dict.fromkeys(scope.primary))
    else:
        chosen = [m for m in primary if m in order]
    family = families(order, chosen)
    # the bootstrap takes as long as the other analyses together: started first, collected last
    mediation = start_mediation(data, workers)

    ctx: dict[str, Any] = {
        "study": {
            "name": data.study,
            "participants": int(len(data.participants)),
            "cohorts": int(len(data.cohorts)),
            "administrations": int(len(data.administrations)),
        },
        "generated_at": generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "waves": records(data.waves),
        "arms": arms,
        "reference_arm": reference,
        "measures": measures,
        "measure_info": info,
        "chart_measures": chart,
        "scope": {
            "cohorts": list(scope.cohorts),
            "pre": scope.pre,
            "post": scope.post,
            "subscales": scope.subscales,
            "described": scope.describe(),
        },
        "families": {
            "primary": [m for m in order if family[m] == "primary"],
            "exploratory": [m for m in order if family[m] == "exploratory"],
            "of": family,
        },
    }
    ctx["flow"] = _flow(data)
    ctx["characteristics"] = _characteristics(data)
    ctx["completeness"] = _completeness(data, measures)

    no_data = "no scores have been imported yet" if not has_scores else None
    ctx["reliability"] = None  # below: a worker may be computing it

    corr_wave = waves[0] if waves else None
    corr_rows, corr_error = (
        _run(analyses.correlations, data, wave=corr_wave)
        if has_scores and corr_wave
        else ([], no_data or "the study has no waves")
    )
    corr_measures = list(dict.fromkeys([r["x"] for r in corr_rows] + [r["y"] for r in corr_rows]))
    corr_measures.sort(key=lambda m: [i["measure"] for i in measures].index(m))
    ctx["correlations"] = {
        "wave": corr_wave,
        "method": "pearson",
        "adjust": "holm",
        "rows": corr_rows,
        "error": corr_error,
        "measures": corr_measures,
    }

    ctx["mediation"] = None  # below, once the other analyses are done
    ctx["planning"] = planning_context(data, info, ctx["families"]["primary"])

    # the trajectories need no alphas: fitted while a worker may still compute the reliability
    if has_scores and len(waves) >= 2:
        traj_rows, traj_error = _run(analyses.trajectory, data)
        means_rows, means_error = _run(analyses.trajectory_means, data)
        means_rows = [r for r in means_rows if r["measure"] in chart]  # what the chart draws
    else:
        traj_rows, means_rows = [], []
        traj_error = means_error = no_data or "trajectories need two or more waves"
    trajectory = {"rows": traj_rows, "means": means_rows, "error": traj_error or means_error}

    if reliability is not None and has_scores:  # computed in a worker (tracker.reports.offload)
        rel_rows, rel_error, keyed = reliability.collect()
        if keyed is not None:  # computed here after all: the items are the study's again
            data = dataclasses.replace(data, keyed_items=keyed, item_waves=None)
    else:
        rel_rows, rel_error = _run(analyses.reliability, data) if has_scores else ([], no_data)
    first_alphas = _first_alphas(rel_rows, waves)

    ctx["change"], ctx["compare"] = [], []
    pairs = comparisons(waves, scope)
    for pre, post in pairs:
        by = "arm" if len(arms) >= 2 else None
        rows, error = (
            _run(
                analyses.change,
                data,
                pre=pre,
                post=post,
                by=by,
                baseline_alphas=first_alphas if rel_error is None else None,
            )
            if has_scores
            else ([], no_data)
        )
        adjust_by_family(rows, family, "group")
        ctx["change"].append({"pre": pre, "post": post, "by": by, "rows": rows, "error": error})
        if len(arms) >= 2:
            rows, error = (
                _run(analyses.compare, data, pre=pre, post=post) if has_scores else ([], no_data)
            )
            adjust_by_family(rows, family, "arm")
            ctx["compare"].append({"pre": pre, "post": post, "rows": rows, "error": error})

    ctx["flow"]["analysed"] = analysed(ctx["change"], arms)

    ctx["trajectory"] = trajectory

    ctx["paired"] = _paired(data, chart, *pairs[0]) if has_scores and pairs else {}
    ctx["paired_sample"] = PAIRED_SAMPLE
    if charts_ready is not None:  # everything the charts draw is known: they can start
        charts_ready(ctx)
    ctx["reliability"] = {"rows": rel_rows, "error": rel_error}
    by_key = {(r["measure"], r["wave"]): r for r in rel_rows}
    for row in ctx["completeness"]:
        row["reliability"] = by_key.get((row["measure"], row["wave"]))
    ctx["mediation"] = mediation_context(data, info, mediation)
    ctx["findings"] = _findings(ctx, info) if has_scores else []
    ctx["methods"] = {
        "definitions": [{"term": t, "text": x} for t, x in DEFINITIONS + MEDIATION_DEFINITIONS],
        "software": software_versions(),
        "database": database,
    }
    batches = records(data.batches)
    for b in batches:  # stored in UTC; seconds are precise enough for people
        b["imported_at"] = (b["imported_at"] or "").replace("T", " ")[:19]
    ctx["provenance"] = {
        "batches": batches,
        "instruments": instruments or [],
        "db_revision": data.db_revision,
        "database": database,
        "generated_at": ctx["generated_at"],
        "corrections": _corrections(corrections or []),
    }
    return ctx
