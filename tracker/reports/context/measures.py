"""Measures: labels, which are charted and worded, completeness and proration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.datasets import StudyData
from tracker.reports.context.common import records


def _measure_info(data: StudyData) -> tuple[list[dict], dict[str, dict]]:
    from tracker.datasets.analyses import model_measures

    order = data.measure_order()
    model = set(model_measures(data)) if order else set()
    rows = {r["measure"]: r for r in records(data.measures)}
    constructs: dict[str, int] = {}
    for m in order:
        if "." not in m:
            key = (rows[m]["construct"] or rows[m]["name"] or m).lower()
            constructs[key] = constructs.get(key, 0) + 1
    out = []
    for m in order:
        r = rows[m]
        total = "." not in m
        construct = r["construct"] or r["name"] or m
        if total:
            label = construct[:1].upper() + construct[1:]
            if constructs.get(construct.lower(), 0) > 1:
                label = f"{label} ({m})"
        else:
            label = f"{construct[:1].upper() + construct[1:]}: {r['name'] or m.split('.', 1)[1]}"
        span = (r["score_max"] or 0) - (r["score_min"] or 0)
        out.append(
            {
                **r,
                "label": label,
                "is_total": total,
                "in_model": m in model,
                "digits": 1 if span >= 20 else 2,
                "direction": "higher is better" if r["higher_is_better"] else "lower is better",
            }
        )
    return out, {m["measure"]: m for m in out}


def _chart_measures(measures: list[dict]) -> list[str]:
    """Measures drawn in the charts and worded in the findings: the model's (role
    order), else every instrument total."""
    with_role = [m["measure"] for m in measures if m["role"]]
    return with_role or [m["measure"] for m in measures if m["is_total"]]


def _completeness(data: StudyData, measures: list[dict]) -> list[dict]:
    s = data.scores
    if s.empty:
        return []
    counts = _counts(s)
    out = []
    for m in measures:
        for w in data.wave_names():
            if (m["measure"], w) not in counts:
                continue
            administrations, scored, prorated, answered, total = counts[(m["measure"], w)]
            out.append(
                {
                    "measure": m["measure"],
                    "wave": w,
                    "administrations": int(administrations),
                    "scored": int(scored),
                    "prorated": int(prorated),
                    "not_scored": int(administrations - scored),
                    "items_answered": float(answered / total) if total else None,
                }
            )
    return out


def _counts(s: pd.DataFrame) -> dict[tuple, tuple]:
    """(measure, wave) -> administrations, scored, prorated, items answered, items in total.

    Counted on integer codes (bincount) when the item counts are integers -- sums exact
    as floats below 2**53 -- else by a pandas groupby.
    """
    scored = s["score"].notna()
    prorated = s["prorated"].astype(bool) & scored
    if all(pd.api.types.is_integer_dtype(s[c]) for c in ("items_answered", "items_total")):
        m, m_names = pd.factorize(s["measure"])
        w, w_names = pd.factorize(s["wave"])
        keep = (m >= 0) & (w >= 0)
        key = (m * len(w_names) + w)[keep]
        size = len(m_names) * len(w_names)

        def total(values=None):
            weights = None if values is None else np.asarray(values, dtype=np.float64)[keep]
            return np.bincount(key, weights=weights, minlength=size)

        sums = [total(), total(scored), total(prorated)]
        sums += [total(s["items_answered"]), total(s["items_total"])]
        return {
            (m_names[k // len(w_names)], w_names[k % len(w_names)]): tuple(x[k] for x in sums)
            for k in np.flatnonzero(sums[0])
        }
    grouped = (
        s.assign(scored=scored, prorated=prorated)
        .groupby(["measure", "wave"], sort=False)
        .agg(
            administrations=("score", "size"),
            scored=("scored", "sum"),
            prorated=("prorated", "sum"),
            answered=("items_answered", "sum"),
            total=("items_total", "sum"),
        )
    )
    return {
        key: (g["administrations"], g["scored"], g["prorated"], g["answered"], g["total"])
        for key, g in zip(grouped.index, grouped.to_dict("records"), strict=True)
    }
