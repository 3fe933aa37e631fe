"""The key findings, in sentences, from the analysis records of the context.

The rules (SPEC "Report scope and honesty"):

* A change or a difference is called *clear* only when its multiplicity-adjusted
  p (Holm, within its family -- the primary outcomes, or the exploratory
  measures -- and within its arm) is below .05, and the sentence names the
  family and gives that p. A 95 % CI that excludes 0 while the adjusted p does
  not is said so ("but not clearly once adjusted for ...").
* Fewer than :data:`SMALL_N` complete pairs (or participants) add a caution.
* A result that cannot be estimated, or a measure that did not vary, gets a
  plain sentence ("no change", "could not be estimated: ..."), never a
  programme's note.

Each finding is a dict ``kind, text, measure, arm, family, clear, caution`` so
that tests and notebooks can check what was claimed without parsing sentences.
"""

from __future__ import annotations

from tracker.reports.context.scope import EXPLORATORY, PRIMARY

SMALL_N = 10  # fewer complete pairs than this: the sentence carries a caution
ALPHA = 0.05


def _n(value: float | None, digits: int) -> str:
    from tracker.reports.render import fmt_num

    return fmt_num(value, digits)


def _p(value: float | None) -> str:
    from tracker.reports.render import fmt_p

    text = fmt_p(value)
    return f"p {text}" if text.startswith(("<", ">")) else f"p = {text}"


def _size(
    est: float, low: float | None, high: float | None
) -> tuple[float, float | None, float | None]:
    """An estimate and its CI on the scale of its size: signs flipped when it is negative."""
    if est >= 0:
        return est, low, high
    return -est, (None if high is None else -high), (None if low is None else -low)


def family_phrase(family: str, size: int | None, declared: bool) -> str:
    """How a sentence names the multiplicity family of its p-value."""
    k = f" {size}" if size else ""
    if family == PRIMARY:
        return f"primary outcome; Holm over the{k} primary outcome{'s' if size != 1 else ''}"
    if declared:
        return f"exploratory; Holm over the{k} exploratory measures"
    return f"exploratory, no primary outcomes declared; Holm over all{k} measures"


def _caution(n: int | None, what: str = "complete pairs") -> str:
    if n is None or n >= SMALL_N:
        return ""
    return (
        f" Caution: only {n} {what} (fewer than {SMALL_N}); with so few, the estimate is "
        "unstable and better read as a description than as evidence."
    )


def _reason(row: dict, pre: str, post: str) -> str:
    note = row.get("note") or ""
    n = row.get("n") or 0
    if "fewer than" in note and "complete pairs" in note:
        return f"only {n} participant{'s' if n != 1 else ''} answered at both {pre} and {post}"
    if "not recorded at wave" in note or "no participant has scores" in note:
        return note
    return "too few complete pairs"


def _where(row: dict, pre: str, post: str, group_key: str = "group") -> str:
    group = row[group_key]
    arm = "" if group in (None, "all") else f" in the {group} arm"
    return f"from {pre} to {post}{arm}"


def change_finding(row: dict, info: dict, pre: str, post: str, declared: bool) -> dict:
    """The sentence (and what it claims) for one row of the change table."""
    label, digits = info["label"], info["digits"]
    where = _where(row, pre, post)
    n = row["n"]
    out = {
        "kind": "change",
        "measure": row["measure"],
        "arm": row["group"],
        "family": row.get("family", EXPLORATORY),
        "clear": False,
        "caution": n is not None and n < SMALL_N,
    }
    diff, lo, hi, dz, p_adj = (
        row["mean_diff"],
        row["ci_low"],
        row["ci_high"],
        row["cohen_dz"],
        row["p_adj"],
    )
    if diff is None:
        out["caution"] = False
        out["text"] = (
            f"{label}: the change {where} could not be estimated ({_reason(row, pre, post)})."
        )
        return out
    if lo is None or hi is None:  # the differences do not vary: no test, no interval
        if abs(diff) < 1e-10:
            text = (
                f"{label}: no change {where}; each of the {n} participants scored the same at "
                f"{post} as at {pre}."
            )
        else:
            text = (
                f"{label}: every one of the {n} participants changed by the same "
                f"{_n(abs(diff), digits)} points {where} ({'up' if diff > 0 else 'down'}); with no "
                "spread there is no test and no confidence interval."
            )
        out["text"] = text + _caution(n)
        return out
    fam = family_phrase(out["family"], row.get("family_size"), declared)
    adjusted = f"{fam}: {_p(p_adj).replace('p ', 'p(Holm) ', 1)}"
    verb = "rose" if diff > 0 else "fell"
    better = (diff > 0) == bool(info["higher_is_better"])
    size, lo_abs, hi_abs = _size(diff, lo, hi)
    dz_text = f"dz = {_n(abs(dz) if dz is not None else None, 2)}"
    moved = (
        f"{label} {verb} by {_n(size, digits)} points (95 % CI {_n(lo_abs, digits)} to "
        f"{_n(hi_abs, digits)}; {dz_text}) {where}, n = {n}"
    )
    if p_adj is not None and p_adj < ALPHA:
        out["clear"] = True
        text = f"{moved} — {'an improvement' if better else 'a worsening'}, clear after adjustment ({adjusted})."
    elif not (lo <= 0 <= hi):
        text = f"{moved}, but not clearly once adjusted for multiplicity ({adjusted})."
    else:
        text = (
            f"{label} did not change clearly {where}, n = {n}: mean change {_n(diff, digits)} "
            f"points (95 % CI {_n(lo, digits)} to {_n(hi, digits)}; dz = {_n(dz, 2)}; {adjusted})."
        )
    out["text"] = text + _caution(n)
    return out


