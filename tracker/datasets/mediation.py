"""The conceptual model tested (``tracker analyze mediation``) and the next study planned (``tracker plan``).

Each function takes a :class:`~tracker.datasets.StudyData`, chooses what the
SPEC says from the study's model roles and waves, and calls the pure functions
of :mod:`tracker.analysis.mediation` and :mod:`tracker.analysis.power`. The CLI,
the report and ``analyze all`` call these, so they print the same numbers.

Choices made here (the SPEC is silent):

* Without ``x`` / ``mediators`` / ``y``, each defaults to its model role on its
  own: every ``modifiable`` measure as X, the ``intermediate`` measures together
  as parallel mediators, every ``outcome`` as Y; one model per X x Y.
* ``x = "arm"`` is the intervention form and needs ``pre`` and ``post``; the
  cross-sectional form takes ``wave`` (default the first wave). Mixing them
  (``--wave`` with ``--x arm``, ``--from`` with a measure as X) is refused.
* ``plan`` uses every measure unless one is named; its effects come from the
  same change and comparison analyses as ``analyze change --by arm`` and
  ``analyze compare``.
"""

from __future__ import annotations

import pandas as pd

from tracker.analysis.mediation import DEFAULT_BOOT, DEFAULT_SEED, mediation_arms
from tracker.analysis.mediation import mediation as cross_sectional
from tracker.analysis.power import plan_next_study
from tracker.datasets.loaders import StudyData
from tracker.errors import AnalysisError, NotFound

ARM = "arm"
ROLE_HINT = "set roles with `tracker model set MEASURE ROLE`"


