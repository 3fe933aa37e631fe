"""What a report covers: cohorts, the wave pair, primary outcomes, subscales.

``tracker report --cohort NAME... --from W1 --to W2 --primary M1,M2 --no-subscales``
becomes a :class:`ReportScope`. :func:`apply_scope` narrows a loaded study to it
(the analyses then run on the narrowed data, as they would on a study that only
held those cohorts and measures); :func:`comparisons` names the wave pairs the
change and arm-comparison sections show; :func:`families` splits the measures
into the two multiplicity families.

Decisions where the SPEC is silent:

* ``--from`` alone compares that wave with every later wave; ``--to`` alone
  compares the first wave with it; both: that pair only. ``--to`` must come
  after ``--from`` in the study's wave order.
* Without primary outcomes (none marked with ``tracker model set ... --primary``
  nor given with ``--primary``) every measure is exploratory, in one family.
* ``--primary`` replaces the marked primary outcomes for this report (it does not
  add to them); the measures must exist in the report (not dropped by
  ``--no-subscales``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.datasets import StudyData
from tracker.errors import NotFound, TrackerError

PRIMARY = "primary"
EXPLORATORY = "exploratory"


@dataclass(frozen=True)
class ReportScope:
    """The part of a study a report shows (the defaults: everything)."""

    cohorts: tuple[str, ...] = ()
    pre: str | None = None
    post: str | None = None
    primary: tuple[str, ...] | None = None  # None: the measures marked primary in the study
    subscales: bool = True

    def describe(self) -> list[str]:
        """The scope in words, one phrase per option given (empty: the whole study)."""
        out = []
        if self.cohorts:
            out.append(
                ("cohort " if len(self.cohorts) == 1 else "cohorts ") + ", ".join(self.cohorts)
            )
        if self.pre or self.post:
            out.append(f"waves {self.pre or 'first'} → {self.post or 'each later wave'}")
        if not self.subscales:
            out.append("instrument totals only (subscales left out)")
        return out


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) or "none"


def apply_scope(data: StudyData, scope: ReportScope) -> StudyData:
    """``data`` narrowed to the scope's cohorts and measures (a new StudyData; ``data`` is untouched).

    Raises :class:`~tracker.errors.NotFound` for a cohort or wave the study does not have.
    """
    known_cohorts = list(data.cohorts["cohort"])
    for name in scope.cohorts:
        if name not in known_cohorts:
            raise NotFound(f"--cohort {name!r}: no such cohort; cohorts: {_listed(known_cohorts)}")
    waves = data.wave_names()
    for option, wave in (("--from", scope.pre), ("--to", scope.post)):
        if wave is not None and wave not in waves:
            raise NotFound(f"{option} {wave!r}: no such wave; waves: {_listed(waves)}")
    if (
        scope.pre is not None
        and scope.post is not None
        and (waves.index(scope.post) <= waves.index(scope.pre))
    ):
        raise TrackerError(
            f"--to {scope.post!r} must be a later wave than --from {scope.pre!r}; "
            f"the waves in order: {_listed(waves)}"
        )
    if not scope.cohorts and scope.subscales:
        return data
    changes: dict = {}
    if scope.cohorts:
        keep = set(scope.cohorts)
        changes["cohorts"] = data.cohorts[data.cohorts["cohort"].isin(keep)].reset_index(drop=True)
        for name in ("participants", "scores", "keyed_items", "administrations"):
            frame = getattr(data, name)
            if frame is not None:
                changes[name] = frame[frame["cohort"].isin(keep)].reset_index(drop=True)
    if not scope.subscales:
        totals = [m for m in data.measures["measure"] if "." not in m]
        changes["measures"] = data.measures[data.measures["measure"].isin(totals)].reset_index(
            drop=True
        )
        for name in ("scores", "keyed_items"):
            frame = changes.get(name, getattr(data, name))
            changes[name] = frame[frame["measure"].isin(totals)].reset_index(drop=True)
    # derived values of the whole study (alphas, fitted models) do not hold for a part of it
    return dataclasses.replace(data, **changes, cache={})


def comparisons(waves: list[str], scope: ReportScope) -> list[tuple[str, str]]:
    """The (pre, post) wave pairs of the change and arm-comparison sections."""
    if len(waves) < 2:
        return []
    pre = scope.pre or waves[0]
    if scope.post is not None:
        return [(pre, scope.post)]
    return [(pre, w) for w in waves[waves.index(pre) + 1 :]]


def families(measures: list[str], primary: Sequence[str]) -> dict[str, str]:
    """Measure → family: ``primary`` for the primary outcomes, ``exploratory`` for the rest.

    Raises :class:`~tracker.errors.NotFound` for a primary outcome that is not among ``measures``.
    """
    for m in primary:
        if m not in measures:
            raise NotFound(
                f"primary outcome {m!r} is not a measure of this report; measures: "
                f"{_listed(measures)}"
            )
    return {m: PRIMARY if m in primary else EXPLORATORY for m in measures}


def adjust_by_family(rows: list[dict], family: dict[str, str], group: str) -> None:
    """Set each row's ``p_adj`` to its p Holm-adjusted within its family and ``group`` (in place).

    Also sets ``family`` and ``family_size`` (how many p-values the adjustment counted).
    With one family this is the adjustment ``tracker analyze change`` makes (across the
    measures of a group); with two, each family is adjusted on its own.
    """
    from tracker.analysis import adjust_p

    buckets: dict[tuple, list[dict]] = {}
    for r in rows:
        r["family"] = family.get(r["measure"], EXPLORATORY)
        buckets.setdefault((r[group], r["family"]), []).append(r)
    for members in buckets.values():
        p = [float("nan") if r["p"] is None else r["p"] for r in members]
        adjusted = adjust_p(p, "holm")
        size = sum(1 for v in p if v == v)
        for r, value in zip(members, adjusted, strict=True):
            r["p_adj"] = None if value != value else float(value)
            r["family_size"] = size
