"""Participant characteristics by cohort, with small-cell suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.datasets import StudyData
from tracker.reports.context.common import NOT_RECORDED, SMALL_CELL


def suppress(counts: np.ndarray, threshold: int = SMALL_CELL) -> np.ndarray:
    """Which cells of a categories x (groups..., total) count table to hide.

    Primary suppression hides counts from 1 to ``threshold - 1``. Complementary
    suppression then hides the smallest other non-zero count in any column or
    row that has exactly one hidden cell (a column sums to its group size and a
    row's groups sum to its total, so one hidden cell could be worked out),
    repeated until no single hidden cell is left in a line.
    """
    counts = np.asarray(counts, dtype=float)
    hidden = (counts > 0) & (counts < threshold)
    changed = True
    while changed:
        changed = False
        for lines, values in ((hidden.T, counts.T), (hidden, counts)):  # columns, then rows
            for i in range(lines.shape[0]):
                if lines[i].sum() == 1:
                    candidates = np.where(~lines[i] & (values[i] > 0), values[i], np.inf)
                    if np.isfinite(candidates).any():
                        lines[i, int(np.argmin(candidates))] = True  # writes through the view
                        changed = True
    return hidden


def _ages(members: pd.DataFrame) -> pd.Series:
    age = pd.to_numeric(members["age"], errors="coerce")
    birth = pd.to_numeric(members["birth_year"], errors="coerce")
    enrolled_year = pd.to_datetime(members["enrolled"], errors="coerce").dt.year
    return age.fillna(enrolled_year - birth).dropna()


def _characteristics(data: StudyData) -> dict:
    groups = list(data.cohorts["cohort"])
    people = data.participants
    members = [people[people["cohort"] == g] for g in groups] + [people]
    columns = groups + ["All participants"]
    rows: list[dict] = [
        {
            "kind": "row",
            "label": "Participants, n",
            "indent": False,
            "cells": [str(len(m)) for m in members],
        }
    ]
    # ages worked out once, each group's being its rows of them (dates, not text whose format
    # to_datetime would infer from each group's first value)
    enrolled = pd.api.types.infer_dtype(people["enrolled"], skipna=True)
    if people.index.is_unique and enrolled in ("date", "datetime", "datetime64", "empty"):
        every_age = _ages(people)
        ages = [every_age[every_age.index.isin(m.index)] for m in members]
        in_group = [people.index.isin(m.index) for m in members]
    else:
        ages = [_ages(m) for m in members]
        in_group = None
    rows.append(
        {
            "kind": "row",
            "label": "Age, mean (SD)",
            "indent": False,
            "cells": [
                f"{a.mean():.1f} ({a.std(ddof=1):.1f})"
                if len(a) >= SMALL_CELL
                else ("not recorded" if len(a) == 0 else f"< {SMALL_CELL} recorded")
                for a in ages
            ],
        }
    )
    for column, title in (("gender", "Gender"), ("role", "Role")):
        values = people[column].fillna("").astype(str).str.strip().replace("", NOT_RECORDED)
        categories = sorted(set(values.unique()) - {NOT_RECORDED}) + (
            [NOT_RECORDED] if (values == NOT_RECORDED).any() else []
        )
        if not categories or categories == [NOT_RECORDED]:
            rows.append(
                {"kind": "header", "label": f"{title}: not recorded", "cells": [], "indent": False}
            )
            continue
        if in_group is not None:
            text = values.to_numpy(dtype=object)
            counts = np.array(
                [[int((text[mask] == cat).sum()) for mask in in_group] for cat in categories]
            )
        else:
            counts = np.array(
                [[int((values[m.index] == cat).sum()) for m in members] for cat in categories]
            )
        hidden = suppress(counts)
        sizes = [len(m) for m in members]
        rows.append({"kind": "header", "label": f"{title}, n (%)", "cells": [], "indent": False})
        for i, cat in enumerate(categories):
            cells = []
            for j, n in enumerate(counts[i]):
                if hidden[i, j]:
                    cells.append(f"< {SMALL_CELL}" if n < SMALL_CELL else "suppressed")
                elif sizes[j] == 0:
                    cells.append("0")
                else:
                    cells.append(f"{n} ({100 * n / sizes[j]:.0f} %)")
            rows.append({"kind": "row", "label": cat, "cells": cells, "indent": True})
    return {"columns": columns, "rows": rows, "threshold": SMALL_CELL}
