"""Reading a section of ``params.yaml`` (the DVC parameters file)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from schemas import DesignError


def load_section(path: str | Path, section: str | None, allowed: Iterable[str]) -> dict:
    """The ``section`` mapping of a YAML file (dotted names reach nested sections)."""
    path = Path(path)
    if not path.exists():
        raise DesignError(f"{path}: no such parameters file")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise DesignError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    node = doc
    for part in (section or "").split(".") if section else []:
        if not isinstance(node, dict) or part not in node:
            raise DesignError(f"{path}: no section {section!r} (has {sorted(doc)})")
        node = node[part]
    if not isinstance(node, dict):
        raise DesignError(f"{path}: section {section!r} is not a mapping")
    allowed = set(allowed)
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise DesignError(f"{path}: section {section!r} has unknown parameter(s) {unknown}; "
                          f"known: {sorted(allowed)}")
    return dict(node)
