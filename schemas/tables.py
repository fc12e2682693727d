"""The data contracts: required columns of every table the tool reads or writes.

A contract lists required columns with a type family and value rules; any other column is carried
through untouched. :data:`SCHEMAS` gives the canonical Arrow schema of the required columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from .labels import STAGES


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
    """A table kind: its columns, the id column and which columns must be unique together.

    ``prefixed`` columns are rules for every column whose name starts with the rule's name
    (e.g. ``cat_``); a column of ``unique`` that is not required counts only when present.
    """

    kind: str
    columns: tuple[Column, ...]
    id_column: str | None = None
    unique: tuple[str, ...] = field(default_factory=tuple)
    prefixed: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ITEM_TYPES = ("track", "episode")
#: ``incomplete``: fewer counted votes than planned (a respondent, with the label of the votes
#: it has); ``unresolved`` and ``unlabeled`` are nonresponse (``schemas.labels.NONRESPONSE``).
ADJUDICATIONS = ("unanimous", "majority", "incomplete", "expert", "unresolved", "unlabeled")

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
        # the label fields (schemas/labels.py): checked when present; `validate_labels`
        # requires schemas.labels.REQUIRED_FIELDS
        Column("server", "string", nullable=True, required=False),
        Column("project", "string", required=False),
        Column("stage", "string", required=False, choices=STAGES),
        Column("task_id", "integer", nullable=True, required=False),
        Column("planned_votes", "integer", nullable=True, required=False, lower=1),
        Column("sensitive", "boolean", nullable=True, required=False),
        Column("severity", "integer", nullable=True, required=False, lower=1, upper=3),
        Column("unsure", "boolean", required=False),
        Column("skipped", "boolean", required=False),
        Column("note", "string", nullable=True, required=False),
    ),
    unique=("server", "project", "annotation_id", "updated_at"),
    prefixed=(Column("cat_", "boolean"),),
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
