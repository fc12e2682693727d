"""The tidy table's shared per-domain work gives the public estimators' numbers to the bit
(issue 17, item 4): a domain's units and weights are found once and reused for every label,
the mean and the total of a label share their common pieces, BLAS runs on one thread, the
strata are coded by one hash pass, and the PRN check of a small sample runs on the numpy path."""

import dataclasses
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_info

from curation.estimation import estimate_table, recognise
from curation.estimation.calibration import calibrate
from curation.estimation.estimators import (
    domain_estimates,
    domain_of,
    hajek_mean,
    ht_total,
    one_blas_thread,
)
from curation.estimation.inputs import design_problems
from curation.estimation.nonresponse import adjust
from curation.estimation.survey_design import SurveyDesign, _sorted_codes
from samplers import StratifiedSampler


def same(a, b) -> bool:
    """Every field equal, NaN matching NaN."""
    return all(x == y or (x != x and y != y)
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True))


def _srswor(rng, n: int = 20_000, H: int = 6) -> SurveyDesign:
    codes = rng.integers(0, H, n)
    n_h = np.bincount(codes, minlength=H)
    N_h = n_h * rng.choice([5.0, 40.0, 300.0], H)  # disproportionate fractions
    w = (N_h / n_h)[codes]
    return SurveyDesign("srswor", codes, tuple(f"h{h}" for h in range(H)), 1 / w, w, N_h,
                        population=float(N_h.sum()))


def _poisson(rng, n: int = 5_000) -> SurveyDesign:
    pi = rng.uniform(0.002, 0.5, n)
    return SurveyDesign("poisson", np.zeros(n, int), ("all",), pi, 1 / pi,
                        population=float((1 / pi).sum()))


def _designs(rng):
    s = _srswor(rng)
    frame = pd.DataFrame({"g": rng.choice(["a", "b", "c"], s.n, p=[0.6, 0.3, 0.1])})
    totals = {"g": {"a": 0.6 * s.population, "b": 0.3 * s.population, "c": 0.1 * s.population}}
    responded = rng.random(s.n) < 0.9
    cells = (rng.integers(0, 3, s.n), ("c0", "c1", "c2"))
    return {"srswor": s, "poisson": _poisson(rng), "calibrated": calibrate(s, frame, totals),
            "nonresponse": adjust(s, responded)[0],
            "nonresponse cells": adjust(s, responded, cells)[0]}


@pytest.mark.parametrize("kind", ["srswor", "poisson", "calibrated", "nonresponse",
                                  "nonresponse cells"])
def test_a_domains_mean_and_total_are_hajek_mean_and_ht_total_to_the_bit(kind):
    """Rare labels (0.1%–1%, one with no positive in the small domains), domains of 0.5% to
    30% of the sample and all of it: the shared path is the public functions' result."""
    rng = np.random.default_rng(17)
    design = _designs(rng)[kind]
    n = design.n
    labels = [(rng.random(n) < p).astype(float) for p in (0.001, 0.01)]
    labels.append(rng.gamma(2.0, 3.0, n))  # a numeric y: a mean, not a proportion
    masks = [None] + [rng.random(n) < share for share in (0.005, 0.05, 0.3)]
    for mask in masks:
        dom = domain_of(design, mask)  # once per domain, reused for every label
        for y in labels:
            mean, total = domain_estimates(design, y, dom)
            assert same(mean, hajek_mean(design, y, mask)), (kind, mask is None)
            assert same(total, ht_total(design, y, mask)), (kind, mask is None)


def test_a_domains_estimates_match_the_textbook_formulas():
    """Independent of the code they share: Hájek ``Σwy/Σw``, HT ``Σwy``, and the design
    variance of the full linearized score (R survey's), on the same srswor design."""
    rng = np.random.default_rng(3)
    design = _srswor(rng)
    w = design.weight
    y = (rng.random(design.n) < 0.005).astype(float)
    for share in (0.005, 0.3):
        d = rng.random(design.n) < share
        mean, total = domain_estimates(design, y, domain_of(design, d))
        R = np.sum(w[d] * y[d]) / np.sum(w[d])
        assert mean.estimate == pytest.approx(R, rel=1e-12)
        assert mean.var == pytest.approx(
            design.variance(w * np.where(d, (y - R) / w[d].sum(), 0.0)), rel=1e-10)
        assert total.estimate == pytest.approx(np.sum(w[d] * y[d]), rel=1e-12)
        assert total.var == pytest.approx(design.variance(w * np.where(d, y, 0.0)), rel=1e-10)
        assert mean.n == total.n == int(d.sum())
        assert mean.df == total.df == int(d.sum()) - np.unique(design.codes[d]).size


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_estimate_table_runs_blas_on_one_thread_and_restores_it():
    before = blas_threads()
    inside = one_blas_thread(blas_threads)()
    assert inside and set(inside) == {1}
    assert blas_threads() == before
    assert estimate_table.__name__ == "estimate_table" and "tidy table" in estimate_table.__doc__