def _names(value) -> list[str] | None:
    """None, or the names of a list or a comma-separated string (blanks dropped)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip() for v in items if str(v).strip()]
    return names or None


def _with_role(data: StudyData, role: str) -> list[str]:
    roles = dict(zip(data.measures["measure"], data.measures["role"], strict=True))
    return [m for m in data.measure_order() if roles.get(m) == role]


def _check_measures(data: StudyData, names: list[str]) -> None:
    known = data.measure_order()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NotFound(
            f"no measure {', '.join(map(repr, unknown))}; measures: "
            f"{', '.join(known) or 'none (add instruments)'}"
        )


def _check_wave(data: StudyData, wave: str, option: str) -> None:
    if wave not in data.wave_names():
        raise NotFound(
            f"no wave named {wave!r} ({option}); waves: {', '.join(data.wave_names()) or 'none yet'}"
        )


def model_parts(
    data: StudyData, *, x=None, mediators=None, y=None
) -> tuple[list[str], list[str], list[str]]:
    """X, mediators and Y of the model: as given, else from the model roles."""
    xs, ms, ys = _names(x), _names(mediators), _names(y)
    if xs is None:
        xs = _with_role(data, "modifiable")
        if not xs:
            raise AnalysisError(
                f"no measure has the model role modifiable to serve as X: {ROLE_HINT}, or give --x"
            )
    if ms is None:
        ms = _with_role(data, "intermediate")
        if not ms:
            raise AnalysisError(
                f"no measure has the model role intermediate to serve as a mediator: {ROLE_HINT}, "
                "or give --m"
            )
    if ys is None:
        ys = _with_role(data, "outcome")
        if not ys:
            raise AnalysisError(
                f"no measure has the model role outcome to serve as Y: {ROLE_HINT}, or give --y"
            )
    _check_measures(data, [m for m in xs if m != ARM] + ms + ys)
    return xs, ms, ys


def mediation_waves(wave_names: list[str], *, x=None, wave=None, pre=None, post=None) -> list[str]:
    """The waves whose scores :func:`mediation` reads (for a loader that reads only those)."""
    if _names(x) == [ARM]:
        return [w for w in (pre, post) if w in wave_names]
    chosen = wave or (wave_names[0] if wave_names else None)
    return [chosen] if chosen in wave_names else []


def mediation(
    data: StudyData,
    *,
    x=None,
    mediators=None,
    y=None,
    wave: str | None = None,
    pre: str | None = None,
    post: str | None = None,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """The SPEC's mediation records for the study (see :func:`tracker.analysis.mediation.mediation`).

    ``x = "arm"`` (with ``pre`` and ``post``) runs the intervention form
    (:func:`tracker.analysis.mediation.mediation_arms`); otherwise the
    cross-sectional model at ``wave`` (default: the first wave). Without ``x``,
    ``mediators`` or ``y``, the model roles fill them in.
    """
    fn, kwargs = mediation_call(
        data, x=x, mediators=mediators, y=y, wave=wave, pre=pre, post=post, boot=boot, seed=seed
    )
    return fn(**kwargs)


def mediation_call(
    data: StudyData,
    *,
    x=None,
    mediators=None,
    y=None,
    wave: str | None = None,
    pre: str | None = None,
    post: str | None = None,
    boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
):
    """``(fn, kwargs)``: the pure function of :mod:`tracker.analysis.mediation` and its arguments.

    :func:`mediation` is ``fn(**kwargs)``. The study's choices are checked here
    (raising as :func:`mediation` does); ``kwargs`` holds only the score rows the
    model reads, so the call can run in another process (the report does so).
    """
    xs = _names(x)
    intervention = xs is not None and ARM in xs
    if intervention and xs != [ARM]:
        raise AnalysisError(
            "--x arm is the intervention form on its own; run measures as X separately"
        )
    if intervention:
        if pre is None or post is None:
            raise AnalysisError(
                "--x arm (the intervention form) needs --from WAVE and --to WAVE (the two waves it compares)"
            )
        if wave is not None:
            raise AnalysisError(
                "--wave is for the cross-sectional model; the intervention form uses --from and --to"
            )
        _check_wave(data, pre, "--from")
        _check_wave(data, post, "--to")
        if len(set(data.cohorts["arm"].dropna())) < 2:
            arms = sorted(set(data.cohorts["arm"].dropna()))
            raise AnalysisError(
                f"--x arm compares arms; this study has {len(arms)}"
                + (f" ({arms[0]!r})" if arms else "")
                + ": add a cohort with another --arm"
            )
        _, ms, ys = model_parts(data, x=[ARM], mediators=mediators, y=y)
        data.require(scores=[pre, post])
        scores = _rows(data.scores, ms + ys, [pre, post], ["arm"])
        return mediation_arms, dict(
            scores=scores, pre=pre, post=post, mediators=ms, y=ys, arm="arm", boot=boot, seed=seed
        )
    if pre is not None or post is not None:
        raise AnalysisError(
            "--from and --to are for the intervention form (--x arm); the cross-sectional model "
            "takes --wave"
        )
    if not data.wave_names():
        raise AnalysisError("the study has no waves yet")
    wave = wave or data.wave_names()[0]
    _check_wave(data, wave, "--wave")
    xs, ms, ys = model_parts(data, x=xs, mediators=mediators, y=y)
    data.require(scores=[wave])
    scores = _rows(data.scores, xs + ms + ys, [wave])
    return cross_sectional, dict(
        scores=scores, x=xs, mediators=ms, y=ys, wave=wave, boot=boot, seed=seed
    )


def _rows(
    scores: pd.DataFrame, measures: list[str], waves: list[str], extra: list[str] = ()
) -> pd.DataFrame:
    """The score rows of ``measures`` at ``waves``, with only the columns the mediation model reads."""
    keep = scores["measure"].isin(measures) & scores["wave"].isin(waves)
    return scores.loc[keep, ["participant", "wave", "measure", "score", *extra]]


def planning_measures(data: StudyData) -> list[str]:
    """The report's planning table: the primary outcomes, else the outcome-role measures, else all."""
    m = data.measures
    if "primary" in m.columns and m["primary"].fillna(False).astype(bool).any():
        primary = set(m.loc[m["primary"].fillna(False).astype(bool), "measure"])
        return [x for x in data.measure_order() if x in primary]
    return _with_role(data, "outcome") or data.measure_order()


def plan(
    data: StudyData,
    *,
    pre: str,
    post: str,
    measure: str | list[str] | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    effect="observed",
    attrition="observed",
) -> pd.DataFrame:
    """The SPEC's planning records (see :func:`tracker.analysis.power.plan_next_study`)."""
    _check_wave(data, pre, "--from")
    _check_wave(data, post, "--to")
    if pre == post:
        raise AnalysisError("--from and --to name the same wave; choose two different waves")
    measures = _names(measure) or data.measure_order()
    _check_measures(data, measures)
    data.require(scores=[pre, post])
    scores = data.scores[data.scores["measure"].isin(measures)]
    if scores.empty:
        raise AnalysisError(
            f"no scores at {pre!r} or {post!r} to plan from; import responses first"
        )
    return plan_next_study(
        scores,
        pre,
        post,
        arm="arm",
        measures=measures,
        power=power,
        alpha=alpha,
        effect=effect,
        attrition=attrition,
    )
