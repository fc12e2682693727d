"""Reading what ``curate estimate`` needs: the labeled sample, its manifest, known totals.

A manifest vouches for a table only when they match (:func:`check_manifest`): a curated
dataset's manifest holds the content hash of the whole table, so a table edited after
``curate build`` (rows dropped or repeated, π, weights or labels changed) or the manifest of
another dataset is refused. A sample's manifest may describe a sample to which label columns
were added: then its design columns must be the sample's — unique units, as many per stratum
as allocated, each unit's PRN under the manifest's seed, and π = n_h/N_h for stratified SRS.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas import Manifest, SchemaError, content_hash, read_manifest, sidecar_path
from schemas.io import read_parquet
from schemas.manifest import METADATA_KEY, find_uri_manifest
from schemas.storage import (
    as_path,
    beside,
    contents,
    is_file,
    is_remote,
    parquet_schema,
    readable,
    suffix,
)
from schemas.validate import rows_where


def load_sample(path: str | Path, manifest_path: str | Path | None = None,
                ) -> tuple[pd.DataFrame, Manifest | None, str]:
    """(table, manifest or None, where the manifest came from) of a labeled sample.

    The manifest is, in order: ``manifest_path`` (a ``*.manifest.json``), the Parquet
    metadata of ``path``, the sidecar ``<name>.manifest.json`` beside it; else None, and
    :func:`curation.estimation.survey_design.recognise` infers the design from the weights.
    ``path`` may be an object-storage URI (``s3://bucket/labeled.parquet``).
    """
    if is_remote(path) and suffix(path) != ".csv":
        table = read_parquet(path)
        manifest, origin = find_manifest(path, manifest_path)
        if manifest is not None:
            check_manifest(table, manifest, str(path), origin)
        return table.to_pandas(), manifest, origin
    path = as_path(path)
    if not is_remote(path) and not path.exists():
        raise SchemaError("no such file", source=str(path))
    table = None
    if suffix(path) == ".csv":
        try:
            df = pd.read_csv(readable(path))
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read CSV: {exc}", source=str(path)) from None
    else:
        table = read_parquet(path)
        df = table.to_pandas()
    manifest, origin = find_manifest(path, manifest_path)
    if manifest is not None:
        check_manifest(table if table is not None else df, manifest, str(path), origin)
    return df, manifest, origin


def find_manifest(path: str | Path, manifest_path: str | Path | None = None,
                  ) -> tuple[Manifest | None, str]:
    """The manifest of the table at ``path`` and where it came from: ``manifest_path``, else
    the Parquet metadata, else the sidecar ``<name>.manifest.json``; else (None, 'none')."""
    if is_remote(path) and manifest_path is None and suffix(path) == ".csv":
        side = beside(path, ".manifest.json")  # x.csv → x.manifest.json, as for a local CSV
        return (_read_json_manifest(side), side) if is_file(side) else (None, "none")
    if is_remote(path) and manifest_path is None:
        return find_uri_manifest(str(path))
    path = Path(path)
    if manifest_path is not None:
        return _read_json_manifest(manifest_path), str(manifest_path)
    if path.is_file() and path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        if METADATA_KEY in (pq.read_schema(path).metadata or {}):
            return read_manifest(path), "Parquet metadata"
    side = sidecar_path(path) if path.suffix.lower() == ".parquet" else \
        path.with_name(path.stem + ".manifest.json")
    if side.is_file():
        return _read_json_manifest(side), str(side)
    return None, "none"


def check_manifest(data: pa.Table | pd.DataFrame, manifest: Manifest, source: str,
                   origin: str = "its manifest", exact: bool = False) -> None:
    """SchemaError unless ``manifest`` vouches for ``data`` (see the module doc); ``exact``
    asks for the content hash even of a sample's manifest (the table must be the sample). A
    CSV (``data`` a DataFrame) keeps no types, so only its design columns can be judged."""
    if isinstance(data, pd.DataFrame):  # a CSV: its types are not the file's; judge the design
        frame, actual = data, None
    else:
        frame, actual = None, content_hash(data.replace_schema_metadata(None))
    if actual == manifest.content_hash:
        return
    where = "its manifest" if origin == "Parquet metadata" else origin
    if frame is None and (exact or manifest.kind != "sample"):
        raise SchemaError(f"the table does not match the content hash of {where} (a "
                          f"{manifest.kind} dataset, hash {manifest.content_hash[:12]}): it "
                          f"was changed after it was written (rows dropped or repeated, π, "
                          f"weights or labels edited) or the manifest is another dataset's; "
                          f"{_remedy(manifest)}", source=source)
    problems = design_problems(frame if frame is not None else data.to_pandas(), manifest)
    if problems:
        raise SchemaError(f"the design columns do not match the sample manifest {where} "
                          f"(hash {manifest.content_hash[:12]}): " + "; ".join(problems)
                          + f"; {_remedy(manifest)}", source=source)


def _remedy(manifest: Manifest) -> str:
    if manifest.kind == "curated":
        return "rebuild it with `curate build`"
    return "use the sample's own manifest, or redraw the sample with `curate sample`"


def design_problems(df: pd.DataFrame, manifest: Manifest) -> list[str]:
    """How the design columns of a (labeled) sample disagree with a sample manifest."""
    from samplers.prn import shifted

    missing = [c for c in ("unit_id", "stratum", "inclusion_prob") if c not in df.columns]
    if missing:
        return [f"missing design column(s) {missing}"]
    problems = []
    ids = df["unit_id"].astype(str)
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        problems.append(f"{int(dup.sum())} rows repeat a unit_id (at {rows_where(dup)})")
    alloc = {str(a["stratum"]): a for a in manifest.allocation or []}
    strata = df["stratum"].astype(str)
    unknown = sorted(set(strata.unique()) - set(alloc))
    if alloc and unknown:
        problems.append(f"strata {unknown[:5]} are not in the manifest's allocation")
    design = manifest.design or {}
    fixed = design.get("name") == "stratified" or (
        design.get("name") == "importance" and design.get("method", "priority") == "priority")
    if alloc and fixed:  # n_h units in every stratum, exactly
        counts = strata.value_counts()
        off = [f"{s!r} has {int(counts.get(s, 0))} of {a['n_h']} units"
               for s, a in alloc.items() if int(counts.get(s, 0)) != int(a["n_h"])]
        if off:
            problems.append("rows dropped or added: stratum " + ", ".join(off[:5]))
    if alloc and design.get("name") == "stratified":
        pi = df["inclusion_prob"].to_numpy(float)
        per = {s: a["n_h"] / a["N_h"] if a["N_h"] else np.nan for s, a in alloc.items()}
        want = _per_unit(strata, per, np.nan)
        bad = ~np.isclose(pi, want, rtol=1e-12, atol=0) & ~np.isnan(want)
        if bad.any():
            problems.append(f"inclusion_prob is not n_h/N_h at {rows_where(bad)}")
    if "prn" in df.columns and manifest.seed is not None and not dup.any() and \
            (manifest.prn or {}).get("name") == "acprn":
        u = _check_prn(pa.array(ids, pa.string()), int(manifest.seed))
        shift = _per_unit(strata, {s: float(a.get("prn_shift", 0.0)) for s, a in alloc.items()},
                          0.0)
        if shift.any():
            u = shifted(u, shift)
        bad = ~np.isclose(df["prn"].to_numpy(float), u, rtol=0, atol=1e-15)
        if bad.any():
            problems.append(f"prn is not the PRN of unit_id under seed {manifest.seed} at "
                            f"{rows_where(bad)} (another sample's manifest?)")
    return problems


def _per_unit(strata: pd.Series, value: dict[str, float], default: float) -> np.ndarray:
    """Each unit's stratum's value (``default`` for a stratum without one), looked up once
    per stratum rather than per unit."""
    codes, uniques = pd.factorize(strata)
    return np.array([value.get(str(u), default) for u in uniques], np.float64)[codes]


#: Below this many ids the PRN check hashes on the numpy path: numba's start-up (import and
#: loading its compiled kernels, ~0.6 s) costs more than hashing them in numpy (< 0.1 s per
#: 10^5 ids of any length); both paths give the same bits (tests/samplers/test_kernels.py).
PRN_CHECK_NUMPY_BELOW = 500_000


def _check_prn(ids: pa.Array, seed: int) -> np.ndarray:
    """The PRNs of a sample's ids under ``seed``, on the cheaper kernel path for its size."""
    from samplers import kernels
    from samplers.prn import prn

    if len(ids) >= PRN_CHECK_NUMPY_BELOW:
        return prn(ids, seed)
    with kernels.use("numpy"):
        return prn(ids, seed)


def _read_json_manifest(path: str | Path) -> Manifest:
    if not is_remote(path) and not is_file(path):  # an object's absence: said by contents()
        raise SchemaError("no such manifest file", source=str(path))
    try:
        return Manifest.from_dict(json.loads(contents(path).decode("utf-8")))
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"not a manifest: {exc}", source=str(path)) from None


