"""Engines run one pass of a design over the input's pieces and merge the per-piece states.

A pass is a *state*: an object with ``update(batch, row0, key0)`` (add a record batch whose first
row is the input's row ``row0`` and has the fetch key ``key0``) and ``merge(other)`` (fold in
another piece's state). Every state of the samplers is a commutative, exact reduction (counts,
exact sums, bottom-k / top-k sketches), so the result does not depend on the pieces, their order
or where they ran.

* :class:`StreamEngine` (the default) reads the pieces one after the other, batch by batch,
  with one state: memory is the state plus one record batch. A progress bar shows on a terminal.
* :class:`DaskEngine` maps the pieces (files cut into row groups) to states on a
  ``dask.distributed`` cluster, merges them in a tree, and shuffles the id hashes of the
  duplicate check by bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import getitem
from typing import Any

import numpy as np
import pyarrow as pa

from schemas import DesignError
from schemas.progress import progress

from .duplicates import bucketize, repeated
from .kernels.reader import prefetched
from .source import KEY_BITS, Piece, Source, piece_of, row_of

ENGINES = ("stream", "dask")
DASK_BUCKETS = 8


def run_piece(piece: Piece, columns: list[str] | None, batch_rows: int,
              make_state: Callable[[], Any], state: Any = None, bar: Any = None) -> Any:
    """Feed one piece to ``state`` (a fresh one from ``make_state`` when None)."""
    state = make_state() if state is None else state
    batches = piece.scan(columns, batch_rows)
    if piece.fragment is not None:  # a file: decode the next batches while this one is used
        batches = prefetched(batches)
    for row0, batch in batches:
        state.update(batch, row0, (piece.index << KEY_BITS) | (row0 - piece.row0))
        if bar is not None:
            bar.update(batch.num_rows)
    return state


def _take_rows(piece: Piece, rows: np.ndarray, columns: list[str] | None) -> pa.Table:
    return piece.take(rows, columns)


def _assemble(keys: np.ndarray, pieces: list[Piece],
              take: Callable[[Piece, np.ndarray], Any]) -> tuple[list, np.ndarray]:
    """Per-piece fetch results for sorted ``keys`` and the permutation back to key order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    which = piece_of(sorted_keys)
    results = []
    for p in np.unique(which):
        results.append(take(pieces[int(p)], row_of(sorted_keys[which == p])))
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return results, back


class StreamEngine:
    """Sequential passes over the pieces in this process (bounded memory)."""

    name = "stream"

    def __init__(self, batch_rows: int):
        self.batch_rows = batch_rows

    def __enter__(self) -> StreamEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def reduce(self, source: Source, columns: list[str] | None,
               make_state: Callable[[], Any], desc: str = "") -> Any:
        pieces = source.pieces()
        state = make_state()
        batch_rows = source.pass_batch_rows(columns, self.batch_rows)  # wide rows: fewer
        with progress(sum(p.num_rows for p in pieces), desc, "rows", unit_scale=True,
                      leave=False) as bar:
            for piece in pieces:
                run_piece(piece, columns, batch_rows, make_state, state, bar)
        return state

    def repeated_hashes(self, state: Any) -> np.ndarray:
        return state.duplicate_hashes()

    def fetch(self, source: Source, keys: np.ndarray, columns: list[str] | None) -> pa.Table:
        """The rows with fetch keys ``keys`` (in that order), reading only their row groups."""
        parts, back = _assemble(keys, source.pieces(),
                                lambda piece, rows: piece.take(rows, columns))
        return pa.concat_tables(parts).take(back)


class DaskEngine:
    """Passes as tasks on a ``dask.distributed`` cluster; a 2-worker LocalCluster by default.

    ``scheduler`` is a scheduler address (``tcp://host:8786``), a ``distributed.Client``, or
    None for a LocalCluster of two worker processes started and closed around the draw.
    """

    name = "dask"

    def __init__(self, batch_rows: int, scheduler: Any = None):
        self.batch_rows = batch_rows
        self.scheduler = scheduler
        self._client = None
        self._owned: list = []
        self._repeated: np.ndarray | None = None

    def __enter__(self) -> DaskEngine:
        from distributed import Client, LocalCluster

        if self.scheduler is not None and hasattr(self.scheduler, "submit"):
            self._client = self.scheduler
            return self
        try:
            if self.scheduler is None:
                cluster = LocalCluster(n_workers=2, threads_per_worker=1,
                                       dashboard_address=":0")
                self._owned.append(cluster)
                self._client = Client(cluster)
            else:
                self._client = Client(str(self.scheduler), timeout="20s")
        except OSError as exc:
            self.__exit__()
            raise DesignError(f"cannot reach the Dask scheduler {self.scheduler!r}: {exc}; "
                              f"check the address or drop --scheduler for a local cluster") \
                from None
        self._owned.insert(0, self._client)
        return self

    def __exit__(self, *exc: object) -> None:
        for owned in self._owned:
            owned.close()
        self._owned = []

    def reduce(self, source: Source, columns: list[str] | None,
               make_state: Callable[[], Any], desc: str = "") -> Any:
        client = self._client
        pieces = source.pieces(split=True)
        futures = [client.submit(_piece_with_buckets, piece, columns, self.batch_rows,
                                 make_state, pure=False) for piece in pieces]
        states = [client.submit(getitem, f, 0, pure=False) for f in futures]
        buckets = [client.submit(getitem, f, 1, pure=False) for f in futures]
        while len(states) > 1:
            nxt = [client.submit(_merge, a, b, pure=False)
                   for a, b in zip(states[::2], states[1::2], strict=False)]
            if len(states) % 2:
                nxt.append(states[-1])
            states = nxt
        state = states[0].result()
        if hasattr(state, "dups"):
            per_bucket = []
            for b in range(DASK_BUCKETS):
                parts = [client.submit(getitem, f, b, pure=False) for f in buckets]
                per_bucket.append(client.submit(_repeated_of, *parts, pure=False))
            found = client.gather(per_bucket)
            self._repeated = np.unique(np.concatenate(found)) if found else \
                np.zeros(0, np.uint64)
        for f in futures + buckets:
            f.release()
        return state

    def repeated_hashes(self, state: Any) -> np.ndarray:
        return self._repeated if self._repeated is not None else state.duplicate_hashes()

    def fetch(self, source: Source, keys: np.ndarray, columns: list[str] | None) -> pa.Table:
        client = self._client
        parts, back = _assemble(keys, source.pieces(split=True),
                                lambda piece, rows: client.submit(_take_rows, piece, rows,
                                                                  columns, pure=False))
        return pa.concat_tables(client.gather(parts)).take(back)


def _piece_with_buckets(piece: Piece, columns: list[str] | None, batch_rows: int,
                        make_state: Callable[[], Any]) -> tuple[Any, list[np.ndarray] | None]:
    state = run_piece(piece, columns, batch_rows, make_state)
    dups = getattr(state, "dups", None)
    if dups is None:
        return state, None
    parts = dups.take()
    h = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    return state, bucketize(h, DASK_BUCKETS)


def _merge(a: Any, b: Any) -> Any:
    return a.merge(b)


def _repeated_of(*parts: np.ndarray) -> np.ndarray:
    return repeated(list(parts))


def make_engine(engine: str, batch_rows: int, scheduler: Any = None):
    """The engine named ``engine`` ('stream' or 'dask'); a context manager."""
    if engine == "stream":
        if scheduler is not None:
            raise DesignError("a scheduler address applies to engine='dask' only")
        return StreamEngine(batch_rows)
    if engine == "dask":
        return DaskEngine(batch_rows, scheduler)
    raise DesignError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
