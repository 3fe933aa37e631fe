"""A plain-text description of an instrument definition, for people (``instrument show``)."""

from __future__ import annotations

from tracker.instruments.definition import InstrumentDef, MeasureDef


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _items(items: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in items)


def describe_measure(m: MeasureDef) -> str:
    """One line: how a measure is scored, its range, direction and missing-item rule."""
    n = m.n_items
    what = f"{m.scoring} of {n} item{'s' if n != 1 else ''}"
    if m.subscale is not None:
        what += f" ({_items(m.items)})"
    parts = [what]
    parts.append(f"reversed {_items(m.reverse)}" if m.reverse else "no items reversed")
    if m.multiplier != 1:
        parts.append(f"x {_num(m.multiplier)}")
    parts.append(f"range {_num(m.score_min)}-{_num(m.score_max)}")
    parts.append("higher is better" if m.higher_is_better else "lower is better")
    parts.append(
        f"prorated with up to {m.max_missing} missing" if m.max_missing else "every item needed"
    )
    if m.reliability is not None:
        parts.append(f"reliability {m.reliability:g}")
    return "; ".join(parts)


def describe(definition: InstrumentDef) -> str:
    """A multi-line summary: identity, source, items, reverse keys and every measure."""
    d = definition
    kind = "whole numbers" if d.integer else "numbers"
    lines = [
        f"{d.code}: {d.name}",
        f"  version      {d.version} (sha256 {d.sha256[:12]})",
    ]
    if d.construct:
        lines.append(f"  construct    {d.construct}")
    if d.citation:
        lines.append(f"  citation     {d.citation}")
    if d.licence:
        lines.append(f"  licence      {d.licence}")
    lines.append(
        f"  items        {d.items} ({d.item_names[0]} .. {d.item_names[-1]}), "
        f"{kind} {_num(d.min)}-{_num(d.max)}"
    )
    for r in d.item_ranges:
        allowed = "" if r.values is None else ", values " + ", ".join(_num(v) for v in r.values)
        lines.append(
            f"  item range   item{'s' if len(r.items) != 1 else ''} {_items(r.items)}: "
            f"{_num(r.min)}-{_num(r.max)}{allowed}"
        )
    if d.reverse:
        sums = sorted({d.item_range(i)[0] + d.item_range(i)[1] for i in d.reverse})
        if len(sums) == 1:
            rule = f"scored as {_num(sums[0])} - value"
        else:
            rule = "scored as min + max - value of each item's own range"
        lines.append(f"  reverse      {_items(d.reverse)} ({rule})")
    lines.append("  measures")
    width = max(len(m.code) for m in d.measures)
    for m in d.measures:
        lines.append(f"    {m.code:<{width}}  {describe_measure(m)}")
    if d.description:
        lines.append(f"  notes        {d.description}")
    return "\n".join(lines)
