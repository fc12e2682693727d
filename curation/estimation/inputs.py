"""Reading what ``curate estimate`` needs: the labeled sample, its manifest, known totals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from schemas import Manifest, SchemaError, read_manifest, sidecar_path
from schemas.io import read_parquet
from schemas.manifest import METADATA_KEY


def load_sample(path: str | Path, manifest_path: str | Path | None = None,
                ) -> tuple[pd.DataFrame, Manifest | None, str]:
    """(table, manifest or None, where the manifest came from) of a labeled sample.

    The manifest is, in order: ``manifest_path`` (a ``*.manifest.json``), the Parquet
    metadata of ``path``, the sidecar ``<name>.manifest.json`` beside it; else None, and
    :func:`curation.estimation.survey_design.recognise` infers the design from the weights.
    """
    path = Path(path)
    if not path.exists():
        raise SchemaError("no such file", source=str(path))
    if path.suffix.lower() == ".csv":
        try:
            df = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read CSV: {exc}", source=str(path)) from None
    else:
        df = read_parquet(path).to_pandas()
    if manifest_path is not None:
        return df, _read_json_manifest(Path(manifest_path)), str(manifest_path)
    if path.is_file() and path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        if METADATA_KEY in (pq.read_schema(path).metadata or {}):
            return df, read_manifest(path), "Parquet metadata"
    side = sidecar_path(path) if path.suffix.lower() == ".parquet" else \
        path.with_name(path.stem + ".manifest.json")
    if side.is_file():
        return df, _read_json_manifest(side), str(side)
    return df, None, "none"


def _read_json_manifest(path: Path) -> Manifest:
    if not path.is_file():
        raise SchemaError("no such manifest file", source=str(path))
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"not a manifest: {exc}", source=str(path)) from None


def load_totals(path: str | Path) -> dict[str, dict[str, float]]:
    """Known population counts from a CSV with columns ``column, level, total``."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError("no such file", source=str(path))
    try:
        df = pd.read_csv(path, dtype={"column": str, "level": str})
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
    if Path(path).is_file() and col not in _schema_names(path):
        raise SchemaError(f"no domain column {col!r} in the population", source=str(path))
    return read_parquet(path, columns=[col]).to_pandas()


def _schema_names(path: str | Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path).names
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read Parquet: {exc}", source=str(path)) from None
