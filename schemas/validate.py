"""Validation of tables against their contracts, reporting every problem at once.

Ids (the contract's id column and every ``*_id`` column of a string type) are strings or
integers: an integer id is its decimal string, as the PRN reads it (``samplers/prn.py``). A
string id is non-empty, without leading or trailing whitespace or control characters (NUL,
newline, tab), and at most :data:`ID_MAX` characters: :func:`id_problems`, cheap enough to run
on every batch a sampler reads. A column of the wrong type is still checked for nulls and
repeats, so a type error never hides the column's other problems; a table without rows is no
catalogue, sample or curated table (a labels file may be empty: nothing is annotated yet).
"""

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
ID_MAX = 1000  # characters of a string id
MAY_BE_EMPTY = ("labels",)


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


def is_id(name: str, id_column: str | None = None) -> bool:
    """Whether a string column ``name`` holds ids (the contract's id column or ``*_id``)."""
    return name == id_column or name.endswith("_id")


def _accepts(col: Column, dtype: pa.DataType, id_column: str | None = None) -> bool:
    if pa.types.is_null(dtype):  # every value null: fine where nulls are
        return col.nullable
    fam = family_of(dtype)
    if col.family == "number":
        return fam in ("number", "integer")
    if col.family == "string" and is_id(col.name, id_column):
        return fam in ("string", "integer")
    return fam == col.family


def _shown_value(value) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "…" + text[-1]


def weights_off(weight: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Where a design weight is not the inverse of its inclusion probability (to 1e-9,
    relative), among finite values: the one rule for "the weights are the sampler's"."""
    with np.errstate(divide="ignore", invalid="ignore"):
        off = ~np.isclose(weight * prob, 1.0, rtol=1e-9, atol=0)
    return off & np.isfinite(prob) & np.isfinite(weight)


def id_problems(values: pa.Array | pa.ChunkedArray, name: str, row0: int = 0,
                total: int | None = None) -> list[str]:
    """Problems of the ids ``values`` of column ``name`` (rows counted from ``row0`` of
    ``total``): empty or blank, leading or trailing whitespace, control characters, longer
    than :data:`ID_MAX` characters. Integer (and null) ids have none of these."""
    import pyarrow.compute as pc

    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if family_of(values.type) != "string" or len(values) == 0:
        return []
    trimmed = pc.utf8_trim_whitespace(values)
    blank = pc.equal(pc.utf8_length(trimmed), 0)
    rules = (
        ("empty or blank", blank),
        ("with leading or trailing whitespace",
         pc.and_(pc.not_equal(trimmed, values), pc.invert(blank))),
        ("with a control character (NUL, newline, tab, ...)",
         pc.match_substring_regex(values, r"[\x00-\x1f\x7f]")),
        (f"longer than {ID_MAX} characters", pc.greater(pc.utf8_length(values), ID_MAX)),
    )
    problems = []
    for what, hit in rules:
        mask = np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), bool)
        if not mask.any():
            continue
        examples = ", ".join(_shown_value(v) for v in
                             pc.unique(pc.filter(values, hit)).to_pylist()[:3])
        full = np.zeros(row0 + len(mask) if total is None else total, bool)
        full[row0: row0 + len(mask)] = mask
        problems.append(f"column {name!r}: {int(mask.sum())} id(s) {what} (e.g. {examples}) "
                        f"at {rows_where(full)}")
    return problems


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
    if table.num_rows == 0 and kind not in MAY_BE_EMPTY:
        problems.append(f"no rows: a {kind} table needs at least one")
    present = set(table.column_names)
    checked: list[Column] = []
    mistyped: list[Column] = []
    rules = list(contract.columns) + [
        replace(rule, name=name) for rule in contract.prefixed
        for name in table.column_names if name.startswith(rule.name)]
    for col in rules:
        if col.name not in present:
            if col.required:
                problems.append(f"missing column {col.name!r} ({col.family})")
            continue
        dtype = table.schema.field(col.name).type
        if not _accepts(col, dtype, contract.id_column):
            problems.append(_type_problem(table.column(col.name), col, dtype))
            if not pa.types.is_null(dtype):  # its nulls and repeats are problems too
                problems += check_range(table.column(col.name),
                                        replace(col, family="string"), col.name)
                mistyped.append(col)
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
        if col.family == "string" and is_id(col.name, contract.id_column):
            problems += id_problems(values, col.name)
    names = {c.name for c in checked + mistyped}
    needed = [c for c in contract.unique if contract.column(c).required]
    if contract.unique and set(needed) <= names:
        problems += duplicate_problems(table, tuple(c for c in contract.unique if c in names))
    if kind in ("sample", "curated") and {"inclusion_prob", "design_weight"} <= present:
        pi = np.asarray(table.column("inclusion_prob").to_numpy(zero_copy_only=False), float)
        w = np.asarray(table.column("design_weight").to_numpy(zero_copy_only=False), float)
        off = weights_off(w, pi)
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