def load_totals(path: str | Path) -> dict[str, dict[str, float]]:
    """Known population counts from a CSV with columns ``column, level, total``."""
    if not is_remote(path) and not is_file(path):  # an object's absence: said by readable()
        raise SchemaError("no such file", source=str(path))
    try:
        df = pd.read_csv(readable(path), dtype={"column": str, "level": str})
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read CSV: {exc}", source=str(path)) from None
    missing = {"column", "level", "total"} - set(df.columns)
    if missing:
        raise SchemaError(f"totals need columns column, level, total (missing "
                          f"{sorted(missing)})", source=str(path))
    bad = pd.to_numeric(df["total"], errors="coerce")
    if bad.isna().any() or (bad < 0).any():
        raise SchemaError("column 'total': counts must be numbers ≥ 0", source=str(path))
    out: dict[str, dict[str, float]] = {}
    for col, level, total in zip(df["column"], df["level"], bad, strict=True):
        out.setdefault(col, {})[level] = float(total)
    return out


def load_population(path: str | Path, domain: str | None) -> pd.DataFrame:
    """The domain column of a population table (catalogue or impressions), to size domains."""
    col = (domain or "").partition("=")[0]
    if not col:
        raise SchemaError("--population sizes domains: pass --domain too", source=str(path))
    if is_file(path) and col not in parquet_schema(path).names:
        raise SchemaError(f"no domain column {col!r} in the population", source=str(path))
    return read_parquet(path, columns=[col]).to_pandas()

