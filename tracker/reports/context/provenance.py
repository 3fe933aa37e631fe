"""The provenance section's corrections: audit events in words (no participant's values)."""

from __future__ import annotations


def _change_text(event: dict) -> str:
    """One audit event's change in words for the provenance table.

    A participant's demographics are named, not shown: the report is shared and
    an individual's values are not for it (the audit itself holds them).
    """
    before, after = event["before"] or {}, event["after"] or {}
    if event["action"] == "import":
        n, v = after.get("administrations_changed", 0), after.get("values_changed", 0)
        return (
            f"--update changed {n:,} administration{'s' if n != 1 else ''} "
            f"({v:,} item value{'s' if v != 1 else ''})"
        )
    if event["action"] == "delete":
        return "removed"
    if event["action"] == "reinstate":
        return f"withdrawal of {before.get('withdrawn_on')} undone"
    shown = []
    for f in [k for k in after if k != "source"]:
        if event["entity"] == "participant" and f not in ("cohort", "enrolled"):
            shown.append(f"{f} changed")
        elif f == "order":
            shown.append(
                f"wave order {', '.join(before.get(f) or [])} → {', '.join(after.get(f) or [])}"
            )
        else:
            old, new = before.get(f), after.get(f)
            shown.append(f"{f} {'—' if old is None else old} → {'—' if new is None else new}")
    text = "; ".join(shown)
    return f"{text} (from {after['source']})" if after.get("source") else text


def _corrections(events: list[dict]) -> list[dict]:
    return [
        {
            "at": e["at"].replace("T", " ").replace("Z", " UTC"),
            "user": e["user"],
            "action": e["action"],
            "entity": e["entity"].replace("_", " "),
            "key": e["key"] or "",
            "change": _change_text(e),
        }
        for e in events
    ]
