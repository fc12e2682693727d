"""Input tables as re-iterable streams of Arrow record batches.

A sampler reads its input in two or three passes, each asking only for the columns it needs:
an in-memory DataFrame or Table, a list of record batches, or a Parquet file or directory
(hive-partitioned) read batch by batch with ``pyarrow.dataset``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from schemas import SchemaError
from schemas.validate import as_table

DEFAULT_BATCH_ROWS = 1 << 18


class Source:
    """A table that can be scanned several times, column subsets at a time."""

    def __init__(self, data: object, batch_rows: int = DEFAULT_BATCH_ROWS, name: str = "input"):
        self.batch_rows = batch_rows
        self.name = name
        self._dataset: ds.Dataset | None = None
        self._table: pa.Table | None = None
        self._batches: list[pa.RecordBatch] | None = None
        if isinstance(data, str | os.PathLike):
            path = Path(data)
            self.name = str(path)
            if not path.exists():
                raise SchemaError("no such file or directory", source=self.name)
            try:
                self._dataset = ds.dataset(path, format="parquet", partitioning="hive")
            except (pa.ArrowInvalid, OSError) as exc:
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

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches holding ``columns`` (all when None), in a fixed order."""
        if self._dataset is not None:
            try:
                scanner = self._dataset.scanner(columns=columns, batch_size=self.batch_rows,
                                                use_threads=True)
                for batch in scanner.to_batches():
                    if batch.num_rows:
                        yield batch
            except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
                raise SchemaError(f"cannot read Parquet: {str(exc).splitlines()[0]}",
                                  source=self.name) from exc
            return
        if self._table is not None:
            table = self._table if columns is None else self._table.select(columns)
            yield from table.to_batches(max_chunksize=self.batch_rows)
            return
        for batch in self._batches or []:
            yield batch if columns is None else batch.select(columns)
