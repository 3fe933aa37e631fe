"""The report's Jinja2 environment and the filters that format numbers for people.

One :class:`jinja2.Environment` with ``autoescape=True`` and
``StrictUndefined``: every value a user supplied (study, cohort, arm, wave and
instrument names, demographics, withdrawal reasons, file names) is escaped,
and a template that names a missing key fails loudly instead of printing
nothing. Only the SVG charts, which :mod:`tracker.reports.charts` generates,
are marked safe.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

# the number formats are shared with the terminal's tables: one implementation
from tracker.formatting import DASH, MINUS, fmt_ci, fmt_int, fmt_num, fmt_p, fmt_pct  # noqa: E402,F401
from tracker.formatting import missing as _missing  # noqa: E402,F401

_STAT = re.compile(
    r"(?:\b(?:n|p|dz|d_ppc|r)|p\(Holm\)|partial η²) (?:=|&lt;|&gt;) [−-]?[\d.,]+"
    r"|95 % CI [−-]?[\d.,]+ to [−-]?[\d.,]+"
)


def keep_stats_whole(text: Any) -> Markup:
    """Text escaped, with each "n = 36", "p(Holm) < .001", "95 % CI 1.2 to 3.4" kept on one line."""
    escaped = str(escape(text))
    return Markup(_STAT.sub(lambda m: f'<span class="nb">{m.group(0)}</span>', escaped))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The report's Jinja2 environment, loading from the shipped ``templates/``."""
    from tracker.resources import templates_dir

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=fmt_num, count=fmt_int, p=fmt_p, ci=fmt_ci, pct=fmt_pct, stats=keep_stats_whole
    )
    env.globals["DASH"] = DASH
    return env


#: The charts in the order the report shows them: figure numbers follow it.
FIGURE_ORDER = ("flow", "heatmap", "forest_change", "paired", "forest_compare", "trajectories")


def figure_numbers(charts: dict[str, str]) -> dict[str, int]:
    """Chart name → figure number, counting only the charts drawn (no number is skipped)."""
    present = [name for name in FIGURE_ORDER if charts.get(name)]
    present += sorted(name for name in charts if charts[name] and name not in FIGURE_ORDER)
    return {name: i for i, name in enumerate(present, start=1)}


def with_flow(context: dict, charts: dict[str, str]) -> dict[str, str]:
    """``charts`` with the participant-flow diagram added (drawn here: it is plain SVG)."""
    if "flow" in charts:
        return charts
    from tracker.reports.flowchart import flow_svg

    flow = flow_svg(context)
    return {"flow": flow, **charts} if flow else dict(charts)


def standalone_svg(svg: str) -> str:
    """An inline ``<svg>`` of the report as a file of its own: XML prolog and SVG namespace."""
    body = svg.strip()
    if "xmlns=" not in body[: body.index(">")]:
        body = body.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def compile_templates() -> None:
    """Compile every template of the report ahead of :func:`render` (the environment keeps them).

    Compiling the report's templates takes about as long as rendering them; the report
    does it while the worker process draws the charts.
    """
    env = environment()
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)


def render(context: dict, charts: dict[str, str], template: str = "report.html.j2") -> str:
    """Render ``template`` with the report ``context`` and the generated SVG ``charts``."""
    charts = with_flow(context, charts)
    # The charts are SVG that tracker.reports produced itself (matplotlib escapes
    # the text it draws, flowchart escapes every name), so they are the one thing
    # not escaped again.
    safe = {name: Markup(svg) for name, svg in charts.items()}
    return (
        environment()
        .get_template(template)
        .render(ctx=context, charts=safe, fig=figure_numbers(charts))
    )
