"""Methods and definitions, and the software that produced the numbers."""

from __future__ import annotations

from tracker.reports.context.common import SMALL_CELL

DEFINITIONS = [
    (
        "Scores",
        "Reverse-keyed items are scored as min + max − value. With k of K items answered and "
        "K − k ≤ the measure's max_missing, a sum score is the mean of the answered items × K and a mean "
        "score the mean of the answered items (proration); otherwise the score is missing. A multiplier "
        "(WHO-5: × 4) is applied last.",
    ),
    (
        "Differences and SDs",
        "Differences are post − pre; standard deviations use n − 1. Pairs are "
        "matched by participant, never by row order; n is the number of complete pairs.",
    ),
    (
        "Correlations",
        "Pearson's r (or Spearman's ρ) on the participants with both scores; 95 % CI by "
        "Fisher's z, tanh(atanh r ∓ z₀.₉₇₅/√(n − 3)); Spearman p from the t approximation; p-values "
        "adjusted (Holm) over the upper triangle of the matrix shown. Measures ordered modifiable → "
        "intermediate → outcome.",
    ),
    (
        "Paired change",
        "Mean difference with a 95 % CI from the t distribution with n − 1 df and the "
        "paired t test; Holm adjustment across the measures of a family within an arm.",
    ),
    (
        "Multiplicity families",
        "Primary outcomes (declared before the analysis: tracker model set … --primary, primary = […] in "
        "study.toml, or tracker report --primary) form one Holm family; every other measure is exploratory, "
        "in a family of its own. The p (Holm) of the change and arm-comparison tables is adjusted within "
        "the row's family and arm; without primary outcomes all measures are one exploratory family. "
        "Exploratory results suggest hypotheses; they do not confirm them.",
    ),
    (
        "Key findings",
        "A change or difference is called clear only when its Holm-adjusted p, within its family, is "
        "below .05; the sentence names the family and gives that p. Fewer than 10 complete pairs (or "
        "participants) add a caution: such estimates are unstable. A result that cannot be estimated, or "
        "a measure that did not vary, is said so in plain words.",
    ),
    (
        "Wilcoxon signed-rank",
        "As R's wilcox.test: differences rounded to 10 decimals, zeros dropped, "
        "V = sum of positive ranks; exact p for fewer than 50 differences without ties or zeros, otherwise "
        "the normal approximation with tie-corrected variance and continuity correction; matched-pairs "
        "rank-biserial correlation.",
    ),
    (
        "Effect sizes",
        "Cohen's dz = mean_diff / sd_diff with its CI from the noncentral t distribution; "
        "d_av = mean_diff / ((sd_pre + sd_post) / 2); Hedges' g_av = d_av × J, J(df) = Γ(df/2) / "
        "(√(df/2) Γ((df − 1)/2)), df = n − 1. In the summary sentences the size of a change is given "
        "without sign and its direction in words; the tables keep the signs (post − pre).",
    ),
    (
        "Reliable change",
        "RCI (Jacobson & Truax) = (post − pre) / (sd × √2 × √(1 − r_xx)), r_xx the "
        "instrument's published reliability, else Cronbach's alpha at the first wave, and sd the "
        "instrument's normative SD (norm_sd) when its definition gives one (the table's note says "
        "so), else the group's SD at pre; reliable when |RCI| > 1.96; improvement follows the "
        "measure's direction (higher or lower is better); percentages are of the n complete pairs. "
        "With a normative mean too, criterion c = (sd_pre × norm_mean + norm_sd × mean_pre) / "
        "(sd_pre + norm_sd), and a participant reliably improved who crosses c counts as recovered.",
    ),
    (
        "Arm comparison",
        "ANCOVA by OLS, post ~ pre + arm, treatment coding against the reference arm "
        "(control, else the first alphabetically); adjusted difference with 95 % CI; partial η² = "
        "SS_arm / (SS_arm + SS_error); Morris (2008) d_ppc2 with the CI from his variance formula; "
        "the arm's p Holm-adjusted across the measures of its family.",
    ),
    (
        "Trajectories",
        "Linear mixed model by REML with a random intercept per participant, wave as a "
        "categorical fixed effect and wave × arm with several arms; every available observation is used "
        "(no listwise deletion). t-based p and CIs use the degrees of freedom that "
        "summary(nlme::lme(...)) reports (containment: a term constant within participants gets the "
        "between-participant df, n_participants − its number of such terms − 1; a term varying within "
        "participants the within df, n_obs − n_participants − their number; the intercept the larger "
        "of the two). The omnibus wave × arm test (wave, with one arm) is the Wald F of those "
        'coefficients on their containment df, as nlme\'s anova(type = "marginal"); the REML variance '
        "components and ICC = var(intercept) / (var(intercept) + var(residual)) follow the fixed effects. "
        "The chart shows the model-estimated means with 95 % CIs, each on the smallest df of the "
        "coefficients it adds up.",
    ),
    (
        "Reliability",
        "Cronbach's alpha on complete cases, raw k/(k − 1)·(1 − Σσᵢ²/σ²ₜₒₜ) and "
        "standardized, Feldt 95 % CI from the F distribution; McDonald's omega total (Σλ)²/((Σλ)² + Σψ) "
        "from a one-factor maximum-likelihood model (3 or more items).",
    ),
    (
        "Participant flow",
        "A participant completed a wave when at least one questionnaire of that wave "
        "is stored for them; withdrawn counts those formally withdrawn (with date and reason) who did not "
        "answer the wave. Percentages are of the participants enrolled (CONSORT), not of those still "
        "active as in tracker status. Analysed: complete pairs per comparison, smallest to largest over "
        "the measures.",
    ),
    (
        "Small cells",
        f"In the characteristics table counts from 1 to {SMALL_CELL - 1} are shown as "
        f'"< {SMALL_CELL}", and where one hidden cell could be worked out from a total, the next '
        'smallest count in its row or column is hidden too ("suppressed"). Ages are summarised only '
        f"when {SMALL_CELL} or more are recorded; an age missing from the roster is taken as the "
        "enrolment year minus the birth year.",
    ),
    (
        "Missing values",
        'A statistic that cannot be computed is shown as "—" with the reason in the row\'s note.',
    ),
]


def software_versions() -> list[dict]:
    """Python and the packages whose code produced the numbers and the report."""
    import platform
    from importlib import metadata

    import tracker

    out = [
        {"name": "prepost-tracker", "version": tracker.__version__},
        {"name": "Python", "version": platform.python_version()},
    ]
    for dist in ("numpy", "pandas", "scipy", "matplotlib", "jinja2", "sqlalchemy"):
        try:
            out.append({"name": dist, "version": metadata.version(dist)})
        except metadata.PackageNotFoundError:
            out.append({"name": dist, "version": "not installed"})
    return out
