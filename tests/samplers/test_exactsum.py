"""Exact sums: the correctly rounded sum of the exact rational total, whatever the order or
the split into parts."""

from fractions import Fraction

import numpy as np
import pytest

from samplers.exactsum import ExactSum


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).pareto(1.2, 100_000) + 1.0,
    np.random.default_rng(1).normal(0.0, 1e10, 10_000),
    np.random.default_rng(2).standard_cauchy(50_000),
    np.array([1e300, -1e300, 1e-300, 5e-324, 3.0, -0.0]),
])
def test_sum_is_the_rounded_exact_total_in_any_order_and_split(values):
    exact = float(sum(Fraction(float(v)) for v in values))
    assert ExactSum().add(values).value == exact
    parts = np.array_split(np.random.default_rng(3).permutation(values), 7)
    left, right = ExactSum(), ExactSum()
    for i, part in enumerate(parts):
        (left if i % 2 else right).add(part)
    assert left.merge(right).value == exact


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        ExactSum().add(np.array([1.0, np.inf]))
