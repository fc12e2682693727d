"""What differs between a stored dataset and its redraw: rows, columns, values, provenance.

Each function returns plain sentences (empty list when nothing differs), so that
``curate reproduce`` can say exactly what changed rather than only that a hash did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas import Manifest

SHOW = 5


def _ids(values) -> str:
    values = sorted(str(v) for v in values)
    more = f" (+{len(values) - SHOW} more)" if len(values) > SHOW else ""
    return ", ".join(values[:SHOW]) + more


def _plain(value):
    """A numpy scalar as the Python value it holds (for readable messages)."""
    return value.item() if hasattr(value, "item") else value


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality where two missing values are equal."""
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    both_missing = np.asarray(pd.isna(a)) & np.asarray(pd.isna(b))
    with np.errstate(invalid="ignore"):
        equal = np.array([x == y if not (pd.isna(x) or pd.isna(y)) else False
                          for x, y in zip(left, right, strict=True)], dtype=bool)
    return equal | both_missing


def table_differences(stored: pa.Table, redrawn: pa.Table, key: str = "unit_id") -> list[str]:
    """Rows only on one side (by ``key``), columns only on one side, changed values per
    column, type and order changes."""
    out: list[str] = []
    if stored.num_rows != redrawn.num_rows:
        out.append(f"rows: stored {stored.num_rows}, redrawn {redrawn.num_rows}")
    only_s = [c for c in stored.column_names if c not in redrawn.column_names]
    only_r = [c for c in redrawn.column_names if c not in stored.column_names]
    if only_s:
        out.append(f"columns only in the stored dataset: {only_s}")
    if only_r:
        out.append(f"columns only in the redraw: {only_r}")
    common = [c for c in stored.column_names if c in redrawn.column_names]
    for name in common:
        a, b = stored.schema.field(name).type, redrawn.schema.field(name).type
        if a != b:
            out.append(f"column {name!r} has type {a} stored, {b} redrawn")
    if key not in common:
        return out
    s = stored.select(common).to_pandas()
    r = redrawn.select(common).to_pandas()
    for label, frame in (("stored dataset", s), ("redraw", r)):
        dup = frame[key].duplicated()
        if dup.any():
            out.append(f"the {label} repeats {int(dup.sum())} {key}(s): "
                       f"{_ids(frame.loc[dup, key].unique())}")
            return out
    ids_s, ids_r = set(s[key]), set(r[key])
    if ids_s - ids_r:
        out.append(f"{len(ids_s - ids_r)} unit(s) only in the stored dataset (removed by the "
                   f"redraw): {_ids(ids_s - ids_r)}")
    if ids_r - ids_s:
        out.append(f"{len(ids_r - ids_s)} unit(s) only in the redraw (missing from the stored "
                   f"dataset): {_ids(ids_r - ids_s)}")
    both = sorted(ids_s & ids_r)
    a = s.set_index(key).loc[both]
    b = r.set_index(key).loc[both]
    for name in a.columns:
        same = _same(a[name], b[name])
        if not same.all():
            where = np.flatnonzero(~same)
            unit = both[where[0]]
            out.append(f"column {name!r} differs for {len(where)} of {len(both)} common "
                       f"unit(s) (e.g. {unit}: stored {_plain(a[name].iloc[where[0]])!r}, "
                       f"redrawn {_plain(b[name].iloc[where[0]])!r})")
    if not out and list(s[key]) != list(r[key]):
        out.append("same rows and values in a different row order")
    return out


def provenance_differences(stored: Manifest, redrawn: Manifest) -> list[str]:
    """Population fingerprint and allocation (N_h, n_h per stratum) differences."""
    out: list[str] = []
    ps, pr = stored.population or {}, redrawn.population or {}
    if ps.get("fingerprint") != pr.get("fingerprint") or ps.get("rows") != pr.get("rows"):
        out.append(f"population fingerprint differs: stored {ps.get('fingerprint')} "
                   f"({ps.get('rows')} rows), input now {pr.get('fingerprint')} "
                   f"({pr.get('rows')} rows): {ps.get('source', 'the input')} changed after "
                   f"the sample was drawn")
    if "objects" in ps and "objects" in pr:  # object storage: the bytes' identity (ETag)
        before = {o["uri"]: o["etag"] for o in ps["objects"]}
        now = {o["uri"]: o["etag"] for o in pr["objects"]}
        changed = sorted(u for u in before.keys() | now.keys() if before.get(u) != now.get(u))
        if changed:
            out.append(f"the input objects are not the bytes the sample was drawn from "
                       f"(ETag differs or object added/removed): {', '.join(changed[:5])}")
    a = {e["stratum"]: (e.get("N_h"), e.get("n_h")) for e in stored.allocation or []}
    b = {e["stratum"]: (e.get("N_h"), e.get("n_h")) for e in redrawn.allocation or []}
    changed = [f"{h} (N_h {a.get(h, ('-',))[0]}→{b.get(h, ('-',))[0]}, "
               f"n_h {a.get(h, ('-', '-'))[1]}→{b.get(h, ('-', '-'))[1]})"
               for h in sorted(set(a) | set(b)) if a.get(h) != b.get(h)]
    if changed:
        more = f" (+{len(changed) - SHOW} more)" if len(changed) > SHOW else ""
        out.append(f"allocation differs in {len(changed)} stratum(s): "
                   f"{'; '.join(changed[:SHOW])}{more}")
    return out


