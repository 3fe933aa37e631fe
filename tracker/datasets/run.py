"""Which data each analysis reads, and the analyses run on it: what ``tracker analyze`` and the Python API call.

Each analysis loads only what it analyses (at 10,000 participants every item
response is 1.7 million rows, most of a command's time): :func:`load_for`
knows, per analysis, which waves' scores and items to read. The data is read
through a direct DBAPI connection when the database allows (no SQLAlchemy
import: :mod:`tracker.db.reader`), else through a SQLAlchemy session, which
explains any problem (a missing study, an old schema, an unreachable server).

:func:`run_analysis` runs one analysis; :func:`run_all` the five from one read
of the study. Both return DataFrames whose columns are the SPEC's record
fields followed by ``note`` (why a record's numbers are null).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

ANALYSES = ("correlations", "change", "compare", "trajectory", "reliability", "mediation", "plan")
#: What ``analyze all`` runs, in the order it prints them.
ALL_ANALYSES = ("correlations", "change", "compare", "trajectory", "reliability", "mediation")

#: The SPEC's record fields, in order: exactly what ``--format json`` prints and the API returns
#: (followed by ``note``). An analysis may compute more (the report shows the change table's
#: percentages of reliable change, say); those stay out of the records unless an option asks
#: for them (OPT_IN_FIELDS).
RECORD_FIELDS = {
    "correlations": "x y method n r ci_low ci_high p p_adj",
    "change": "measure group n mean_pre sd_pre mean_post sd_post mean_diff sd_diff ci_low ci_high t df p p_adj "
    "wilcoxon_stat wilcoxon_p rank_biserial cohen_dz dz_ci_low dz_ci_high d_av hedges_gav r_pre_post "
    "n_improved n_reliably_improved n_reliably_worse",
    "compare": "measure arm reference_arm n adj_diff ci_low ci_high t p partial_eta_sq d_ppc d_ppc_ci_low "
    "d_ppc_ci_high",
    "trajectory": "measure term estimate se ci_low ci_high p",
    "reliability": "measure wave n k alpha alpha_std ci_low ci_high omega",
    "mediation": "x mediator y wave n a a_se a_p b b_se b_p c c_p c_prime c_prime_p indirect indirect_ci_low "
    "indirect_ci_high indirect_std boot seed",
    "plan": "measure design effect effect_kind r_pre_post alpha power n_per_arm n_total attrition n_to_enrol",
}
RECORD_FIELDS = {kind: fields.split() for kind, fields in RECORD_FIELDS.items()}
#: Fields an option adds: reliability's omega CI with ``boot`` > 0.
OPT_IN_FIELDS = {"reliability": ["omega_ci_low", "omega_ci_high"]}


def records(kind: str, frame):
    """``frame`` with the record fields of ``kind`` (and any opted-in field present), then ``note``."""
    columns = RECORD_FIELDS[kind] + [c for c in OPT_IN_FIELDS.get(kind, []) if c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RuntimeError(f"{kind} result lacks the fields {missing}")
    note = frame["note"] if "note" in frame.columns else None
    out = frame[columns].copy()
    out["note"] = note if note is not None else None
    return out


def _known(names: Sequence[str], *waves: str | None) -> list[str]:
    """The waves that exist (an unknown name is reported by the analysis with the list of waves)."""
    return [w for w in waves if w in names]


def _wanted(
    kind: str, names: list[str], opts: dict[str, Any]
) -> tuple[list[str] | None, list[str] | None, bool]:
    """(score waves, item waves, reliable-change items) that ``kind`` reads, given the study's waves."""
    if kind == "correlations":
        return _known(names, opts.get("wave") or (names or [None])[0]), [], False
    if kind in ("change", "compare"):
        return _known(names, opts.get("pre"), opts.get("post")), [], kind == "change"
    if kind == "trajectory":
        return None, [], False
    if kind == "reliability":
        wave = opts.get("wave")
        return [], None if wave is None else _known(names, wave), False
    if kind == "mediation":
        from tracker.datasets.mediation import mediation_waves

        return (
            mediation_waves(
                names,
                x=opts.get("x"),
                wave=opts.get("wave"),
                pre=opts.get("pre"),
                post=opts.get("post"),
            ),
            [],
            False,
        )
    if kind == "plan":
        return _known(names, opts.get("pre"), opts.get("post")), [], False
    if (
        kind == "all"
    ):  # every wave's scores; the reliability wave's items and the first wave's (the RCI)
        wave = opts.get("wave")
        return None, None if wave is None else _known(names, wave, *names[:1]), False
    raise ValueError(f"unknown analysis {kind!r}")


