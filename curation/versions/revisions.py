"""A curated dataset as of a git revision, and the tagged waves of a repository.

:func:`read_dataset` gives what :func:`curation.estimation.inputs.load_sample` gives for a file
in the workspace — the table, its manifest and where the manifest came from — but reads the
revision through DVC (:class:`~.repository.Snapshot`: cache, else remote; nothing checked out):
the manifest is the Parquet metadata, else the sidecar ``<name>.manifest.json`` committed beside
the dataset at that revision, and it must vouch for the table (its content hash), as for a file.
:func:`tagged_waves` lists the tags that hold a dataset, oldest commit first.
"""

from __future__ import annotations

import fnmatch
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from schemas import Manifest, SchemaError, VersionError

from .repository import Snapshot, git, repo_root, tags


@dataclass(frozen=True)
class Wave:
    """One tagged version: its tag, commit and commit time (unix seconds)."""

    version: str
    commit: str
    time: int

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sidecar(rel: str) -> str:
    p = PurePosixPath(rel)
    stem = p.name.removesuffix(".parquet") if p.suffix == ".parquet" else p.stem
    return str(p.with_name(stem + ".manifest.json"))


def read_dataset(root: str | Path, rev: str, path: str, snapshot: Snapshot | None = None,
                 ) -> tuple[object, Manifest | None, str]:
    """(DataFrame, manifest or None, where the manifest came from) of ``path`` at ``rev``.

    A VersionError names the revision when it does not exist, and the revision and path when
    the dataset is not there (listing the datasets DVC tracks at it).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.estimation.inputs import check_manifest
    from schemas.manifest import METADATA_KEY

    snap = snapshot or Snapshot(repo_root(root), rev)
    rel = snap.relative(path)
    if not snap.exists(rel):
        raise VersionError(f"revision {rev} ({snap.sha[:10]}) has no dataset {rel} (datasets "
                           f"tracked there: {list(snap.tracked()) or 'none'})")
    source = f"{rev}:{rel}"
    data = snap.read_bytes(rel)
    table = None
    try:
        if rel.lower().endswith(".csv"):
            df = pd.read_csv(io.BytesIO(data))
        else:
            table = pq.read_table(pa.BufferReader(data))
            df = table.to_pandas()
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise SchemaError(f"cannot read the dataset: {str(exc).splitlines()[0]}",
                          source=source) from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY) if table is not None else None
    manifest, origin = None, "none"
    if raw is not None:
        manifest, origin = Manifest.from_dict(json.loads(raw)), "Parquet metadata"
    elif snap.exists(_sidecar(rel)):
        side = _sidecar(rel)
        try:
            manifest = Manifest.from_dict(json.loads(snap.read_bytes(side)))
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"not a manifest: {exc}", source=f"{rev}:{side}") from None
        origin = f"{rev}:{side}"
    if manifest is not None:
        check_manifest(table if table is not None else df, manifest, source, origin)
    return df, manifest, origin


def tagged_waves(root: str | Path, pattern: str = "*") -> list[Wave]:
    """Tagged commits (tags matching the glob ``pattern``), oldest commit first.

    A commit with several matching tags is one wave, named by the first of them (sorted).
    """
    root = repo_root(root)
    waves = []
    for sha, names in tags(root).items():
        chosen = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if chosen:
            time = int(git(root, "log", "-1", "--format=%ct", sha).strip())
            waves.append(Wave(chosen[0], sha, time))
    return sorted(waves, key=lambda w: (w.time, w.version))


def waves_with(root: str | Path, path: str, pattern: str = "*",
               ) -> tuple[list[tuple[Wave, Snapshot]], list[str]]:
    """The tagged waves holding ``path`` (with their snapshots), and the tags without it."""
    root = repo_root(root)
    found, without = [], []
    for wave in tagged_waves(root, pattern):
        snap = Snapshot(root, wave.version)
        if snap.exists(snap.relative(path)):
            found.append((wave, snap))
        else:
            without.append(wave.version)
    return found, without


def read_waves(root: str | Path, revs: tuple[str, str], path: str) -> tuple[list, str | None]:
    """``[(df, manifest, source)]`` of ``path`` at the two revisions, and a note when the
    second revision's commit is older than the first's (the change is still B − A as given)."""
    root = repo_root(root)
    snaps = [Snapshot(root, rev) for rev in revs]  # an unknown revision fails here, named
    waves = []
    for rev, snap in zip(revs, snaps, strict=True):
        df, manifest, _ = read_dataset(root, rev, path, snapshot=snap)
        waves.append((df, manifest, f"{rev}:{snap.relative(path)}"))
    times = [int(git(root, "log", "-1", "--format=%ct", s.sha).strip()) for s in snaps]
    note = (f"{revs[1]} is older than {revs[0]}: the change is {revs[1]} − {revs[0]} as "
            f"given") if times[1] < times[0] else None
    return waves, note
