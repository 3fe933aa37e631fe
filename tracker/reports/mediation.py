"""The report's "model tested" (mediation) and "Planning the next study" content, and the path diagram.

Like :mod:`tracker.reports.context`, these build plain dicts from the analyses
behind ``tracker analyze mediation`` and ``tracker plan`` (the same records),
word them, and draw each mediation model as a small inline SVG path diagram.
The SVG is built here from numbers and labels; every label (a user's measure
name or construct) is escaped before it goes in.
"""

from __future__ import annotations

from html import escape
from typing import Any

from tracker.datasets import StudyData
from tracker.errors import AnalysisError

CAVEAT = (
    "A cross-sectional indirect effect says how an association at one wave is carried by the mediators; "
    "it is not evidence of mediation over time, which needs the mediator measured before the outcome "
    "(the intervention form, tracker analyze mediation --x arm --from W1 --to W2, adjusts each path for "
    "the earlier wave)."
)

#: the methods section's entries for these two sections (term, text)
DEFINITIONS = [
    (
        "Mediation",
        "Parallel mediation by OLS on the complete cases of each model (X, every mediator, Y): a_j from "
        "M_j ~ X, b_j and the direct effect c′ from Y ~ X + M_1 + … + M_k, the total effect c from Y ~ X; "
        "p-values from each equation's t test. Indirect effect a_j·b_j (and their sum, = c − c′); its 95 % CI "
        "is the percentile bootstrap over participants (5,000 resamples of the n cases, seed 1; 2.5th and "
        "97.5th percentiles). Standardised: indirect × sd(X)/sd(Y). The intervention form (X = arm) adjusts "
        "every equation for the earlier wave's mediators and Y (Valente & MacKinnon 2017) and standardises "
        "by sd(Y) only.",
    ),
    (
        "Sample size",
        "Smallest n whose two-sided test reaches the power by the exact noncentral t: paired t (df n − 1, "
        "noncentrality dz√n) for a one-arm pre/post study; two-sample t (df 2n − 2, noncentrality "
        "δ√(n/2)) with δ = d_ppc/√(1 − r²), r the pooled within-arm pre–post correlation, for a two-arm "
        "ANCOVA (Borm, Fransen & Lemmens 2007). n to enrol = ⌈n_total / (1 − attrition)⌉, attrition the "
        "fraction of the first wave's completers without a score at the second.",
    ),
]


def _records(frame) -> list[dict]:
    from tracker.reports.context import records

    return records(frame)


def _num(value: Any, digits: int = 2) -> str:
    from tracker.reports.render import fmt_num

    return fmt_num(value, digits)


def _label(info: dict[str, dict], measure: str) -> str:
    return info[measure]["label"] if measure in info else measure


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _clear(row: dict) -> bool:
    lo, hi = row["indirect_ci_low"], row["indirect_ci_high"]
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def _indirect_text(row: dict) -> str:
    return (
        f"indirect effect {_num(row['indirect'])}, 95 % bootstrap CI {_num(row['indirect_ci_low'])} to "
        f"{_num(row['indirect_ci_high'])}"
    )


def mediation_sentence(model: dict, info: dict[str, dict], wave: str) -> str:
    """One sentence for one X -> mediators -> Y model."""
    x, y = _lower(_label(info, model["x"])), _lower(_label(info, model["y"]))
    paths = model["paths"]
    if not paths or all(p["indirect"] is None for p in paths):
        why = (paths[0]["note"] if paths else "") or "not estimable"
        return f"At {wave}, the association of {x} with {y} could not be partitioned ({why})."
    through = [p for p in paths if _clear(p)]
    if not through:
        names = " or ".join(_lower(_label(info, p["mediator"])) for p in paths)
        return (
            f"At {wave}, no indirect effect of {x} on {y} through {names} was clear "
            f"(every 95 % bootstrap CI includes 0; n = {model['n']})."
        )
    parts = [f"{_lower(_label(info, p['mediator']))} ({_indirect_text(p)})" for p in through]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    direct = model["direct"]
    tail = f"; the direct effect c′ was {_num(direct)}" if direct is not None else ""
    return (
        f"At {wave}, the association of {x} with {y} ran through {joined}{tail} (n = {model['n']})."
    )


