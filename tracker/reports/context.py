"""The report's content as a plain dict: every number, table and sentence, before HTML.

:func:`build_context` takes a :class:`~tracker.datasets.StudyData` and runs the
analyses of :mod:`tracker.datasets.analyses` -- the functions behind
``tracker analyze ... --format json`` -- so the report prints the numbers that
command prints. Nothing here computes a statistic: this module counts
participants and administrations, arranges the analysis results and words them.

The dict holds only str, int, float, bool, None, lists and dicts (missing
numbers are None), so it can be dumped as JSON, compared in tests and used
from a notebook.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from tracker.datasets import StudyData
from tracker.errors import AnalysisError

SMALL_CELL = 5  # counts 1..4 are suppressed in the characteristics table
PAIRED_SAMPLE = 150  # participants per arm drawn in the paired plot
ROLE_ORDER = ("modifiable", "intermediate", "outcome")
NOT_RECORDED = "not recorded"


# -- plain values -----------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-able Python value: numpy scalars unwrapped, NaN / NA / NaT to None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of ``frame`` as dicts of plain values; a missing ``note`` becomes ""."""
    out = []
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        row = {c: plain(v) for c, v in zip(columns, values, strict=True)}
        if "note" in row and row["note"] is None:
            row["note"] = ""
        out.append(row)
    return out


def _run(fn, *args, **kwargs) -> tuple[list[dict], str | None]:
    """An analysis' records, or no records and the reason it could not run."""
    try:
        return records(fn(*args, **kwargs)), None
    except AnalysisError as exc:
        return [], str(exc)


# -- measures and labels -------------------------------------------------------------


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


# -- participant flow -------------------------------------------------------------------


REASON_WITHHELD = "reason withheld (it held contact details)"


def _shown_reason(reason: Any) -> str:
    """A withdrawal reason as given, unless it holds contact details (stored before they were refused)."""
    from tracker.study.text import contact_details

    if reason is None or (isinstance(reason, float) and math.isnan(reason)) or not str(reason).strip():
        return "no reason recorded"
    return REASON_WITHHELD if contact_details(str(reason)) else str(reason)


def _flow(data: StudyData) -> dict:
    waves = data.wave_names()
    participants = data.participants
    answered = data.administrations[["participant", "wave"]].drop_duplicates()
    cohorts = []
    for c in records(data.cohorts):
        members = participants[participants["cohort"] == c["cohort"]]
        codes = set(members["participant"])
        withdrawn = members[members["status"] == "withdrawn"]
        withdrawn_codes = set(withdrawn["participant"])
        steps = []
        for w in waves:
            done = set(answered.loc[answered["wave"] == w, "participant"]) & codes
            missed = codes - done
            steps.append(
                {
                    "wave": w,
                    "completed": len(done),
                    "not_completed": len(missed),
                    "withdrawn": len(missed & withdrawn_codes),
                }
            )
        reasons = (
            withdrawn["withdrawal_reason"]
            .map(_shown_reason)
            .value_counts()
            .rename_axis("reason")
            .reset_index(name="n")
            .sort_values(["n", "reason"], ascending=[False, True])
        )
        cohorts.append(
            {
                "cohort": c["cohort"],
                "arm": c["arm"],
                "start": c["start"],
                "enrolled": len(codes),
                "withdrawn": len(withdrawn_codes),
                "active": len(codes) - len(withdrawn_codes),
                "waves": steps,
                "reasons": records(reasons),
            }
        )
    return {"waves": waves, "cohorts": cohorts}


# -- characteristics with small-cell suppression ------------------------------------------------


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
    ages = [_ages(m) for m in members]
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
        categories = sorted(set(values) - {NOT_RECORDED}) + (
            [NOT_RECORDED] if (values == NOT_RECORDED).any() else []
        )
        if not categories or categories == [NOT_RECORDED]:
            rows.append(
                {"kind": "header", "label": f"{title}: not recorded", "cells": [], "indent": False}
            )
            continue
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


# -- measures: completeness, proration ---------------------------------------------------------


