# Reference values for tests/analysis, computed with R on public R datasets.
#
# Run from the repository root:  Rscript tests/data/analysis/reference.R
# Writes the data sets (CSV) and reference.json next to this script. Every
# expected value in reference.json is produced by the R call written beside it
# here; the Python tests only read them.
#
# Packages: stats, MASS (anorexia), nlme (Orthodont, lme), lme4 (lmer), psych
# (bfi, alpha, fa), effectsize (cohens_d, rank_biserial), car (Anova), jsonlite.

suppressPackageStartupMessages({
  library(MASS); library(nlme); library(lme4); library(psych)
  library(effectsize); library(car); library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out <- function(name) file.path(here, name)
ref <- list(meta = list(
  R = R.version.string,
  packages = sapply(c("MASS", "nlme", "lme4", "psych", "effectsize", "car", "jsonlite"),
                    function(p) as.character(packageVersion(p)), simplify = FALSE)))

# ---------------------------------------------------------------- helpers
# Kerby (2014) matched-pairs rank-biserial on differences rounded to 10 decimals, zeros dropped
rank_biserial_kerby <- function(d) {
  d <- round(d, 10); d <- d[d != 0]; r <- rank(abs(d))
  (sum(r[d > 0]) - sum(r[d < 0])) / sum(r)
}
# dz CI by inverting the noncentral t with uniroot (independent of effectsize)
dz_ci_uniroot <- function(dz, n) {
  t <- dz * sqrt(n); df <- n - 1
  f <- function(ncp, target) pt(t, df, ncp) - target
  lo <- uniroot(f, c(t - 8, t + 8), target = 0.975, tol = 1e-13)$root
  hi <- uniroot(f, c(t - 8, t + 8), target = 0.025, tol = 1e-13)$root
  c(lo, hi) / sqrt(n)
}
hedges_J <- function(df) exp(lgamma(df / 2) - 0.5 * log(df / 2) - lgamma((df - 1) / 2))

# Every column of tracker.analysis.paired_change for one group
paired_reference <- function(pre, post, r_xx, higher_is_better = TRUE) {
  ok <- complete.cases(pre, post); pre <- pre[ok]; post <- post[ok]
  n <- length(pre); d <- post - pre
  tt <- t.test(post, pre, paired = TRUE)                       # paired t
  w <- suppressWarnings(wilcox.test(round(d, 10)))              # SPEC: round to 10 decimals
  w_default <- suppressWarnings(wilcox.test(post, pre, paired = TRUE))  # R default, no rounding
  es <- effectsize::cohens_d(post, pre, paired = TRUE)          # dz with noncentral-t CI
  dz_ci <- dz_ci_uniroot(mean(d) / sd(d), n)
  d_av <- mean(d) / ((sd(pre) + sd(post)) / 2)
  rci <- d / (sd(pre) * sqrt(2) * sqrt(1 - r_xx))
  better <- if (higher_is_better) 1 else -1
  list(n = n, mean_pre = mean(pre), sd_pre = sd(pre), mean_post = mean(post),
       sd_post = sd(post), mean_diff = mean(d), sd_diff = sd(d),
       ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], t = unname(tt$statistic),
       df = unname(tt$parameter), p = tt$p.value,
       wilcoxon_stat = unname(w$statistic), wilcoxon_p = w$p.value, wilcoxon_method = w$method,
       wilcoxon_default_stat = unname(w_default$statistic),
       wilcoxon_default_p = w_default$p.value, wilcoxon_default_method = w_default$method,
       rank_biserial = rank_biserial_kerby(d),
       rank_biserial_effectsize = unname(effectsize::rank_biserial(post, pre, paired = TRUE)$r_rank_biserial),
       cohen_dz = es$Cohens_d, dz_ci_low = es$CI_low, dz_ci_high = es$CI_high,
       dz_ci_low_uniroot = dz_ci[1], dz_ci_high_uniroot = dz_ci[2],
       d_av = d_av, hedges_gav = d_av * hedges_J(n - 1), r_pre_post = cor(pre, post),
       n_improved = sum(better * round(d, 10) > 0),
       n_reliably_improved = sum(better * rci > 1.959964),
       n_reliably_worse = sum(better * rci < -1.959964), reliability = r_xx)
}

# ---------------------------------------------------------------- paired change: sleep
# sleep: 10 subjects, extra sleep under drug 1 ("pre") and drug 2 ("post"), paired by ID.
# Differences have ties (1.3, 1.3) and a zero -> normal approximation with correction.
write.csv(sleep, out("sleep.csv"), row.names = FALSE)
s1 <- sleep[sleep$group == 1, ]; s2 <- sleep[sleep$group == 2, ]
stopifnot(identical(s1$ID, s2$ID))
ref$sleep <- paired_reference(s1$extra, s2$extra, r_xx = 0.8)

# ---------------------------------------------------------------- paired change: anorexia by arm
# MASS::anorexia: weights (lb) before/after treatment, 72 girls, Treat CBT / Cont / FT.
# Cont is relabelled "control". FT has 17 pairs without ties or zeros -> exact p;
# CBT has ties and Cont a zero difference -> normal approximation.
an <- anorexia
an$participant <- sprintf("a%02d", seq_len(nrow(an)))
an$arm <- ifelse(an$Treat == "Cont", "control", as.character(an$Treat))
write.csv(an[, c("participant", "arm", "Prewt", "Postwt")], out("anorexia.csv"), row.names = FALSE)
ref$anorexia_change <- lapply(split(an, an$arm), function(g)
  paired_reference(g$Prewt, g$Postwt, r_xx = 0.9))

# ---------------------------------------------------------------- Wilcoxon: floating-point ties
# Decimal data whose differences tie only after rounding: 0.3-0.1 != 0.2-0.0 in binary.
ft <- data.frame(participant = sprintf("f%d", 1:8),
                 pre  = c(0.1, 0.0, 0.7, 0.0, 1.1, 0.2, 0.4, 1.6),
                 post = c(0.3, 0.2, 0.8, 0.1, 1.4, 0.5, 1.0, 0.9))
write.csv(ft, out("float_ties.csv"), row.names = FALSE)
ref$float_ties <- paired_reference(ft$pre, ft$post, r_xx = 0.7)

# ---------------------------------------------------------------- correlations: airquality
# airquality: Ozone (37 NA) and Solar.R (7 NA) -> pairwise-complete n differ per pair.
aq <- airquality[, c("Ozone", "Solar.R", "Wind", "Temp")]
write.csv(aq, out("airquality.csv"), row.names = FALSE)
corr_reference <- function(method) {
  v <- names(aq); rows <- list()
  for (i in 1:(length(v) - 1)) for (j in (i + 1):length(v)) {
    x <- aq[[v[i]]]; y <- aq[[v[j]]]; ok <- complete.cases(x, y); n <- sum(ok)
    ct <- if (method == "pearson") cor.test(x, y, method = "pearson")
          else suppressWarnings(cor.test(x, y, method = "spearman", exact = FALSE))
    r <- unname(ct$estimate)
    # Fisher-z CI: cor.test's own for Pearson; the same formula for Spearman
    ci <- if (method == "pearson") as.numeric(ct$conf.int)
          else tanh(atanh(r) + c(-1, 1) * qnorm(0.975) / sqrt(n - 3))
    rows[[length(rows) + 1]] <- list(x = v[i], y = v[j], method = method, n = n, r = r,
                                     ci_low = ci[1], ci_high = ci[2], p = ct$p.value)
  }
  p <- sapply(rows, `[[`, "p")
  holm <- p.adjust(p, "holm"); bh <- p.adjust(p, "BH")
  for (k in seq_along(rows)) { rows[[k]]$p_holm <- holm[k]; rows[[k]]$p_bh <- bh[k] }
  rows
}
ref$correlations <- list(pearson = corr_reference("pearson"), spearman = corr_reference("spearman"))

# ---------------------------------------------------------------- p.adjust with NA
pv <- c(0.01, NA, 0.04, 0.03, 0.2, 0.04, 0.0005, NA, 0.5)
ref$p_adjust <- list(p = pv, holm = p.adjust(pv, "holm"), BH = p.adjust(pv, "BH"))

# ---------------------------------------------------------------- reliability: psych::bfi
# Conscientiousness C1-C5 (C4, C5 reverse keyed: 7 - x) and agreeableness A1-A5
# (A1 reverse keyed), 6-point items, 2800 respondents, listwise complete cases.
data(bfi, package = "psych")
items <- data.frame(participant = sprintf("b%04d", seq_len(nrow(bfi))),
                    bfi[, c(paste0("C", 1:5), paste0("A", 1:5))])
write.csv(items, out("bfi_items.csv"), row.names = FALSE)
scales <- list(conscientiousness = list(items = paste0("C", 1:5), reverse = c("C4", "C5")),
               agreeableness = list(items = paste0("A", 1:5), reverse = "A1"))
ref$reliability <- list(); ref$item_total <- list()
for (nm in names(scales)) {
  sc <- scales[[nm]]
  X <- bfi[, sc$items]
  for (r in sc$reverse) X[[r]] <- 7 - X[[r]]
  X <- na.omit(X); n <- nrow(X); k <- ncol(X)
  a <- psych::alpha(X, check.keys = FALSE, warnings = FALSE)
  alpha <- a$total$raw_alpha
  # Feldt (1965) CI from the F distribution; psych::alpha.ci gives the same
  feldt <- c(1 - (1 - alpha) * qf(0.975, n - 1, (n - 1) * (k - 1)),
             1 - (1 - alpha) * qf(0.025, n - 1, (n - 1) * (k - 1)))
  aci <- psych::alpha.ci(alpha, n.obs = n, n.var = k, digits = 15)
  R <- cor(X)
  # one-factor ML: stats::factanal tightly converged, and psych::fa(fm = "ml") as shipped
  fan <- factanal(covmat = R, factors = 1, n.obs = n,
                  control = list(opt = list(factr = 1, pgtol = 0, maxit = 10000)))
  lam <- as.numeric(fan$loadings); if (sum(lam) < 0) lam <- -lam
  fa1 <- psych::fa(X, nfactors = 1, fm = "ml", warnings = FALSE)
  lam_psych <- as.numeric(fa1$loadings); if (sum(lam_psych) < 0) lam_psych <- -lam_psych
  omega_of <- function(l) sum(l)^2 / (sum(l)^2 + sum(1 - l^2))
  om <- suppressWarnings(suppressMessages(psych::omega(X, nfactors = 1, fm = "ml", plot = FALSE)))
  ref$reliability[[nm]] <- list(
    measure = nm, wave = "baseline", n = n, k = k, alpha = alpha,
    alpha_std = a$total$std.alpha, ci_low = feldt[1], ci_high = feldt[2],
    alpha_ci_psych = c(aci$lower.ci, aci$upper.ci),
    omega = omega_of(lam), loadings_factanal = lam, uniquenesses_factanal = as.numeric(fan$uniquenesses),
    omega_psych_fa = omega_of(lam_psych), loadings_psych_fa = lam_psych,
    omega_tot_psych_omega = om$omega.tot)
  ref$item_total[[nm]] <- list(item = sc$items, n = n,
                               corrected_item_total_r = a$item.stats$r.drop,
                               alpha_if_deleted = a$alpha.drop$raw_alpha)
}

# ---------------------------------------------------------------- mixed model: nlme::Orthodont
# distance (mm) at age 8, 10, 12, 14 for 27 children; Sex plays the arm.
# Reference arm = "Female" (no "control": first alphabetically, the tracker rule);
# reference wave = age 8 (lowest wave_order).
orth <- as.data.frame(Orthodont)
orth$Subject <- as.character(orth$Subject); orth$Sex <- as.character(orth$Sex)
# the unbalanced variant drops a deterministic ~1/7 of the observations
orth$unbalanced_keep <- (seq_len(nrow(orth)) %% 7) != 3
write.csv(orth[, c("Subject", "age", "Sex", "distance", "unbalanced_keep")],
          out("orthodont.csv"), row.names = FALSE)
mixed_reference <- function(d) {
  d$wave <- factor(paste0("age", d$age), levels = paste0("age", c(8, 10, 12, 14)))
  d$arm <- relevel(factor(d$Sex), ref = "Female")
  fit <- lme(distance ~ wave * arm, random = ~ 1 | Subject, data = d, method = "REML")
  tt <- summary(fit)$tTable
  terms <- rownames(tt)
  terms <- sub("^\\(Intercept\\)$", "Intercept", terms)
  terms <- gsub("wave(age[0-9]+)", "wave[\\1]", terms)
  terms <- gsub("arm(Male)", "arm[\\1]", terms)
  q <- qt(0.975, tt[, "DF"])
  lm4 <- lmer(distance ~ wave * arm + (1 | Subject), data = d, REML = TRUE)
  V <- vcov(fit); b <- fixef(fit)
  # model-based cell means L b, se sqrt(L V L'), CI with the intercept's (within) df
  means <- list()
  for (w in levels(d$wave)) for (a in c("Female", "Male")) {
    L <- setNames(numeric(length(b)), names(b)); L["(Intercept)"] <- 1
    if (w != "age8") L[paste0("wave", w)] <- 1
    if (a == "Male") { L["armMale"] <- 1; if (w != "age8") L[paste0("wave", w, ":armMale")] <- 1 }
    m <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L)); df0 <- tt[1, "DF"]
    means[[length(means) + 1]] <- list(wave = w, arm = a, n = sum(d$wave == w & d$arm == a),
      mean = m, se = se, ci_low = m - qt(0.975, df0) * se, ci_high = m + qt(0.975, df0) * se)
  }
  list(term = terms, estimate = unname(tt[, "Value"]), se = unname(tt[, "Std.Error"]),
       df = unname(tt[, "DF"]), t = unname(tt[, "t-value"]), p = unname(tt[, "p-value"]),
       ci_low = unname(tt[, "Value"] - q * tt[, "Std.Error"]),
       ci_high = unname(tt[, "Value"] + q * tt[, "Std.Error"]),
       sigma2 = fit$sigma^2, tau2 = as.numeric(getVarCov(fit)),
       reml_loglik = as.numeric(logLik(fit)),
       lme4_estimate = unname(fixef(lm4)), lme4_se = unname(sqrt(diag(as.matrix(vcov(lm4))))),
       means = means)
}
ref$mixed <- list(balanced = mixed_reference(orth),
                  unbalanced = mixed_reference(orth[orth$unbalanced_keep, ]))