def test_nested_and_concurrent_calls_leave_blas_as_they_found_it():
    """The first caller sets the limit, the last to return restores it. (Threads other than
    the main one may not see the limit: OpenBLAS 0.3.29 ignores a thread count set from them
    once the main thread has set one; their numbers are then the threaded ones, as before.)"""
    from concurrent.futures import ThreadPoolExecutor

    before = blas_threads()
    inner = one_blas_thread(blas_threads)
    assert one_blas_thread(lambda: (inner(), blas_threads()))() == ([1] * len(before),) * 2
    assert blas_threads() == before
    both_inside = threading.Barrier(2)

    def call() -> int:
        both_inside.wait(timeout=10)  # the first to return must not restore the other's limit
        both_inside.wait(timeout=10)
        return len(blas_threads())

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda _: one_blas_thread(call)(), range(2))) == [len(before)] * 2
    assert blas_threads() == before


def test_estimate_table_is_the_same_whatever_the_blas_threads_outside():
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    n = 30_000  # more than OpenBLAS's 10,000-value threshold for a threaded dot product
    df = pd.DataFrame({"stratum": rng.choice(["a", "b"], n), "g": rng.choice(["x", "y"], n),
                       "sens": (rng.random(n) < 0.01).astype(int)})
    df["inclusion_prob"] = np.where(df.stratum == "a", 0.1, 0.02)
    df["design_weight"] = 1 / df.inclusion_prob
    with threadpool_limits(1, user_api="blas"):
        one = estimate_table(df, ["sens"], domain="g")
    with threadpool_limits(None, user_api="blas"):
        every = estimate_table(df, ["sens"], domain="g")
    pd.testing.assert_frame_equal(one, every, check_exact=True)


@pytest.mark.parametrize("values", [["b", "a", "B", "é", "a|x", "", "10", "9"], [3, 1, 2, 10],
                                    ["zz", "ä", "a", "Z", "日本"]])
def test_strata_codes_are_np_uniques(values):
    rng = np.random.default_rng(1)
    column = pd.Series(rng.choice(np.array(values, dtype=object), 500))
    want_labels, want_codes = np.unique(column.astype(str).to_numpy(), return_inverse=True)
    for col in (column, column.astype(str).astype("category")):
        labels, codes = _sorted_codes(col)
        assert labels == tuple(str(v) for v in want_labels)
        assert np.array_equal(codes, want_codes) and codes.dtype == want_codes.dtype
    df = pd.DataFrame({"stratum": column, "inclusion_prob": 0.5, "design_weight": 2.0})
    assert recognise(df).labels == tuple(str(v) for v in want_labels)


@pytest.fixture(scope="module")
def labeled():
    """A stratified sample with label columns added (its manifest vouches for the design
    columns only) and shifted PRN starts in one stratum."""
    rng = np.random.default_rng(2)
    pop = pd.DataFrame({"item_id": [f"i{k}-{'x' * (k % 7)}" for k in range(6000)],
                        "market": rng.choice(["US", "SE", "IS"], 6000, p=[0.7, 0.25, 0.05])})
    s = StratifiedSampler(n=600, seed=4, strata=["market"]).sample(pop)
    df = s.to_pandas()
    df["sens"] = (rng.random(len(df)) < 0.01).astype(int)
    return df, s.manifest


@pytest.mark.parametrize("path", ["numpy", "numba"])
def test_the_design_check_finds_what_it_did_on_either_kernel_path(labeled, path, monkeypatch):
    from curation.estimation import inputs

    if path == "numba":
        pytest.importorskip("numba")
        monkeypatch.setattr(inputs, "PRN_CHECK_NUMPY_BELOW", 0)
    df, manifest = labeled
    assert design_problems(df, manifest) == []
    bad = df.copy()
    bad.loc[[3, 7], "prn"] = 0.5
    bad.loc[11, "inclusion_prob"] = 0.9
    problems = design_problems(bad, manifest)
    assert any("prn is not the PRN of unit_id" in p and "rows 3, 7" in p for p in problems)
    assert any("inclusion_prob is not n_h/N_h at row 11" in p for p in problems)
    other = bad.assign(stratum=bad.stratum.where(bad.index != 5, "XX"))
    assert any("strata ['XX'] are not in the manifest's allocation" in p
               for p in design_problems(other, manifest))


def test_the_prn_check_hashes_the_ids_arrow_holds(labeled):
    from curation.estimation.inputs import _check_prn
    from samplers.prn import prn

    df, manifest = labeled
    ids = pa.array(df["unit_id"].astype(str), pa.string())
    assert np.array_equal(_check_prn(ids, int(manifest.seed)), prn(ids, int(manifest.seed)))
    assert np.array_equal(_check_prn(ids, int(manifest.seed)), df["prn"].to_numpy(float))