def _completeness(data: StudyData, measures: list[dict]) -> list[dict]:
    s = data.scores
    if s.empty:
        return []
    grouped = (
        s.assign(
            scored=s["score"].notna(),
            prorated=s["prorated"].astype(bool) & s["score"].notna(),
        )
        .groupby(["measure", "wave"], sort=False)
        .agg(
            administrations=("score", "size"),
            scored=("scored", "sum"),
            prorated=("prorated", "sum"),
            answered=("items_answered", "sum"),
            total=("items_total", "sum"),
        )
    )
    out = []
    for m in measures:
        for w in data.wave_names():
            if (m["measure"], w) not in grouped.index:
                continue
            g = grouped.loc[(m["measure"], w)]
            out.append(
                {
                    "measure": m["measure"],
                    "wave": w,
                    "administrations": int(g["administrations"]),
                    "scored": int(g["scored"]),
                    "prorated": int(g["prorated"]),
                    "not_scored": int(g["administrations"] - g["scored"]),
                    "items_answered": float(g["answered"] / g["total"]) if g["total"] else None,
                }
            )
    return out


# -- key findings in sentences -------------------------------------------------------------------


def _n(value: float | None, digits: int) -> str:
    from tracker.reports.render import fmt_num

    return fmt_num(value, digits)


def _size(
    est: float, low: float | None, high: float | None
) -> tuple[float, float | None, float | None]:
    """An estimate and its CI on the scale of its size: signs flipped when it is negative."""
    if est >= 0:
        return est, low, high
    return -est, (None if high is None else -high), (None if low is None else -low)


def _change_sentence(row: dict, info: dict, pre: str, post: str) -> str:
    label, digits = info["label"], info["digits"]
    where = f"from {pre} to {post} in the {row['group']} arm, n = {row['n']}"
    if row["group"] == "all":
        where = f"from {pre} to {post}, n = {row['n']}"
    diff, lo, hi, dz = row["mean_diff"], row["ci_low"], row["ci_high"], row["cohen_dz"]
    if diff is None or lo is None or hi is None:
        return f"{label}: the change {where} could not be estimated ({row['note'] or 'no pairs'})."
    dz_text = f"dz = {_n(abs(dz) if dz is not None else None, 2)}"
    if lo <= 0 <= hi:
        return (
            f"{label} did not change clearly {where}: mean change {_n(diff, digits)} points "
            f"(95 % CI {_n(lo, digits)} to {_n(hi, digits)}; dz = {_n(dz, 2)})."
        )
    verb = "rose" if diff > 0 else "fell"
    better = (diff > 0) == bool(info["higher_is_better"])
    size, lo_abs, hi_abs = _size(diff, lo, hi)
    return (
        f"{label} {verb} by {_n(size, digits)} points (95 % CI {_n(lo_abs, digits)} to "
        f"{_n(hi_abs, digits)}; {dz_text}) {where} — {'an improvement' if better else 'a worsening'}."
    )


def _compare_sentence(row: dict, info: dict, pre: str, post: str) -> str:
    label, digits = info["label"], info["digits"]
    adj, lo, hi = row["adj_diff"], row["ci_low"], row["ci_high"]
    head = f"At {post}, adjusted for {pre} scores"
    lower = label[:1].lower() + label[1:]
    if adj is None or lo is None or hi is None:
        return f"{head}, {lower} could not be compared between arms ({row['note'] or 'too few pairs'})."
    tail = f"d_ppc = {_n(row['d_ppc'], 2)}; partial η² = {_n(row['partial_eta_sq'], 2)}; n = {row['n']}"
    if lo <= 0 <= hi:
        return (
            f"{head}, the {row['arm']} and {row['reference_arm']} arms did not differ clearly in "
            f"{lower}: adjusted difference {_n(adj, digits)} points (95 % CI {_n(lo, digits)} to "
            f"{_n(hi, digits)}; {tail})."
        )
    favours = (adj > 0) == bool(info["higher_is_better"])
    size, lo_abs, hi_abs = _size(adj, lo, hi)
    d_abs = None if row["d_ppc"] is None else abs(row["d_ppc"])
    tail = f"d_ppc = {_n(d_abs, 2)}; partial η² = {_n(row['partial_eta_sq'], 2)}; n = {row['n']}"
    return (
        f"{head}, {lower} in the {row['arm']} arm was {_n(size, digits)} points "
        f"{'higher' if adj > 0 else 'lower'} than in the {row['reference_arm']} arm (95 % CI "
        f"{_n(lo_abs, digits)} to {_n(hi_abs, digits)}; {tail}), in favour of the "
        f"{row['arm'] if favours else row['reference_arm']} arm."
    )


