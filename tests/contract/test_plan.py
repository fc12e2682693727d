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
], ids=["no-such-stratum-column", "one-no-such-stratum-column", "no-such-bins-column",
        "no-such-score-column", "bins-of-strings", "no-such-domain-column", "margin-0",
        "margin-negative", "p-above-1", "neither-p-nor-pilot", "missing-population",
        "pilot-without-the-label", "level-1.5"])
def test_plan_refuses_in_one_line(work, args, names):
    refused(*args, names=names)
