# GREG reference from R's survey package: linear calibration to stratum counts and prediction
# totals (~ 0 + stratum + stratum:f), then totals and means of the y columns.
# Usage: Rscript greg_reference.R IN.csv TOTALS.csv OUT.csv KIND YS
#   KIND: srswor (strata + fpc N_h) | poisson (strata + probs pi, pps=poisson_sampling(pi))
#   TOTALS.csv: stratum, N, F (population units and prediction total per stratum)
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = c(stratum = "character"))
tot <- read.csv(args[2], stringsAsFactors = FALSE, colClasses = c(stratum = "character"))
kind <- args[4]
ys <- strsplit(args[5], ",")[[1]]
dat$stratum <- factor(dat$stratum, levels = tot$stratum)
des <- if (kind == "srswor") {
  svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = dat)
} else {
  svydesign(ids = ~1, strata = ~stratum, probs = ~pi, pps = poisson_sampling(dat$pi), data = dat)
}
pop <- c(tot$N, tot$F)
names(pop) <- c(paste0("stratum", tot$stratum), paste0("stratum", tot$stratum, ":f"))
cal <- calibrate(des, ~ 0 + stratum + stratum:f, population = pop, calfun = "linear")
# survey 4.1.1's ppsvar() residualises a calibrated pps design's scores into `y` but then
# takes the variance of the unresidualised `x`, so its SEs ignore the calibration. For pps
# designs the reference SE is therefore computed with survey's own pieces (the calibration's
# QR and weights, htvar.matrix and the design's dcheck) on the residualised scores, and R's
# printed SE is kept as se_svytotal to show the difference.
pps_se <- function(x) {
  ps <- cal$postStrata[[length(cal$postStrata)]]
  r <- qr.resid(ps$qr, x / ps$w) * ps$w
  dc <- cal$dcheck[[1]]
  sqrt(as.numeric(survey:::htvar.matrix(rowsum(as.matrix(r), dc$id, reorder = FALSE),
                                        dc$dcheck)))
}
rows <- list()
for (y in ys) {
  f <- as.formula(paste0("~", y))
  t <- svytotal(f, cal)
  m <- svymean(f, cal)
  se <- c(SE(t)[[1]], SE(m)[[1]])
  if (kind != "srswor") {
    v <- cal$variables[[y]]
    w <- 1 / cal$prob
    mu <- sum(w * v) / sum(w)
    se <- c(pps_se(v * w), pps_se((v - mu) * w / sum(w)))
  }
  rows[[length(rows) + 1]] <- data.frame(metric = c("total", "mean"), y = y,
    estimate = c(coef(t)[[1]], coef(m)[[1]]), se = se,
    se_svytotal = c(SE(t)[[1]], SE(m)[[1]]))
}
write.csv(do.call(rbind, rows), args[3], row.names = FALSE)
