"""The CONSORT-style participant flow as an SVG drawn from the context (no matplotlib).

One column per arm: enrolled → allocated (the arm, its cohorts) → each wave
completed (and who did not, of whom withdrawn) → withdrawn to date → analysed
(complete pairs per comparison, the smallest and largest n over the measures).
Percentages are of the participants enrolled in the arm. Every name is escaped.
"""

from __future__ import annotations

import textwrap

from markupsafe import escape

WIDTH = 760
BOX_H = 46
GAP = 22
LINE = 14
FONT = 'font-family="system-ui, Arial, sans-serif"'


def _pct(n: int, of: int) -> str:
    return f" ({100 * n / of:.0f} %)" if of else ""


def _box(
    x: float, y: float, w: float, lines: list[str], *, head: bool = False, h: int = BOX_H
) -> str:
    fill, stroke, ink = (
        ("#1f5f99", "#1f5f99", "#ffffff") if head else ("#ffffff", "#8e9aab", "#1d2430")
    )
    out = [
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" rx="5" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.4"/>'
    ]
    top = y + h / 2 - (len(lines) - 1) * LINE / 2 + 4
    for i, text in enumerate(lines):
        weight = ' font-weight="600"' if i == 0 else ""
        out.append(
            f'<text x="{x + w / 2:.1f}" y="{top + i * LINE:.1f}" text-anchor="middle" font-size="11.5" '
            f'fill="{ink}"{weight} {FONT}>{escape(text)}</text>'
        )
    return "".join(out)


def _arrow(x: float, y1: float, y2: float) -> str:
    return (
        f'<line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y2 - 6:.1f}" stroke="#8e9aab" stroke-width="1.4"/>'
        f'<path d="M{x - 4.5:.1f},{y2 - 7:.1f} L{x + 4.5:.1f},{y2 - 7:.1f} L{x:.1f},{y2:.1f} Z" fill="#8e9aab"/>'
    )


def _fit(text: str, width: float) -> list[str]:
    chars = max(12, int(width / 6.4))
    lines = textwrap.wrap(text, chars) or [text]
    return lines if len(lines) <= 2 else [lines[0], lines[1][: chars - 1].rstrip(" ,") + " …"]


def flow_svg(ctx: dict) -> str:
    """The flow diagram as an inline ``<svg>`` element ("" when the study has no cohorts)."""
    flow = ctx["flow"]
    arms = flow["arms"]
    if not arms:
        return ""
    n = len(arms)
    margin = 8
    col = (WIDTH - 2 * margin - (n - 1) * 16) / n
    xs = [margin + i * (col + 16) for i in range(n)]
    parts: list[str] = []
    y = margin
    total = sum(a["enrolled"] for a in arms)
    parts.append(_box(WIDTH / 2 - 130, y, 260, ["Enrolled", f"n = {total:,}"], head=True))
    top_bottom = y + BOX_H
    y += BOX_H + GAP
    for x in xs:  # a bracket from the enrolment box to each arm
        parts.append(
            f'<path d="M{WIDTH / 2:.1f},{top_bottom:.1f} V{top_bottom + GAP / 2:.1f} H{x + col / 2:.1f}" '
            'fill="none" stroke="#8e9aab" stroke-width="1.4"/>'
        )
        parts.append(_arrow(x + col / 2, top_bottom + GAP / 2, y))
    tall = BOX_H + LINE * max(
        len(_fit(f"{len(a['cohorts'])} cohorts: {', '.join(a['cohorts'])}", col)) for a in arms
    )
    for x, a in zip(xs, arms, strict=True):
        cohorts = ", ".join(a["cohorts"])
        lines = [f"Allocated: {a['arm']}", f"n = {a['enrolled']:,}"] + _fit(
            f"{len(a['cohorts'])} cohort{'s' if len(a['cohorts']) != 1 else ''}: {cohorts}", col
        )
        parts.append(_box(x, y, col, lines, h=BOX_H + LINE * (len(lines) - 2)))
    y += tall
    rows: list[list[list[str]]] = []
    for i, wave in enumerate(flow["waves"]):
        row = []
        for a in arms:
            s = a["waves"][i]
            missed = f"did not complete {s['not_completed']:,}"
            if s["withdrawn"]:
                missed += f", of whom withdrawn {s['withdrawn']:,}"
            row.append(
                [
                    f"{wave}: completed",
                    f"n = {s['completed']:,}{_pct(s['completed'], a['enrolled'])}",
                    missed,
                ]
            )
        rows.append(row)
    rows.append(
        [
            [
                "Withdrawn to date",
                f"n = {a['withdrawn']:,}{_pct(a['withdrawn'], a['enrolled'])}",
            ]
            for a in arms
        ]
    )
    by_arm = {}
    for r in flow["analysed"]:
        by_arm.setdefault(r["arm"], []).append(r)
    if flow["analysed"]:
        analysed_rows = []
        for a in arms:
            lines = ["Analysed (complete pairs)"]
            for r in by_arm.get(a["arm"], [])[:3]:
                span = (
                    f"{r['n_min']:,}"
                    if r["n_min"] == r["n_max"]
                    else f"{r['n_min']:,}–{r['n_max']:,}"
                )
                lines.append(f"{r['pre']} → {r['post']}: n = {span}")
            analysed_rows.append(lines)
        rows.append(analysed_rows)
    for row in rows:
        h = BOX_H + LINE * max(0, max(len(lines) for lines in row) - 2)
        for x, lines in zip(xs, row, strict=True):
            parts.append(_arrow(x + col / 2, y, y + GAP))
            parts.append(_box(x, y + GAP, col, lines, h=h))
        y += GAP + h
    height = y + margin
    label = (
        "Participant flow: enrolment, allocation, completion of each wave, withdrawal and analysis"
    )
    return (
        f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}">' + "".join(parts) + "</svg>"
    )