def path_diagram(model: dict, info: dict[str, dict], index: int) -> str:
    """An inline SVG path diagram: the mediators in a column at the top, X (left) and Y (right)
    below them joined by the direct arrow (c′, and the total c); a on each arrow X -> M_j, b on
    each M_j -> Y; the indirect effects a·b with their CIs beneath (bold when the CI excludes 0)."""
    paths = model["paths"]
    k = max(len(paths), 1)
    width, box_w, box_h, row_h, top = 500, 150, 30, 42, 8
    xl, xm, xr = 2, (width - box_w) / 2, width - box_w - 2
    base = top + k * row_h + 14 + box_h / 2  # the centre line of X and Y
    lines = [(p["mediator"], p) for p in paths] + (
        [("total", model["total"])] if model["total"] else []
    )
    height = base + box_h / 2 + 30 + 17 * len(lines)
    marker = f"arrow-mediation-{index}"
    out = [
        f'<svg class="path-diagram" viewBox="0 0 {width} {height:.0f}" '
        f'width="100%" style="max-width:{width}px;height:auto" role="img" aria-label="Path diagram: '
        f'{escape(_label(info, model["x"]))} to {escape(_label(info, model["y"]))}">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1d2430"/></marker></defs>',
    ]

    def box(x0: float, yc: float, measure: str) -> None:
        label = _label(info, measure)
        short = label if len(label) <= 22 else label[:21] + "…"
        out.append(
            f'<rect x="{x0:.1f}" y="{yc - box_h / 2:.1f}" width="{box_w}" height="{box_h}" rx="6" '
            'fill="#e8f0f8" stroke="#1f5f99"/>'
        )
        out.append(
            f'<text x="{x0 + box_w / 2:.1f}" y="{yc + 4:.1f}" text-anchor="middle" font-size="11.5">'
            f"<title>{escape(label)} ({escape(measure)})</title>{escape(short)}</text>"
        )

    def arrow(x1, y1, x2, y2) -> None:
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#1d2430" '
            f'stroke-width="1.2" marker-end="url(#{marker})"/>'
        )

    def label(x, y, text: str, anchor: str = "middle") -> None:
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="10.5" fill="#1f5f99">'
            f"{escape(text)}</text>"
        )

    box(xl, base, model["x"])
    box(xr, base, model["y"])
    for j, p in enumerate(paths):
        ym = top + row_h * j + box_h / 2
        box(xm, ym, p["mediator"])
        x1, y1 = xl + box_w * 0.75, base - box_h / 2  # from X's top edge
        arrow(x1, y1, xm, ym)
        label(xm - 6, ym - 2, f"a = {_num(p['a'])}", "end")
        x2, y2 = xr + box_w * 0.25, base - box_h / 2  # to Y's top edge
        arrow(xm + box_w, ym, x2, y2)
        label(xm + box_w + 6, ym - 2, f"b = {_num(p['b'])}", "start")
    arrow(xl + box_w, base, xr, base)
    label(
        width / 2,
        base + box_h / 2 + 8,
        f"c′ = {_num(model['direct'])} (total c = {_num(model['c'])})",
    )
    y_text = base + box_h / 2 + 30
    for name, p in lines:
        what = "total indirect" if name == "total" else f"via {_label(info, name)}"
        ci = f"[{_num(p['indirect_ci_low'])}, {_num(p['indirect_ci_high'])}]"
        weight = ' font-weight="600"' if _clear(p) else ""
        out.append(
            f'<text x="{xl}" y="{y_text:.1f}" font-size="11"{weight}>'
            f"{escape(what)}: a·b = {escape(_num(p['indirect']))}, 95 % bootstrap CI {escape(ci)}</text>"
        )
        y_text += 17
    out.append("</svg>")
    return "".join(out)


#: score rows from which the bootstrap is worth sending to the worker processes: below, it
#: takes less time here than sending it costs (BENCHMARKS.md, design figures)
OFFLOAD_ROWS = 10_000


def start_mediation(data: StudyData, workers=None):
    """Start the report's mediation (the model roles' at the first wave); returns a function giving its records.

    With ``workers`` (:class:`~tracker.reports.workers.ChartWorkers`) and at least
    :data:`OFFLOAD_ROWS` score rows the model runs in a thread of this process that
    hands the bootstrap to the workers (``ChartWorkers.run_bootstrap``) and waits
    for it, while the caller goes on; otherwise here, when the returned function is
    called. The function raises :class:`~tracker.errors.AnalysisError` when the
    model cannot run; None is returned when there is nothing to run.
    """
    from tracker.datasets.mediation import mediation_call

    waves = data.wave_names()
    if data.scores.empty or not waves:
        return None
    try:
        fn, kwargs = mediation_call(data, wave=waves[0])
    except AnalysisError as exc:
        error = exc

        def refused():
            raise error

        return refused
    if workers is None or workers.size == 0 or len(kwargs["scores"]) < OFFLOAD_ROWS:
        return lambda: fn(**kwargs)
    import threading

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = fn(**kwargs, bootstrap=workers.run_bootstrap)
        except BaseException as exc:  # raised again by collect(), in the caller's thread
            outcome["raised"] = exc

    thread = threading.Thread(target=run, name="tracker-report-mediation", daemon=True)
    thread.start()

    def collect():
        thread.join()
        if "raised" in outcome:
            raise outcome["raised"]
        return outcome["value"]

    return collect


