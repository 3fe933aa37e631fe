"""The report's charts: matplotlib (Agg, no pyplot) to inline SVG strings.

Each function takes parts of the report context (plain dicts and lists) and
returns an ``<svg>`` element ready to put into HTML: text stays text
(``svg.fonttype = "none"``, so it is small and searchable), the XML prolog,
DOCTYPE, RDF metadata and namespace declarations are removed (the HTML parser
does not need them, and the report must hold no URL at all), and ids are
deterministic (``svg.hashsalt``). Labels are drawn as plain text: mathtext is
off, so a ``$`` in a cohort or instrument name is just a dollar sign, and
matplotlib escapes ``<``, ``>``, ``&`` and quotes in the SVG it writes.

matplotlib is imported inside the functions: ``tracker --help`` stays fast.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence

from markupsafe import escape

ARM_COLOURS = ("#1f5f99", "#d9822b", "#3a9a5b", "#8e5ea2", "#c2464c", "#6b6b6b")
WAVE_COLOURS = ("#1f5f99", "#7fa7cf", "#3a9a5b", "#8e5ea2", "#c2464c")
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "prepost-tracker",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.labelcolor": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "figure.dpi": 72,
}


def _small_multiples(n: int, nrows: int, ncols: int, *, row_height: float, hspace: float):
    """A full-width figure with an nrows x ncols grid of axes; the cells past ``n`` hidden."""
    height = 0.55 + row_height * nrows
    fig = _figure(8.4, height)
    fig.subplots_adjust(
        left=0.06,
        right=0.99,
        top=1 - 0.42 / height,
        bottom=0.62 / height,
        wspace=0.32,
        hspace=hspace,
    )
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    # Fixed margins, not a layout engine: constrained layout measures every text
    # several times and doubled the drawing time.
    return Figure(figsize=(width, height))


def to_svg(fig, label: str) -> str:
    """The figure as an inline ``<svg>`` element with an accessible label and no URL."""
    buf = io.StringIO()
    fig.savefig(
        buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
    )
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", svg)
    svg = svg.replace("xlink:href=", "href=")
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(label)}"', 1).strip()


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _figure_legend(fig, ax, label) -> None:
    """One legend for the figure, under the panels, from ``ax``'s labelled artists (``label`` names each)."""
    handles, names = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, [label(n) for n in names], loc="lower center", ncols=len(handles), fontsize=7.5
        )


def _arm_colours(arms: Sequence[str]) -> dict[str, str]:
    return {a: ARM_COLOURS[i % len(ARM_COLOURS)] for i, a in enumerate(arms)}


def _render(build, label: str) -> str:
    import matplotlib

    with matplotlib.rc_context(RC):
        fig = build()
        return to_svg(fig, label)


# -- correlation heatmap ------------------------------------------------------------------


