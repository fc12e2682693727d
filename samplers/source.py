"""Input tables as re-iterable streams of Arrow record batches, cut into pieces.

A sampler reads its input in several passes, each asking only for the columns it needs: an
in-memory DataFrame or Table, a list of record batches, or a Parquet file or directory
(hive-partitioned) read batch by batch with ``pyarrow.dataset``. The input is a sequence of
:class:`Piece` s (a file, a row group, a slice of a table); every row has a global number (its
position in piece order, used in error messages) and a key ``piece << 40 | row`` by which the
selected rows are fetched again, so a pass can run piece by piece on one machine or on a cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from schemas import SchemaError
from schemas.validate import as_table

DEFAULT_BATCH_ROWS = 1 << 18
KEY_BITS = 40
_READ_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError)


def piece_of(keys: np.ndarray) -> np.ndarray:
    return keys >> KEY_BITS


def row_of(keys: np.ndarray) -> np.ndarray:
    return keys & ((1 << KEY_BITS) - 1)


@dataclass
class Piece:
    """One independently readable part of the input (picklable, so a cluster can read it)."""

    index: int
    row0: int
    num_rows: int
    name: str
    schema: pa.Schema
    fragment: ds.ParquetFileFragment | None = None
    table: pa.Table | None = None

    def scan(self, columns: list[str] | None,
             batch_rows: int) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(global row of the first row, batch) of ``columns`` (all when None), in order."""
        row = self.row0
        if self.table is not None:
            table = self.table if columns is None else self.table.select(columns)
            for batch in table.to_batches(max_chunksize=batch_rows):
                if batch.num_rows:
                    yield row, batch
                    row += batch.num_rows
            return
        try:
            scanner = ds.Scanner.from_fragment(self.fragment, schema=self.schema,
                                               columns=columns, batch_size=batch_rows,
                                               use_threads=True)
            for batch in scanner.to_batches():
                if batch.num_rows:
                    yield row, batch
                    row += batch.num_rows
        except _READ_ERRORS as exc:
            raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}",
                              source=self.name) from exc

    def take(self, rows: np.ndarray, columns: list[str] | None) -> pa.Table:
        """The rows at local positions ``rows`` (sorted), reading only the row groups holding
        them."""
        rows = np.asarray(rows, np.int64)
        if self.table is not None:
            table = self.table if columns is None else self.table.select(columns)
            return table.take(rows)
        try:
            sizes = [rg.num_rows for rg in self.fragment.row_groups]
            starts = np.r_[0, np.cumsum(sizes)]
            group = np.searchsorted(starts, rows, side="right") - 1
            parts = []
            for g in np.unique(group):
                sub = self.fragment.subset(row_group_ids=[self.fragment.row_groups[g].id])
                table = ds.Scanner.from_fragment(sub, schema=self.schema, columns=columns,
                                                 use_threads=True).to_table()
                parts.append(table.take(rows[group == g] - starts[g]))
                del table
                pa.default_memory_pool().release_unused()  # one row group at a time in RSS
        except _READ_ERRORS as exc:
            raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}",
                              source=self.name) from exc
        return pa.concat_tables(parts)