def mediation_context(data: StudyData, info: dict[str, dict], started=None) -> dict:
    """``ctx["mediation"]``: the model roles' mediation at the first wave.

    Keys ``wave, boot, seed, rows`` (the records of ``tracker analyze mediation
    --wave FIRST``), ``models`` (per X x Y: ``x, y, n, paths, total, direct, c, svg,
    sentence``), ``caveat`` and ``error`` (why it could not run, else None).
    ``started``: what :func:`start_mediation` returned (by default it is called here).
    """
    from tracker.analysis.mediation import DEFAULT_BOOT, DEFAULT_SEED

    waves = data.wave_names()
    out: dict[str, Any] = {
        "wave": waves[0] if waves else None,
        "boot": DEFAULT_BOOT,
        "seed": DEFAULT_SEED,
        "rows": [],
        "models": [],
        "caveat": CAVEAT,
        "error": None,
    }
    if started is None:
        started = start_mediation(data)
    if started is None:
        out["error"] = "no scores have been imported yet"
        return out
    try:
        rows = _records(started())
    except AnalysisError as exc:
        out["error"] = str(exc)
        return out
    out["rows"] = rows
    models: dict[tuple[str, str], dict] = {}
    for r in rows:
        model = models.setdefault(
            (r["x"], r["y"]),
            {
                "x": r["x"],
                "y": r["y"],
                "n": r["n"],
                "paths": [],
                "total": None,
                "direct": r["c_prime"],
                "c": r["c"],
            },
        )
        if r["mediator"] == "total":
            model["total"] = r
        else:
            model["paths"].append(r)
    for i, model in enumerate(models.values()):
        model["sentence"] = mediation_sentence(model, info, waves[0])
        model["svg"] = path_diagram(model, info, i)
        out["models"].append(model)
    return out


def planning_sentence(
    paired: dict, ancova: dict, info: dict[str, dict], pre: str, post: str
) -> str:
    """One sentence for one measure's two designs."""
    label = _label(info, paired["measure"])
    power = (
        f"{round(paired['power'] * 100):.0f} % power at α = {_num(paired['alpha'], 2).lstrip('0')}"
    )
    kind = {
        "observed": "as large as observed",
        "ci_low": "at the bound of the observed effect's 95 % CI nearer zero",
        "given": "of the size given",
    }[paired["effect_kind"]]
    parts = []
    if paired["n_per_arm"] is not None:
        lost = (
            ""
            if paired["attrition"] is None
            else (
                f"; with {_num(100 * paired['attrition'], 1)} % lost between {pre} and {post}, "
                f"enrol {paired['n_to_enrol']:,}"
            )
        )
        parts.append(
            f"a one-arm pre/post study needs {paired['n_total']:,} participants with both waves "
            f"to detect a change {kind} (dz = {_num(paired['effect'])}){lost}"
        )
    else:
        parts.append(f"no one-arm sample size ({paired['note'] or 'no effect'})")
    if ancova["n_per_arm"] is not None:
        enrol = "" if ancova["n_to_enrol"] is None else f", enrolling {ancova['n_to_enrol']:,}"
        parts.append(
            f"a two-arm trial analysed by ANCOVA needs {ancova['n_per_arm']:,} per arm "
            f"({ancova['n_total']:,} in all{enrol}) for d_ppc = {_num(ancova['effect'])} with pre–post "
            f"r = {_num(ancova['r_pre_post'])}"
        )
    else:
        parts.append(f"no two-arm sample size ({ancova['note'] or 'no effect'})")
    return f"{label}: with {power}, " + "; ".join(parts) + "."


def planning_context(
    data: StudyData, info: dict[str, dict], primary: list[str] | None = None
) -> dict:
    """``ctx["planning"]``: ``tracker plan --from FIRST --to SECOND`` for the primary outcomes
    (``primary``, the report's primary family; without them, the outcome-role measures; with no
    roles, every measure).

    Keys ``pre, post, measures, rows, sentences, error``.
    """
    from tracker.datasets.mediation import plan, planning_measures

    waves = data.wave_names()
    out: dict[str, Any] = {
        "pre": waves[0] if waves else None,
        "post": waves[1] if len(waves) > 1 else None,
        "measures": [],
        "rows": [],
        "sentences": [],
        "error": None,
    }
    if data.scores.empty or len(waves) < 2:
        out["error"] = (
            "no scores have been imported yet" if data.scores.empty else "planning needs two waves"
        )
        return out
    measures = list(primary) if primary else planning_measures(data)
    out["measures"] = measures
    try:
        rows = _records(plan(data, pre=waves[0], post=waves[1], measure=measures))
    except AnalysisError as exc:
        out["error"] = str(exc)
        return out
    out["rows"] = rows
    for m in measures:
        mine = {r["design"]: r for r in rows if r["measure"] == m}
        if len(mine) == 2:
            out["sentences"].append(
                planning_sentence(mine["paired"], mine["two_arm_ancova"], info, waves[0], waves[1])
            )
    return out