def compare_finding(row: dict, info: dict, pre: str, post: str, declared: bool) -> dict:
    """The sentence (and what it claims) for one row of the arm-comparison table."""
    label, digits = info["label"], info["digits"]
    adj, lo, hi, p_adj, n = (
        row["adj_diff"],
        row["ci_low"],
        row["ci_high"],
        row.get("p_adj"),
        row["n"],
    )
    head = f"At {post}, adjusted for {pre} scores"
    lower = label[:1].lower() + label[1:]
    out = {
        "kind": "compare",
        "measure": row["measure"],
        "arm": row["arm"],
        "family": row.get("family", EXPLORATORY),
        "clear": False,
        "caution": n is not None and n < SMALL_N,
    }
    if adj is None or lo is None or hi is None:
        out["caution"] = False
        note = row["note"] or ""
        if "constant" in note or "zero variance" in note:
            reason = (
                f"its scores at {pre} did not vary, so there is nothing to adjust for or compare"
            )
        elif "not recorded at wave" in note:
            reason = note
        else:
            reason = f"too few participants with scores at both {pre} and {post} (n = {n or 0})"
        out["text"] = f"{head}, {lower} could not be compared between arms: {reason}."
        return out
    fam = family_phrase(out["family"], row.get("family_size"), declared)
    adjusted = f"{fam}: {_p(p_adj).replace('p ', 'p(Holm) ', 1)}"
    tail = f"partial η² = {_n(row['partial_eta_sq'], 2)}; n = {n}"
    if p_adj is not None and p_adj < ALPHA:
        out["clear"] = True
        favours = (adj > 0) == bool(info["higher_is_better"])
        size, lo_abs, hi_abs = _size(adj, lo, hi)
        d_abs = None if row["d_ppc"] is None else abs(row["d_ppc"])
        text = (
            f"{head}, {lower} in the {row['arm']} arm was {_n(size, digits)} points "
            f"{'higher' if adj > 0 else 'lower'} than in the {row['reference_arm']} arm (95 % CI "
            f"{_n(lo_abs, digits)} to {_n(hi_abs, digits)}; d_ppc = {_n(d_abs, 2)}; {tail}), clearly "
            f"in favour of the {row['arm'] if favours else row['reference_arm']} arm ({adjusted})."
        )
    elif not (lo <= 0 <= hi):
        text = (
            f"{head}, {lower} differed between the {row['arm']} and {row['reference_arm']} arms by "
            f"{_n(adj, digits)} points (95 % CI {_n(lo, digits)} to {_n(hi, digits)}; d_ppc = "
            f"{_n(row['d_ppc'], 2)}; {tail}), but not clearly once adjusted for multiplicity ({adjusted})."
        )
    else:
        text = (
            f"{head}, the {row['arm']} and {row['reference_arm']} arms did not differ clearly in "
            f"{lower}: adjusted difference {_n(adj, digits)} points (95 % CI {_n(lo, digits)} to "
            f"{_n(hi, digits)}; d_ppc = {_n(row['d_ppc'], 2)}; {tail}; {adjusted})."
        )
    out["text"] = text + _caution(n, "participants with both scores")
    return out


