"""The one exception hierarchy of audit-curation.

Every failure a user can cause is a :class:`CurationError`; its message names the file, column,
rows or stratum at fault and what to do. The CLI prints ``Error: <message>`` and exits 1.
"""

from __future__ import annotations


class CurationError(Exception):
    """Root of every error a user of audit-curation can cause."""

    exit_code = 1


class SchemaError(CurationError):
    """A table does not match its data contract (columns, types, ids, values)."""

    def __init__(self, problems: list[str] | str, source: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(self.problems))


class DesignError(CurationError):
    """A sampling or estimation design is impossible or ill-specified."""


class AnnotationError(CurationError):
    """Label Studio is unreachable, refuses us, or holds something unexpected."""


class VersionError(CurationError):
    """A git/DVC revision, dataset or remote object is missing or inconsistent."""
