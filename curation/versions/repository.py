"""Reading a git + DVC repository at any revision without checking anything out.

Git answers which revisions exist (``git rev-parse``, ``git log``, tags); DVC's file system
(``dvc.api``'s ``DVCFileSystem`` at a ``rev``) reads tracked data from the cache or, when the
cache lacks an object, from the default remote. Nothing here writes to the workspace; every
failure a user can cause becomes a one-line :class:`~schemas.VersionError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from schemas import Manifest, VersionError
from schemas.manifest import METADATA_KEY


def git(root: Path, *args: str) -> str:
    """Output of ``git -C root ARGS`` (VersionError with git's first line on failure)."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=False)
    except FileNotFoundError as exc:
        raise VersionError("git is not installed (needed to read versions)") from exc
    if done.returncode:
        first = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise VersionError(f"git {' '.join(args)}: {first}")
    return done.stdout


def repo_root(path: str | Path = ".") -> Path:
    """The root of the git + DVC repository containing ``path``."""
    path = Path(path).resolve()
    if not path.exists():
        raise VersionError(f"{path}: no such directory")
    try:
        root = Path(git(path if path.is_dir() else path.parent,
                        "rev-parse", "--show-toplevel").strip())
    except VersionError:
        raise VersionError(f"{path} is not inside a git repository (run `git init` and "
                           f"`dvc init`)") from None
    if not (root / ".dvc").is_dir():
        raise VersionError(f"{root} is not a DVC repository (run `dvc init`)")
    return root


def resolve_rev(root: Path, rev: str) -> str:
    """The commit id of ``rev`` (a tag, branch or commit)."""
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet",
                           f"{rev}^{{commit}}"], capture_output=True, text=True, check=False)
    if done.returncode or not rev or rev.startswith("-"):
        raise VersionError(f"unknown revision {rev!r} in {root} (see `git tag` and `git log`)")
    return done.stdout.strip()


def tags(root: Path) -> dict[str, list[str]]:
    """Tag names of each tagged commit."""
    out: dict[str, list[str]] = {}
    text = subprocess.run(["git", "-C", str(root), "show-ref", "--tags", "-d"],
                          capture_output=True, text=True, check=False).stdout
    lines = [line.split(" ", 1) for line in text.splitlines() if " " in line]
    peeled = {ref.removesuffix("^{}") for _, ref in lines if ref.endswith("^{}")}
    for sha, ref in lines:
        if ref in peeled:  # an annotated tag: keep its peeled commit line only
            continue
        out.setdefault(sha, []).append(ref.removeprefix("refs/tags/").removesuffix("^{}"))
    return {sha: sorted(names) for sha, names in out.items()}


@dataclass(frozen=True)
class Commit:
    """One commit of the history: id, first parent, time (unix seconds), subject."""

    sha: str
    parent: str | None
    time: int
    subject: str


def history(root: Path) -> list[Commit]:
    """Commits reachable from HEAD or any tag, newest first."""
    refs = ["HEAD"] if subprocess.run(["git", "-C", str(root), "rev-parse", "--verify",
                                       "--quiet", "HEAD"], capture_output=True,
                                      check=False).returncode == 0 else []
    if not refs and not tags(root):
        return []
    text = git(root, "log", "--date-order", "--format=%H%x00%P%x00%ct%x00%s", *refs, "--tags")
    commits = []
    for line in text.splitlines():
        sha, parents, time, subject = line.split("\0", 3)
        commits.append(Commit(sha, parents.split()[0] if parents else None, int(time), subject))
    return commits


