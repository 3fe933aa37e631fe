"""analyze mediation (the conceptual model, tested) and plan (the next study's sample size)."""

from __future__ import annotations

import click

from tracker.cli import complete
from tracker.cli.analyze_cmds import _run, analyze
from tracker.cli.common import (
    bootstrap_options,
    db_option,
    format_option,
    one_wave_option,
    study_option,
    wave_option,
)


@analyze.command("mediation")
@db_option
@study_option
@click.option(
    "--x",
    "x",
    metavar="MEASURE",
    shell_complete=complete.predictors,
    help="Predictor measure, or `arm` for the intervention form [default: each modifiable measure].",
)
@click.option(
    "--m",
    "mediators",
    metavar="MEASURE,...",
    shell_complete=complete.measure_lists,
    help="Parallel mediators, comma-separated [default: the intermediate measures].",
)
@click.option(
    "--y",
    "y",
    metavar="MEASURE",
    shell_complete=complete.measures,
    help="Outcome measure [default: each outcome measure].",
)
@one_wave_option("Wave of the cross-sectional model [default: the first wave].")
@wave_option("--from", "pre", "Intervention form: the wave adjusted for (with --x arm).")
@wave_option("--to", "post", "Intervention form: the wave of M and Y (with --x arm).")
@bootstrap_options(
    "Bootstrap resamples for the indirect effects' CIs.",
    "Seed of the resamples: the same seed gives the same CIs.",
)
@format_option
def mediation(study_name, x, mediators, y, wave, pre, post, boot, seed, fmt) -> None:
    """Parallel mediation: X -> mediators -> Y, indirect effects with percentile bootstrap CIs.

    Cross-sectional at --wave: OLS M ~ X (a), Y ~ X + M (b, c'), Y ~ X (c) on the
    complete cases. With --x arm --from WAVE --to WAVE: the intervention (ANCOVA)
    form, X = 1 for the arm compared with the reference arm, M and Y at the --to
    wave, each equation adjusted for the --from scores of every mediator and of Y
    (Valente & MacKinnon 2017).
    Without --x/--m/--y the model roles are used.

    \b
    Example: tracker analyze mediation --x cams_r --m cd_risc10,pss10
               --y flourishing
             tracker analyze mediation --x arm --m pss10 --y who5
               --from baseline --to post
    """
    _run(
        "mediation",
        x=x,
        mediators=mediators,
        y=y,
        wave=wave,
        pre=pre,
        post=post,
        boot=boot,
        seed=seed,
        fmt=fmt,
    )


def _effect(value: str) -> str:
    if value in ("observed", "ci_low"):
        return value
    try:
        float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not observed, ci_low or a number") from None
    return value


def _attrition(value: str) -> str:
    if value == "observed":
        return value
    try:
        float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not observed or a fraction such as 0.2") from None
    return value


@click.command("plan")
@db_option
@study_option
@wave_option("--from", "pre", "Earlier wave of the observed effects.", required=True)
@wave_option("--to", "post", "Later wave of the observed effects.", required=True)
@click.option(
    "--measure",
    metavar="MEASURE,...",
    shell_complete=complete.measure_lists,
    help="One measure, or several comma-separated [default: every measure].",
)
@click.option(
    "--power",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.8,
    show_default=True,
    metavar="NUMBER",
    help="Target power.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    metavar="NUMBER",
    help="Two-sided significance level.",
)
@click.option(
    "--effect",
    default="observed",
    show_default=True,
    metavar="observed|ci_low|NUMBER",
    callback=lambda _c, _p, v: _effect(v),
    help="Observed dz / d_ppc, the CI bound nearer zero (safeguard power), or dz (paired) "
    "and d (ANCOVA).",
)
@click.option(
    "--attrition",
    default="observed",
    show_default=True,
    metavar="observed|FRACTION",
    callback=lambda _c, _p, v: _attrition(v),
    help="Fraction lost between the waves: observed (--from completers missing at --to) or e.g. 0.2.",
)
@format_option
def plan(study_name, pre, post, measure, power, alpha, effect, attrition, fmt) -> None:
    """Sample size for the next study: paired and two-arm ANCOVA designs, noncentral t.

    paired: pairs for the paired t test to detect the intervention arm's dz.
    two_arm_ancova: n per arm for the two-sample t test of d / sqrt(1 - r^2)
    (Borm, Fransen & Lemmens 2007), d the observed d_ppc and r the pooled
    pre-post correlation. n_to_enrol adds back the attrition.

    Example: tracker plan --from baseline --to post --effect ci_low --attrition 0.2
    """
    _run(
        "plan",
        pre=pre,
        post=post,
        measure=measure,
        power=power,
        alpha=alpha,
        effect=effect,
        attrition=attrition,
        fmt=fmt,
    )


COMMANDS = [plan]
