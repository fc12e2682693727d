"""Waves linked to an earlier wave: a rotating panel by PRN shifts, the seed they share, and how
the population changed between them.

Rotation (Ohlsson 1995, "Coordination of samples using permanent random numbers"). Every wave
of a chain uses the first wave's PRN key ``u`` and a cumulative start ``S_h`` per stratum: its
PRNs are ``v = (u + S_h) mod 1``, and every unit keeps its inclusion probability.
``--rotate-from A --rotation r`` draws wave B with ``S_B,h = (S_A,h + s_h) mod 1`` (strata new
in B start from ``S_A,h = 0``), the step ``s_h`` depending on the design:

* Poisson-type designs (``poisson``, ``importance``; priority sampling behaves so too):
  ``s_h = r · n_h / N_h``, ``r`` times the stratum's mean inclusion probability in B, which does
  not depend on the PRNs, so ``v`` stays i.i.d. uniform. A keeps ``v_A < π_A``, B keeps
  ``(v_A + s) mod 1 < π_B``. A unit is in both iff
  ``v_A ∈ [0, π_A) ∩ [1 − s, 1 − s + π_B) (mod 1)``, of measure
  ``π_AB = P(u ∈ [0, π_A) and (u + s) mod 1 ∈ [0, π_B))``
  (:func:`curation.estimation.change.joint_probability`). With equal ``π`` and ``s = r·π``
  that is ``(1 − r)·π``: a share ``1 − r`` of A stays, the ``r`` that leave are A's units of
  largest ``v`` and the entrants come from ``[1 − s, 1)``. Under PPS a unit stays with
  probability ``max(0, 1 − s/π_i)``: heavy units rotate more slowly and the expected overlap
  ``Σ max(0, π_i − s)`` is at least ``(1 − r)·n``.
* Stratified SRSWOR (bottom-k): A is the ``n_A`` smallest ``v_A`` of the stratum. A fixed
  shift would leave the overlap random (``n_B − Binomial(N_h, s)``), so the start is set by
  rank instead: with ``m = round(r·n_A)`` units to drop and ``k = n_B − n_A + m`` to enter, the
  shift ``s_h = 1 − c_h``, ``c_h`` half-way between the ``(k+1)``-th and the ``k``-th largest
  ``v_A``, wraps exactly the ``k`` largest ``v_A`` to the front; B, the ``n_B`` smallest
  ``(v_A + s) mod 1``, is those ``k`` and A's ``n_B − k = n_A − m`` first units. B is a
  fixed set of ranks of i.i.d. uniforms, so still a simple random sample (``π = n_B/N_h``); the
  overlap is exactly ``n_A − m`` (``1 − r`` of A) and, given the sizes, the common units are a
  simple random sample of each wave, so Tam's (1984) covariance applies. The ``r`` that leave
  are A's units of largest ``v_A``, the oldest in a chain.

``--rotation 0`` is the full panel (no shift, as ``--overlap max``); ``--rotation 1`` replaces
every unit: disjoint for bottom-k whenever ``N_h ≥ n_A + n_B`` and for Poisson-type designs
while ``π_A + π_B ≤ 1`` (under PPS, units with ``π_i > s`` can stay). Chains compose: wave 3
rotating from wave 2 rotating from wave 1 has ``S_3 = S_1 + s_2 + s_3`` (recorded per stratum as
the allocation's ``prn_shift``), each wave moves the window up and a unit stays about ``1/r``
waves (exactly, for bottom-k with ``r·n`` whole).

Population change: the previous wave's units no longer in the population are counted exactly;
the number of the previous population's items that left is its Horvitz–Thompson estimate from
them (``Σ 1/π_A`` over A's departed units) and the new items are ``N_B − (N_A − left)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError, Manifest, read_manifest
from schemas.io import read_parquet
from schemas.storage import as_path, check_objects


def stratum_shift(n_h: np.ndarray, N_h: np.ndarray, rotation: float) -> np.ndarray:
    """The shift ``s_h = rotation · n_h / N_h`` that rotates a share ``rotation`` of a wave.

    Examples
    --------
    >>> stratum_shift(np.array([10, 5]), np.array([100, 100]), 0.25).tolist()
    [0.025, 0.0125]
    """
    N = np.asarray(N_h, np.float64)
    return np.where(N > 0, rotation * np.asarray(n_h, np.float64) / np.where(N > 0, N, 1), 0.0)


def cumulative_shift(previous: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``(S_A + s) mod 1``: the start of the new wave's PRNs, composing every earlier rotation.

    Examples
    --------
    >>> cumulative_shift(np.array([0.0, 0.95]), np.array([0.1, 0.1])).round(6).tolist()
    [0.1, 0.05]
    """
    return np.mod(np.asarray(previous, np.float64) + step, 1.0)


def recorded_shifts(manifest: Manifest, labels: list[str]) -> np.ndarray:
    """The cumulative PRN shift ``S_h`` a wave's manifest records for ``labels`` (0 for a
    stratum it does not have or did not shift)."""
    by_label = {a.get("stratum"): float(a.get("prn_shift", 0.0)) for a in manifest.allocation}
    return np.array([by_label.get(label, 0.0) for label in labels], np.float64)


