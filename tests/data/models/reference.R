# Reference values for tests/analysis/test_mediation.py and test_power.py.
#
# Run from the repository root:
#   python tests/data/models/make_data.py      # our own simulated data (not the seed study's)
#   Rscript tests/data/models/reference.R      # writes reference.csv beside this script
#
# reference.csv has two columns, key and value (17 significant digits; NA where R gives NA).
# Packages: stats (lm), boot (percentile bootstrap), pwr (pwr.t.test).

suppressPackageStartupMessages({ library(boot); library(pwr) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
keys <- character(); vals <- character()
put <- function(key, value) {
  keys <<- c(keys, key)
  vals <<- c(vals, ifelse(is.na(value), "NA", sprintf("%.17g", value)))
}
coefrow <- function(fit, term) summary(fit)$coefficients[term, ]  # Estimate, Std. Error, t value, Pr(>|t|)

# Paths of one parallel mediation model by lm: M_j ~ X + C, Y ~ X + M + C, Y ~ X + C.
paths <- function(prefix, d, x, ms, y, covs = character(), std = c("complete", "partial")) {
  std <- match.arg(std)
  rhs_c <- paste(c(x, covs), collapse = " + ")
  fy <- lm(as.formula(paste(y, "~", paste(c(x, ms, covs), collapse = " + "))), data = d)
  fc <- lm(as.formula(paste(y, "~", rhs_c)), data = d)
  put(paste0(prefix, ".n"), nrow(d))
  put(paste0(prefix, ".c"), coefrow(fc, x)[1]); put(paste0(prefix, ".c_p"), coefrow(fc, x)[4])
  put(paste0(prefix, ".c_prime"), coefrow(fy, x)[1]); put(paste0(prefix, ".c_prime_p"), coefrow(fy, x)[4])
  total <- 0
  factor <- if (std == "complete") sd(d[[x]]) / sd(d[[y]]) else 1 / sd(d[[y]])
  for (m in ms) {
    fa <- lm(as.formula(paste(m, "~", rhs_c)), data = d)
    a <- coefrow(fa, x); b <- coefrow(fy, m)
    put(paste0(prefix, ".", m, ".a"), a[1]); put(paste0(prefix, ".", m, ".a_se"), a[2])
    put(paste0(prefix, ".", m, ".a_p"), a[4])
    put(paste0(prefix, ".", m, ".b"), b[1]); put(paste0(prefix, ".", m, ".b_se"), b[2])
    put(paste0(prefix, ".", m, ".b_p"), b[4])
    put(paste0(prefix, ".", m, ".indirect"), a[1] * b[1])
    put(paste0(prefix, ".", m, ".indirect_std"), a[1] * b[1] * factor)
    total <- total + a[1] * b[1]
  }
  if (length(ms) > 1) {
    put(paste0(prefix, ".total.indirect"), total)
    put(paste0(prefix, ".total.indirect_std"), total * factor)
  }
}

# The indirect effects (and their sum) of one resample, by lm on the resampled rows.
indirects <- function(d, x, ms, y, covs = character()) {
  rhs_c <- paste(c(x, covs), collapse = " + ")
  fy <- lm(as.formula(paste(y, "~", paste(c(x, ms, covs), collapse = " + "))), data = d)
  ab <- sapply(ms, function(m) coef(lm(as.formula(paste(m, "~", rhs_c)), data = d))[[x]] * coef(fy)[[m]])
  if (length(ms) > 1) c(ab, sum(ab)) else ab
}

# Percentile bootstrap with boot::boot (R's own resamples, B = 5000, set.seed(1)):
# CIs from boot.ci(type = "perc"), and the bootstrap SE (sd of the replicates) for the tolerance.
boot_cis <- function(prefix, d, x, ms, y, covs = character()) {
  set.seed(1)
  res <- boot(d, function(data, i) indirects(data[i, ], x, ms, y, covs), R = 5000)
  names <- if (length(ms) > 1) c(ms, "total") else ms
  for (j in seq_along(names)) {
    ci <- boot.ci(res, type = "perc", index = j)$percent
    put(paste0(prefix, ".", names[j], ".boot_low"), ci[4])
    put(paste0(prefix, ".", names[j], ".boot_high"), ci[5])
    put(paste0(prefix, ".", names[j], ".boot_se"), sd(res$t[, j]))
  }
}

# ---------------------------------------------------------------- cross-sectional
cross <- read.csv(file.path(here, "cross_data.csv"))
cross <- cross[complete.cases(cross), ]
paths("cross2", cross, "x", c("m1", "m2"), "y")
paths("cross1", cross, "x", "m1", "y")
boot_cis("cross2", cross, "x", c("m1", "m2"), "y")
boot_cis("cross1", cross, "x", "m1", "y")

# the resamples tracker draws (boot_idx.csv, 0-based rows of the complete cases): each one refitted
idx <- as.matrix(read.csv(file.path(here, "boot_idx.csv"), header = FALSE)) + 1
for (r in seq_len(nrow(idx))) {
  ab <- indirects(cross[idx[r, ], ], "x", c("m1", "m2"), "y")
  put(sprintf("rep.%d.m1", r), ab[1]); put(sprintf("rep.%d.m2", r), ab[2])
}

# ---------------------------------------------------------------- ANCOVA (intervention) form
med <- read.csv(file.path(here, "mediation_data.csv"))
med$X <- as.numeric(med$arm == "intervention")   # "control" is the reference arm
med <- med[complete.cases(med[, c("X", "m1_post", "m2_post", "y_post", "m1_pre", "m2_pre", "y_pre")]), ]
covs <- c("m1_pre", "m2_pre", "y_pre")
med2 <- med
names(med2)[names(med2) == "m1_post"] <- "m1"; names(med2)[names(med2) == "m2_post"] <- "m2"
paths("ancova", med2, "X", c("m1", "m2"), "y_post", covs, std = "partial")
boot_cis("ancova", med2, "X", c("m1", "m2"), "y_post", covs)

# ---------------------------------------------------------------- power (pwr.t.test, two-sided)
for (type in c("paired", "two.sample")) {
  for (d in c(0.2, 0.35, 0.5, 0.8, 1.2, -0.5)) {
    for (pw in c(0.8, 0.9)) {
      for (a in c(0.05, 0.01)) {
        put(sprintf("pwr.%s.%g.%g.%g.n", type, d, pw, a),
            pwr.t.test(d = abs(d), power = pw, sig.level = a, type = type)$n)
      }
    }
  }
  for (n in c(5, 12, 40)) {
    put(sprintf("pwr.%s.n%d.power", type, n), pwr.t.test(n = n, d = 0.6, sig.level = 0.05, type = type)$power)
  }
}

put("meta.R", NA)
write.csv(data.frame(key = keys, value = vals), file.path(here, "reference.csv"), row.names = FALSE, quote = FALSE)
cat(R.version.string, "boot", as.character(packageVersion("boot")), "pwr", as.character(packageVersion("pwr")), "\n",
    file = file.path(here, "reference.versions.txt"))
