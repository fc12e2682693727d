"""Content hash of a table: a SHA-256 over a canonical, version-independent encoding.

The hash covers column names, type families and values in row order, not Parquet bytes or
metadata, so it stays the same across pyarrow releases and file settings. Encoding per column:
``name\\0family\\0`` then the validity bitmap (one byte per row), then the values: numbers as
little-endian float64 (integers as int64, booleans as uint8, timestamps as int64 microseconds
UTC), strings as int64 lengths followed by the concatenated UTF-8 bytes; nulls encode as 0/"".
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SchemaError
from .validate import family_of


def _column_bytes(values: pa.ChunkedArray) -> list[bytes]:
    fam = family_of(values.type)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    valid = pc.is_valid(values).to_numpy(zero_copy_only=False).astype(np.uint8)
    parts = [valid.tobytes()]
    if fam == "string":
        arr = pc.fill_null(values.cast(pa.large_string()), "").combine_chunks()
        offsets = np.frombuffer(arr.buffers()[1], dtype="<i8")
        offsets = offsets[arr.offset: arr.offset + len(arr) + 1]
        parts.append(np.diff(offsets).astype("<i8").tobytes())
        data = arr.buffers()[2]
        parts.append(b"" if data is None else data.to_pybytes()[offsets[0]: offsets[-1]])
    elif fam == "integer":
        parts.append(pc.fill_null(values.cast(pa.int64()), 0).to_numpy().astype("<i8").tobytes())
    elif fam == "number":
        parts.append(pc.fill_null(values.cast(pa.float64()), 0.0).to_numpy().astype("<f8")
                     .tobytes())
    elif fam == "boolean":
        parts.append(pc.fill_null(values, False).to_numpy(zero_copy_only=False)
                     .astype(np.uint8).tobytes())
    elif fam == "timestamp":
        ts = values.cast(pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(values.type) \
            else values.cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
        parts.append(pc.fill_null(ts.cast(pa.int64()), 0).to_numpy().astype("<i8").tobytes())
    else:
        raise SchemaError(f"cannot hash a column of type {values.type}")
    return [f"{fam}\0".encode(), *parts]


def content_hash(table: pa.Table) -> str:
    """SHA-256 (hex) of ``table``'s columns and values in their current order."""
    h = hashlib.sha256()
    h.update(f"rows={table.num_rows}\0".encode())
    for name in table.column_names:
        h.update(name.encode() + b"\0")
        for part in _column_bytes(table.column(name)):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
    return h.hexdigest()
