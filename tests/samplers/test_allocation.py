"""Allocation: textbook values and invariants (Σ n_h = n, bounds, floors, proportionality)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from samplers.allocation import allocate
from schemas import DesignError


def test_proportional_textbook():
    assert allocate([100, 300, 600], 10).tolist() == [1, 3, 6]
    # 7 over (1/3, 1/3, 1/3): remainders tie, broken by stratum order
    assert allocate([10, 10, 10], 7).tolist() == [3, 2, 2]


def test_neyman_textbook():
    # n_h ∝ N_h S_h = (400, 600, 1200)/2200 · 100 = (18.18, 27.27, 54.55)
    N_h, S_h = [400, 300, 300], [1.0, 2.0, 4.0]
    assert allocate(N_h, 100, "neyman", S_h=S_h).tolist() == [18, 27, 55]


def test_power_allocation_favours_small_strata():
    N_h = [10_000, 1_000, 100]
    prop = allocate(N_h, 300)
    power = allocate(N_h, 300, "power", power=0.5)
    assert power[2] > prop[2] and power[0] < prop[0]
    assert power.tolist() == [212, 67, 21]  # ∝ (100, 31.6, 10)
    assert allocate(N_h, 300, "power", power=1.0).tolist() == prop.tolist()
    assert allocate(N_h, 300, "power", power=0.0).tolist() == [100, 100, 100]


def test_caps_redistribute_to_other_strata():
    assert allocate([2, 100, 100], 60, "equal").tolist() == [2, 29, 29]


def test_floor_is_kept_and_small_strata_taken_whole():
    n_h = allocate([5, 1000, 3000], 40, min_per_stratum=10)
    assert n_h.tolist() == [5, 10, 25]


def test_infeasible_requests_name_the_problem():
    with pytest.raises(DesignError, match="exceeds the population size N=30 by 5"):
        allocate([10, 20], 35)
    with pytest.raises(DesignError, match=r"min_per_stratum=10 over 3 strata needs 30 .* by 10"):
        allocate([100, 100, 100], 20, min_per_stratum=10)
    with pytest.raises(DesignError, match=r"strata \['b'\] have a zero share"):
        allocate([10, 10], 15, "neyman", S_h=[1.0, 0.0], labels=["a", "b"])
    with pytest.raises(DesignError, match="unknown allocation"):
        allocate([10], 5, "bogus")


strata_sizes = st.lists(st.integers(0, 500), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(N_h=strata_sizes, frac=st.floats(0, 1), floor=st.integers(0, 20),
       method=st.sampled_from(["proportional", "equal", "neyman", "power"]),
       q=st.floats(0, 1), data=st.data())
def test_allocation_invariants(N_h, frac, floor, method, q, data):
    N = sum(N_h)
    n = int(round(frac * N))
    S_h = data.draw(st.lists(st.floats(0.01, 10), min_size=len(N_h), max_size=len(N_h)))
    assume(sum(min(f, floor) for f in N_h) <= n)
    n_h = allocate(N_h, n, method, S_h=S_h, power=q, min_per_stratum=floor)
    N_h = np.array(N_h)
    assert n_h.sum() == n
    assert np.all(n_h >= 0) and np.all(n_h <= N_h)
    assert np.all(n_h >= np.minimum(N_h, floor))


@settings(max_examples=300, deadline=None)
@given(N_h=st.lists(st.integers(1, 10_000), min_size=1, max_size=20), frac=st.floats(0, 1))
def test_proportional_is_within_rounding_of_n_N_h_over_N(N_h, frac):
    N = sum(N_h)
    n = int(frac * N)
    n_h = allocate(N_h, n)
    exact = n * np.array(N_h) / N
    assert np.all(np.abs(n_h - exact) < 1.0)