def load_for(kind: str, url: str | None = None, study: str | None = None, **opts):
    """The :class:`~tracker.datasets.StudyData` that analysis ``kind`` needs.

    ``kind`` is one of :data:`ANALYSES` or ``"all"``; ``opts`` the analysis's
    own options (``wave``, ``pre``, ``post``) that decide which waves are read.
    ``url`` as ``--db`` (None: ``$TRACKER_DATABASE_URL``, else ``./tracker.db``);
    ``study`` a study name (None: the only study).
    """
    from tracker.db.listing import with_reader

    return with_reader(url, study, lambda reader, ref: _read(reader, ref, kind, opts))


def _read(reader, study, kind: str, opts: dict[str, Any]):
    from tracker.datasets import load_study_data
    from tracker.datasets.analyses import rci_alpha_instruments
    from tracker.db.read_store import wave_names

    names = wave_names(reader, study.id)
    scores, items, rci = _wanted(kind, names, opts)
    instruments = None
    if (
        rci and names
    ):  # the first wave's items of the instruments whose reliable change needs their alpha
        items, instruments = names[:1], rci_alpha_instruments
    return load_study_data(
        reader,
        study,
        score_waves=scores,
        item_waves=items,
        item_instruments=instruments,
        administrations=False,
        score_counts=False,
    )


def _call(kind: str, data, opts: dict[str, Any]):
    from tracker.datasets import analyses
    from tracker.datasets import mediation as models

    functions: dict[str, Callable] = {
        "correlations": lambda: analyses.correlations(
            data,
            wave=opts.get("wave"),
            method=opts.get("method", "pearson"),
            adjust=opts.get("adjust", "holm"),
        ),
        "change": lambda: analyses.change(
            data,
            pre=opts["pre"],
            post=opts["post"],
            by=opts.get("by"),
            adjust=opts.get("adjust", "holm"),
        ),
        "compare": lambda: analyses.compare(data, pre=opts["pre"], post=opts["post"]),
        "trajectory": lambda: analyses.trajectory(data, measure=opts.get("measure")),
        "reliability": lambda: analyses.reliability(
            data, wave=opts.get("wave"), boot=opts.get("boot", 0), seed=opts.get("seed", 1)
        ),
        "mediation": lambda: models.mediation(
            data,
            x=opts.get("x"),
            mediators=opts.get("mediators"),
            y=opts.get("y"),
            wave=opts.get("wave"),
            pre=opts.get("pre"),
            post=opts.get("post"),
            **_given(opts, "boot", "seed"),
        ),
        "plan": lambda: models.plan(
            data,
            pre=opts["pre"],
            post=opts["post"],
            measure=opts.get("measure"),
            **_given(opts, "power", "alpha", "effect", "attrition"),
        ),
    }
    return functions[kind]()


def _given(opts: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: opts[n] for n in names if opts.get(n) is not None}


def run_analysis(kind: str, url: str | None = None, study: str | None = None, **opts):
    """Load what analysis ``kind`` needs and run it: the DataFrame behind ``tracker analyze KIND``.

    Options per analysis (as the command's): correlations ``wave, method,
    adjust``; change ``pre, post, by, adjust``; compare ``pre, post``;
    trajectory ``measure``; reliability ``wave, boot, seed``; mediation ``x,
    mediators, y, wave, pre, post, boot, seed``; plan ``pre, post, measure,
    power, alpha, effect, attrition``. Returns the records (:func:`records`).
    """
    if kind not in ANALYSES:
        raise ValueError(f"unknown analysis {kind!r}; one of {', '.join(ANALYSES)}")
    return records(kind, _call(kind, load_for(kind, url, study, **opts), opts))


