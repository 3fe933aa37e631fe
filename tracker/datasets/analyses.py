"""The analyses of ``tracker analyze`` and of the report, on a loaded study.

Each function takes a :class:`~tracker.datasets.StudyData`, chooses the data
the SPEC says (which wave, which measures, which reliability), and calls the
pure function in :mod:`tracker.analysis`. The CLI and the report both call
these, so the numbers in the report are the numbers of ``--format json``.

Choices made here:

* Correlations use the measures given a model role, ordered modifiable →
  intermediate → outcome; when no measure has a role, every measure. The
  other analyses use every measure, in that same order.
* The default wave for correlations is the first wave (the baseline).
* The reliable change index uses the instrument's published ``reliability``,
  else Cronbach's alpha of the measure at the first wave (the baseline), and
  the instrument's normative ``norm_sd`` (with ``norm_mean``: criterion c)
  when the definition declares one, else the group's SD at pre.
"""

from __future__ import annotations

import pandas as pd

from tracker import analysis
from tracker.datasets.loaders import StudyData
from tracker.errors import AnalysisError, NotFound


def _check_wave(data: StudyData, wave: str) -> str:
    if wave not in data.wave_names():
        raise NotFound(
            f"no wave named {wave!r}; waves: {', '.join(data.wave_names()) or 'none yet'}"
        )
    return wave


def _measure_order(data: StudyData) -> list[str]:
    """``data.measure_order()``, worked out once per StudyData (a fresh list each call)."""
    if "measure_order" not in data.cache:
        data.cache["measure_order"] = tuple(data.measure_order())
    return list(data.cache["measure_order"])


def _measures(data: StudyData, measure: str | None = None) -> list[str]:
    ordered = _measure_order(data)
    if measure is not None:
        if measure not in ordered:
            raise NotFound(
                f"no measure {measure!r}; measures: {', '.join(ordered) or 'none (add instruments)'}"
            )
        return [measure]
    return ordered


def model_measures(data: StudyData) -> list[str]:
    """Measures with a model role, in role order; all measures when none has a role."""
    has_role = set(data.measures.dropna(subset=["role"])["measure"])
    with_role = [m for m in _measure_order(data) if m in has_role]
    return with_role or _measure_order(data)


#: the key columns the analyses group and pair by, given to them as categoricals
CODED_COLUMNS = ("participant", "arm", "wave", "measure")


def coded_scores(data: StudyData) -> pd.DataFrame:
    """The scores of every measure the analyses order (``measure_order``), key columns as
    categoricals: what change, compare and trajectory are given (made once per StudyData)."""
    return _scores(data, _measure_order(data))


def _scores(data: StudyData, measures: list[str]) -> pd.DataFrame:
    """The scores of ``measures``, key columns as categoricals; made once per StudyData.

    Categoricals carry the integer codes the analyses pair and group by (their fast
    paths), so the text of 350,000 rows is hashed once rather than in every analysis;
    the values, and so every result, are the same as with the text columns.
    """
    key = ("coded_scores", tuple(measures))
    if key not in data.cache:
        keep = data.scores["measure"].isin(measures)
        rows = data.scores if keep.all() else data.scores[keep]
        coded = [c for c in CODED_COLUMNS if c in rows and pd.api.types.is_string_dtype(rows[c])]
        data.cache[key] = rows.astype(dict.fromkeys(coded, "category"))
    return data.cache[key]


def correlations(
    data: StudyData, *, wave: str | None = None, method: str = "pearson", adjust: str = "holm"
) -> pd.DataFrame:
    """Pairwise correlations among the model's measures at ``wave`` (default: the first)."""
    if not data.wave_names():
        raise AnalysisError("the study has no waves yet")
    wave = _check_wave(data, wave or data.wave_names()[0])
    data.require(scores=[wave])
    measures = model_measures(data)
    at_wave = data.scores[(data.scores["wave"] == wave) & data.scores["measure"].isin(measures)]
    wide = at_wave.pivot(index="participant", columns="measure", values="score")
    wide = wide.reindex(columns=measures)
    return analysis.correlations(wide, measures, method=method, adjust=adjust)


def _published_reliability(measures: pd.DataFrame) -> dict[str, float]:
    return {
        row.measure: float(row.reliability)
        for row in measures.itertuples()
        if row.reliability is not None and pd.notna(row.reliability)
    }


def _declared(measures: pd.DataFrame, column: str) -> dict[str, float]:
    """The instruments' optional norm_mean / norm_sd per measure (the totals that declare one)."""
    if column not in measures:
        return {}
    return {
        row.measure: float(getattr(row, column))
        for row in measures.itertuples()
        if getattr(row, column) is not None and pd.notna(getattr(row, column))
    }


def rci_alpha_instruments(measures: pd.DataFrame) -> list[str]:
    """Instruments with a measure without published reliability: the RCI needs their baseline items.

    ``measures``: a StudyData's ``measures`` table (a loader can ask before it reads items).
    """
    published = _published_reliability(measures)
    return sorted({row.instrument for row in measures.itertuples() if row.measure not in published})


def alphas_at(reliability_table: pd.DataFrame, wave: str) -> dict[str, float]:
    """Each measure's Cronbach's alpha at ``wave`` in a :func:`reliability` table (defined alphas only)."""
    at = reliability_table[(reliability_table["wave"] == wave) & reliability_table["alpha"].notna()]
    return dict(zip(at["measure"], at["alpha"].astype(float), strict=True))


