"""Versions of the audit datasets: which git revisions changed a sample or curated dataset.

A version is a git revision (usually a tag). Datasets are the DVC-tracked Parquet files whose
metadata holds a manifest of kind ``sample`` or ``curated``; everything is read through DVC at
each revision, nothing is checked out. :func:`get_dataset` exports a past dataset.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schemas import Manifest, VersionError
from schemas.io import atomic_path
from schemas.manifest import sidecar_path
from schemas.storage import is_remote

from .repository import Snapshot, history, md5_of, repo_root, tags

DATASET_KINDS = ("sample", "curated")


@dataclass(frozen=True)
class Dataset:
    """One dataset of a revision: path, kind, row count, its manifest and whether it changed."""

    path: str
    md5: str
    rows: int
    manifest: Manifest
    changed: bool = False

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def content_hash(self) -> str:
        return self.manifest.content_hash

    @property
    def seed(self) -> int | None:
        return self.manifest.seed

    @property
    def summary(self) -> str:
        return design_summary(self.manifest)


@dataclass(frozen=True)
class Version:
    """A revision that changed at least one dataset, with every dataset it holds."""

    sha: str
    tags: tuple[str, ...]
    time: int
    subject: str
    datasets: tuple[Dataset, ...] = field(default_factory=tuple)

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%d %H:%M")


def design_summary(manifest: Manifest) -> str:
    """A one-line description of a dataset's design, e.g. ``stratified power(q=0.5) n=600``."""
    d = manifest.design or {}
    name = d.get("name", "?")
    if name == "importance":
        name += f"[{d.get('method', 'priority')}]"
    parts = [name, f"n={d.get('n')}"]
    alloc = d.get("allocation")
    if alloc:
        parts.append(f"{alloc}(q={d.get('power')})" if alloc == "power" else alloc)
    spec = d.get("strata_spec") or {}
    strata = list(spec.get("columns") or [])
    if spec.get("bins"):
        strata.append(f"bins({spec['bins']},{spec.get('n_bins')})")
    if spec.get("clusters"):
        strata.append(f"kmeans({'+'.join(spec['clusters'])},{spec.get('n_clusters')})")
    parts.append("strata=" + (",".join(strata) or "none"))
    if d.get("size"):
        parts.append(f"size={d['size']}" + (f"(mix={d['mixture']})" if d.get("mixture") else ""))
    if d.get("min_per_stratum"):
        parts.append(f"min={d['min_per_stratum']}")
    if d.get("coordination"):
        parts.append(f"coordinated({d['coordination'].get('overlap')})")
    if manifest.kind == "curated":
        src = (manifest.inputs.get("sample") or {}).get("path", "?")
        parts.insert(0, f"curated from {src}:")
    return " ".join(parts)


def datasets_at(snapshot: Snapshot, known: dict[str, tuple[Manifest | None, int]] | None = None
                ) -> dict[str, Dataset]:
    """Every sample or curated dataset tracked at ``snapshot``'s revision, by path.

    ``known`` caches manifests by md5 so that each stored object is read once.
    """
    known = {} if known is None else known
    out = {}
    for path, md5 in snapshot.tracked().items():
        if md5 not in known:
            known[md5] = snapshot.manifest(path)
        manifest, rows = known[md5]
        if manifest is not None and manifest.kind in DATASET_KINDS:
            out[path] = Dataset(path, md5, rows, manifest)
    return out


def list_versions(repo: str | Path = ".") -> list[Version]:
    """Revisions (reachable from HEAD or a tag) that changed a dataset: tagged ones first,
    then the others, each group newest first."""
    root = repo_root(repo)
    tagged = tags(root)
    known: dict[str, tuple[Manifest | None, int]] = {}
    state: dict[str, dict[str, str]] = {}

    def tracked(sha: str) -> dict[str, str]:
        if sha not in state:
            state[sha] = Snapshot(root, sha).tracked()
        return state[sha]

    versions = []
    for commit in history(root):
        now = tracked(commit.sha)
        before = tracked(commit.parent) if commit.parent else {}
        changed = {p for p, md5 in now.items() if before.get(p) != md5}
        if not changed:
            continue
        snap = Snapshot(root, commit.sha)
        present = datasets_at(snap, known)
        if not changed & set(present):
            continue
        datasets = tuple(Dataset(d.path, d.md5, d.rows, d.manifest, d.path in changed)
                         for d in present.values())
        versions.append(Version(commit.sha, tuple(tagged.get(commit.sha, ())), commit.time,
                                commit.subject, datasets))
    return sorted(versions, key=lambda v: (not v.tags, -v.time))


def _dirty(root: Path, rel: str) -> bool:
    """Whether overwriting the workspace file ``rel`` would lose work: it differs from HEAD
    (in git, or from DVC's record), or git does not version it."""
    target = root / rel
    if not target.exists():
        return False
    status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", rel],
                            capture_output=True, text=True, check=False).stdout
    if status.strip():  # modified in git, or not versioned at all: either would be lost
        return True
    try:
        head = Snapshot(root, "HEAD")
    except VersionError:
        return False
    if not head.exists(rel):
        return False
    md5 = head.md5(rel)
    return md5 is not None and md5 != md5_of(target)


def _manifest_of(data: bytes, where: str) -> tuple[Manifest | None, int]:
    """The manifest in the footer of Parquet bytes (None if none) and the row count."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.manifest import METADATA_KEY

    try:
        meta = pq.read_metadata(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise VersionError(f"{where} is not readable Parquet: {str(exc).splitlines()[0]}") \
            from exc
    raw = (meta.metadata or {}).get(METADATA_KEY)
    return (Manifest.from_dict(json.loads(raw)) if raw else None), meta.num_rows


def get_dataset(repo: str | Path, rev: str, path: str, output: str | Path) -> Dataset | None:
    """Export ``path`` as of ``rev`` to ``output`` atomically (with its manifest sidecar when
    it is a dataset), only when its bytes are the md5 DVC recorded for it. Refuses to overwrite
    a workspace file with uncommitted changes."""
    root = repo_root(repo)
    snap = Snapshot(root, rev)
    rel = snap.relative(path)
    output = str(output) if is_remote(output) else Path(output).resolve()  # s3://... stays
    side_rel = sidecar_path(rel).as_posix() if rel.endswith(".parquet") else None
    copies = {output: rel}
    if side_rel and snap.exists(side_rel):
        copies[sidecar_path(output)] = side_rel
    for target in copies:
        if is_remote(target):
            continue
        try:
            target_rel = target.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        if _dirty(root, target_rel):
            raise VersionError(f"{target_rel} has uncommitted changes in the workspace; commit "
                               f"or discard them, or export to another path with -o")
    # read_bytes checks each DVC-tracked file against the md5 of its .dvc file or dvc.lock
    contents = {target: snap.read_bytes(source) for target, source in copies.items()}
    manifest, rows = _manifest_of(contents[output], f"{rev}:{rel}") \
        if rel.endswith(".parquet") else (None, 0)
    for target, data in contents.items():
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    if manifest is None:
        return None
    return Dataset(rel, snap.md5(rel) or "", rows, manifest)
