"""The key findings, in sentences, from the analysis records of the context."""

from __future__ import annotations


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