def _correlation_findings(rows: list[dict], info: dict[str, dict], wave: str) -> list[dict]:
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
    if top["ci_low"] is None or top["ci_high"] is None:
        interval = f"n = {top['n']}, too few for a confidence interval"
    else:
        interval = f"95 % CI {_n(top['ci_low'], 2)} to {_n(top['ci_high'], 2)}, n = {top['n']}"
    adjusted = _p(top["p_adj"]).replace("p ", "p(Holm) ", 1)
    out.append(
        {
            "kind": "correlation",
            "measure": top["x"],
            "arm": None,
            "family": None,
            "clear": top["p_adj"] is not None and top["p_adj"] < ALPHA,
            "caution": top["n"] < SMALL_N,
            "text": (
                f"At {wave}, the strongest correlation was between {info[top['x']]['label'].lower()} and "
                f"{info[top['y']]['label'].lower()}: r = {_n(top['r'], 2)} ({interval}; {adjusted} over "
                f"the {len(rows)} pairs of the matrix)." + _caution(top["n"], "participants")
            ),
        }
    )
    n_min = min(r["n"] for r in usable)
    for m, i in info.items():
        mine = [r["r"] for r in usable if m in (r["x"], r["y"])]
        text = None
        if len(mine) >= 2 and all(r < 0 for r in mine):
            text = (
                f"{i['label']} correlated negatively with every other measure of the model at {wave} "
                f"(r from {_n(max(mine), 2)} to {_n(min(mine), 2)})."
            )
        elif len(mine) >= 2 and all(r > 0 for r in mine) and i["role"] == "outcome":
            text = (
                f"{i['label']} correlated positively with every other measure of the model at {wave} "
                f"(r from {_n(min(mine), 2)} to {_n(max(mine), 2)})."
            )
        if text:
            out.append(
                {
                    "kind": "correlation",
                    "measure": m,
                    "arm": None,
                    "family": None,
                    "clear": None,
                    "caution": n_min < SMALL_N,
                    "text": text + _caution(n_min, "participants"),
                }
            )
    return out


def _findings(ctx: dict, info: dict[str, dict]) -> list[dict]:
    findings: list[dict] = []
    fam = ctx["families"]
    declared = bool(fam["primary"])
    # worded: the primary outcomes first, then the charted measures (the model's, else totals)
    worded = list(dict.fromkeys(fam["primary"] + ctx["chart_measures"]))
    rank = {m: i for i, m in enumerate(worded)}
    ref = ctx["reference_arm"]

    def ordered(rows):
        return sorted((r for r in rows if r["measure"] in rank), key=lambda r: rank[r["measure"]])

    if ctx["change"]:
        first = ctx["change"][0]
        pre, post = first["pre"], first["post"]
        rows = ordered(first["rows"])
        for row in rows:
            if row["group"] != ref:
                findings.append(change_finding(row, info[row["measure"]], pre, post, declared))
        control = [
            change_finding(r, info[r["measure"]], pre, post, declared)
            for r in rows
            if r["group"] == ref
        ]
        if control and ref is not None:
            clear = [f for f in control if f["clear"]]
            if not clear:
                findings.append(
                    {
                        "kind": "change",
                        "measure": None,
                        "arm": ref,
                        "family": None,
                        "clear": False,
                        "caution": False,
                        "text": (
                            f"In the {ref} arm no measure changed clearly from {pre} to {post} "
                            "(no Holm-adjusted p below .05, in either family)."
                        ),
                    }
                )
            findings.extend(clear)
    for block in ctx["compare"][:1]:
        for row in ordered(block["rows"]):
            findings.append(
                compare_finding(row, info[row["measure"]], block["pre"], block["post"], declared)
            )
    if len(ctx["compare"]) > 1:
        last = ctx["compare"][-1]
        rows = [r for r in ordered(last["rows"]) if r["ci_low"] is not None]
        for arm in dict.fromkeys(r["arm"] for r in rows):
            mine = [r for r in rows if r["arm"] == arm]
            ahead = [
                r
                for r in mine
                if r.get("p_adj") is not None
                and r["p_adj"] < ALPHA
                and (r["adj_diff"] > 0) == bool(info[r["measure"]]["higher_is_better"])
            ]
            text = (
                f"At {last['post']}, adjusted for {last['pre']}, the {arm} arm was still clearly ahead of "
                f"the {mine[0]['reference_arm']} arm (Holm-adjusted p below .05 in its family) on "
                f"{len(ahead)} of {len(mine)} measures"
            )
            sized = []
            for r in ahead:
                if r["d_ppc"] is None:
                    continue
                sized.append(
                    f"{info[r['measure']]['label'].lower()} (d_ppc = {_n(abs(r['d_ppc']), 2)}; "
                    f"{r['family']}, {_p(r['p_adj']).replace('p ', 'p(Holm) ', 1)})"
                )
            n_min = min(r["n"] for r in mine)
            findings.append(
                {
                    "kind": "compare",
                    "measure": None,
                    "arm": arm,
                    "family": None,
                    "clear": bool(ahead),
                    "caution": n_min < SMALL_N,
                    "text": text
                    + (": " + "; ".join(sized) if sized else "")
                    + "."
                    + _caution(n_min, "participants with both scores"),
                }
            )
    corr = ctx["correlations"]
    findings.extend(_correlation_findings(corr["rows"], info, corr["wave"] or ""))
    return findings
