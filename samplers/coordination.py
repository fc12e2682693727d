"""Coordination of audit waves through permanent random numbers.

``overlap='max'`` redraws with the previous wave's seed and no shift (a trend panel: units stay
in as long as their stratum's share allows). ``overlap='min'`` starts each stratum's PRN window
just after the previous wave's units (``u' = (u + 1 - max_prev_u) mod 1``): a fixed shift keeps
every unit's inclusion probability, and units already labeled come last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from schemas import DesignError, Manifest, read_manifest
from schemas.io import read_parquet

OVERLAPS = ("max", "min")


@dataclass(frozen=True)
class Coordination:
    """Coordinate a new draw with a previous sample (a path to its Parquet file)."""

    previous: str
    overlap: str = "max"

    def load(self) -> tuple[Manifest, pa.Array]:
        """The previous manifest and its unit ids."""
        if self.overlap not in OVERLAPS:
            raise DesignError(f"overlap must be one of {list(OVERLAPS)}, got {self.overlap!r}")
        path = Path(self.previous)
        manifest = read_manifest(path)
        if manifest.seed is None:
            raise DesignError(f"{path}: the previous sample's manifest records no seed")
        ids = read_parquet(path, columns=["unit_id"]).column("unit_id").combine_chunks()
        return manifest, ids

    def describe(self, manifest: Manifest) -> dict:
        return {"previous": str(self.previous), "overlap": self.overlap,
                "previous_content_hash": manifest.content_hash, "previous_seed": manifest.seed}