def recorded_sizes(manifest: Manifest, labels: list[str]) -> np.ndarray:
    """The previous wave's ``n_h`` for ``labels`` (0 for a stratum it does not have)."""
    by_label = {a.get("stratum"): int(a.get("n_h", 0)) for a in manifest.allocation}
    return np.array([by_label.get(label, 0) for label in labels], np.int64)


def entrants(n_a: np.ndarray, n_b: np.ndarray, rotation: float) -> np.ndarray:
    """``k = n_B − n_A + round(r·n_A)``, clipped to ``[0, n_B]``: units new to a bottom-k wave.

    Examples
    --------
    >>> entrants(np.array([40, 40, 0]), np.array([40, 50, 8]), 0.25).tolist()
    [10, 20, 8]
    """
    m = np.rint(rotation * np.asarray(n_a, np.float64)).astype(np.int64)
    return np.clip(np.asarray(n_b, np.int64) - n_a + m, 0, n_b)


def rank_shift(top_desc: np.ndarray, k: int) -> float:
    """The step that wraps exactly the ``k`` largest PRNs (``top_desc``, descending, at least
    ``k + 1`` of them when the stratum has them) to the front: ``1 − c``, ``c`` half-way
    between the ``(k+1)``-th and the ``k``-th largest (0 for ``k = 0``).

    Examples
    --------
    >>> rank_shift(np.array([0.9, 0.7, 0.5]), 2)
    0.4
    """
    if k <= 0 or len(top_desc) == 0:
        return 0.0
    kth = float(top_desc[min(k, len(top_desc)) - 1])
    below = float(top_desc[k]) if len(top_desc) > k else 0.0
    return 1.0 - 0.5 * (kth + below)


class TopPrns:
    """A pass keeping, per stratum ``h``, the ``k_h`` largest PRNs (a mergeable engine state;
    ``prns`` is the design's ``(codes, u, h)`` of a batch under ``ctx``)."""

    def __init__(self, prns: Any, ctx: Any, k: np.ndarray):
        self.prns, self.ctx, self.k = prns, ctx, np.asarray(k, np.int64)
        self.codes, self.values = np.zeros(0, np.int64), np.zeros(0)

    def _keep(self, codes: np.ndarray, values: np.ndarray) -> None:
        codes, values = np.r_[self.codes, codes], np.r_[self.values, values]
        order = np.lexsort((-values, codes))
        codes, values = codes[order], values[order]
        rank = np.arange(codes.size) - np.searchsorted(codes, codes, side="left")
        keep = rank < self.k[codes]
        self.codes, self.values = codes[keep], values[keep]

    def update(self, batch: pa.RecordBatch, row0: int, key0: int) -> None:
        codes, u, _ = self.prns(batch, self.ctx)
        self._keep(codes, u)

    def merge(self, other: TopPrns) -> TopPrns:
        self._keep(other.codes, other.values)
        return self

    def result(self) -> list[np.ndarray]:
        """Per stratum, its largest PRNs in descending order."""
        return [self.values[self.codes == h] for h in range(len(self.k))]


class PresentIds:
    """A pass over the population's unit ids: which of the previous wave's units are still in
    it (a mergeable engine state)."""

    def __init__(self, previous_ids: pa.Array, unit_col: str):
        self.previous_ids, self.unit_col = previous_ids, unit_col
        self.present = np.zeros(len(previous_ids), bool)

    def update(self, batch: pa.RecordBatch, row0: int, key0: int) -> None:
        ids = pc.cast(batch.column(self.unit_col), pa.string())
        hit = pc.index_in(self.previous_ids, value_set=ids).is_valid().to_numpy(
            zero_copy_only=False)
        self.present |= hit

    def merge(self, other: PresentIds) -> PresentIds:
        self.present |= other.present
        return self


def population_change(previous_rows: int, rows: int, present: np.ndarray,
                      previous_pi: np.ndarray) -> dict[str, Any]:
    """How the population changed since the previous wave (module docstring).

    Examples
    --------
    >>> population_change(1000, 1010, np.array([True, False, True]), np.array([.1, .1, .1]))
    {'previous_rows': 1000, 'rows': 1010, 'previous_units_gone': 1, 'left_estimate': 10.0, \
'new_estimate': 20.0}
    """
    gone = ~np.asarray(present, bool)
    left = float(np.sum(1.0 / np.asarray(previous_pi, np.float64)[gone]))
    left = min(left, float(previous_rows))
    return {"previous_rows": int(previous_rows), "rows": int(rows),
            "previous_units_gone": int(gone.sum()), "left_estimate": round(left, 1),
            "new_estimate": round(max(float(rows) - (previous_rows - left), 0.0), 1)}