def _correlation_sentences(rows: list[dict], info: dict[str, dict], wave: str) -> list[str]:
    # a subscale correlates with its own total by construction: not a finding
    usable = [
        r
        for r in rows
        if r["r"] is not None and info[r["x"]]["instrument"] != info[r["y"]]["instrument"]
    ]
    if not usable:
        return []
    out = []
    top = max(usable, key=lambda r: abs(r["r"]))
    out.append(
        f"At {wave}, the strongest correlation was between {info[top['x']]['label'].lower()} and "
        f"{info[top['y']]['label'].lower()}: r = {_n(top['r'], 2)} (95 % CI {_n(top['ci_low'], 2)} to "
        f"{_n(top['ci_high'], 2)}, n = {top['n']})."
    )
    for m, i in info.items():
        mine = [r["r"] for r in usable if m in (r["x"], r["y"])]
        if len(mine) >= 2 and all(r < 0 for r in mine):
            out.append(
                f"{i['label']} correlated negatively with every other measure of the model at {wave} "
                f"(r from {_n(max(mine), 2)} to {_n(min(mine), 2)})."
            )
        elif len(mine) >= 2 and all(r > 0 for r in mine) and i["role"] == "outcome":
            out.append(
                f"{i['label']} correlated positively with every other measure of the model at {wave} "
                f"(r from {_n(min(mine), 2)} to {_n(max(mine), 2)})."
            )
    return out


def _findings(ctx: dict, info: dict[str, dict]) -> list[dict]:
    findings: list[dict] = []
    chart = ctx["chart_measures"]
    ref = ctx["reference_arm"]
    if ctx["change"]:
        first = ctx["change"][0]
        for row in first["rows"]:
            if row["measure"] in chart and row["group"] != ref:
                findings.append(
                    {
                        "kind": "change",
                        "text": _change_sentence(
                            row, info[row["measure"]], first["pre"], first["post"]
                        ),
                    }
                )
        control = [r for r in first["rows"] if r["measure"] in chart and r["group"] == ref]
        clear = [
            r
            for r in control
            if r["ci_low"] is not None
            and r["ci_high"] is not None
            and not (r["ci_low"] <= 0 <= r["ci_high"])
        ]
        if control and ref is not None:
            if not clear:
                text = (
                    f"In the {ref} arm no measure changed clearly from {first['pre']} to {first['post']} "
                    f"(every 95 % CI of the mean change includes 0)."
                )
                findings.append({"kind": "change", "text": text})
            for r in clear:
                findings.append(
                    {
                        "kind": "change",
                        "text": _change_sentence(
                            r, info[r["measure"]], first["pre"], first["post"]
                        ),
                    }
                )
    for block in ctx["compare"][:1]:
        for row in block["rows"]:
            if row["measure"] in chart:
                findings.append(
                    {
                        "kind": "compare",
                        "text": _compare_sentence(
                            row, info[row["measure"]], block["pre"], block["post"]
                        ),
                    }
                )
    if len(ctx["compare"]) > 1:
        last = ctx["compare"][-1]
        rows = [r for r in last["rows"] if r["measure"] in chart and r["ci_low"] is not None]
        for arm in dict.fromkeys(r["arm"] for r in rows):
            mine = [r for r in rows if r["arm"] == arm]
            ahead = [
                r
                for r in mine
                if not (r["ci_low"] <= 0 <= r["ci_high"])
                and (r["adj_diff"] > 0) == bool(info[r["measure"]]["higher_is_better"])
            ]
            text = (
                f"At {last['post']}, adjusted for {last['pre']}, the {arm} arm was still clearly ahead of "
                f"the {mine[0]['reference_arm']} arm on {len(ahead)} of {len(mine)} measures"
            )
            sized = []
            for r in ahead:
                if r["d_ppc"] is None:
                    continue
                d, lo, hi = _size(r["d_ppc"], r["d_ppc_ci_low"], r["d_ppc_ci_high"])
                sized.append(
                    f"{info[r['measure']]['label'].lower()} (d_ppc = {_n(d, 2)}, 95 % CI "
                    f"{_n(lo, 2)} to {_n(hi, 2)})"
                )
            findings.append(
                {"kind": "compare", "text": text + (": " + "; ".join(sized) if sized else "") + "."}
            )
    corr = ctx["correlations"]
    for text in _correlation_sentences(corr["rows"], info, corr["wave"] or ""):
        findings.append({"kind": "correlation", "text": text})
    return findings


