"""Plain-text renderings of results for the terminal."""

from __future__ import annotations

import pandas as pd

from samplers import Sample


def allocation_table(sample: Sample, max_rows: int = 30) -> str:
    """The allocation table: stratum, N_h, n_h, selected, π (and τ or λ when present)."""
    alloc = sample.allocation
    counts = sample.table.column("stratum").to_pandas().value_counts()
    alloc["selected"] = alloc["stratum"].map(counts).fillna(0).astype(int)
    alloc["share"] = (alloc["n_h"] / alloc["N_h"]).round(6)
    shown = alloc.head(max_rows)
    text = shown.to_string(index=False)
    if len(alloc) > max_rows:
        text += f"\n... {len(alloc) - max_rows} more strata"
    total = pd.Series({"N": int(alloc["N_h"].sum()), "n": int(alloc["selected"].sum())})
    return f"{text}\ntotal: N={total['N']}, n={total['n']}, strata={len(alloc)}"
