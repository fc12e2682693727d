"""Compiled kernels for the samplers' hot loops, with the numpy reference path selectable.

Which path runs:

* ``AUDIT_CURATION_KERNELS=numba`` (the default when numba imports) or ``=numpy`` in the
  environment, read when the first kernel runs;
* :func:`use` in code (``with kernels.use("numpy"): ...``), e.g. to check one path against
  the other; :func:`active` says which path is in force.

Both paths give bit-identical results (``tests/samplers/test_kernels.py``); the compiled one
(numba, ``cache=True``: compiled once per machine, then loaded from ``__pycache__``) reads the
ids straight from the Arrow buffers in one sweep per batch and releases the GIL, so a reader
thread (:mod:`samplers.kernels.reader`) decodes the next batch meanwhile. numba is imported
only when a kernel first runs, so importing the samplers stays cheap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

PATHS = ("numba", "numpy")
ENV = "AUDIT_CURATION_KERNELS"

_state: dict[str, Any] = {"path": None, "module": None}
_lock = threading.Lock()


def _resolve() -> str:
    """The path asked for by the environment, numba when it is not set (and imports)."""
    wanted = os.environ.get(ENV, "").strip().lower() or "numba"
    if wanted not in PATHS:
        from schemas import DesignError

        raise DesignError(f"{ENV}={wanted!r}: expected one of {list(PATHS)}")
    if wanted == "numba":
        try:
            import numba  # noqa: F401
        except ImportError:
            return "numpy"
    return wanted


def active() -> str:
    """'numba' or 'numpy': the path the kernels run on now."""
    if _state["path"] is None:
        _state["path"] = _resolve()
    return _state["path"]


@contextmanager
def use(path: str) -> Iterator[None]:
    """Run the kernels on ``path`` ('numba' or 'numpy') inside the block."""
    if path not in PATHS:
        raise ValueError(f"kernel path must be one of {list(PATHS)}, got {path!r}")
    before = _state["path"]
    _state["path"] = path
    try:
        yield
    finally:
        _state["path"] = before


def compiled() -> Any | None:
    """The compiled kernels module when the numba path is active, else None. The first call
    compiles (or loads from the on-disk cache) every kernel; if numba cannot (no compiler
    back end, no writable cache folder), the numpy path takes over: same results."""
    if active() != "numba":
        return None
    if _state["module"] is None:
        with _lock:
            if _state["module"] is None:
                try:
                    from . import loops as module

                    module.warm()
                except Exception as exc:  # numba's errors have no common base class
                    import warnings

                    warnings.warn(f"compiled kernels unavailable ({exc}); using the numpy "
                                  f"path (same results, slower)", RuntimeWarning, stacklevel=2)
                    _state["path"] = "numpy"
                    return None
                _state["module"] = module
    return _state["module"]


def string_buffers(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a string or large-string Arrow array as numpy views, no copy: the
    ``len(arr) + 1`` offsets of its slice (absolute positions into ``data``)."""
    n = len(arr)
    width = "<i8" if str(arr.type) == "large_string" else "<i4"
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset: arr.offset + n + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None and buf.size else \
        np.zeros(1, np.uint8)
    return offsets, data


__all__ = ["ENV", "PATHS", "active", "compiled", "string_buffers", "use"]