# -- paired plot data (not statistics: the scores themselves) ----------------------------------


def _paired(data: StudyData, measures: list[str], pre: str, post: str) -> dict:
    s = data.scores
    s = s[s["measure"].isin(measures) & s["wave"].isin([pre, post]) & s["score"].notna()]
    # participants numbered once (order of appearance), then plain numpy per measure
    person, people = pd.factorize(s["participant"])
    arm_of = np.empty(len(people), dtype=object)
    arm_of[person] = s["arm"].to_numpy(dtype=object)
    measure = s["measure"].to_numpy(dtype=object)
    is_pre = (s["wave"] == pre).to_numpy()
    score = s["score"].to_numpy(dtype=float)
    rng = np.random.Generator(np.random.PCG64(0))  # the same participants drawn every time
    out: dict[str, dict[str, dict]] = {}
    for m in measures:
        mine = measure == m
        before = np.full(len(people), np.nan)
        after = np.full(len(people), np.nan)
        before[person[mine & is_pre]] = score[mine & is_pre]
        after[person[mine & ~is_pre]] = score[mine & ~is_pre]
        both = ~np.isnan(before) & ~np.isnan(after)
        out[m] = {}
        for arm in sorted(set(arm_of[both])):
            keep = both & (arm_of == arm)
            values = np.column_stack([before[keep], after[keep]])
            shown = len(values)
            if shown > PAIRED_SAMPLE:
                values = values[np.sort(rng.choice(shown, PAIRED_SAMPLE, replace=False))]
            out[m][arm] = {"pairs": values.tolist(), "n": shown}
    return out


# -- methods and provenance -------------------------------------------------------------------


