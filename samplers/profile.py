"""The first pass over the population: what a design must know before it selects.

Counts per stratum, exact size sums and the largest sizes per stratum (for PPS), exact sums and
sums of squares of the Neyman column (its standard deviation or root mean square per stratum),
the previous wave's PRN reach (coordination), checks of the ids (null, duplicate) and an
order-independent population fingerprint. Every quantity is a commutative
reduction, so the result is the same whatever the batching or partitioning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError, SchemaError
from schemas.validate import id_problems, rows_where

from . import kernels
from .duplicates import DuplicateFinder
from .exactsum import ExactSum
from .prn import fmix, hash64, hash_ids, prn
from .sizes import SizeMeasure
from .strata import FittedStrata, is_numeric

NEYMAN_MAX = 1e150  # larger values have no finite square


def exact_squares(x: np.ndarray) -> np.ndarray:
    """Floats whose exact sum is ``Σ x²`` (Veltkamp's split ``x = hi + lo`` into 26-bit halves
    makes ``hi²``, ``2·hi·lo`` and ``lo²`` exact), so that a standard deviation computed as
    ``Σy² - (Σy)²/N`` loses nothing to cancellation, even for a large mean."""
    t = 134217729.0 * x  # 2**27 + 1
    hi = t - (t - x)
    lo = x - hi
    return np.concatenate([hi * hi, 2.0 * hi * lo, lo * lo])


def group_slices(codes: np.ndarray):
    """(code, positions) for every distinct code, positions in row order."""
    small = codes.astype(np.uint16) if codes.size and codes.max() < 1 << 16 else codes
    order = np.argsort(small, kind="stable")  # a radix sort for 16-bit codes
    sorted_codes = codes[order]
    cuts = np.flatnonzero(np.diff(sorted_codes)) + 1
    for chunk in np.split(order, cuts):
        if chunk.size:
            yield int(codes[chunk[0]]), chunk


def column_hash(values: pa.Array | pa.ChunkedArray, salt: int) -> np.ndarray:
    """A 64-bit hash of each value of any column (for fingerprints)."""
    typ = values.type
    if isinstance(values, pa.DictionaryArray) and values.dictionary.null_count == 0 and (
            pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type)):
        # the hash of each dictionary value, gathered: as if the strings were hashed one by one
        words = pa.concat_arrays([pc.cast(values.dictionary, pa.large_string()),
                                  pa.array(["\0null"], pa.large_string())])
        idx = pc.fill_null(values.indices, len(words) - 1).to_numpy(zero_copy_only=False)
        return hash64(words, salt)[idx]
    if pa.types.is_dictionary(typ):
        values = pc.cast(values, typ.value_type)
        typ = values.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        enc = pc.dictionary_encode(pc.fill_null(values, "\0null"))
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        return hash64(enc.dictionary, salt)[enc.indices.to_numpy(zero_copy_only=False)]
    x = np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    compiled = kernels.compiled()
    if compiled is not None:  # one sweep, the same bits
        return compiled.float_hash(np.ascontiguousarray(x), np.uint64(salt))
    with np.errstate(invalid="ignore"):  # a signalling NaN + 0.0: replaced by the NaN anyway
        x = np.where(np.isnan(x), np.nan, x + 0.0)  # one NaN, and -0.0 == 0.0
    return fmix(x.view(np.uint64) ^ np.uint64(salt))


def fold(fp: np.ndarray, hashes: np.ndarray, salt: int) -> None:
    """Fold a column's value hashes into the fingerprint words ``fp`` (in place):
    ``fp = fmix(fp ^ (hashes + salt))``."""
    compiled = kernels.compiled()
    if compiled is not None:
        compiled.fold(fp, np.ascontiguousarray(hashes, np.uint64), np.uint64(salt))
        return
    fp ^= hashes + np.uint64(salt)
    fmix(fp)


@dataclass
class Profile:
    """Reductions of the first pass (see module docstring)."""

    strata: FittedStrata
    id_column: str
    source: str
    size: SizeMeasure | None = None
    neyman: str | None = None
    neyman_s: str = "sd"
    top_k: int = 0
    size_totals: bool = True  # size sums overall and per stratum (Poisson PPS, mixtures)
    previous_ids: pa.Array | None = None
    previous_shifts: dict[str, float] = field(default_factory=dict)  # a rotated previous wave's
    seed: int = 0
    fingerprint_columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.counts: list[int] = []
        self.size_sums: list[ExactSum] = []
        self.score_sum = ExactSum()
        self.sq_sums: list[ExactSum] = []
        self.sums: list[ExactSum] = []
        self.top: list[np.ndarray] = []
        self.prev_max: list[float] = []
        self.dups = DuplicateFinder()
        self.rows = 0
        self._fp_sum = 0
        self._fp_xor = 0

    def columns(self) -> list[str]:
        cols = [self.id_column, *self.strata.spec.input_columns]
        if self.size is not None:
            cols.append(self.size.input_column)
        if self.neyman:
            cols.append(self.neyman)
        return list(dict.fromkeys(cols + self.fingerprint_columns))

    def _code_of(self, labels: np.ndarray) -> np.ndarray:
        uniq, inverse = np.unique(labels.astype(str), return_inverse=True)
        mapping = np.empty(len(uniq), dtype=np.int64)
        for i, label in enumerate(uniq):
            code = self.codes.get(str(label))
            if code is None:
                code = self.codes[str(label)] = len(self.counts)
                self.counts.append(0)
                self.size_sums.append(ExactSum())
                self.sq_sums.append(ExactSum())
                self.sums.append(ExactSum())
                self.top.append(np.zeros(0))
                self.prev_max.append(0.0)
            mapping[i] = code
        return mapping[inverse]

    def update(self, batch: pa.RecordBatch, row0: int | None = None, key0: int = 0) -> None:
        """Add a batch whose first row is the input's row ``row0`` (default: rows so far)."""
        row0 = self.rows if row0 is None else row0
        ids = batch.column(self.id_column)
        if ids.null_count:
            mask = np.concatenate([np.zeros(row0, bool),
                                   pc.is_null(ids).to_numpy(zero_copy_only=False)])
            raise SchemaError(f"column {self.id_column!r}: {ids.null_count} null id(s) at "
                              f"{rows_where(mask)}", source=self.source)
        # keyed hash (kept for the selection of this batch), seed-0 hash and id pre-check in
        # one sweep; ids the pre-check clears break no rule, so the exact check is skipped
        _, h0, suspects = hash_ids(ids, self.seed, zero=True, check=True, remember=True)
        problems = id_problems(ids, self.id_column, row0) if suspects else []
        if problems:  # the rule `validate` applies: one home, schemas.validate
            raise SchemaError("; ".join(problems), source=self.source)
        self.dups.add(h0)
        fp = h0.copy()
        for i, col in enumerate(self.fingerprint_columns, start=1):
            fold(fp, column_hash(batch.column(col), i), i)
        self._fp_sum = (self._fp_sum + int(fp.sum(dtype=np.uint64))) % (1 << 64)
        self._fp_xor ^= int(np.bitwise_xor.reduce(fp)) if fp.size else 0
        local, names = self.strata.encode(batch, row0)
        codes = self._code_of(np.array(names, dtype=object))[local]
        raw = self.size.raw(batch, row0, self.source) if self.size is not None else None
        if not self.size_totals:
            raw = None  # checked above; no design quantity reads its sums
        if raw is not None:
            self.score_sum.add(raw)
        s = self._neyman_values(batch, row0) if self.neyman else None
        in_prev = None
        if self.previous_ids is not None:
            in_prev = pc.is_in(ids, value_set=self.previous_ids).to_numpy(zero_copy_only=False)
            u = prn(ids, self.seed)
        counts = np.bincount(codes, minlength=len(self.counts))
        for code in np.flatnonzero(counts):
            self.counts[code] += int(counts[code])
        per_stratum = raw is not None or s is not None or in_prev is not None
        for code, pos in group_slices(codes) if per_stratum else ():
            if raw is not None:
                self.size_sums[code].add(raw[pos])
                if self.top_k:
                    self._add_top(code, raw[pos])
            if s is not None:
                self.sq_sums[code].add(s[pos] ** 2 if self.neyman_s == "rms"
                                       else exact_squares(s[pos]))
                self.sums[code].add(s[pos])
            if in_prev is not None:
                hit = pos[in_prev[pos]]
                if hit.size:  # on the previous wave's PRNs, shifted if it was rotated
                    v = u[hit]
                    if self.previous_shifts:
                        label = next(k for k, c in self.codes.items() if c == code)
                        v = np.mod(v + self.previous_shifts.get(label, 0.0), 1.0)
                    self.prev_max[code] = max(self.prev_max[code], float(v.max()))
        self.rows += batch.num_rows

    def _add_top(self, code: int, values: np.ndarray) -> None:
        if values.size == 0:
            return
        both = np.concatenate([self.top[code], values])
        k = min(self.top_k, len(both))
        self.top[code] = np.sort(np.partition(both, len(both) - k)[len(both) - k:])

    def merge(self, other: Profile) -> Profile:
        """Fold another partition's profile into this one (commutative, exact)."""
        labels = list(other.codes)
        mine = self._code_of(np.array(labels, dtype=object)) if labels else []
        for label, code in zip(labels, mine, strict=True):
            theirs = other.codes[label]
            self.counts[code] += other.counts[theirs]
            self.size_sums[code].merge(other.size_sums[theirs])
            self.sq_sums[code].merge(other.sq_sums[theirs])
            self.sums[code].merge(other.sums[theirs])
            if self.top_k:
                self._add_top(code, other.top[theirs])
            self.prev_max[code] = max(self.prev_max[code], other.prev_max[theirs])
        self.score_sum.merge(other.score_sum)
        self.rows += other.rows
        self._fp_sum = (self._fp_sum + other._fp_sum) % (1 << 64)
        self._fp_xor ^= other._fp_xor
        self.dups.merge(other.dups)
        return self

    def _neyman_values(self, batch: pa.RecordBatch, row0: int) -> np.ndarray:
        """The Neyman column of a batch as floats; a non-numeric column, a null or non-finite
        value (or a negative anticipated standard deviation under 'rms') is an error."""
        col = self.neyman
        values = batch.column(col)
        if not is_numeric(values.type):
            typ = getattr(values.type, "value_type", values.type)
            raise DesignError(f"{self.source}: column {col!r} (neyman_col) is not numeric "
                              f"({typ}): pass the numeric variable to be estimated, or a "
                              f"proxy of it")
        s = np.asarray(values.to_numpy(zero_copy_only=False), np.float64)
        bad = ~np.isfinite(s)
        what = "null or non-finite"
        if self.neyman_s == "rms":
            bad |= s < 0
            what = "null, non-finite or negative"
        huge = ~bad & (np.abs(np.where(bad, 0.0, s)) > NEYMAN_MAX)
        for mask, kind in ((bad, what), (huge, f"too large (|x| > {NEYMAN_MAX:g})")):
            if mask.any():
                rows = rows_where(np.concatenate([np.zeros(row0, bool), mask]))
                raise DesignError(f"{self.source}: column {col!r} (neyman_col): "
                                  f"{int(mask.sum())} {kind} value(s) at {rows}")
        return s

    def neyman_s_h(self, order: np.ndarray) -> np.ndarray:
        """S_h of the strata with profile codes ``order``, from exact sums: the column's
        standard deviation in the stratum (divisor N_h - 1; 0 for one unit) under 'sd', the
        root mean square under 'rms'."""
        out = []
        for code in order:
            N = self.counts[code]
            sq = self.sq_sums[code].fraction
            if self.neyman_s == "rms":
                out.append(float(sq / N) ** 0.5)
                continue
            ss = sq - self.sums[code].fraction ** 2 / N  # Σ(y - ȳ)², exactly
            out.append(float(ss / (N - 1)) ** 0.5 if N > 1 else 0.0)
        return np.array(out, np.float64)

    def duplicate_hashes(self) -> np.ndarray:
        """64-bit id hashes that occur more than once (candidates for duplicate ids)."""
        return self.dups.repeated()

    @property
    def fingerprint(self) -> str:
        return f"{int(self._fp_sum):016x}{int(self._fp_xor):016x}"

    def ordered_labels(self) -> list[str]:
        """Stratum labels in a canonical (sorted) order."""
        return sorted(str(label) for label in self.codes)


def report_duplicates(source, id_column: str, dup_hashes: np.ndarray, name: str) -> None:
    """Raise SchemaError naming duplicate ids and their rows (a second, id-only pass)."""
    rows, values, offset = [], [], 0
    for batch in source.batches([id_column]):
        ids = batch.column(id_column)
        hit = np.flatnonzero(np.isin(hash64(ids, 0), dup_hashes))
        rows += (hit + offset).tolist()
        values += [ids[int(i)].as_py() for i in hit]
        offset += batch.num_rows
    seen: dict[str, list[int]] = {}
    for r, v in zip(rows, values, strict=True):
        seen.setdefault(v, []).append(r)
    dups = {v: r for v, r in seen.items() if len(r) > 1}
    if not dups:
        return
    n_rows = sum(len(r) for r in dups.values())
    examples = "; ".join(f"{v!r} at rows {', '.join(map(str, r[:4]))}"
                         for v, r in list(dups.items())[:3])
    raise SchemaError(f"column {id_column!r}: {len(dups)} duplicate id(s) over {n_rows} rows "
                      f"(e.g. {examples})", source=name)