class Source:
    """A table that can be scanned several times, column subsets at a time, piece by piece."""

    def __init__(self, data: object, batch_rows: int = DEFAULT_BATCH_ROWS, name: str = "input"):
        self.batch_rows = batch_rows
        self.name = name
        self._dataset: ds.Dataset | None = None
        self._table: pa.Table | None = None
        self._batches: list[pa.RecordBatch] | None = None
        self._fragments: list[tuple[ds.ParquetFileFragment, int]] | None = None
        if isinstance(data, str | os.PathLike):
            path = Path(data)
            self.name = str(path)
            if not path.exists():
                raise SchemaError("no such file or directory", source=self.name)
            try:
                self._dataset = ds.dataset(path, format="parquet", partitioning="hive")
            except _READ_ERRORS as exc:
                raise SchemaError(f"cannot read Parquet: {exc}", source=self.name) from exc
            self.schema = self._dataset.schema
        elif isinstance(data, pa.Table | pd.DataFrame):
            self._table = as_table(data)
            self.schema = self._table.schema
        elif isinstance(data, pa.RecordBatch):
            self._batches = [data]
            self.schema = data.schema
        elif isinstance(data, Iterable):
            self._batches = list(data)
            if not self._batches or not all(isinstance(b, pa.RecordBatch) for b in self._batches):
                raise SchemaError("expected a non-empty sequence of pyarrow RecordBatches",
                                  source=name)
            self.schema = self._batches[0].schema
        else:
            raise SchemaError(f"cannot sample from a {type(data).__name__}", source=name)

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def require(self, columns: Iterable[str], role: str = "") -> None:
        """Raise SchemaError naming every column of ``columns`` that the input lacks."""
        missing = [c for c in dict.fromkeys(columns) if c not in self.schema.names]
        if missing:
            what = f" (needed {role})" if role else ""
            raise SchemaError(f"missing column(s) {missing}{what}; the input has "
                              f"{self.schema.names[:12]}", source=self.name)

    def _checked_fragments(self) -> list[tuple[ds.ParquetFileFragment, int]]:
        """Every file with its row count, after checking that it reads and agrees with the
        dataset's schema (the first file's): a corrupt or disagreeing file is named."""
        if self._fragments is not None:
            return self._fragments
        out, first = [], None
        for frag in self._dataset.get_fragments():
            try:
                physical = frag.physical_schema
                frag.ensure_complete_metadata()
                rows = sum(rg.num_rows for rg in frag.row_groups)
            except _READ_ERRORS as exc:
                raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}; remove or "
                                  f"replace the file", source=frag.path) from exc
            first = first or frag.path
            partition_fields = set(ds.get_partition_keys(frag.partition_expression))
            for field in self.schema:
                if field.name in partition_fields:
                    continue
                idx = physical.get_field_index(field.name)
                if idx < 0:
                    raise SchemaError(f"schema disagrees with {first}: column {field.name!r} is "
                                      f"missing; rewrite the file with the dataset's schema",
                                      source=frag.path)
                got = physical.field(idx).type
                if got != field.type:
                    raise SchemaError(f"schema disagrees with {first}: column {field.name!r} is "
                                      f"{got} here but {field.type} there; rewrite the file "
                                      f"with the dataset's schema", source=frag.path)
            out.append((frag, rows))
        self._fragments = out
        return out

    def pieces(self, split: bool = False) -> list[Piece]:
        """The input's pieces in a fixed order; ``split`` cuts files into row groups and
        tables into ``batch_rows`` slices (finer partitions for a cluster)."""
        specs: list[tuple[int, str, ds.ParquetFileFragment | None, pa.Table | None]] = []
        if self._dataset is not None:
            for frag, rows in self._checked_fragments():
                if split and len(frag.row_groups) > 1:
                    for rg in frag.row_groups:
                        specs.append((rg.num_rows, frag.path,
                                      frag.subset(row_group_ids=[rg.id]), None))
                else:
                    specs.append((rows, frag.path, frag, None))
        elif self._table is not None:
            step = self.batch_rows if split else max(self._table.num_rows, 1)
            for start in range(0, max(self._table.num_rows, 1), step):
                part = self._table.slice(start, step)
                specs.append((part.num_rows, self.name, None, part))
        else:
            for batch in self._batches or []:
                specs.append((batch.num_rows, self.name, None, pa.Table.from_batches([batch])))
        out, row0 = [], 0
        for i, (rows, name, frag, table) in enumerate(specs):
            out.append(Piece(i, row0, rows, name, self.schema, frag, table))
            row0 += rows
        return out

    @property
    def num_rows(self) -> int:
        return sum(p.num_rows for p in self.pieces())

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches holding ``columns`` (all when None), in a fixed order."""
        for piece in self.pieces():
            for _, batch in piece.scan(columns, self.batch_rows):
                yield batch
