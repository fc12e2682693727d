import numpy as np
import pyarrow as pa
import pytest

from samplers import ImportanceSampler, PoissonSampler, StratifiedSampler


def population(N: int = 5000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "item_id": [f"trk_{i:07d}" for i in range(N)],
        "market": rng.choice(["US", "BR", "SE", "IS"], N, p=[0.5, 0.3, 0.17, 0.03]),
        "genre": rng.choice(["pop", "rock", "jazz"], N),
        "risk_score": rng.beta(0.5, 8, N),
        "popularity": rng.pareto(1.2, N) + 1.0,
        "position": rng.integers(1, 21, N),
        "y": rng.normal(10, 3, N),
    })


@pytest.fixture(scope="session")
def pop() -> pa.Table:
    return population()


DESIGNS = {
    "stratified": lambda **kw: StratifiedSampler(strata=["market", "genre"],
                                                 allocation="power", min_per_stratum=2, **kw),
    "poisson": lambda **kw: PoissonSampler(strata="market", **kw),
    "poisson_pps": lambda **kw: PoissonSampler(size="popularity", **kw),
    "priority": lambda **kw: ImportanceSampler(size="popularity", strata="market", **kw),
    "priority_mixture": lambda **kw: ImportanceSampler(size="risk_score", mixture=0.1, **kw),
    "priority_exposure": lambda **kw: ImportanceSampler(size="exposure", **kw),
}


@pytest.fixture(params=sorted(DESIGNS))
def design(request):
    return request.param, DESIGNS[request.param]


@pytest.fixture(params=["numba", "numpy"])
def kernel_path(request, monkeypatch):
    """Run the test on the compiled kernels (with the DuckDB fetch when duckdb imports) and
    on the numpy reference path (with the pyarrow fetch): both must give the same bytes."""
    from samplers import kernels

    if request.param == "numpy":
        monkeypatch.setenv("AUDIT_CURATION_FETCH", "pyarrow")
    with kernels.use(request.param):
        yield request.param