#: Parameters that manifests did not always record: the value an older manifest implies.
IMPLIED = {"neyman_s": lambda design: "rms" if design.get("neyman_col") else "sd"}


def design_differences(stored: dict, declared: dict, where: str) -> list[str]:
    """Design parameters the stored manifest and the revision's declaration disagree on."""
    out = []
    for name, value in declared.items():
        if name == "unit_col" and value is None:
            continue
        recorded = stored.get(name)
        if name not in stored and name in IMPLIED:
            recorded = IMPLIED[name](stored)
            if recorded == value:
                continue
        if recorded != value:
            out.append(f"{name}: sample drawn with {recorded!r}, {where} says {value!r}")
    return out


#: What a change of each package's version can do to a sample.
PACKAGE_EFFECTS = {
    "scikit-learn": "bins and clusters may be fitted differently",
    "scipy": "clusters may be fitted differently",
    "numpy": "sums, distances and fitted strata may differ in their last bits",
    "pandas": "reading and converting the input may differ",
    "pyarrow": "reading the input and its types may differ",
    "audit-curation": "the sampler's own code changed (see CHANGELOG.md)",
}
FIT_PACKAGES = ("scikit-learn", "scipy")


def package_differences(stored: Manifest, now: dict[str, str], refitted: bool) -> list[str]:
    """The packages whose version differs from the one the sample was drawn with, each with
    what that can change (scikit-learn and scipy only when the redraw fitted strata again);
    for a manifest that records no versions, the versions the redraw used."""
    before = dict(stored.packages or {})
    if stored.package_version:
        before.setdefault("audit-curation", stored.package_version)
    relevant = [k for k in now if refitted or k not in FIT_PACKAGES]
    if not stored.packages:
        used = ", ".join(f"{k} {now[k]}" for k in relevant if k != "audit-curation")
        drawn = before.get("audit-curation", "an unknown version")
        return [f"the manifest records no package versions (drawn by audit-curation {drawn}, "
                f"now {now.get('audit-curation', '?')}); the redraw used {used}"]
    out = []
    for name in relevant:
        if name in before and before[name] != now[name]:
            effect = PACKAGE_EFFECTS.get(name)
            out.append(f"{name} {before[name]} → {now[name]} since the sample was drawn"
                       + (f"; {effect}" if effect else ""))
    return out


def _numbers(values, digits: int = 6) -> str:
    return "[" + ", ".join(f"{float(v):.{digits}g}" for v in values) + "]"


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def fit_differences(stored: dict, redrawn: dict) -> list[str]:
    """Bin edges and cluster centres (and their scaling) a redraw fitted differently from
    the ones stored in the sample's manifest: which column, stored vs redrawn."""
    out: list[str] = []
    before, after = stored.get("strata_fit") or {}, redrawn.get("strata_fit") or {}
    spec = redrawn.get("strata_spec") or stored.get("strata_spec") or {}
    if "bin_edges" in before and "bin_edges" in after and \
            not _close(before["bin_edges"], after["bin_edges"]):
        out.append(f"bins of {spec.get('bins')!r} fitted differently: stored edges "
                   f"{_numbers(before['bin_edges'])}, redrawn {_numbers(after['bin_edges'])}")
    if "cluster_centers" in before and "cluster_centers" in after:
        cols = list(spec.get("clusters") or [])
        scaled = ("cluster_scale" in before, "cluster_scale" in after)
        if scaled == (False, True):
            out.append(f"clusters of {cols}: stored centres were fitted on the columns' own "
                       f"units, the redraw standardizes them first (mean 0, sd 1)")
        elif scaled == (True, True) and not all(
                _close(before["cluster_scale"][k], after["cluster_scale"][k])
                for k in ("mean", "sd")):
            out.append(f"clusters of {cols}: scaled differently (stored mean "
                       f"{_numbers(before['cluster_scale']['mean'])}, sd "
                       f"{_numbers(before['cluster_scale']['sd'])}; redrawn mean "
                       f"{_numbers(after['cluster_scale']['mean'])}, sd "
                       f"{_numbers(after['cluster_scale']['sd'])})")
        if not _close(before["cluster_centers"], after["cluster_centers"]):
            def centres(rows) -> str:
                more = f" (+{len(rows) - SHOW} more)" if len(rows) > SHOW else ""
                return "; ".join(_numbers(r, 4) for r in rows[:SHOW]) + more

            out.append(f"clusters of {cols} fitted differently: stored centres "
                       f"{centres(before['cluster_centers'])}, redrawn "
                       f"{centres(after['cluster_centers'])}")
    if out and before.get("fit_rows") != after.get("fit_rows"):
        out.append(f"strata fitted on {after.get('fit_rows')} units, stored fit on "
                   f"{before.get('fit_rows')}")
    return out
