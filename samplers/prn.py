"""Permanent random numbers: ``u = H(seed, unit_id)`` in (0, 1] (1 with probability 2**-53).

Definition (``acprn``, version 1), so it can be re-implemented elsewhere and checked against the
golden vectors in ``tests/samplers/test_prn.py``. All arithmetic is on unsigned 64-bit integers
modulo 2**64.

* ``fmix(x)``: ``x ^= x >> 33; x *= 0xff51afd7ed558ccd; x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53; x ^= x >> 33`` (MurmurHash3's finalizer, a bijection).
* Input: the id's UTF-8 bytes ``b`` of length ``L`` (integer ids are first written in decimal);
  the seed ``s``, an integer in [0, 2**64).
* ``h = fmix(s ^ 0x9e3779b97f4a7c15)``; then for each 8-byte little-endian word ``w_k`` of
  ``b`` (the last one zero-padded), ``h = fmix(h ^ w_k)``; finally
  ``h = fmix(h ^ (L * 0xc2b2ae3d27d4eb4f))``.
* ``u = ((h >> 11) + 0.5) / 2**53`` in float64 arithmetic (round to nearest, ties to even):
  never 0; 1 exactly when ``h >> 11 = 2**53 - 1`` (the sum rounds up), so a selection
  ``u < π`` takes a certainty unit by :func:`selected`, not by the comparison alone.

The kernel reads the ids straight from the Arrow offsets and data buffers and loops over word
positions, not rows, so its cost is a few numpy passes over the bytes.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import DesignError

from . import kernels

ALGORITHM = {"name": "acprn", "version": 1}

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = 0x9E3779B97F4A7C15
_LEN_MUL = np.uint64(0xC2B2AE3D27D4EB4F)
_S33 = np.uint64(33)
_MASK64 = (1 << 64) - 1


def fmix(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place on a uint64 array (returned for chaining)."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


def _as_large_string(ids: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    return pc.cast(string_ids(ids), pa.large_string())


def string_ids(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The ids as one string or large-string array without nulls (integers in decimal)."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    if pa.types.is_dictionary(ids.type):
        ids = ids.dictionary_decode()
    if pa.types.is_integer(ids.type):
        ids = pc.cast(ids, pa.string())
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)
            or str(ids.type) == "string_view"):
        raise DesignError(f"unit ids must be strings or integers, got {ids.type}")
    if ids.null_count:
        raise DesignError(f"{ids.null_count} null unit id(s)")
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        return ids
    return pc.cast(ids, pa.large_string())


def hash64(ids: pa.Array | pa.ChunkedArray, seed: int) -> np.ndarray:
    """The 64-bit keyed hash ``h`` of each id (uint64 array), per the module definition."""
    if not 0 <= int(seed) <= _MASK64:
        raise DesignError(f"seed must be an integer in [0, 2**64), got {seed}")
    if kernels.compiled() is not None:  # the compiled sweep (samplers.kernels), same bytes
        h = remembered(ids, int(seed))
        return h.copy() if h is not None else hash_ids(ids, int(seed))[0]
    arr = _as_large_string(ids)
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype="<i8")[arr.offset: arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else \
        np.zeros(0, np.uint8)
    starts = offsets[:-1]
    lengths = (offsets[1:] - starts).astype(np.int64)
    if n and lengths.min() == lengths.max():
        return _hash_fixed(data[int(offsets[0]):int(offsets[-1])], n, int(lengths[0]), seed)
    # Pad so that 8-byte loads past the end of the last id stay inside the buffer; the eight
    # byte-shifted uint64 views give an unaligned little-endian load at any byte position.
    used = int(offsets[-1]) if n else 0
    words = (used + 7) // 8 + 1
    padded = np.zeros(words * 8 + 8, np.uint8)
    padded[:used] = data[:used]
    views = [padded[r: r + words * 8].view("<u8") for r in range(8)]
    keep = np.array([(1 << (8 * j)) - 1 for j in range(8)] + [_MASK64], dtype=np.uint64)
    h = np.full(n, _start(seed), dtype=np.uint64)
    max_len = int(lengths.max()) if n else 0
    for k in range(0, max_len, 8):
        active = np.flatnonzero(lengths > k) if k else np.flatnonzero(lengths > 0)
        pos = starts[active] + k
        word = np.empty(active.size, dtype=np.uint64)
        rem = pos & 7
        for r in range(8):
            sel = rem == r
            word[sel] = views[r][(pos[sel] - r) >> 3]
        word &= keep[np.minimum(lengths[active] - k, 8)]
        sub = h[active]
        sub ^= word
        h[active] = fmix(sub)
    h ^= lengths.astype(np.uint64) * _LEN_MUL
    return fmix(h)


def _start(seed: int) -> np.uint64:
    """``fmix(s ^ 0x9e3779b97f4a7c15)``, the same for every id (computed once)."""
    return fmix(np.array([(int(seed) ^ _GOLDEN) & _MASK64], np.uint64))[0]


def _hash_fixed(data: np.ndarray, n: int, length: int, seed: int) -> np.ndarray:
    """The same hash for ids that all have ``length`` bytes: one zero-padded word matrix."""
    words = (length + 7) // 8
    padded = np.zeros((n, words * 8), np.uint8)
    padded[:, :length] = data.reshape(n, length)
    matrix = padded.view("<u8")
    h = np.full(n, _start(seed), dtype=np.uint64)
    for k in range(words):
        h ^= matrix[:, k]
        fmix(h)
    h ^= np.uint64((length * int(_LEN_MUL)) & _MASK64)
    return fmix(h)


def to_unit_interval(h: np.ndarray) -> np.ndarray:
    """Map 64-bit hashes to (0, 1]: ``((h >> 11) + 0.5) / 2**53``."""
    compiled = kernels.compiled()
    if compiled is not None and h.dtype == np.uint64:  # one sweep, the same floats
        return compiled.unit_interval(h)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0


def selected(u: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Positions of the units a Poisson draw takes: ``u < π``, and every unit of ``π = 1``
    (whose PRN may be exactly 1, see the module docstring)."""
    return np.flatnonzero((u < pi) | (pi >= 1.0))


