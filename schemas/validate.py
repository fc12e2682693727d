"""Validation of tables against their contracts, reporting every problem at once."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SchemaError
from .labels import REQUIRED_FIELDS
from .tables import CONTRACTS, Column

_SHOW = 5  # how many offending rows or values a message names


def family_of(dtype: pa.DataType) -> str | None:
    """The contract type family an Arrow type belongs to (None if none)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or (
        hasattr(pa.types, "is_string_view") and pa.types.is_string_view(dtype)
    ):
        return "string"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "number"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "timestamp"
    return None


def _accepts(col: Column, dtype: pa.DataType) -> bool:
    if pa.types.is_null(dtype):  # every value null: fine where nulls are
        return col.nullable
    fam = family_of(dtype)
    if col.family == "number":
        return fam in ("number", "integer")
    return fam == col.family


def as_table(data: pa.Table | pd.DataFrame) -> pa.Table:
    """Arrow view of a DataFrame or Table (no copy for a Table)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise SchemaError(f"expected a pandas DataFrame or pyarrow Table, got {type(data).__name__}")


def rows_where(mask: np.ndarray) -> str:
    """'rows 3, 17, 20 (+4 more)' for the True positions of ``mask`` (0-based)."""
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:_SHOW])
    more = f" (+{len(idx) - _SHOW} more)" if len(idx) > _SHOW else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


def check_range(values: pa.ChunkedArray | pa.Array, col: Column, name: str) -> list[str]:
    """Problems with nulls and bounds of one numeric column."""
    problems = []
    arr = values.to_numpy(zero_copy_only=False) if not isinstance(values, np.ndarray) else values
    if not col.nullable:
        nulls = np.asarray(pd.isna(arr))
        if nulls.any():
            problems.append(f"column {name!r}: {int(nulls.sum())} null value(s) at "
                            f"{rows_where(nulls)}")
    if col.family not in ("number", "integer"):
        return problems
    x = np.asarray(arr, dtype="float64")
    bad = np.zeros(len(x), dtype=bool)
    if col.lower is not None:
        bad |= (x <= col.lower) if col.lower_open else (x < col.lower)
    if col.upper is not None:
        bad |= (x >= col.upper) if col.upper_open else (x > col.upper)
    bad |= np.isinf(x)
    if bad.any():
        lo = "(" if col.lower_open else "["
        hi = ")" if col.upper_open else "]"
        lower = "-inf" if col.lower is None else f"{col.lower:g}"
        upper = "inf" if col.upper is None else f"{col.upper:g}"
        problems.append(f"column {name!r}: {int(bad.sum())} value(s) outside "
                        f"{lo}{lower}, {upper}{hi} at {rows_where(bad)}")
    return problems


def duplicate_problems(table: pa.Table, columns: tuple[str, ...]) -> list[str]:
    """Problems for rows that repeat the key ``columns``."""
    if len(columns) == 1:
        col = table.column(columns[0])
        if pc.count_distinct(col, mode="all").as_py() == len(col):
            return []
    frame = table.select(list(columns)).to_pandas()
    dup = frame.duplicated(keep=False).to_numpy()
    if not dup.any():
        return []
    examples = frame[dup].drop_duplicates().head(_SHOW)
    shown = ", ".join(repr(v[0] if len(v) == 1 else tuple(v))
                      for v in examples.itertuples(index=False))
    key = columns[0] if len(columns) == 1 else "(" + ", ".join(columns) + ")"
    return [f"column {key!r}: {int(dup.sum())} rows share a value that must be unique "
            f"(e.g. {shown}) at {rows_where(dup)}"]


def table_problems(table: pa.Table, kind: str) -> list[str]:
    """Every way ``table`` breaks the ``kind`` contract (empty list when it is valid)."""
    contract = CONTRACTS[kind]
    problems: list[str] = []
    present = set(table.column_names)
    checked: list[Column] = []
    rules = list(contract.columns) + [
        replace(rule, name=name) for rule in contract.prefixed
        for name in table.column_names if name.startswith(rule.name)]
    for col in rules:
        if col.name not in present:
            if col.required:
                problems.append(f"missing column {col.name!r} ({col.family})")
            continue
        dtype = table.schema.field(col.name).type
        if not _accepts(col, dtype):
            problems.append(_type_problem(table.column(col.name), col, dtype))
            continue
        checked.append(col)
    for col in checked:
        values = table.column(col.name)
        if pa.types.is_null(values.type):
            continue
        if col.choices is not None:
            arr = values.to_numpy(zero_copy_only=False)
            bad = ~np.isin(arr, np.asarray(col.choices, dtype=object))
            if not col.nullable:
                problems += check_range(values, col, col.name)
                bad &= ~np.asarray(pd.isna(arr))
            if bad.any():
                seen = sorted({str(v) for v in arr[bad]})[:_SHOW]
                problems.append(f"column {col.name!r}: {int(bad.sum())} value(s) not in "
                                f"{list(col.choices)} (e.g. {seen}) at {rows_where(bad)}")
        else:
            problems += check_range(values, col, col.name)
    names = {c.name for c in checked}
    needed = [c for c in contract.unique if contract.column(c).required]
    if contract.unique and set(needed) <= names:
        problems += duplicate_problems(table, tuple(c for c in contract.unique if c in names))
    if kind in ("sample", "curated") and {"inclusion_prob", "design_weight"} <= present:
        pi = np.asarray(table.column("inclusion_prob").to_numpy(zero_copy_only=False), float)
        w = np.asarray(table.column("design_weight").to_numpy(zero_copy_only=False), float)
        with np.errstate(divide="ignore", invalid="ignore"):
            off = ~np.isclose(w * pi, 1.0, rtol=1e-9, atol=0)
        off &= np.isfinite(pi) & np.isfinite(w)
        if off.any():
            problems.append(f"design_weight is not 1/inclusion_prob at {rows_where(off)}")
    return problems


def _type_problem(values: pa.ChunkedArray, col: Column, dtype: pa.DataType) -> str:
    """'column 'x' has type string, expected boolean (e.g. ['yes']) at rows 0, 1'."""
    arr = values.to_numpy(zero_copy_only=False)
    bad = ~np.asarray(pd.isna(arr), dtype=bool)
    if not bad.any():
        return f"column {col.name!r} has type {dtype}, expected {col.family}"
    seen = sorted({str(v) for v in arr[bad]})[:_SHOW]
    return (f"column {col.name!r} has type {dtype}, expected {col.family} (e.g. {seen}) at "
            f"{rows_where(bad)}")


def validate(data: pa.Table | pd.DataFrame, kind: str, source: str | None = None) -> pa.Table:
    """Check ``data`` against the ``kind`` contract; raise one SchemaError listing every problem.

    Parameters
    ----------
    data : pyarrow.Table or pandas.DataFrame
    kind : {'catalogue', 'recommendations', 'sample', 'labels', 'curated'}
    source : str, optional
        The file the table came from, named in the error.

    Returns
    -------
    pyarrow.Table
        The input as an Arrow table, unchanged.
    """
    if kind not in CONTRACTS:
        raise SchemaError(f"unknown table kind {kind!r}; expected one of {sorted(CONTRACTS)}")
    table = as_table(data)
    problems = table_problems(table, kind)
    if problems:
        raise SchemaError(problems, source=source)
    return table


def validate_labels(data: pa.Table | pd.DataFrame, source: str | None = None) -> pa.Table:
    """Check a labels table against the label contract: the ``labels`` columns, and the label
    fields of :mod:`schemas.labels` (present, of their type, allowed values, booleans that are
    booleans, severity in 1..3 or null). Call it wherever a labels file is read.

    Examples
    --------
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"unit_id": ["u"], "annotation_id": [1], "annotator": ["a"],
    ...                     "created_at": pd.Timestamp(0, tz="UTC"),
    ...                     "updated_at": pd.Timestamp(0, tz="UTC"), "lead_time_s": [1.0],
    ...                     "sensitive": ["yes"], "severity": [1], "unsure": [False],
    ...                     "skipped": [False]})
    >>> try:
    ...     validate_labels(bad, "l.parquet")
    ... except SchemaError as exc:
    ...     print(str(exc).split(" has type")[0], "...", str(exc).split("expected ")[1])
    l.parquet: column 'sensitive' ... boolean (e.g. ['yes']) at row 0
    """
    table = validate(data, "labels", source=source)
    missing = [c for c in REQUIRED_FIELDS if c not in table.column_names]
    if missing:
        raise SchemaError(f"labels table lacks column(s) {missing} (the label fields of "
                          f"schemas/labels.py); pull the labels with `curate pull`",
                          source=source)
    return table


def read_labels(path) -> pd.DataFrame:
    """A labels file, checked against the label contract (:func:`validate_labels`)."""
    from .io import read_parquet

    return validate_labels(read_parquet(path), source=str(path)).to_pandas()