DEFINITIONS = [
    (
        "Scores",
        "Reverse-keyed items are scored as min + max − value. With k of K items answered and "
        "K − k ≤ the measure's max_missing, a sum score is the mean of the answered items × K and a mean "
        "score the mean of the answered items (proration); otherwise the score is missing. A multiplier "
        "(WHO-5: × 4) is applied last.",
    ),
    (
        "Differences and SDs",
        "Differences are post − pre; standard deviations use n − 1. Pairs are "
        "matched by participant, never by row order; n is the number of complete pairs.",
    ),
    (
        "Correlations",
        "Pearson's r (or Spearman's ρ) on the participants with both scores; 95 % CI by "
        "Fisher's z, tanh(atanh r ∓ z₀.₉₇₅/√(n − 3)); Spearman p from the t approximation; p-values "
        "adjusted (Holm) over the upper triangle of the matrix shown. Measures ordered modifiable → "
        "intermediate → outcome.",
    ),
    (
        "Paired change",
        "Mean difference with a 95 % CI from the t distribution with n − 1 df and the "
        "paired t test; Holm adjustment across measures within a group.",
    ),
    (
        "Wilcoxon signed-rank",
        "As R's wilcox.test: differences rounded to 10 decimals, zeros dropped, "
        "V = sum of positive ranks; exact p for fewer than 50 differences without ties or zeros, otherwise "
        "the normal approximation with tie-corrected variance and continuity correction; matched-pairs "
        "rank-biserial correlation.",
    ),
    (
        "Effect sizes",
        "Cohen's dz = mean_diff / sd_diff with its CI from the noncentral t distribution; "
        "d_av = mean_diff / ((sd_pre + sd_post) / 2); Hedges' g_av = d_av × J, J(df) = Γ(df/2) / "
        "(√(df/2) Γ((df − 1)/2)), df = n − 1. In the summary sentences the size of a change is given "
        "without sign and its direction in words; the tables keep the signs (post − pre).",
    ),
    (
        "Reliable change",
        "RCI (Jacobson & Truax) = (post − pre) / (sd × √2 × √(1 − r_xx)), r_xx the "
        "instrument's published reliability, else Cronbach's alpha at the first wave, and sd the "
        "instrument's normative SD (norm_sd) when its definition gives one (the table's note says "
        "so), else the group's SD at pre; reliable when |RCI| > 1.96; improvement follows the "
        "measure's direction (higher or lower is better); percentages are of the n complete pairs. "
        "With a normative mean too, criterion c = (sd_pre × norm_mean + norm_sd × mean_pre) / "
        "(sd_pre + norm_sd), and a participant reliably improved who crosses c counts as recovered.",
    ),
    (
        "Arm comparison",
        "ANCOVA by OLS, post ~ pre + arm, treatment coding against the reference arm "
        "(control, else the first alphabetically); adjusted difference with 95 % CI; partial η² = "
        "SS_arm / (SS_arm + SS_error); Morris (2008) d_ppc2 with the CI from his variance formula.",
    ),
    (
        "Trajectories",
        "Linear mixed model by REML with a random intercept per participant, wave as a "
        "categorical fixed effect and wave × arm with several arms; every available observation is used "
        "(no listwise deletion). t-based p and CIs use the degrees of freedom that "
        "summary(nlme::lme(...)) reports (containment: a term constant within participants gets the "
        "between-participant df, n_participants − its number of such terms − 1; a term varying within "
        "participants the within df, n_obs − n_participants − their number; the intercept the larger "
        "of the two). The omnibus wave × arm test (wave, with one arm) is the Wald F of those "
        "coefficients on their containment df, as nlme's anova(type = \"marginal\"); the REML variance "
        "components and ICC = var(intercept) / (var(intercept) + var(residual)) follow the fixed effects. "
        "The chart shows the model-estimated means with 95 % CIs, each on the smallest df of the "
        "coefficients it adds up.",
    ),
    (
        "Reliability",
        "Cronbach's alpha on complete cases, raw k/(k − 1)·(1 − Σσᵢ²/σ²ₜₒₜ) and "
        "standardized, Feldt 95 % CI from the F distribution; McDonald's omega total (Σλ)²/((Σλ)² + Σψ) "
        "from a one-factor maximum-likelihood model (3 or more items).",
    ),
    (
        "Participant flow",
        "A participant completed a wave when at least one questionnaire of that wave "
        "is stored for them; withdrawn counts those formally withdrawn (with date and reason) who did not "
        "answer the wave.",
    ),
    (
        "Small cells",
        f"In the characteristics table counts from 1 to {SMALL_CELL - 1} are shown as "
        f'"< {SMALL_CELL}", and where one hidden cell could be worked out from a total, the next '
        'smallest count in its row or column is hidden too ("suppressed"). Ages are summarised only '
        f"when {SMALL_CELL} or more are recorded; an age missing from the roster is taken as the "
        "enrolment year minus the birth year.",
    ),
    (
        "Missing values",
        'A statistic that cannot be computed is shown as "—" with the reason in the row\'s note.',
    ),
]


def software_versions() -> list[dict]:
    """Python and the packages whose code produced the numbers and the report."""
    import platform
    from importlib import metadata

    import tracker

    out = [
        {"name": "prepost-tracker", "version": tracker.__version__},
        {"name": "Python", "version": platform.python_version()},
    ]
    for dist in ("numpy", "pandas", "scipy", "matplotlib", "jinja2", "sqlalchemy"):
        try:
            out.append({"name": dist, "version": metadata.version(dist)})
        except metadata.PackageNotFoundError:
            out.append({"name": dist, "version": "not installed"})
    return out


# -- the whole context ----------------------------------------------------------------------


def _change_text(event: dict) -> str:
    """One audit event's change in words for the provenance table.

    A participant's demographics are named, not shown: the report is shared and
    an individual's values are not for it (the audit itself holds them).
    """
    before, after = event["before"] or {}, event["after"] or {}
    if event["action"] == "import":
        n, v = after.get("administrations_changed", 0), after.get("values_changed", 0)
        return (f"--update changed {n:,} administration{'s' if n != 1 else ''} "
                f"({v:,} item value{'s' if v != 1 else ''})")
    if event["action"] == "delete":
        return "removed"
    if event["action"] == "reinstate":
        return f"withdrawal of {before.get('withdrawn_on')} undone"
    shown = []
    for f in [k for k in after if k != "source"]:
        if event["entity"] == "participant" and f not in ("cohort", "enrolled"):
            shown.append(f"{f} changed")
        elif f == "order":
            shown.append(f"wave order {', '.join(before.get(f) or [])} → {', '.join(after.get(f) or [])}")
        else:
            old, new = before.get(f), after.get(f)
            shown.append(f"{f} {'—' if old is None else old} → {'—' if new is None else new}")
    text = "; ".join(shown)
    return f"{text} (from {after['source']})" if after.get("source") else text


