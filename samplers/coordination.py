"""Coordination of audit waves through permanent random numbers.

``overlap='max'`` redraws with the previous wave's seed and no shift (a trend panel: units stay
in as long as their stratum's share allows). ``overlap='min'`` starts each stratum's PRN window
just after the previous wave's units (``u' = (u + 1 - max_prev_u) mod 1``): a fixed shift keeps
every unit's inclusion probability, and units already labeled come last. A previous wave whose
PRNs were shifted (a rotating panel, ``prn_shift`` in its allocation) is coordinated with on its
own PRNs: ``max`` keeps its shift, ``min`` starts past its units' largest shifted PRN.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from schemas import DesignError, Manifest, read_manifest
from schemas.io import read_parquet
from schemas.storage import as_path, check_objects

OVERLAPS = ("max", "min")


@dataclass(frozen=True)
class Coordination:
    """Coordinate a new draw with a previous sample (a path or object-storage URI of its
    Parquet file)."""

    previous: str
    overlap: str = "max"

    def load(self) -> tuple[Manifest, pa.Array]:
        """The previous manifest and its unit ids."""
        if self.overlap not in OVERLAPS:
            raise DesignError(f"overlap must be one of {list(OVERLAPS)}, got {self.overlap!r}")
        path = as_path(self.previous)  # an s3://... URI stays one
        check_objects([path])  # a missing object or bucket says so, in one line
        manifest = read_manifest(path)
        if manifest.seed is None:
            raise DesignError(f"{path}: the previous sample's manifest records no seed")
        ids = read_parquet(path, columns=["unit_id"]).column("unit_id").combine_chunks()
        return manifest, ids

    def describe(self, manifest: Manifest) -> dict:
        return {"previous": str(self.previous), "overlap": self.overlap,
                "previous_content_hash": manifest.content_hash, "previous_seed": manifest.seed}