def prn(ids: pa.Array | pa.ChunkedArray, seed: int) -> np.ndarray:
    """Permanent random numbers of ``ids`` under ``seed``: float64 in (0, 1]."""
    return to_unit_interval(hash64(ids, seed))


def shifted(u: np.ndarray, shift: float | np.ndarray) -> np.ndarray:
    """PRNs moved by a fixed start ``shift``: ``(u + shift) mod 1``, kept inside (0, 1).

    Still uniform for a fixed shift, so every unit keeps its inclusion probability; used to
    steer a new audit wave away from the units of an earlier one. A unit landing exactly on
    0 goes to the end of the interval: the window starts just after it.
    """
    v = np.mod(u + shift, 1.0)
    return np.where(v <= 0.0, 1.0 - 0.5 / 9007199254740992.0, v)


# The compiled sweep: keyed hash, seed-0 hash (the duplicate check and the fingerprint) and the
# id-rule pre-check of a batch in one pass over its Arrow buffers (samplers.kernels.loops). The
# keyed hash of the last batch is remembered (holding the array, so its buffers cannot be freed
# and their addresses reused): the selection that follows the profile of the same batch does
# not hash its ids again.

_memo = threading.local()


def _key(ids: pa.Array) -> tuple:
    return (str(ids.type), ids.offset, len(ids),
            tuple(b.address if b is not None else 0 for b in ids.buffers()))


def remembered(ids: pa.Array | pa.ChunkedArray, seed: int) -> np.ndarray | None:
    """The keyed hashes of ``ids`` under ``seed`` if they are the last ones computed."""
    last = getattr(_memo, "last", None)
    if last is None or not isinstance(ids, pa.Array) or last[1] != seed:
        return None
    return last[2] if _key(ids) == last[3] else None


def hash_ids(ids: pa.Array | pa.ChunkedArray, seed: int, zero: bool = False,
             check: bool = False,
             remember: bool = False) -> tuple[np.ndarray, np.ndarray | None, int]:
    """``(h, h0, suspects)``: the acprn v1 hashes of ``ids`` under ``seed`` (``samplers.prn``),
    under seed 0 when ``zero`` (else None), and when ``check`` the number of ids that may break
    a rule of ``schemas.validate.id_problems`` (0: none does; -1 on the numpy path, which does
    not pre-check: run the exact check). ``remember`` keeps ``h`` for :func:`remembered`."""
    sweep = kernels.compiled()
    if sweep is None:
        h = hash64(ids, seed)
        return h, (hash64(ids, 0) if zero else None), (-1 if check else 0)
    from schemas.validate import ID_MAX

    arr = string_ids(ids)
    if len(arr) == 0:
        empty = np.zeros(0, np.uint64)
        return empty, (empty.copy() if zero else None), 0
    offsets, data = kernels.string_buffers(arr)
    h, h0, suspects = sweep.hash_sweep(offsets, data, _start(seed), _start(0), zero, check,
                                       np.int64(ID_MAX))
    if remember and isinstance(ids, pa.Array):
        _memo.last = (ids, seed, h, _key(ids))
    return h, (h0 if zero else None), int(suspects)
