# Reference estimates from R's survey package, in the tidy layout of `curate estimate`.
# R's deff for pps designs uses another definition (no 1/n in svytotal.pps), so the
# Python side compares deff for stratified designs only.
# Usage: Rscript survey_reference.R IN.csv OUT.csv KIND LEVEL BINARY_YS NUMERIC_YS [DOMAIN] [RAKE.csv]
#   KIND: srswor (strata + fpc N_h) | poisson (strata + probs pi, pps=poisson_sampling(pi))
#   BINARY_YS, NUMERIC_YS: comma-separated column names ("-" for none)
#   RAKE.csv: optional known totals (column, level, total) to rake the design to
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = c(stratum = "character"))
kind <- args[3]
level <- as.numeric(args[4])
split <- function(s) if (s == "-") character(0) else strsplit(s, ",")[[1]]
binary <- split(args[5])
numeric <- split(args[6])
domain <- if (length(args) >= 7 && args[7] != "-") args[7] else NA
make <- function(dat) {
  if (kind == "srswor") return(svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = dat))
  svydesign(ids = ~1, strata = ~stratum, probs = ~pi, pps = poisson_sampling(dat$pi), data = dat)
}
des <- make(dat)
if (length(args) >= 8) {
  tot <- read.csv(args[8], stringsAsFactors = FALSE, colClasses = "character")
  cols <- unique(tot$column)
  for (cl in cols) des$variables[[cl]] <- factor(des$variables[[cl]],
                                                 levels = tot$level[tot$column == cl])
  pop <- c("(Intercept)" = sum(as.numeric(tot$total[tot$column == cols[1]])))
  for (cl in cols) {
    t <- tot[tot$column == cl, ]
    v <- as.numeric(t$total[-1]); names(v) <- paste0(cl, t$level[-1]); pop <- c(pop, v)
  }
  des <- calibrate(des, as.formula(paste("~", paste(cols, collapse = "+"))), population = pop,
                   calfun = "raking", epsilon = 1e-13, maxit = 200)
}
rows <- list()
add <- function(metric, y, dom, est, se, lo, hi, deff) {
  rows[[length(rows) + 1]] <<- data.frame(metric = metric, y = y, domain = dom,
    estimate = est, se = se, ci_low = lo, ci_high = hi, deff = deff)
}
one <- function(d, dom) {
  df <- degf(d)
  for (y in c(binary, numeric)) {
    f <- as.formula(paste0("~", y))
    m <- svymean(f, d, deff = TRUE)
    if (y %in% binary) {
      p <- svyciprop(f, d, method = "beta", level = level)
      ci <- as.numeric(attr(p, "ci"))
      add("proportion", y, dom, coef(m)[[1]], SE(m)[[1]], ci[1], ci[2], deff(m)[[1]])
    } else {
      ci <- as.numeric(confint(m, level = level, df = df))
      add("mean", y, dom, coef(m)[[1]], SE(m)[[1]], ci[1], ci[2], deff(m)[[1]])
    }
    t <- svytotal(f, d, deff = TRUE)
    ci <- as.numeric(confint(t, level = level, df = df))
    if (y %in% binary) ci <- c(NA, NA)  # ours: Korn-Graubard on Y/N (not in R)
    add("total", y, dom, coef(t)[[1]], SE(t)[[1]], ci[1], ci[2], deff(t)[[1]])
  }
}
one(des, "all")
if (!is.na(domain)) {
  for (v in sort(unique(as.character(dat[[domain]])))) {
    # Poisson variance is a sum over units, so a domain's design is the design of its rows;
    # subset() of a pps design keeps all rows and so counts nrow() = n in svyciprop's
    # t-ratio, unlike subset() of a stratified design (which counts the domain's units).
    d <- if (kind == "srswor") subset(des, des$variables[[domain]] == v) else
      make(dat[dat[[domain]] == v, ])
    one(d, paste0(domain, "=", v))
  }
}
out <- do.call(rbind, rows)
write.csv(out, args[2], row.names = FALSE)
