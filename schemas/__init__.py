"""Data contracts of audit-curation: Arrow schemas, validation, manifests, errors, file I/O."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:  # one source for the version: pyproject.toml, through the installed metadata
    __version__ = _version("audit-curation")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

from .content import content_hash
from .errors import AnnotationError, CurationError, DesignError, SchemaError, VersionError
from .manifest import Manifest, read_manifest, sidecar_path, write_with_manifest
from .tables import CONTRACTS, SCHEMAS, Column, Contract, arrow_schema
from .validate import as_table, table_problems, validate, validate_labels

__all__ = [
    "CONTRACTS", "__version__", "SCHEMAS", "AnnotationError", "Column", "Contract", "CurationError",
    "DesignError", "Manifest", "SchemaError", "VersionError", "arrow_schema", "as_table",
    "content_hash", "read_manifest", "sidecar_path", "table_problems", "validate",
    "validate_labels", "write_with_manifest",
]
