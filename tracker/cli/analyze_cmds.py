"""analyze correlations | change | compare | trajectory | reliability | all."""

from __future__ import annotations

import json

import click

from tracker.cli.common import db_option, echo, emit, format_option, study_option, unit_of_work

ADJUST = click.Choice(["holm", "fdr_bh", "none"])

# compact columns for the terminal; csv and json carry every SPEC field
TABLE_COLUMNS = {
    "correlations": ["x", "y", "n", "r", "ci_low", "ci_high", "p", "p_adj", "note"],
    "change": ["measure", "group", "n", "mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high",
               "p", "p_adj", "cohen_dz", "n_reliably_improved", "n_reliably_worse", "note"],
    "compare": ["measure", "arm", "reference_arm", "n", "adj_diff", "ci_low", "ci_high", "p",
                "partial_eta_sq", "d_ppc", "note"],
    "trajectory": ["measure", "term", "estimate", "se", "ci_low", "ci_high", "p", "note"],
    "reliability": ["measure", "wave", "n", "k", "alpha", "alpha_std", "ci_low", "ci_high", "omega", "note"],
}


def _fields(frame) -> list[str]:
    """The SPEC's fields of an analysis result: every column but the note."""
    return [c for c in frame.columns if c != "note"]


def _notes(frame, prefix: str = "") -> None:
    """Each record's reason for its nulls, on stderr (machine-readable output has no note field)."""
    label_columns = _fields(frame)[:2]
    for r in frame.to_dict("records"):
        if r.get("note"):
            label = " / ".join(str(r[c]) for c in label_columns)
            echo(f"note: {prefix}{label}: {r['note']}", err=True)


def _show(kind: str, frame, fmt: str, extra: list[str] = ()) -> None:
    """Print an analysis result; nulls keep their reason (table column, or stderr).
    ``extra`` columns join the table before its note."""
    records = frame.to_dict("records")
    if fmt == "table":
        emit(records, "table", TABLE_COLUMNS[kind][:-1] + list(extra) + ["note"])
        return
    emit(records, fmt, _fields(frame))
    _notes(frame)


def _load(*, scores=None, items=(), waves_from=None, rci=False):
    """The study, with the scores and keyed items of the waves named (None: every wave).

    Each command loads only what it analyses: at 10,000 participants all item
    responses are 1.7 million rows, most of a command's time. ``waves_from``
    maps the study's wave names to the waves wanted when they depend on them
    (the first wave, say). ``rci`` (``change``) adds the first wave's items of
    the instruments whose reliable change needs their alpha. The data is read through a
    direct DBAPI connection when the database allows (no SQLAlchemy import:
    :mod:`tracker.db.reader`), else through the usual session.
    """
    from tracker.cli.common import db_url
    from tracker.db.reader import Reader, open_reader

    name = click.get_current_context().params.get("study_name")
    reader = open_reader(db_url())
    if reader is not None:
        try:
            study = reader.study(name)
            if study is not None:
                return _read(reader, study, scores, items, waves_from, rci)
        finally:
            reader.close()
    from tracker.study.studies import resolve_study

    with unit_of_work() as session:  # explains a missing study, an old schema, an unreachable server
        return _read(Reader.of(session), resolve_study(session, name), scores, items, waves_from, rci)


def _read(reader, study, scores, items, waves_from, rci):
    from tracker.datasets import load_study_data
    from tracker.datasets.analyses import rci_alpha_instruments

    names = [row[0] for row in reader.rows("SELECT name FROM wave WHERE study_id = ? ORDER BY position", study.id)]
    if waves_from is not None:
        scores, items = waves_from(names)
    instruments = None
    if rci and names:  # the first wave's items of the instruments the loader finds need them
        items, instruments = names[:1], rci_alpha_instruments
    return load_study_data(reader, study, score_waves=scores, item_waves=items, item_instruments=instruments,
                           administrations=False, score_counts=False)


def _known(names, *waves):
    """The waves that exist (an unknown name is reported by the analysis with the list of waves)."""
    return [w for w in waves if w in names]


@click.group()
def analyze() -> None:
    """Analyses: correlations, change, compare, trajectory, reliability, mediation."""


@analyze.command("correlations")
@db_option
@study_option
@click.option("--wave", help="Wave to correlate [default: the first wave].")
@click.option("--method", type=click.Choice(["pearson", "spearman"]), default="pearson", show_default=True)
@click.option("--adjust", type=ADJUST, default="holm", show_default=True, help="p-value adjustment over the pairs shown.")
@format_option
def correlations(study_name, wave, method, adjust, fmt) -> None:
    """Correlations among measures, ordered modifiable → intermediate → outcome.

    Example: tracker analyze correlations --wave baseline --method spearman
    """
    from tracker.datasets import analyses

    def waves(meta):
        return _known(meta, wave or (meta or [None])[0]), ()

    data = _load(waves_from=waves)
    _show("correlations", analyses.correlations(data, wave=wave, method=method, adjust=adjust), fmt)


@analyze.command("change")
@db_option
@study_option
@click.option("--from", "pre", required=True, metavar="WAVE", help="Earlier wave (pre).")
@click.option("--to", "post", required=True, metavar="WAVE", help="Later wave (post).")
@click.option("--by", type=click.Choice(["cohort", "arm"]), help="Split by cohort or arm.")
@click.option("--adjust", type=ADJUST, default="holm", show_default=True, help="p-value adjustment across measures.")
@format_option
def change(study_name, pre, post, by, adjust, fmt) -> None:
    """Paired pre/post change with effect sizes and reliable change.

    Example: tracker analyze change --from baseline --to post --by arm
    """
    from tracker.datasets import analyses

    data = _load(waves_from=lambda meta: (_known(meta, pre, post), ()), rci=True)
    _show("change", analyses.change(data, pre=pre, post=post, by=by, adjust=adjust), fmt)


