"""Data contracts of audit-curation: Arrow schemas, validation, manifests, errors, file I/O."""

from .content import content_hash
from .errors import AnnotationError, CurationError, DesignError, SchemaError, VersionError
from .manifest import Manifest, read_manifest, sidecar_path, write_with_manifest
from .tables import CONTRACTS, SCHEMAS, Column, Contract, arrow_schema
from .validate import as_table, table_problems, validate, validate_labels

__all__ = [
    "CONTRACTS", "SCHEMAS", "AnnotationError", "Column", "Contract", "CurationError",
    "DesignError", "Manifest", "SchemaError", "VersionError", "arrow_schema", "as_table",
    "content_hash", "read_manifest", "sidecar_path", "table_problems", "validate",
    "validate_labels", "write_with_manifest",
]
