"""Progress bars for long work: shown on a terminal, quiet elsewhere and under CI (one rule).

tqdm is imported only when a bar will show, so a run in a pipeline, a test or a notebook's
subprocess does not pay for it (``tqdm.auto`` pulls in asyncio and multiprocessing: ~50 ms).
"""

from __future__ import annotations

import os
import sys
from typing import Any


class _Quiet:
    """The part of a tqdm bar the callers use, doing nothing."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def shown() -> bool:
    """Whether a bar shows: standard error is a terminal and ``CI`` is not set."""
    return not os.environ.get("CI") and sys.stderr.isatty()


def progress(total: int, desc: str = "", unit: str = "it", **options: Any) -> Any:
    """A tqdm bar of ``total`` ``unit`` (a context manager with ``update(n)``), or a silent
    stand-in when :func:`shown` is false."""
    if not shown():
        return _Quiet()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, **options)
