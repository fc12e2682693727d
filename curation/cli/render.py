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


def thin_strata_warnings(sample: Sample) -> list[str]:
    """One warning line per kind of thin stratum (no unit, one unit), naming them."""
    empty, single = sample.thin_strata()
    alloc = sample.allocation.set_index("stratum") if (empty or single) else None
    out = []
    for names, what, why in ((empty, "no unit", "no estimate can speak for their units "
                              "(curate estimate refuses 'all' unless --accept-unsampled)"),
                             (single, "one unit", "their variance cannot be estimated under "
                              "stratified sampling")):
        if names:
            shown = ", ".join(f"{s!r} (N_h={int(alloc.loc[s, 'N_h'])})" for s in names[:8])
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            out.append(f"warning: {len(names)} strata allocated {what}: {shown}{more}; {why}; "
                       f"pass --min-per-stratum 2, or stratify on coarser columns")
    return out