def heatmap(
    rows: list[dict],
    measures: list[str],
    labels: dict[str, str],
    roles: dict[str, str | None],
    wave: str,
) -> str:
    """Correlation matrix as a heatmap, measures in model order, r printed in each cell."""
    import numpy as np

    k = len(measures)
    index = {m: i for i, m in enumerate(measures)}
    r = np.full((k, k), np.nan)
    for row in rows:
        if row["r"] is not None and row["x"] in index and row["y"] in index:
            i, j = index[row["x"]], index[row["y"]]
            r[i, j] = r[j, i] = row["r"]

    def build():
        cell = 0.55 if k <= 10 else 0.36
        left, bottom = 2.0, 1.0
        width = left + cell * k + 1.0
        height = bottom + cell * k + 0.15
        fig = _figure(width, height)
        ax = fig.add_axes((left / width, bottom / height, cell * k / width, cell * k / height))
        cax = fig.add_axes(
            ((left + cell * k + 0.15) / width, bottom / height, 0.14 / width, cell * k / height)
        )
        # pcolormesh, not imshow: imshow is embedded as a PNG data URL, the mesh stays vector
        mesh = ax.pcolormesh(
            np.arange(k + 1) - 0.5,
            np.arange(k + 1) - 0.5,
            np.ma.masked_invalid(r),
            cmap="RdBu",
            vmin=-1,
            vmax=1,
            edgecolors="white",
            linewidth=0.6,
        )
        ax.set_xlim(-0.5, k - 0.5)
        ax.set_ylim(k - 0.5, -0.5)
        ax.set_aspect("equal")
        names = [
            _wrap(labels[m] + (f" [{roles[m][:3]}.]" if roles.get(m) else ""), 26) for m in measures
        ]
        # columns by code (short), rows by name
        ax.set_xticks(
            range(k), measures, rotation=45, ha="right", rotation_mode="anchor", fontsize=7.5
        )
        ax.set_yticks(range(k), names, fontsize=7.5)
        for i in range(k):
            for j in range(k):
                if i != j and not math.isnan(r[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{r[i, j]:.2f}".replace("-", "−"),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if abs(r[i, j]) > 0.55 else "#111111",
                    )
        tiers = [roles.get(m) for m in measures]
        for i in range(1, k):
            if tiers[i] != tiers[i - 1]:
                ax.axhline(i - 0.5, color="#222222", lw=1.2)
                ax.axvline(i - 0.5, color="#222222", lw=1.2)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.tick_params(length=0)
        # 40 colour steps: below matplotlib's threshold for rasterising a colorbar (50)
        bar = fig.colorbar(
            mesh, cax=cax, boundaries=np.linspace(-1, 1, 41), ticks=np.linspace(-1, 1, 5)
        )
        bar.set_label(f"Pearson r at {wave}")
        bar.outline.set_visible(False)
        return fig

    return _render(build, f"Correlation heatmap at {wave}")


# -- forest plots --------------------------------------------------------------------------


def forest(
    items: list[dict], *, xlabel: str, title: str, legend_title: str, colours: dict[str, str]
) -> str:
    """Effect sizes with 95 % CIs, one row per (label, group), grouped by label.

    ``items``: dicts ``label, group, estimate, low, high`` (None where missing;
    such rows are drawn as "not estimable").
    """
    labels = list(dict.fromkeys(i["label"] for i in items))
    groups = list(dict.fromkeys(i["group"] for i in items))

    def build():
        height = max(2.4, 1.35 + 0.26 * len(items) + 0.12 * len(labels))
        fig = _figure(7.6, height)
        fig.subplots_adjust(left=0.34, right=0.97, top=1 - 0.38 / height, bottom=0.9 / height)
        ax = fig.add_subplot()
        step = 1.0 / (len(groups) + 1)
        ticks = []
        for li, label in enumerate(labels):
            base = -li
            ticks.append(base)
            for gi, group in enumerate(groups):
                y = base + (len(groups) - 1) / 2 * step - gi * step
                row = next((i for i in items if i["label"] == label and i["group"] == group), None)
                if row is None:
                    continue
                if row["estimate"] is None:
                    ax.text(0, y, "not estimable", fontsize=6.5, color="#777777", va="center")
                    continue
                colour = colours.get(group, "#333333")
                if row["low"] is not None and row["high"] is not None:
                    ax.plot([row["low"], row["high"]], [y, y], color=colour, lw=1.6)
                ax.plot(
                    [row["estimate"]],
                    [y],
                    "o",
                    color=colour,
                    ms=4.5,
                    label=group
                    if li == 0 or group not in ax.get_legend_handles_labels()[1]
                    else None,
                )
        ax.axvline(0, color="#444444", lw=0.8, ls="--")
        ax.set_yticks(ticks, [_wrap(lab, 34) for lab in labels], fontsize=7.5)
        ax.set_ylim(-len(labels) + 0.45, 0.55)
        ax.set_xlabel(xlabel, labelpad=2)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        if len({i["group"] for i in items}) > 1:  # one group needs no legend ("all arm")
            _figure_legend(fig, ax, lambda n: f"{n} {legend_title}".strip())
        return fig

    return _render(build, title)


# -- paired plot ---------------------------------------------------------------------------


def paired(
    data: dict[str, dict[str, dict]],
    measures: list[str],
    labels: dict[str, str],
    arms: list[str],
    pre: str,
    post: str,
    sample: int,
) -> str:
    """Each participant's pre and post score joined by a line, a panel per measure, by arm."""
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MaxNLocator

    colours = _arm_colours(arms)
    ncols = min(4, max(1, len(measures)))
    nrows = max(1, math.ceil(len(measures) / ncols))

    def build():
        fig, axes = _small_multiples(len(measures), nrows, ncols, row_height=2.35, hspace=0.55)
        for ax, m in zip(axes.flat, measures, strict=False):
            ticks, names = [], []
            for a, arm in enumerate(arms):
                block = data.get(m, {}).get(arm)
                x0, x1 = a * 2.4, a * 2.4 + 1
                ticks += [x0, x1]
                names += [pre, post]
                if not block or not block["pairs"]:
                    continue
                pairs = np.asarray(block["pairs"], dtype=float)
                jitter = np.linspace(-0.06, 0.06, len(pairs))
                segments = np.stack(
                    [
                        np.column_stack([x0 + jitter, pairs[:, 0]]),
                        np.column_stack([x1 + jitter, pairs[:, 1]]),
                    ],
                    axis=1,
                )
                ax.add_collection(
                    LineCollection(segments, colors=colours[arm], alpha=0.22, linewidths=0.6)
                )
                means = pairs.mean(axis=0)
                ax.plot([x0, x1], means, "-o", color=colours[arm], lw=2.2, ms=4, label=arm)
            ax.set_xticks(ticks, names, fontsize=6.5)
            ax.set_xlim(-0.5, (len(arms) - 1) * 2.4 + 1.5)
            ax.autoscale(axis="y")
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.set_title(_wrap(labels[m], 26), fontsize=8)
        _figure_legend(fig, axes.flat[0], lambda n: f"{n} arm")
        return fig

    return _render(
        build, f"Individual change from {pre} to {post} (up to {sample} participants per arm)"
    )


# -- trajectories ---------------------------------------------------------------------------


def trajectories(
    means: list[dict], measures: list[str], labels: dict[str, str], waves: list[str]
) -> str:
    """Model-estimated means with 95 % CIs at every wave, a panel per measure, a line per arm."""
    from matplotlib.ticker import MaxNLocator

    arms = sorted({r["arm"] for r in means if r["arm"]})
    colours = _arm_colours(arms)
    ncols = min(4, max(1, len(measures)))
    nrows = max(1, math.ceil(len(measures) / ncols))
    position = {w: i for i, w in enumerate(waves)}

    def build():
        fig, axes = _small_multiples(len(measures), nrows, ncols, row_height=2.3, hspace=0.6)
        width = 0.08 * (len(arms) - 1)
        for ax, m in zip(axes.flat, measures, strict=False):
            for a, arm in enumerate(arms):
                rows = sorted(
                    (
                        r
                        for r in means
                        if r["measure"] == m
                        and r["arm"] == arm
                        and r["mean"] is not None
                        and r["wave"] in position
                    ),
                    key=lambda r: position[r["wave"]],
                )
                if not rows:
                    continue
                offset = -width / 2 + a * 0.08
                x = [position[r["wave"]] + offset for r in rows]
                y = [r["mean"] for r in rows]
                ci = [
                    (xi, r["ci_low"], r["ci_high"])
                    for xi, r in zip(x, rows, strict=True)
                    if r["ci_low"] is not None and r["ci_high"] is not None
                ]
                if ci:  # one collection of CI bars: far fewer artists than errorbar()
                    ax.vlines(
                        [c[0] for c in ci],
                        [c[1] for c in ci],
                        [c[2] for c in ci],
                        color=colours[arm],
                        lw=1.1,
                    )
                ax.plot(x, y, "-o", color=colours[arm], lw=1.6, ms=3.5, label=arm)
            ax.set_xticks(range(len(waves)), [_wrap(w, 12) for w in waves], fontsize=6.5)
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.set_xlim(-0.4, len(waves) - 0.6)
            ax.set_title(_wrap(labels[m], 26), fontsize=8)
            ax.grid(axis="y", color="#e3e3e3", lw=0.6)
            ax.set_axisbelow(True)
        _figure_legend(
            fig, axes.flat[0], lambda n: f"{n} arm" if n != "all" else "all participants"
        )
        return fig

    return _render(build, "Estimated means with 95 % CIs at every wave")


# -- all charts of a report -----------------------------------------------------------------------

CHARTS = ("heatmap", "forest_change", "forest_compare", "paired", "trajectories")


#: the keys of the report context that the charts read
CHART_KEYS = (
    "measures", "chart_measures", "correlations", "arms", "change", "compare", "paired",
    "paired_sample", "trajectory", "waves",
)  # fmt: skip


def report_charts(ctx: dict, only: Sequence[str] = CHARTS) -> dict[str, str]:
    """The charts the report template shows (those named in ``only``), by name, from the context."""
    import gc

    # A figure is thousands of small objects in reference cycles; collecting while
    # drawing costs a third of the time, and the figures are dropped right after.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _report_charts(ctx, set(only))
    finally:
        if enabled:
            gc.enable()


def _report_charts(ctx: dict, only: set[str]) -> dict[str, str]:
    info = {m["measure"]: m for m in ctx["measures"]}
    labels = {m: info[m]["label"] for m in info}
    chart = ctx["chart_measures"]
    out: dict[str, str] = {}

    corr = ctx["correlations"]
    if "heatmap" in only and corr["rows"] and len(corr["measures"]) >= 2:
        out["heatmap"] = heatmap(
            corr["rows"],
            corr["measures"],
            labels,
            {m: info[m]["role"] for m in corr["measures"]},
            corr["wave"],
        )

    arms = ctx["arms"] or ["all"]
    colours = _arm_colours(arms) | {"all": ARM_COLOURS[0]}
    if "forest_change" in only and ctx["change"] and ctx["change"][0]["rows"]:
        first = ctx["change"][0]
        items = [
            {
                "label": labels[r["measure"]]
                + ("" if info[r["measure"]]["higher_is_better"] else " (lower is better)"),
                "group": r["group"],
                "estimate": r["cohen_dz"],
                "low": r["dz_ci_low"],
                "high": r["dz_ci_high"],
            }
            for m in chart
            for r in first["rows"]
            if r["measure"] == m
        ]
        if items:
            out["forest_change"] = forest(
                items,
                xlabel="Cohen's dz (post − pre) with 95 % CI",
                title=f"Change from {first['pre']} to {first['post']}"
                + (", by arm" if len(ctx["arms"]) > 1 else ""),
                legend_title="arm",
                colours=colours,
            )
    if "forest_compare" in only and ctx["compare"] and any(b["rows"] for b in ctx["compare"]):
        items = [
            {
                "label": labels[r["measure"]]
                + ("" if info[r["measure"]]["higher_is_better"] else " (lower is better)"),
                "group": f"{b['pre']} → {b['post']}",
                "estimate": r["d_ppc"],
                "low": r["d_ppc_ci_low"],
                "high": r["d_ppc_ci_high"],
            }
            for m in chart
            for b in ctx["compare"]
            for r in b["rows"]
            if r["measure"] == m
        ]
        groups = list(dict.fromkeys(i["group"] for i in items))
        if items:
            first = ctx["compare"][0]["rows"][0] if ctx["compare"][0]["rows"] else {}
            title = (
                f"{first.get('arm', 'Arm')} vs {first.get('reference_arm', 'reference')}: "
                "Morris's d_ppc2 by follow-up wave"
            )
            out["forest_compare"] = forest(
                items,
                xlabel="d_ppc2 (difference in change, in baseline SD units) with 95 % CI",
                title=title,
                legend_title="",
                colours={g: WAVE_COLOURS[i % len(WAVE_COLOURS)] for i, g in enumerate(groups)},
            )
    if "paired" in only and ctx["paired"] and any(ctx["paired"].values()):
        block = ctx["change"][0]
        arms_present = [a for a in arms if any(a in ctx["paired"][m] for m in chart)]
        out["paired"] = paired(
            ctx["paired"],
            chart,
            labels,
            arms_present,
            block["pre"],
            block["post"],
            ctx["paired_sample"],
        )
    if "trajectories" in only and ctx["trajectory"]["means"]:
        waves = [w["wave"] for w in ctx["waves"]]
        out["trajectories"] = trajectories(ctx["trajectory"]["means"], chart, labels, waves)
    return out


def __getattr__(name: str):
    # the worker processes live in tracker.reports.workers (which imports this module)
    if name == "ChartWorkers":
        from tracker.reports import workers

        return getattr(workers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