# ---------------------------------------------------------------- ANCOVA + Morris d_ppc2: anorexia
ancova_reference <- function(d) {
  d$arm <- relevel(factor(d$arm), ref = "control")
  fit <- lm(Postwt ~ Prewt + arm, data = d)                     # R: lm(post ~ pre + arm)
  co <- summary(fit)$coefficients; ci <- confint(fit)
  aov1 <- anova(fit)                                            # sequential: arm given Prewt
  ss_arm <- aov1["arm", "Sum Sq"]; ss_err <- aov1["Residuals", "Sum Sq"]
  ss_arm_car2 <- car::Anova(fit, type = 2)["arm", "Sum Sq"]      # type II, same value
  rows <- list()
  for (a in setdiff(levels(d$arm), "control")) {
    nm <- paste0("arm", a); T <- d[d$arm == a, ]; C <- d[d$arm == "control", ]
    nT <- nrow(T); nC <- nrow(C); N <- nT + nC
    # Morris (2008): d_ppc2 (eq. 8, c_p eq. 10), variance eq. 25 with Delta = d_ppc2 and
    # rho = pooled within-group pre-post correlation
    sd_pool <- sqrt(((nT - 1) * var(T$Prewt) + (nC - 1) * var(C$Prewt)) / (N - 2))
    cp <- 1 - 3 / (4 * (N - 2) - 1)
    dppc <- cp * ((mean(T$Postwt) - mean(T$Prewt)) - (mean(C$Postwt) - mean(C$Prewt))) / sd_pool
    rho <- ((nT - 1) * cov(T$Prewt, T$Postwt) + (nC - 1) * cov(C$Prewt, C$Postwt)) /
      sqrt(((nT - 1) * var(T$Prewt) + (nC - 1) * var(C$Prewt)) *
           ((nT - 1) * var(T$Postwt) + (nC - 1) * var(C$Postwt)))
    v <- 2 * cp^2 * (1 - rho) * (N / (nT * nC)) * ((N - 2) / (N - 4)) *
      (1 + dppc^2 / (2 * (1 - rho) * (N / (nT * nC)))) - dppc^2
    rows[[a]] <- list(measure = "weight", arm = a, reference_arm = "control", n = nrow(d),
      adj_diff = co[nm, "Estimate"], ci_low = ci[nm, 1], ci_high = ci[nm, 2],
      t = co[nm, "t value"], p = co[nm, "Pr(>|t|)"],
      partial_eta_sq = ss_arm / (ss_arm + ss_err), ss_arm_type2_car = ss_arm_car2,
      ss_arm_sequential = ss_arm, d_ppc = dppc, rho = rho, var_d_ppc = v,
      d_ppc_ci_low = dppc - qnorm(0.975) * sqrt(v), d_ppc_ci_high = dppc + qnorm(0.975) * sqrt(v))
  }
  unname(rows)
}
ref$ancova <- list(three_arm = ancova_reference(an),
                   two_arm = ancova_reference(an[an$arm %in% c("CBT", "control"), ]))

write_json(ref, out("reference.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE,
           na = "null")
cat("wrote", out("reference.json"), "\n")
