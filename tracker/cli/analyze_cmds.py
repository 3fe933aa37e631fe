"""analyze correlations | change | compare | trajectory | reliability | all."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tracker.cli import complete
from tracker.cli.common import (
    bootstrap_options,
    db_option,
    echo,
    emit,
    format_option,
    one_wave_option,
    study_option,
    wave_option,
)
from tracker.formatting import plural

ADJUST = click.Choice(["holm", "fdr_bh", "none"])

# compact columns for the terminal; csv and json carry every SPEC field
TABLE_COLUMNS = {
    "correlations": ["x", "y", "n", "r", "ci_low", "ci_high", "p", "p_adj", "note"],
    "change": [
        "measure",
        "group",
        "n",
        "mean_pre",
        "mean_post",
        "mean_diff",
        "ci_low",
        "ci_high",
        "p",
        "p_adj",
        "cohen_dz",
        "n_reliably_improved",
        "n_reliably_worse",
        "note",
    ],
    "compare": [
        "measure",
        "arm",
        "reference_arm",
        "n",
        "adj_diff",
        "ci_low",
        "ci_high",
        "p",
        "partial_eta_sq",
        "d_ppc",
        "note",
    ],
    "trajectory": ["measure", "term", "estimate", "se", "ci_low", "ci_high", "p", "note"],
    "reliability": [
        "measure",
        "wave",
        "n",
        "k",
        "alpha",
        "alpha_std",
        "ci_low",
        "ci_high",
        "omega",
        "note",
    ],
    "mediation": [
        "x",
        "mediator",
        "y",
        "wave",
        "n",
        "a",
        "b",
        "c",
        "c_prime",
        "indirect",
        "indirect_ci_low",
        "indirect_ci_high",
        "indirect_std",
        "note",
    ],
    "plan": [
        "measure",
        "design",
        "effect",
        "effect_kind",
        "r_pre_post",
        "n_per_arm",
        "n_total",
        "attrition",
        "n_to_enrol",
        "note",
    ],
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


def _run(kind: str, *, fmt: str, extra=None, **opts) -> None:
    """Run analysis ``kind`` on the database and study of this command, and print it.

    ``extra``: a function of the result naming columns the table shows besides its own.
    """
    from tracker.cli.common import db_url
    from tracker.datasets.run import run_analysis

    name = click.get_current_context().params.get("study_name")
    result = run_analysis(kind, db_url(), name, **opts)
    _show(kind, result, fmt, extra=extra(result) if extra else ())


@click.group()
def analyze() -> None:
    """Analyses: correlations, change, compare, trajectory, reliability, mediation, all."""


@analyze.command("correlations")
@db_option
@study_option
@one_wave_option("Wave to correlate [default: the first wave].")
@click.option(
    "--method",
    type=click.Choice(["pearson", "spearman"]),
    default="pearson",
    show_default=True,
    help="Pearson's r, or Spearman's rank correlation.",
)
@click.option(
    "--adjust",
    type=ADJUST,
    default="holm",
    show_default=True,
    help="p-value adjustment over the pairs shown.",
)
@format_option
def correlations(study_name, wave, method, adjust, fmt) -> None:
    """Correlations among measures, ordered modifiable → intermediate → outcome.

    Example: tracker analyze correlations --wave baseline --method spearman
    """
    _run("correlations", wave=wave, method=method, adjust=adjust, fmt=fmt)


@analyze.command("change")
@db_option
@study_option
@wave_option("--from", "pre", "Earlier wave (pre).", required=True)
@wave_option("--to", "post", "Later wave (post).", required=True)
@click.option("--by", type=click.Choice(["cohort", "arm"]), help="Split by cohort or arm.")
@click.option(
    "--adjust",
    type=ADJUST,
    default="holm",
    show_default=True,
    help="p-value adjustment across measures.",
)
@format_option
def change(study_name, pre, post, by, adjust, fmt) -> None:
    """Paired pre/post change with effect sizes and reliable change.

    Example: tracker analyze change --from baseline --to post --by arm
    """
    _run("change", pre=pre, post=post, by=by, adjust=adjust, fmt=fmt)


@analyze.command("compare")
@db_option
@study_option
@wave_option("--from", "pre", "Pre wave (covariate).", required=True)
@wave_option("--to", "post", "Post wave (outcome).", required=True)
@format_option
def compare(study_name, pre, post, fmt) -> None:
    """Intervention vs control: ANCOVA (post ~ pre + arm) and Morris's d_ppc2.

    Example: tracker analyze compare --from baseline --to post
    """
    _run("compare", pre=pre, post=post, fmt=fmt)


@analyze.command("trajectory")
@db_option
@study_option
@click.option(
    "--measure",
    metavar="MEASURE",
    shell_complete=complete.measures,
    help="One measure [default: all].",
)
@format_option
def trajectory(study_name, measure, fmt) -> None:
    """All waves: linear mixed model (REML, random intercept per participant).

    Example: tracker analyze trajectory --measure pss10
    """
    _run("trajectory", measure=measure, fmt=fmt)


@analyze.command("reliability")
@db_option
@study_option
@one_wave_option("One wave [default: every wave].")
@click.option(
    "--boot",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Bootstrap resamples for omega's 95 % CI (adds omega_ci_low, omega_ci_high); "
    "0 = no CI. 1000 is usual.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, metavar="N", help="Seed of the bootstrap."
)
@format_option
def reliability(study_name, wave, boot, seed, fmt) -> None:
    """Internal consistency: Cronbach's alpha with Feldt CI, and omega total.

    Example: tracker analyze reliability --wave baseline --boot 1000 --format json
    """
    _run(
        "reliability",
        wave=wave,
        boot=boot,
        seed=seed,
        fmt=fmt,
        extra=lambda result: [c for c in ("omega_ci_low", "omega_ci_high") if c in result.columns],
    )


@analyze.command("all")
@db_option
@study_option
@wave_option("--from", "pre", "Pre wave of change and compare.", required=True)
@wave_option("--to", "post", "Post wave of change and compare.", required=True)
@one_wave_option(
    "Wave of correlations and reliability [default: the first wave for "
    "correlations, every wave for reliability].",
)
@click.option("--by", type=click.Choice(["cohort", "arm"]), help="Split change by cohort or arm.")
@click.option(
    "--method",
    type=click.Choice(["pearson", "spearman"]),
    default="pearson",
    show_default=True,
    help="Correlation method.",
)
@click.option(
    "--adjust",
    type=ADJUST,
    default="holm",
    show_default=True,
    help="p-value adjustment of correlations and change.",
)
@bootstrap_options(
    "Bootstrap resamples for the mediation model's indirect effects.",
    "Seed of the mediation bootstrap.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    help="Output format [default: table; csv with --out] (json: one object, an array of "
    "records per analysis; csv: one file per analysis in --out DIR).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="The folder for ANALYSIS.csv, one file per analysis (implies --format csv; created "
    "if missing; files there are replaced).",
)
@click.option(
    "--analyses",
    "only",
    metavar="NAME,...",
    help="Run only these, comma-separated: correlations, change, compare, trajectory, "
    "reliability, mediation [default: every one].",
)
def all_analyses(
    study_name, pre, post, wave, by, method, adjust, boot, seed, fmt, out_dir, only
) -> None:
    """Every analysis at once, from one read of the study.

    The same numbers as the single commands with the same options (one
    snapshot of the database, read once): correlations, reliability and the
    mediation model of the roles at --wave, change and compare from --from to
    --to, trajectory over every wave and measure. JSON is one object whose
    keys are the analyses, each an array of the SPEC's records. A study with
    one arm has no comparison, one without model roles no mediation: that
    array is empty, with a note. CSV needs --out DIR: the analyses' records
    have different fields, so each is its own file, DIR/correlations.csv ...
    DIR/mediation.csv, the same as the single command's --format csv (an
    empty analysis writes no file).

    \b
    Example: tracker analyze all --from baseline --to post --by arm --format json
             tracker analyze all --from baseline --to post --format csv
               --out results
    """
    from tracker.cli.common import db_url, json_records, render_table
    from tracker.datasets.run import ALL_ANALYSES, check_analyses, run_all

    order = (
        ALL_ANALYSES
        if only is None
        else check_analyses([n.strip() for n in only.split(",") if n.strip()])
    )
    if fmt is None:
        fmt = "csv" if out_dir is not None else "table"
    if (fmt == "csv") != (out_dir is not None):
        raise click.UsageError(
            "--format csv writes one file per analysis: give it with --out DIR"
            if fmt == "csv"
            else f"--out DIR writes CSV files; --format {fmt} prints "
            "to the terminal: give one of the two"
        )
    if out_dir is not None:
        _writable_folder(out_dir)
    done = run_all(
        db_url(),
        study_name,
        pre=pre,
        post=post,
        wave=wave,
        by=by,
        method=method,
        adjust=adjust,
        boot=boot,
        seed=seed,
        analyses=order,
    )
    results, skipped = done.results, done.skipped
    if fmt == "csv":
        _write_csv_files(out_dir, results, order)
    elif fmt == "json":
        out = {
            kind: json_records(results[kind].to_dict("records"), _fields(results[kind]))
            if kind in results
            else []
            for kind in order
        }
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
        elif fmt != "table":
            _notes(results[kind], f"{kind}: ")


def _writable_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) before the work, so a bad path fails at once."""
    from tracker.errors import TrackerError

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrackerError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None


def _write_csv_files(folder: Path, results: dict, order) -> None:
    """``analyze all --format csv``: each analysis's records in FOLDER/KIND.csv, as its own command writes them."""
    from tracker.cli.common import render_csv
    from tracker.errors import TrackerError

    for kind in order:
        if kind not in results:
            continue
        frame = results[kind]
        path = folder / f"{kind}.csv"
        try:
            path.write_text(
                render_csv(frame.to_dict("records"), _fields(frame)) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise TrackerError(f"cannot write {path}: {exc.strerror or exc}") from None
        echo(f"Wrote {plural(len(frame), 'row')} to {path}.")


COMMANDS = [analyze]
