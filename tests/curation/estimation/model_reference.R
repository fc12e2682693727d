# Model-assisted references from R's survey package: a total, a mean and a domain mean of y
# under (a) GREG calibration to population counts and prediction totals per stratum, and (b)
# the two-phase design calibrated at phase 2 to the phase-1 totals of 1 and f per stratum.
# Usage: Rscript model_reference.R MODE IN.csv TOTALS.csv OUT.csv KIND
#   MODE greg:     IN = the sample (stratum, N_h, pi, f, y, dom); TOTALS = stratum, N, F
#   MODE twophase: IN = the phase-1 sample (stratum, N_h, pi1, pi2, in2, a1 = 1/pi1,
#                  af = f/pi1, y, dom); TOTALS unused ("-")
#   KIND: srswor (strata + fpc N_h) | poisson (strata + probs, no fpc)
# Two places where survey 4.1.1 cannot describe our designs, and what is done instead:
# * GREG under Poisson PPS: ppsvar() drops the calibration residuals (see greg_reference.R);
#   the SE is survey's own htvar.matrix on the residualised scores.
# * Two-phase with a Poisson phase 2: twophase(method = "full") builds the phase-2 Dcheck with
#   Dcheck_strat, i.e. as a fixed-size draw (off-diagonals -(1 - pi)/(n2 - 1)); phase 2 is
#   drawn by Poisson sampling, whose Dcheck is diag(1 - pi2). The design's dcheck is rebuilt
#   with survey's own twophaseDcheck from that phase-2 Dcheck and twophase2's phase-1 one;
#   se_alt keeps R's unmodified SE (fixed-size phase 2) to show the (small) difference.
# * survey 4.1.1's Dcheck_multi_subset looks up each phase-2 unit's phase-1 stratum size by its
#   position among the phase-2 units, in the vector over all phase-1 rows; the phase-2 rows
#   are therefore put first, where the two positions coincide.
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
mode <- args[1]
dat <- read.csv(args[2], stringsAsFactors = FALSE, colClasses = c(stratum = "character"))
kind <- args[5]
levels_h <- sort(unique(dat$stratum))
dat$stratum <- factor(dat$stratum, levels = levels_h)
dom_level <- "self"

ht_se <- function(r, dcheck) sqrt(as.numeric(survey:::htvar.matrix(as.matrix(r), dcheck)))

rows <- function(est, se, se_alt) {
  data.frame(metric = c("total", "mean", "domain_mean"), estimate = est, se = se,
             se_alt = se_alt)
}

if (mode == "greg") {
  tot <- read.csv(args[3], stringsAsFactors = FALSE, colClasses = c(stratum = "character"))
  tot <- tot[match(levels_h, tot$stratum), ]
  des <- if (kind == "srswor") {
    svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = dat)
  } else {
    svydesign(ids = ~1, strata = ~stratum, probs = ~pi, pps = poisson_sampling(dat$pi),
              data = dat)
  }
  pop <- c(tot$N, tot$F)
  names(pop) <- c(paste0("stratum", tot$stratum), paste0("stratum", tot$stratum, ":f"))
  cal <- calibrate(des, ~ 0 + stratum + stratum:f, population = pop, calfun = "linear")
  t <- svytotal(~y, cal)
  m <- svymean(~y, cal)
  dm <- svymean(~y, subset(cal, dom == dom_level))
  est <- c(coef(t)[[1]], coef(m)[[1]], coef(dm)[[1]])
  se_r <- c(SE(t)[[1]], SE(m)[[1]], SE(dm)[[1]])
  se <- se_r
  if (kind != "srswor") {
    ps <- cal$postStrata[[length(cal$postStrata)]]
    dc <- cal$dcheck[[1]]$dcheck
    w <- 1 / cal$prob
    v <- cal$variables$y
    d <- as.numeric(cal$variables$dom == dom_level)
    scores <- cbind(v * w, (v - est[2]) * w / sum(w), d * (v - est[3]) * w / sum(w * d))
    se <- apply(scores, 2, function(x) ht_se(qr.resid(ps$qr, x / ps$w) * ps$w, dc))
  }
  out <- rows(est, se, se_r)
} else {
  dat$in2 <- as.logical(dat$in2)
  dat <- dat[order(!dat$in2), ]  # phase-2 rows first (see the header)
  des <- if (kind == "srswor") {
    twophase(id = list(~1, ~1), strata = list(~stratum, NULL), probs = list(NULL, ~pi2),
             fpc = list(~N_h, NULL), subset = ~in2, data = dat, method = "full")
  } else {
    twophase(id = list(~1, ~1), strata = list(~stratum, NULL), probs = list(~pi1, ~pi2),
             subset = ~in2, data = dat, method = "full")
  }
  fixed <- calibrate(des, phase = 2, formula = ~ 0 + stratum:a1 + stratum:af,
                     calfun = "linear")
  p2 <- Matrix::Diagonal(x = 1 - des$phase2$prob)
  des$dcheck$phase2 <- as(p2, "sparseMatrix")
  des$dcheck$full <- survey:::twophaseDcheck(des$dcheck$phase1, des$dcheck$phase2)
  cal <- calibrate(des, phase = 2, formula = ~ 0 + stratum:a1 + stratum:af,
                   calfun = "linear")
  stats <- function(d) {
    t <- svytotal(~y, d)
    m <- svymean(~y, d)
    dm <- svymean(~I(y * (dom == dom_level)), d) / svymean(~I(dom == dom_level), d)
    r <- svyratio(~I(y * (dom == dom_level)), ~I(as.numeric(dom == dom_level)), d)
    list(est = c(coef(t)[[1]], coef(m)[[1]], coef(r)[[1]]),
         se = c(SE(t)[[1]], SE(m)[[1]], SE(r)[[1]]))
  }
  s <- stats(cal)
  s_fixed <- stats(fixed)
  plain <- stats(des)  # the double-expansion (design-only) estimator
  out <- rbind(cbind(rows(s$est, s$se, s_fixed$se), estimator = "model_assisted"),
               cbind(rows(plain$est, plain$se, NA), estimator = "design"))
}
write.csv(out, args[4], row.names = FALSE)
