"""Rotating panels by PRN shifts: a share ``r`` of the previous wave replaced, inclusion
probabilities kept, chains that compose, the seed a linked wave uses, and how the population
changed between waves (recorded in the manifest and printed by `curate sample`)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from samplers import StratifiedSampler
from samplers.options import sampler_from_options
from samplers.prn import prn
from samplers.rotation import cumulative_shift, population_change, stratum_shift
from schemas import DesignError
from tests.cli import run

from .conftest import population


def ids(sample) -> set[str]:
    return set(sample.table.column("unit_id").to_pylist())


def draw(pop, **options):
    return sampler_from_options({"n": 400, "strata": "market", **options}).sample(pop)


@pytest.fixture(scope="module")
def big():
    return population(N=20_000, seed=3)


@pytest.fixture(scope="module")
def first(big, tmp_path_factory):
    d = tmp_path_factory.mktemp("rot")
    out = {}
    for design in ("stratified", "poisson"):
        s = draw(big, design=design, seed=11)
        s.write(d / f"{design}.parquet")
        out[design] = (d / f"{design}.parquet", s)
    return out


@pytest.mark.parametrize("design", ["stratified", "poisson"])
@pytest.mark.parametrize("rotation", [0.0, 0.25, 0.5, 1.0])
def test_a_rotation_replaces_that_share_of_the_previous_wave(big, first, design, rotation):
    path, prev = first[design]
    nxt = draw(big, design=design, rotate_from=str(path), rotation=rotation)
    kept = len(ids(nxt) & ids(prev)) / len(prev)
    if design == "stratified":  # by rank: exactly n_A - round(r·n_A) per stratum
        n_a = {a["stratum"]: a["n_h"] for a in prev.manifest.allocation}
        assert kept * len(prev) == sum(n - round(rotation * n) for n in n_a.values())
    else:  # Poisson: a Binomial share 1 - r of A
        assert kept == pytest.approx(1 - rotation, abs=0.06)
    if rotation == 0:
        assert ids(nxt) == ids(prev)  # the full panel: --overlap max
    if rotation == 1:
        assert kept == 0
    assert nxt.manifest.seed == prev.manifest.seed == 11


def test_rotation_leaves_the_units_of_largest_prn_and_enters_from_the_top(big, first):
    path, prev = first["stratified"]
    nxt = draw(big, rotate_from=str(path), rotation=0.25)
    gone = ids(prev) - ids(nxt)
    t = prev.table.to_pandas()
    for _, g in t.groupby("stratum"):
        m = round(0.25 * len(g))
        assert set(g.nlargest(m, "prn")["unit_id"]) == gone & set(g["unit_id"])


def test_the_manifest_records_what_it_rotates_from(big, first):
    path, prev = first["stratified"]
    nxt = draw(big, rotate_from=str(path), rotation=0.25)
    rot = nxt.manifest.design["rotation"]
    assert rot["previous"] == str(path) and rot["rotation"] == 0.25
    assert rot["previous_content_hash"] == prev.manifest.content_hash
    assert rot["previous_seed"] == 11 and nxt.manifest.design["seed"] == 11
    for a in nxt.manifest.allocation:  # by rank, close to r·n_h/N_h
        assert rot["shift"][a["stratum"]] == pytest.approx(0.25 * a["n_h"] / a["N_h"], rel=0.5)
        assert a["prn_shift"] == pytest.approx(rot["shift"][a["stratum"]])
    shift = np.array([rot["shift"][h] for h in nxt.table.column("stratum").to_pylist()])
    u = prn(nxt.table.column("unit_id"), 11)
    assert np.allclose(nxt.table.column("prn").to_numpy(), np.mod(u + shift, 1.0))


@pytest.mark.parametrize("design", ["stratified", "poisson"])
def test_successive_rotations_compose_and_a_unit_leaves_after_one_over_r_waves(big, tmp_path,
                                                                              design):
    waves = [draw(big, design=design, seed=5)]
    waves[0].write(tmp_path / "w0.parquet")
    for k in range(1, 5):
        waves.append(draw(big, design=design, rotate_from=str(tmp_path / f"w{k - 1}.parquet"),
                          rotation=0.25))
        waves[k].write(tmp_path / f"w{k}.parquet")
    for k in range(1, 5):  # S_k = S_(k-1) + s_k
        before = {a["stratum"]: a.get("prn_shift", 0.0) for a in waves[k - 1].manifest.allocation}
        for a in waves[k].manifest.allocation:
            step = waves[k].manifest.design["rotation"]["shift"][a["stratum"]]
            assert a["prn_shift"] == pytest.approx((before[a["stratum"]] + step) % 1.0)
    share = [len(ids(w) & ids(waves[0])) / len(waves[0]) for w in waves]
    assert share[1] == pytest.approx(0.75, abs=0.06) and share[2] == pytest.approx(0.5, abs=0.06)
    assert share[3] == pytest.approx(0.25, abs=0.06)
    # gone after 1/r waves (bottom-k: but for round(r·n_h) short of r·n_h in a stratum)
    assert share[4] == 0.0 if design == "poisson" else share[4] < 0.01
    for k in range(1, 4):  # each wave keeps 1 - r of the one it rotates from
        kept = len(ids(waves[k + 1]) & ids(waves[k])) / len(waves[k])
        assert kept == pytest.approx(0.75, abs=0.06)


@pytest.mark.parametrize("design", ["stratified", "poisson"])
def test_coordinating_with_a_rotated_wave_starts_from_its_shifted_prns(big, first, tmp_path,
                                                                       design):
    path, _ = first[design]
    rotated = draw(big, design=design, rotate_from=str(path), rotation=0.5)
    rotated.write(tmp_path / "rotated.parquet")
    panel = draw(big, design=design, coordinate_with=str(tmp_path / "rotated.parquet"))
    assert ids(panel) == ids(rotated)  # --overlap max: the same PRNs, so the same units
    fresh = draw(big, design=design, coordinate_with=str(tmp_path / "rotated.parquet"),
                 overlap="min")
    assert len(ids(fresh) & ids(rotated)) <= (0 if design == "stratified" else 0.02 * 400)
    recorded = {a["stratum"]: a["prn_shift"] for a in rotated.manifest.allocation}
    for a in fresh.manifest.allocation:  # past the rotated wave's units, on its PRNs
        assert a["prn_shift"] != pytest.approx(recorded[a["stratum"]])


def test_rotation_keeps_inclusion_probabilities(tmp_path):
    N, n, R = 40, 8, 400
    pop = pa.table({"unit_id": [f"x{i}" for i in range(N)]})
    counts = np.zeros(N)
    for r in range(R):
        path = tmp_path / f"p{r % 2}.parquet"
        StratifiedSampler(n=n, seed=r).sample(pop).write(path)
        got = sampler_from_options({"n": n, "rotate_from": str(path), "rotation": 0.5}
                                   ).sample(pop)
        counts[[int(u[1:]) for u in got.table.column("unit_id").to_pylist()]] += 1
    pi = n / N
    z = (counts - R * pi) / np.sqrt(R * pi * (1 - pi))
    assert np.max(np.abs(z)) < 4.5


def test_pure_shift_functions():
    assert stratum_shift(np.array([10, 0]), np.array([100, 0]), 0.5).tolist() == [0.05, 0.0]
    assert cumulative_shift(np.array([0.99]), np.array([0.02]))[0] == pytest.approx(0.01)
    change = population_change(100, 95, np.array([True, False]), np.array([0.1, 0.1]))
    assert change["previous_units_gone"] == 1 and change["left_estimate"] == 10.0
    assert change["new_estimate"] == 5.0


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """A catalogue, a later one with 300 items removed and 500 added, and a first wave."""
    d = tmp_path_factory.mktemp("popchange")
    a = population(N=6000, seed=4)
    pq.write_table(a, d / "a.parquet")
    keep = np.ones(a.num_rows, bool)
    keep[np.random.default_rng(1).choice(a.num_rows, 300, replace=False)] = False
    new = population(N=500, seed=5)
    new = new.set_column(0, "item_id", pa.array([f"new_{i}" for i in range(500)]))
    pq.write_table(pa.concat_tables([a.filter(pa.array(keep)), new]), d / "b.parquet")
    code, text = run("sample", d / "a.parquet", "-o", d / "w1.parquet", "--n", 600,
                     "--seed", 8, "--strata", "market")
    assert code == 0, text
    return d, a, keep


@pytest.mark.parametrize("link", ["--rotate-from", "--coordinate-with"])
def test_population_change_is_recorded_and_printed(changed, link):
    d, a, keep = changed
    extra = ("--rotation", 0.25) if link == "--rotate-from" else ()
    out = d / f"w2{link}.parquet"
    code, text = run("sample", d / "b.parquet", "-o", out, "--n", 600, "--strata", "market",
                     link, d / "w1.parquet", *extra)
    assert code == 0, text
    change = json.loads(pq.read_schema(out).metadata[b"audit_curation.manifest"]
                        )["population"]["change"]
    w1 = set(pq.read_table(d / "w1.parquet").column("unit_id").to_pylist())
    removed = set(np.asarray(a.column("item_id").to_pylist())[~keep])
    assert change["previous_units_gone"] == len(w1 & removed)
    assert change["previous_rows"] == 6000 and change["rows"] == 6200
    assert 0 < change["left_estimate"] < 1000 and change["new_estimate"] > 0
    assert f"{change['previous_units_gone']} of the previous sample's units are gone" in text
    sample = set(pq.read_table(out).column("unit_id").to_pylist())
    assert not sample & removed and any(u.startswith("new_") for u in sample)


def test_an_explicit_seed_other_than_the_previous_waves_is_an_error(changed):
    d, _, _ = changed
    for link, extra in (("--coordinate-with", ()), ("--rotate-from", ("--rotation", 0.5))):
        out = d / "never.parquet"
        code, text = run("sample", d / "a.parquet", "-o", out, "--n", 600, "--seed", 9,
                         "--strata", "market", link, d / "w1.parquet", *extra)
        assert code == 1 and "--seed 9 differs from seed 8" in text, text
        assert "independent wave" in text and "Traceback" not in text
        assert len(text.strip().splitlines()) == 1 and not out.exists()
    code, text = run("sample", d / "a.parquet", "-o", d / "same.parquet", "--n", 600, "--seed",
                     8, "--strata", "market", "--coordinate-with", d / "w1.parquet")
    assert code == 0, text
    meta = json.loads(pq.read_schema(d / "same.parquet").metadata[b"audit_curation.manifest"])
    assert meta["seed"] == meta["design"]["seed"] == 8


@pytest.mark.parametrize("args, message", [
    (("--rotation", 0.5), "--rotation needs --rotate-from"),
    (("--rotate-from", "W1"), "--rotate-from needs --rotation"),
    (("--rotate-from", "W1", "--rotation", 0.5, "--coordinate-with", "W1"), "not both"),
])
def test_bad_rotation_requests_are_one_line_and_write_nothing(changed, args, message):
    d, _, _ = changed
    args = [d / "w1.parquet" if a == "W1" else a for a in args]
    out = d / "bad.parquet"
    code, text = run("sample", d / "a.parquet", "-o", out, "--n", 600, "--strata", "market",
                     *args)
    assert code == 1 and message in text and "Traceback" not in text, text
    assert not out.exists()


def test_the_api_refuses_a_nondefault_seed_that_differs(first, big):
    path, _ = first["stratified"]
    with pytest.raises(DesignError, match="differs from seed 11"):
        StratifiedSampler(n=50, seed=3, strata="market", coordinate_with=str(path)).sample(big)
