"""The mergeable states of a design's passes over its input (what the engines reduce)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from .context import DrawContext
from .profile import Profile
from .selection import CarryingBestK, GrowingBestK

FIRST_PASS_ROWS = 1 << 20  # at most this many rows kept for selection in pass one


class Factory:
    """A picklable ``make_state`` for the engines: ``cls(*args)``."""

    def __init__(self, cls: type, *args: Any):
        self.cls, self.args = cls, args

    def __call__(self) -> Any:
        return self.cls(*self.args)


class FirstPass:
    """The profile pass; for a design with ``k`` (see ``_first_pass_k``) it also keeps the best
    ``k`` rows of every stratum, from which the selection is taken once the allocation is
    known, unless the strata are so many that ``k`` rows of each exceed ``FIRST_PASS_ROWS``
    (then a second pass selects). With ``carry`` (the single-pass mode) the kept rows also
    hold those columns of the input."""

    def __init__(self, profile: Profile, sampler: Any, ctx: DrawContext, k: int | None,
                 carry: list[str] | None = None):
        self.profile, self.sampler, self.ctx = replace(profile), sampler, ctx
        self.kept = None if k is None else \
            GrowingBestK(k) if carry is None else CarryingBestK(k, carry)

    @property
    def dups(self) -> Any:
        return self.profile.dups

    def duplicate_hashes(self) -> np.ndarray:
        return self.profile.duplicate_hashes()

    def update(self, batch: pa.RecordBatch, row0: int, key0: int) -> None:
        self.profile.update(batch, row0, key0)
        if self.kept is None:
            return
        if len(self.profile.counts) * self.kept.k_all > FIRST_PASS_ROWS:
            self.kept = None
            return
        keys = np.arange(key0, key0 + batch.num_rows, dtype=np.int64)
        if isinstance(self.kept, CarryingBestK):
            self.kept.batch = batch  # the carried columns of the rows it admits
        self.sampler._offer(self.kept, batch, row0, keys,
                            replace(self.ctx, index=self.profile.codes))
        if isinstance(self.kept, CarryingBestK):
            self.kept.batch = None

    def merge(self, other: FirstPass) -> FirstPass:
        self.profile.merge(other.profile)
        if self.kept is None or other.kept is None:
            self.kept = None
        else:
            mapping = np.zeros(len(other.profile.codes), np.int64)
            for label, theirs in other.profile.codes.items():
                mapping[theirs] = self.profile.codes[label]
            self.kept.merge(other.kept.remap(mapping))
        return self


class SelectionPass:
    """The selection pass: PRNs of each batch offered to the design's keeper."""

    def __init__(self, sampler: Any, ctx: DrawContext):
        self.sampler, self.ctx = sampler, ctx
        self.keeper = sampler._keeper(ctx)

    def update(self, batch: pa.RecordBatch, row0: int, key0: int) -> None:
        keys = np.arange(key0, key0 + batch.num_rows, dtype=np.int64)
        self.sampler._offer(self.keeper, batch, row0, keys, self.ctx)

    def merge(self, other: SelectionPass) -> SelectionPass:
        self.keeper.merge(other.keeper)
        return self
