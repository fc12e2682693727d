"""The manifest: everything needed to redraw a sample and prove it identical.

It is stored in the sample's Parquet schema metadata (key ``audit_curation.manifest``) and beside
it as ``<name>.manifest.json``. The Parquet copy leaves out ``created_at`` so that the same
design, seed and population always give a byte-identical file; the sidecar keeps it.

``packages`` records the versions of the packages that can change a sample (numpy, pandas,
pyarrow, scikit-learn, scipy, dask and audit-curation itself), so that a redraw that differs
can say which of them changed since the sample was drawn. Manifests written before it existed
read with an empty mapping.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import storage
from .errors import SchemaError
from .io import write_json, write_parquet
from .storage import is_remote, local_path

METADATA_KEY = b"audit_curation.manifest"


@dataclass(frozen=True)
class Manifest:
    """Provenance of a sample or derived dataset (DESIGN §3)."""

    kind: str
    design: dict[str, Any]
    seed: int | None
    prn: dict[str, Any]
    population: dict[str, Any]
    allocation: list[dict[str, Any]]
    content_hash: str
    package_version: str
    packages: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None

    def to_dict(self, with_created: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not with_created:
            d.pop("created_at")
        return d

    def to_json(self, with_created: bool = True) -> str:
        return json.dumps(self.to_dict(with_created), sort_keys=True, separators=(",", ":"),
                          default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        known = {f for f in cls.__dataclass_fields__}
        missing = {"kind", "design", "content_hash"} - set(d)
        if missing:
            raise SchemaError(f"manifest lacks {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in known}) if "prn" in d else cls(
            **{"prn": {}, "population": {}, "allocation": [], "seed": None,
               "package_version": "", **{k: v for k, v in d.items() if k in known}})

    def stamped(self) -> Manifest:
        """A copy with ``created_at`` set to now (UTC)."""
        return replace(self, created_at=datetime.now(UTC).isoformat(timespec="seconds"))


def sidecar_path(path: str | os.PathLike) -> Path | str:
    """``data/x.parquet`` → ``data/x.manifest.json`` (a URI stays a URI: ``s3://b/x.parquet``
    → ``s3://b/x.manifest.json``)."""
    if is_remote(path):
        return str(path).removesuffix(".parquet") + ".manifest.json"
    p = local_path(path)
    return p.with_name(p.name.removesuffix(".parquet") + ".manifest.json")


def write_with_manifest(path: str | os.PathLike, table: pa.Table, manifest: Manifest) -> None:
    """Atomically write ``table`` with ``manifest`` in its metadata, then the sidecar JSON."""
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta[METADATA_KEY] = manifest.to_json(with_created=False).encode()
    write_parquet(path, table.replace_schema_metadata(meta))
    write_json(sidecar_path(path), manifest.stamped().to_dict())


def read_manifest(path: str | os.PathLike) -> Manifest:
    """The manifest stored in a Parquet file's (or object's) metadata."""
    fs, where = storage.resolve(path) if is_remote(path) else (None, local_path(path))
    if fs is None and not where.is_file():
        raise SchemaError("no such file", source=str(path))
    try:
        meta = pq.read_schema(str(where), filesystem=fs).metadata or {}
    except (OSError, pa.ArrowInvalid) as exc:
        raise SchemaError(f"cannot read Parquet metadata: {exc}", source=str(path)) from exc
    if METADATA_KEY not in meta:
        raise SchemaError("no audit-curation manifest in the Parquet metadata "
                          "(was it written by `curate sample`?)", source=str(path))
    return Manifest.from_dict(json.loads(meta[METADATA_KEY]))


def find_uri_manifest(uri: str) -> tuple[Manifest | None, str]:
    """(manifest, where it came from) of a table in object storage: the Parquet object's
    metadata, else the sidecar object ``<name>.manifest.json`` beside it; else (None, 'none')."""
    if str(uri).endswith(".parquet") and storage.kind(uri) == "file":
        fs, where = storage.resolve(uri)
        if METADATA_KEY in (pq.read_schema(where, filesystem=fs).metadata or {}):
            return read_manifest(uri), "Parquet metadata"
    side = sidecar_path(uri)
    data = storage.read_bytes(side)
    if data is None:
        return None, "none"
    try:
        return Manifest.from_dict(json.loads(data)), side
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"not a manifest: {exc}", source=side) from None
