"""The data contracts: required columns of every table the tool reads or writes.

A contract lists required columns with a type family and value rules; any other column is carried
through untouched. :data:`SCHEMAS` gives the canonical Arrow schema of the required columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One required (or optional but checked) column of a contract."""

    name: str
    family: str  # string | integer | number | boolean | timestamp
    nullable: bool = False
    required: bool = True
    lower: float | None = None
    lower_open: bool = False
    upper: float | None = None
    upper_open: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Contract:
    """A table kind: its columns, the id column and which columns must be unique together."""

    kind: str
    columns: tuple[Column, ...]
    id_column: str | None = None
    unique: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ITEM_TYPES = ("track", "episode")
ADJUDICATIONS = ("unanimous", "majority", "expert", "unresolved", "unlabeled")

CATALOGUE = Contract(
    "catalogue",
    (
        Column("item_id", "string"),
        Column("item_type", "string", choices=ITEM_TYPES),
        Column("creator_id", "string"),
        Column("risk_score", "number", required=False, lower=0.0, upper=1.0),
        Column("popularity", "number", required=False, lower=0.0),
        Column("release_year", "integer", required=False, nullable=True),
    ),
    id_column="item_id",
    unique=("item_id",),
)

RECOMMENDATIONS = Contract(
    "recommendations",
    (
        Column("impression_id", "string"),
        Column("user_id", "string"),
        Column("item_id", "string"),
        Column("surface", "string"),
        Column("position", "integer", lower=1),
        Column("served_at", "timestamp"),
        Column("market", "string", required=False, nullable=True),
        Column("user_age_band", "string", required=False, nullable=True),
    ),
    id_column="impression_id",
    unique=("impression_id",),
)

SAMPLE = Contract(
    "sample",
    (
        Column("unit_id", "string"),
        Column("stratum", "string"),
        Column("inclusion_prob", "number", lower=0.0, lower_open=True, upper=1.0),
        Column("design_weight", "number", lower=1.0),
        Column("prn", "number", lower=0.0, lower_open=True, upper=1.0, upper_open=True),
    ),
    id_column="unit_id",
    unique=("unit_id",),
)

LABELS = Contract(
    "labels",
    (
        Column("unit_id", "string"),
        Column("annotation_id", "integer"),
        Column("annotator", "string"),
        Column("created_at", "timestamp"),
        Column("updated_at", "timestamp"),
        Column("lead_time_s", "number", nullable=True, lower=0.0),
    ),
    unique=("annotation_id", "updated_at"),
)

CURATED = Contract(
    "curated",
    SAMPLE.columns
    + (
        Column("agreement", "number", nullable=True),
        Column("adjudication", "string", choices=ADJUDICATIONS),
    ),
    id_column="unit_id",
    unique=("unit_id",),
)

CONTRACTS: dict[str, Contract] = {
    c.kind: c for c in (CATALOGUE, RECOMMENDATIONS, SAMPLE, LABELS, CURATED)
}

_ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(kind: str) -> pa.Schema:
    """Canonical Arrow schema of the required columns of ``kind``."""
    contract = CONTRACTS[kind]
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.family], nullable=c.nullable)
         for c in contract.columns if c.required]
    )


SCHEMAS: dict[str, pa.Schema] = {kind: arrow_schema(kind) for kind in CONTRACTS}
