"""Exact duplicate-id detection in bounded memory.

Every id's 64-bit hash is kept until the end of the first pass: equal ids have equal hashes, so
the hashes that occur twice are a superset of the duplicate ids (a second, id-only pass over the
input then names the real duplicates and their rows; a hash collision of two different ids is
dropped there). Up to ``memory_rows`` hashes stay in memory; past that they are spilled to
``BUCKETS`` temporary files by their top bits, and each bucket is sorted on its own at the end.
Peak memory is therefore about ``8 · max(memory_rows, N / BUCKETS)`` bytes (8 MB and, at
``N = 10^9``, 125 MB per bucket) and the spill uses 8 bytes per row on the temporary disk,
deleted when done. On a cluster the buckets are a shuffle: each partition cuts its hashes into
the same buckets and each bucket is checked by one task (:func:`bucketize`, :func:`repeated`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import kernels

BUCKETS = 64
DEFAULT_MEMORY_ROWS = 1 << 20


def bucketize(h: np.ndarray, buckets: int = BUCKETS) -> list[np.ndarray]:
    """The hashes cut into ``buckets`` (a power of two, at most 256) arrays by their top bits."""
    compiled = kernels.compiled()
    if compiled is not None:  # one counting sort, the same stable order
        out, counts = compiled.bucket_order(np.ascontiguousarray(h, np.uint64),
                                            64 - buckets.bit_length() + 1, buckets)
        return np.split(out, np.cumsum(counts)[:-1])
    b = (h >> np.uint64(64 - buckets.bit_length() + 1)).astype(np.uint8)
    order = np.argsort(b, kind="stable")  # a radix sort for 8-bit keys
    cuts = np.searchsorted(b[order], np.arange(1, buckets))
    return np.split(h[order], cuts)


def repeated(parts: list[np.ndarray]) -> np.ndarray:
    """Hash values that occur more than once among ``parts``."""
    if not parts:
        return np.zeros(0, np.uint64)
    compiled = kernels.compiled()
    if compiled is not None:  # a hash set instead of a sort
        return np.unique(compiled.repeated_values(np.concatenate(parts).astype(np.uint64)))
    h = np.sort(np.concatenate(parts))
    return np.unique(h[1:][h[1:] == h[:-1]])


def _repeated_in(path: Path) -> np.ndarray:
    """:func:`repeated` of one spilled bucket file."""
    return repeated([np.fromfile(path, np.uint64)])


class DuplicateFinder:
    """Collects id hashes (see module docstring); ``repeated()`` gives those seen twice."""

    def __init__(self, memory_rows: int = DEFAULT_MEMORY_ROWS):
        self.memory_rows = memory_rows
        self._parts: list[np.ndarray] = []
        self._held = 0
        self._dir: str | None = None
        self._files: dict[int, object] = {}  # bucket → its spill file, open while spilling

    def add(self, h: np.ndarray) -> None:
        self._parts.append(np.asarray(h, np.uint64))
        self._held += len(h)
        if self._held > self.memory_rows:
            self._spill()

    def _spill(self) -> None:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="acprn-dups-")
        if not self._parts:
            return
        for b, part in enumerate(bucketize(np.concatenate(self._parts))):
            if part.size:
                fh = self._files.get(b)
                if fh is None:  # kept open (a spill every 2^20 rows); _spilled, close close it
                    fh = self._files[b] = open(  # noqa: SIM115
                        Path(self._dir) / f"{b:02d}.u64", "ab")
                part.tofile(fh)
        self._parts, self._held = [], 0

    def _spilled(self) -> list[Path]:
        """Every hash spilled (those in memory too) and the files closed: the bucket files."""
        self._spill()
        for fh in self._files.values():
            fh.close()
        self._files = {}
        return sorted(Path(self._dir).iterdir())

    def take(self) -> list[np.ndarray]:
        """All hashes held in memory (for a shuffle), leaving the finder empty."""
        if self._dir is not None:
            parts = [np.fromfile(p, np.uint64) for p in self._spilled()]
            self.close()
            return parts
        parts, self._parts, self._held = self._parts, [], 0
        return parts

    def merge(self, other: DuplicateFinder) -> DuplicateFinder:
        """Take in the other finder's hashes (its spilled buckets file by file, never all in
        memory), leaving it empty."""
        if other._dir is None:
            for part in other.take():
                self.add(part)
            return self
        self._spilled()
        for path in other._spilled():
            with open(path, "rb") as src, open(Path(self._dir) / path.name, "ab") as dst:
                shutil.copyfileobj(src, dst)
        other.close()
        return self

    def repeated(self) -> np.ndarray:
        """Hashes seen more than once, checking one bucket at a time."""
        if self._dir is None:
            return repeated(self._parts)
        with ThreadPoolExecutor(min(2, os.cpu_count() or 1)) as pool:  # GIL-free per bucket
            found = list(pool.map(_repeated_in, self._spilled()))
        self.close()
        return np.unique(np.concatenate(found)) if found else np.zeros(0, np.uint64)

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files = {}
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __getstate__(self) -> dict:
        parts = list(self._parts)
        if self._dir is not None:
            for fh in self._files.values():
                fh.flush()
            parts += [np.fromfile(p, np.uint64) for p in sorted(Path(self._dir).iterdir())]
        return {"memory_rows": self.memory_rows, "_parts": parts,
                "_held": sum(len(p) for p in parts), "_dir": None, "_files": {}}

    def __del__(self) -> None:
        self.close()
