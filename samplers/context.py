"""What a draw knows between its passes: the shared state the designs' hooks read and write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DrawContext:
    """The draw's key, strata and allocation, handed to the design's hooks (and, pickled, to
    Dask workers). Before the allocation (the first pass) only the key, strata, size measure
    and source are set; ``index`` maps a stratum label to its code in this pass."""

    unit_col: str
    seed: int
    strata: Any
    source: str
    size: Any = None
    shift: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labels: list[str] = field(default_factory=list)
    N_h: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_h: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    profile: Any = None
    canon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    index: dict[str, int] = field(default_factory=dict)
    alloc_extra: dict[str, np.ndarray] = field(default_factory=dict)
    score_mean: float | None = None
    lam: np.ndarray | None = None  # Poisson PPS: λ_h of π = min(1, λ_h·w)