def md5_of(path: Path) -> str:
    """MD5 of a file, as DVC records it."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Snapshot:
    """The repository's files as of one revision, read through DVC (nothing checked out).

    Parameters
    ----------
    root : repository root.
    rev : a tag, branch or commit; checked once here.
    """

    def __init__(self, root: str | Path, rev: str):
        self.root = Path(root)
        self.rev = rev
        self.sha = resolve_rev(self.root, rev)
        os.environ.setdefault("DVC_NO_ANALYTICS", "1")  # here, not at import: DVC is used now
        from dvc.fs import DVCFileSystem

        try:
            self.fs = DVCFileSystem(url=str(self.root), rev=self.sha)
        except Exception as exc:  # noqa: BLE001  (DVC raises many types; report one line)
            raise VersionError(f"{rev}: DVC cannot open the repository: {_line(exc)}") from exc

    def relative(self, path: str | Path) -> str:
        """``path`` relative to the repository root (absolute paths must lie inside it)."""
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.resolve().relative_to(self.root.resolve())
            except ValueError:
                raise VersionError(f"{path} is outside the repository {self.root}") from None
        return p.as_posix().removeprefix("./")

    def exists(self, path: str) -> bool:
        try:
            return bool(self.fs.isfile(self.relative(path)))
        except Exception:  # noqa: BLE001
            return False

    def tracked(self, suffix: str = ".parquet") -> dict[str, str]:
        """DVC-tracked files ending in ``suffix``: path → md5."""
        out = {}
        try:
            for top, _dirs, files in self.fs.walk("/", detail=True, dvc_only=True):
                for name, info in files.items():
                    if name.endswith(suffix):
                        out[f"{top.rstrip('/')}/{name}".lstrip("/")] = info.get("md5") or ""
        except Exception as exc:  # noqa: BLE001
            raise VersionError(f"{self.rev}: cannot list DVC-tracked files: {_line(exc)}") \
                from exc
        return dict(sorted(out.items()))

    def _missing(self, path: str) -> VersionError:
        return VersionError(f"{self.rev} has no file {path} (tracked datasets there: "
                            f"{list(self.tracked()) or 'none'})")

    def md5(self, path: str) -> str | None:
        """MD5 DVC records for ``path`` at this revision (None for files in git)."""
        rel = self.relative(path)
        if not self.exists(rel):
            raise self._missing(rel)
        return self.fs.info(rel).get("md5")

    def read_bytes(self, path: str) -> bytes:
        """The content of ``path`` at this revision (from the cache, else from the remote),
        checked against the md5 that DVC records for it (its ``.dvc`` file or ``dvc.lock``):
        a cache or remote object holding other bytes is a VersionError, never the data."""
        rel = self.relative(path)
        if not self.exists(rel):
            raise self._missing(rel)
        try:
            with self.fs.open(rel, "rb") as f:
                data = f.read()
        except FileNotFoundError as exc:
            raise self._unavailable(rel) from exc
        except Exception as exc:  # noqa: BLE001
            raise VersionError(f"{self.rev}: cannot read {rel}: {_line(exc)}") from exc
        recorded = self.md5(rel)
        if recorded and recorded not in (hashlib.md5(data).hexdigest(),
                                         hashlib.md5(data.replace(b"\r\n", b"\n")).hexdigest()):
            # (the second: DVC 2's md5-dos2unix of a text file)
            raise VersionError(f"{self.rev}:{rel}: the DVC cache or remote holds other bytes "
                               f"(md5 {hashlib.md5(data).hexdigest()}) than DVC recorded (md5 "
                               f"{recorded}); the object is corrupt or was replaced: remove it "
                               f"from .dvc/cache and run `dvc fetch`, or `dvc push` from a "
                               f"clone that has the right one")
        return data

    def _unavailable(self, rel: str) -> VersionError:
        md5 = self.fs.info(rel).get("md5")
        return VersionError(f"{self.rev}: the data of {rel} (md5 {md5}) is neither in the DVC "
                            f"cache nor on the remote; run `dvc push` from a clone that has it")

    def fetch(self, path: str, dest: str | Path) -> Path:
        """Copy ``path`` at this revision to the local file ``dest``."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.read_bytes(path))
        return dest

    def read_yaml(self, path: str) -> dict:
        """A YAML file at this revision (empty mapping when it does not exist)."""
        if not self.exists(path):
            return {}
        try:
            return yaml.safe_load(self.read_bytes(path)) or {}
        except yaml.YAMLError as exc:
            raise VersionError(f"{self.rev}: {path} is not valid YAML") from exc

    def manifest(self, path: str) -> tuple[Manifest | None, int]:
        """The manifest in a Parquet file's metadata (None if it has none) and its row count.

        Only the file's footer is read, so listing big populations stays cheap.
        """
        rel = self.relative(path)
        if not self.exists(rel):
            raise self._missing(rel)
        try:
            with self.fs.open(rel, "rb") as f:
                meta = pq.read_metadata(f)
        except FileNotFoundError as exc:
            raise self._unavailable(rel) from exc
        except (pa.ArrowInvalid, OSError) as exc:
            raise VersionError(f"{self.rev}:{rel} is not readable Parquet: {_line(exc)}") \
                from exc
        raw = (meta.metadata or {}).get(METADATA_KEY)
        if raw is None:
            return None, meta.num_rows
        return Manifest.from_dict(json.loads(raw)), meta.num_rows

    def table(self, path: str) -> pa.Table:
        """A Parquet file at this revision as a table."""
        try:
            return pq.read_table(pa.BufferReader(self.read_bytes(path)))
        except (pa.ArrowInvalid, OSError) as exc:
            raise VersionError(f"{self.rev}:{path} is not readable Parquet: {_line(exc)}") \
                from exc

    def stage_of(self, path: str) -> dict | None:
        """The ``dvc.lock`` entry of the stage that outputs ``path`` (None if none does)."""
        rel = self.relative(path)
        for name, stage in (self.read_yaml("dvc.lock").get("stages") or {}).items():
            if any(out.get("path") == rel for out in stage.get("outs") or []):
                return {"name": name, **stage}
        return None


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