def _corrections(events: list[dict]) -> list[dict]:
    return [
        {"at": e["at"].replace("T", " ").replace("Z", " UTC"), "user": e["user"], "action": e["action"],
         "entity": e["entity"].replace("_", " "), "key": e["key"] or "", "change": _change_text(e)}
        for e in events
    ]


def build_context(
    data: StudyData,
    *,
    generated_at: dt.datetime | None = None,
    instruments: list[dict] | None = None,
    database: str | None = None,
    corrections: list[dict] | None = None,
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
    corrections
        Audit records (:func:`tracker.study.audit.corrections`) of the corrections
        and ``--update`` changes, listed in the provenance.

    Returns
    -------
    dict
        Keys ``study, generated_at, waves, arms, reference_arm, measures,
        chart_measures, findings, flow, characteristics, completeness,
        reliability, correlations, mediation, change, compare, trajectory, paired,
        planning, methods, provenance``. Analysis tables are lists of records with
        exactly the columns of ``tracker analyze ... --format json`` plus
        ``note``; a section that could not run has ``error`` set to the reason.
    """
    from tracker.analysis.compare import choose_reference_arm
    from tracker.datasets import analyses

    generated_at = generated_at or dt.datetime.now(dt.UTC)
    waves = data.wave_names()
    arms = sorted(data.cohorts["arm"].dropna().unique().tolist())
    reference = choose_reference_arm(arms) if len(arms) >= 2 else None
    measures, info = _measure_info(data)
    chart = _chart_measures(measures)
    has_scores = not data.scores.empty

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
    }
    ctx["flow"] = _flow(data)
    ctx["characteristics"] = _characteristics(data)
    ctx["completeness"] = _completeness(data, measures)

    no_data = "no scores have been imported yet" if not has_scores else None
    rel_rows, rel_error = _run(analyses.reliability, data) if has_scores else ([], no_data)
    ctx["reliability"] = {"rows": rel_rows, "error": rel_error}
    by_key = {(r["measure"], r["wave"]): r for r in rel_rows}
    # the first wave's alphas, passed to the reliable change index (the same numbers it would compute)
    first_alphas = {r["measure"]: float(r["alpha"]) for r in rel_rows
                    if waves and r["wave"] == waves[0] and r["alpha"] is not None and r["alpha"] == r["alpha"]}
    for row in ctx["completeness"]:
        row["reliability"] = by_key.get((row["measure"], row["wave"]))

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

    from tracker.reports.mediation import DEFINITIONS as MEDIATION_DEFINITIONS
    from tracker.reports.mediation import mediation_context, planning_context

    ctx["mediation"], ctx["planning"] = mediation_context(data, info), planning_context(data, info)

    ctx["change"], ctx["compare"] = [], []
    pre = waves[0] if waves else None
    for post in waves[1:]:
        by = "arm" if len(arms) >= 2 else None
        rows, error = (
            _run(analyses.change, data, pre=pre, post=post, by=by, baseline_alphas=first_alphas or None)
            if has_scores else ([], no_data)
        )
        ctx["change"].append({"pre": pre, "post": post, "by": by, "rows": rows, "error": error})
        if len(arms) >= 2:
            rows, error = (
                _run(analyses.compare, data, pre=pre, post=post) if has_scores else ([], no_data)
            )
            ctx["compare"].append({"pre": pre, "post": post, "rows": rows, "error": error})

    if has_scores and len(waves) >= 2:
        traj_rows, traj_error = _run(analyses.trajectory, data)
        means_rows, means_error = _run(analyses.trajectory_means, data)
        means_rows = [r for r in means_rows if r["measure"] in chart]  # what the chart draws
    else:
        traj_rows, means_rows = [], []
        traj_error = means_error = no_data or "trajectories need two or more waves"
    ctx["trajectory"] = {"rows": traj_rows, "means": means_rows, "error": traj_error or means_error}

    ctx["paired"] = _paired(data, chart, pre, waves[1]) if has_scores and len(waves) >= 2 else {}
    ctx["paired_sample"] = PAIRED_SAMPLE
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