@dataclass
class AllResults:
    """The five analyses of one snapshot: ``results[kind]`` a DataFrame; ``skipped[kind]`` why one is absent."""

    results: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def run_all(
    url: str | None = None,
    study: str | None = None,
    *,
    pre: str,
    post: str,
    wave: str | None = None,
    by: str | None = None,
    method: str = "pearson",
    adjust: str = "holm",
    boot: int = 5000,
    seed: int = 1,
    data=None,
    analyses: Sequence[str] | None = None,
) -> AllResults:
    """The analyses from one read of the study (one snapshot): ``tracker analyze all``.

    Correlations and reliability at ``wave`` (default: the first wave for
    correlations, every wave for reliability), change and compare from ``pre``
    to ``post``, trajectory over every wave and measure, and the mediation
    model of the roles at ``wave`` (``boot`` resamples, ``seed``). A study with
    one arm has no comparison, one without model roles no mediation:
    ``skipped[kind]`` says why. ``data``: an already
    loaded StudyData holding every wave's scores (and the items needed).
    ``analyses``: the ones to run (names of :data:`ALL_ANALYSES`; None: every one);
    each gives the same records as when all are run.

    The reliable change index of ``change`` uses the first wave's alphas; when
    reliability is computed at that wave they are passed on explicitly rather
    than computed twice.
    """
    from tracker.datasets import analyses as run
    from tracker.errors import AnalysisError

    wanted = set(ALL_ANALYSES) if analyses is None else set(check_analyses(analyses))
    opts = {"pre": pre, "post": post, "wave": wave, "by": by, "method": method, "adjust": adjust}
    if data is None:
        data = load_for("all", url, study, **opts)
    out = AllResults()
    if "reliability" in wanted:
        out.results["reliability"] = run.reliability(data, wave=wave)
    if "correlations" in wanted:
        out.results["correlations"] = run.correlations(
            data, wave=wave, method=method, adjust=adjust
        )
    if "change" in wanted:
        first = data.wave_names()[:1]
        alphas = (
            run.alphas_at(out.results["reliability"], first[0])
            if "reliability" in out.results and first and (wave is None or wave == first[0])
            else None
        )
        out.results["change"] = run.change(
            data, pre=pre, post=post, by=by, adjust=adjust, baseline_alphas=alphas
        )
    if "compare" in wanted:
        try:
            out.results["compare"] = run.compare(data, pre=pre, post=post)
        except AnalysisError as exc:
            if data.cohorts["arm"].nunique() >= 2:
                raise
            out.skipped["compare"] = str(exc)
    if "trajectory" in wanted:
        out.results["trajectory"] = run.trajectory(data)
    if "mediation" in wanted:
        try:  # the model's roles: each modifiable measure, the intermediate ones, each outcome
            from tracker.datasets.mediation import mediation

            out.results["mediation"] = mediation(data, wave=wave, boot=boot, seed=seed)
        except AnalysisError as exc:
            out.skipped["mediation"] = str(exc)
    out.results = {kind: records(kind, frame) for kind, frame in out.results.items()}
    return out


def check_analyses(names: Sequence[str]) -> list[str]:
    """``names`` in :data:`ALL_ANALYSES` order; an unknown or repeated name is an error."""
    from tracker.errors import TrackerError

    unknown = [n for n in names if n not in ALL_ANALYSES]
    if unknown or not names:
        raise TrackerError(
            f"unknown analysis {', '.join(map(repr, unknown))}; analyses: {', '.join(ALL_ANALYSES)}"
            if unknown
            else f"no analysis named; analyses: {', '.join(ALL_ANALYSES)}"
        )
    return [n for n in ALL_ANALYSES if n in names]