def baseline_reliability(
    data: StudyData, *, alphas: dict[str, float] | None = None
) -> dict[str, float]:
    """r_xx per measure for the RCI: published reliability, else alpha at the first wave.

    ``alphas``: the first wave's alphas when the caller has them already (a
    reliability table of the same data, :func:`alphas_at`); they are what this
    would compute, since a measure's alpha depends on its own items only.
    """
    out = _published_reliability(data.measures)
    missing = [m for m in _measure_order(data) if m not in out]
    if missing and data.wave_names():
        first = data.wave_names()[0]
        if alphas is None:
            data.require(items=[first], instruments=rci_alpha_instruments(data.measures))
            items = data.keyed_items[
                (data.keyed_items["wave"] == first) & data.keyed_items["measure"].isin(missing)
            ]
            rows = analysis.reliability(items, omega=False).itertuples() if not items.empty else ()
            alphas = {row.measure: float(row.alpha) for row in rows if pd.notna(row.alpha)}
        out.update({m: alphas[m] for m in missing if m in alphas})
    return out


def change(
    data: StudyData,
    *,
    pre: str,
    post: str,
    by: str | None = None,
    adjust: str = "holm",
    baseline_alphas: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Paired pre/post change per measure, optionally by ``cohort`` or ``arm``.

    ``baseline_alphas``: the first wave's alphas, when already computed (see
    :func:`baseline_reliability`); the numbers are the same either way.
    """
    _check_wave(data, pre)
    _check_wave(data, post)
    if pre == post:
        raise AnalysisError("--from and --to name the same wave; choose two different waves")
    if by not in (None, "cohort", "arm"):
        raise AnalysisError(f"--by must be cohort or arm, not {by!r}")
    data.require(scores=[pre, post])
    measures = _measures(data)
    hib = dict(
        zip(data.measures["measure"], data.measures["higher_is_better"].astype(bool), strict=True)
    )
    result = analysis.paired_change(
        _scores(data, measures),
        pre,
        post,
        by=by,
        reliability=baseline_reliability(data, alphas=baseline_alphas),
        higher_is_better=hib,
        adjust=adjust,
        norm_sd=_declared(data.measures, "norm_sd"),
        norm_mean=_declared(data.measures, "norm_mean"),
    )
    return _order(result, measures)


def compare(data: StudyData, *, pre: str, post: str) -> pd.DataFrame:
    """ANCOVA (post ~ pre + arm) and Morris's d_ppc2 per measure."""
    _check_wave(data, pre)
    _check_wave(data, post)
    arms = sorted(data.cohorts["arm"].unique())
    if len(arms) < 2:
        raise AnalysisError(
            f"comparing arms needs at least two arms; this study has {len(arms)}"
            + (f" ({arms[0]!r})" if arms else "")
            + ": add a cohort with another --arm"
        )
    data.require(scores=[pre, post])
    measures = _measures(data)
    return _order(analysis.compare_arms(_scores(data, measures), pre, post, arm="arm"), measures)


def _trajectory_fits(data: StudyData, measure: str | None) -> list:
    """The mixed models of every measure (or one), fitted once per StudyData for both tables."""
    data.require(scores=None)
    measures = _measures(data, measure)
    key = ("trajectory_fits", tuple(measures))
    if key not in data.cache:
        from tracker.analysis.trajectory import fit_models

        data.cache[key] = fit_models(_scores(data, measures), measures=measures, arm="arm")
    return data.cache[key]


def trajectory(data: StudyData, *, measure: str | None = None) -> pd.DataFrame:
    """Linear mixed model per measure over every wave (wave × arm with several arms)."""
    from tracker.analysis.trajectory import fixed_effects

    return fixed_effects(_trajectory_fits(data, measure))


def trajectory_means(data: StudyData, *, measure: str | None = None) -> pd.DataFrame:
    """Model-estimated means per wave (and arm) with 95 % CIs, for charts."""
    from tracker.analysis.trajectory import model_means

    return model_means(_trajectory_fits(data, measure))


def reliability(
    data: StudyData, *, wave: str | None = None, boot: int = 0, seed: int = 1
) -> pd.DataFrame:
    """Cronbach's alpha (raw, standardized, Feldt CI) and omega per measure and wave; with
    ``boot`` > 0 also omega's percentile bootstrap CI over ``boot`` resamples (``seed``)."""
    if boot < 0:
        raise AnalysisError(f"--boot must be 0 (no omega CI) or a number of resamples, not {boot}")
    items = data.keyed_items
    if wave is not None:
        items = items[items["wave"] == _check_wave(data, wave)]
    data.require(items=None if wave is None else [wave])
    measures = _measures(data)
    items = items[items["measure"].isin(measures)]
    result = analysis.reliability(
        items[["participant", "wave", "measure", "item", "value"]], omega_boot=boot, seed=seed
    )
    order = {w: i for i, w in enumerate(data.wave_names())}
    rank = {m: i for i, m in enumerate(measures)}
    return result.sort_values(
        ["measure", "wave"],
        key=lambda s: s.map(rank) if s.name == "measure" else s.map(order),
        ignore_index=True,
    )


def _order(frame: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    rank = {m: i for i, m in enumerate(measures)}
    return frame.sort_values("measure", key=lambda s: s.map(rank), kind="stable", ignore_index=True)