@dataclass(frozen=True)
class WaveLink:
    """A new wave drawn with an earlier one's PRN key: ``--coordinate-with`` (``rotation`` None)
    or ``--rotate-from`` (``rotation`` the share of units replaced)."""

    previous: str
    rotation: float | None
    manifest: Manifest
    units: pa.Table  # the previous wave's unit_id, stratum, inclusion_prob

    @classmethod
    def of(cls, sampler: Any) -> WaveLink | None:
        """The link of ``sampler`` to its previous wave (None for a first wave), checked."""
        rotate_from = getattr(sampler, "rotate_from", None)
        rotation = getattr(sampler, "rotation", None)
        if rotate_from and sampler.coordinate_with:
            raise DesignError("give --rotate-from or --coordinate-with, not both")
        if rotation is not None and not rotate_from:
            raise DesignError("--rotation needs --rotate-from (the wave to rotate from)")
        previous = rotate_from or sampler.coordinate_with
        if not previous:
            return None
        if rotate_from and (rotation is None or isinstance(rotation, bool)
                            or not 0.0 <= float(rotation) <= 1.0):
            raise DesignError(f"--rotate-from needs --rotation, a share in [0, 1] of the "
                              f"units to replace (got {rotation!r})")
        path = as_path(previous)  # an s3://... URI stays one
        check_objects([path])  # a missing object or bucket says so, in one line
        manifest = read_manifest(path)
        if manifest.seed is None:
            raise DesignError(f"{path}: the previous sample's manifest records no seed")
        check_seed(int(sampler.seed), int(manifest.seed), str(path), explicit=False)
        cols = ["unit_id", "stratum", "inclusion_prob"]
        units = read_parquet(path, columns=cols)
        return cls(str(previous), None if rotation is None else float(rotation), manifest,
                   units)

    @property
    def seed(self) -> int:
        return int(self.manifest.seed)

    def shifts(self, labels: list[str], N_h: np.ndarray, n_h: np.ndarray, sampler: Any,
               runner: Any, source: Any, columns: list[str], early: Any, factory: Any
               ) -> tuple[np.ndarray, np.ndarray]:
        """(cumulative shift ``S_B,h``, this wave's step ``s_h``) per stratum of ``labels``:
        by rank for bottom-k SRSWOR (a pass for the largest PRNs), else ``r·n_h/N_h``."""
        start = recorded_shifts(self.manifest, labels)
        if sampler.design_name != "stratified":
            step = stratum_shift(n_h, N_h, float(self.rotation))
            return cumulative_shift(start, step), step
        k = entrants(recorded_sizes(self.manifest, labels), n_h, float(self.rotation))
        ctx = replace(early, shift=start, labels=labels,
                      index={label: h for h, label in enumerate(labels)})
        top = runner.reduce(source, columns, factory(TopPrns, sampler._prns, ctx, k + 1),
                            "rotation").result()
        step = np.array([rank_shift(t, int(kh)) for t, kh in zip(top, k, strict=True)])
        return cumulative_shift(start, step), step

    def describe(self, labels: list[str], step: np.ndarray) -> dict[str, Any]:
        """The manifest's ``design['rotation']``."""
        return {"previous": self.previous, "previous_content_hash": self.manifest.content_hash,
                "previous_seed": self.seed, "rotation": self.rotation,
                "shift": {label: float(s) for label, s in zip(labels, step, strict=True)}}

    def population_change(self, runner: Any, source: Any, unit_col: str, rows: int,
                          factory: Any) -> dict[str, Any]:
        """The manifest's ``population['change']``: one pass over the unit ids."""
        ids = pc.cast(self.units.column("unit_id"), pa.string()).combine_chunks()
        state = runner.reduce(source, [unit_col], factory(PresentIds, ids, unit_col),
                              "population change")
        previous_rows = int((self.manifest.population or {}).get("rows", 0))
        return population_change(previous_rows, rows, state.present,
                                 self.units.column("inclusion_prob").to_numpy())


def check_seed(seed: int, previous_seed: int, previous: str, explicit: bool) -> None:
    """A seed other than the previous wave's is an error: linked waves share the PRN key
    (``seed`` 0 from the API is "not given" unless ``explicit``)."""
    if seed != previous_seed and (explicit or seed != 0):
        raise DesignError(f"--seed {seed} differs from seed {previous_seed} of {previous}, "
                          f"which a coordinated or rotated wave reuses: drop --seed, or for an "
                          f"independent wave drop --coordinate-with/--rotate-from")


def wave_lines(manifest: Manifest) -> list[str]:
    """What `curate sample` says about the previous wave: the rotation and how the population
    changed (nothing for a first wave)."""
    out = []
    rot = (manifest.design or {}).get("rotation")
    if rot:
        out.append(f"rotating {rot['rotation']:g} of {rot['previous']} (seed "
                   f"{rot['previous_seed']}; expected overlap ≈ {1 - rot['rotation']:.0%} of "
                   f"its units)")
    change = (manifest.population or {}).get("change")
    if change:
        out.append(f"population: {change['rows']} rows (previous wave {change['previous_rows']});"
                   f" {change['previous_units_gone']} of the previous sample's units are gone,"
                   f" ≈ {change['left_estimate']:g} items left and ≈ "
                   f"{change['new_estimate']:g} are new")
    return out
