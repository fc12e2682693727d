"""`curate plan` names the option or column at fault, and reads nothing it was not given."""

from __future__ import annotations

import pytest

from .refusal import refused

PLAN = ("plan", "--margin", "0.05")
POP = (*PLAN, "--p", "0.1", "--population", "cat.parquet")


@pytest.mark.parametrize("args, names", [
    ((*POP, "--strata", "nosuch"), ["cat.parquet", "nosuch"]),
    ((*POP, "--strata", "market,nosuch"), ["cat.parquet", "nosuch"]),
    ((*POP, "--bins", "nosuch"), ["cat.parquet", "nosuch"]),
    ((*POP, "--score", "nosuch"), ["cat.parquet", "nosuch"]),
    ((*POP, "--bins", "market"), ["cat.parquet", "market"]),
    ((*POP, "--domain", "nosuch", "--domain-margin", "0.1"), ["cat.parquet", "nosuch"]),
    (("plan", "--margin", "0", "--p", "0.1"), ["margin"]),
    (("plan", "--margin", "-0.1", "--p", "0.1"), ["margin"]),
    (("plan", "--margin", "0.05", "--p", "1.5"), ["1.5"]),
    (("plan", "--margin", "0.05"), ["--p", "--pilot"]),
    ((*PLAN, "--p", "0.1", "--population", "nosuch.parquet"), ["nosuch.parquet"]),
    ((*PLAN, "--pilot", "cur.parquet", "--y", "nosuch"), ["nosuch"]),
    ((*PLAN, "--p", "0.1", "--level", "1.5"), ["level"]),
    ((*PLAN, "--pilot", "cur.parquet", "--pred-col", "nosuch"), ["cur.parquet", "nosuch"]),
    ((*PLAN, "--pilot", "cur.parquet", "--pred-col", "popularity"),
     ["cur.parquet", "popularity", "[0, 1]"]),
    ((*PLAN, "--pilot", "cur.parquet", "--pred-col", "item_type"), ["item_type", "numeric"]),
    ((*PLAN, "--pilot", "cur.parquet", "--y", "cat_self_harm", "--pred-col", "risk_score"),
     ["cur.parquet", "no positive", "cat_self_harm"]),
    ((*PLAN, "--pilot", "cur.parquet", "--pred-col", "sensitive"), ["sensitive", "--y"]),
    ((*PLAN, "--pilot", "cur.parquet", "--pred-col", "cat_violence", "--population",
      "cat.parquet"), ["cat.parquet", "cat_violence"]),
    ((*PLAN, "--p", "0.1", "--pred-col", "risk_score"), ["--pilot"]),
    ((*PLAN, "--pilot", "cur.parquet", "--p", "0.1", "--pred-col", "risk_score"), ["--p"]),
], ids=["no-such-stratum-column", "one-no-such-stratum-column", "no-such-bins-column",
        "no-such-score-column", "bins-of-strings", "no-such-domain-column", "margin-0",
        "margin-negative", "p-above-1", "neither-p-nor-pilot", "missing-population",
        "pilot-without-the-label", "level-1.5", "no-such-pred-col",
        "pred-outside-0-1", "pred-not-numeric", "pilot-without-a-positive", "pred-is-the-label",
        "population-without-the-pred-col", "pred-col-without-pilot", "pred-col-with-p"])
def test_plan_refuses_in_one_line(work, args, names):
    refused(*args, names=names)