@analyze.command("compare")
@db_option
@study_option
@click.option("--from", "pre", required=True, metavar="WAVE", help="Pre wave (covariate).")
@click.option("--to", "post", required=True, metavar="WAVE", help="Post wave (outcome).")
@format_option
def compare(study_name, pre, post, fmt) -> None:
    """Intervention vs control: ANCOVA (post ~ pre + arm) and Morris's d_ppc2.

    Example: tracker analyze compare --from baseline --to post
    """
    from tracker.datasets import analyses

    data = _load(waves_from=lambda meta: (_known(meta, pre, post), ()))
    _show("compare", analyses.compare(data, pre=pre, post=post), fmt)


@analyze.command("trajectory")
@db_option
@study_option
@click.option("--measure", help="One measure [default: all].")
@format_option
def trajectory(study_name, measure, fmt) -> None:
    """All waves: linear mixed model (REML, random intercept per participant).

    Example: tracker analyze trajectory --measure pss10
    """
    from tracker.datasets import analyses

    _show("trajectory", analyses.trajectory(_load(scores=None, items=()), measure=measure), fmt)


@analyze.command("reliability")
@db_option
@study_option
@click.option("--wave", help="One wave [default: every wave].")
@click.option("--boot", type=click.IntRange(min=0), default=0, show_default=True,
              help="Bootstrap resamples for omega's 95 % CI (adds omega_ci_low, omega_ci_high); "
              "0 = no CI. 1000 is usual.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the bootstrap.")
@format_option
def reliability(study_name, wave, boot, seed, fmt) -> None:
    """Internal consistency: Cronbach's alpha with Feldt CI, and omega total.

    Example: tracker analyze reliability --wave baseline --boot 1000 --format json
    """
    from tracker.datasets import analyses

    data = _load(waves_from=lambda meta: ((), None if wave is None else _known(meta, wave)))
    result = analyses.reliability(data, wave=wave, boot=boot, seed=seed)
    _show("reliability", result, fmt,
          extra=[c for c in ("omega_ci_low", "omega_ci_high") if c in result.columns])


@analyze.command("all")
@db_option
@study_option
@click.option("--from", "pre", required=True, metavar="WAVE", help="Pre wave of change and compare.")
@click.option("--to", "post", required=True, metavar="WAVE", help="Post wave of change and compare.")
@click.option("--wave", help="Wave of correlations and reliability [default: the first wave for "
              "correlations, every wave for reliability].")
@click.option("--by", type=click.Choice(["cohort", "arm"]), help="Split change by cohort or arm.")
@click.option("--method", type=click.Choice(["pearson", "spearman"]), default="pearson", show_default=True,
              help="Correlation method.")
@click.option("--adjust", type=ADJUST, default="holm", show_default=True,
              help="p-value adjustment of correlations and change.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format (json: one object, an array of records per analysis).")
def all_analyses(study_name, pre, post, wave, by, method, adjust, fmt) -> None:
    """The five analyses at once, from one read of the study.

    The same numbers as the five commands with the same options (one
    snapshot of the database, read once): correlations and reliability at
    --wave, change and compare from --from to --to, trajectory over every
    wave and measure. JSON is one object whose keys are the analyses, each an
    array of the SPEC's records. A study with one arm has no comparison: its
    ``compare`` is empty, with a note.

    Example: tracker analyze all --from baseline --to post --by arm --format json
    """
    from tracker.cli.common import json_records, render_table
    from tracker.datasets import analyses
    from tracker.errors import AnalysisError

    def waves(names):
        wanted = None if wave is None else _known(names, wave, *names[:1])  # + the first wave, for the RCI
        return None, wanted

    data = _load(waves_from=waves)
    results, skipped = {}, {}
    # reliability first: change reuses its first-wave alphas for the reliable change index
    results["reliability"] = analyses.reliability(data, wave=wave)
    results["correlations"] = analyses.correlations(data, wave=wave, method=method, adjust=adjust)
    results["change"] = analyses.change(data, pre=pre, post=post, by=by, adjust=adjust)
    try:
        results["compare"] = analyses.compare(data, pre=pre, post=post)
    except AnalysisError as exc:
        if data.cohorts["arm"].nunique() >= 2:
            raise
        skipped["compare"] = str(exc)
    results["trajectory"] = analyses.trajectory(data)
    order = ["correlations", "change", "compare", "trajectory", "reliability"]
    if fmt == "json":
        out = {kind: json_records(results[kind].to_dict("records"), _fields(results[kind]))
               if kind in results else [] for kind in order}
        click.echo(json.dumps(out, indent=2, allow_nan=False))
    else:
        for kind in order:
            click.echo(f"== {kind} ==")
            if kind in results:
                click.echo(render_table(results[kind].to_dict("records"), TABLE_COLUMNS[kind]))
            click.echo("")
    for kind in order:
        if kind in skipped:
            click.echo(f"note: {kind}: {skipped[kind]}", err=True)
        elif fmt == "json":
            _notes(results[kind], f"{kind}: ")


COMMANDS = [analyze]
