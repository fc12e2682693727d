"""The numba kernels (compiled on first use, cached on disk, run without the GIL).

Each is the loop the numpy reference path writes as array passes, over the same bytes and in
the same integer arithmetic (uint64 modulo 2**64), so the results are bit-identical: the acprn
v1 hash of ``samplers/prn.py`` read straight from the Arrow offsets and data buffers, its
mapping to (0, 1], the fingerprint's hash of numeric columns and its fold, the duplicate
check's bucketing and repeat search, and the bottom-k admission test of
``samplers/selection.py``. Every constant is a ``np.uint64`` so that numba never mixes signed
and unsigned integers (which it would promote to float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit

M1 = np.uint64(0xFF51AFD7ED558CCD)
M2 = np.uint64(0xC4CEB9FE1A85EC53)
LEN_MUL = np.uint64(0xC2B2AE3D27D4EB4F)
S33 = np.uint64(33)
ELEVEN = np.uint64(11)
EIGHT = np.uint64(8)
ONE = np.uint64(1)
ZERO = np.uint64(0)
ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
# lead bytes of the UTF-8 encodings of every non-ASCII Unicode whitespace character
# (U+0085, U+00A0: C2; U+1680, U+180E: E1; U+2000-U+205F: E2; U+3000: E3)
_SPACE_LEADS = (0xC2, 0xE1, 0xE2, 0xE3)


@njit(cache=True, nogil=True, inline="always")
def fmix(x: np.uint64) -> np.uint64:
    x ^= x >> S33
    x *= M1
    x ^= x >> S33
    x *= M2
    x ^= x >> S33
    return x


@njit(cache=True, nogil=True, inline="always")
def _suspect_byte(b: np.uint8) -> bool:
    return b < 0x21 or b == 0x7F


@njit(cache=True, nogil=True, inline="always")
def _space_lead(b: np.uint8) -> bool:
    return b == 0xC2 or b == 0xE1 or b == 0xE2 or b == 0xE3


LOW7 = np.uint64(0x0101010101010101)
HIGH = np.uint64(0x8080808080808080)
FILL = np.uint64(0x4141414141414141)  # 'A' bytes: break no rule, pad a partial word's check


@njit(cache=True, nogil=True, inline="always")
def _word(data, q, m):
    """The little-endian word of the ``m`` (1..8) bytes at ``data[q:]``, zero-padded: eight
    bytes read and the bytes past the id masked off (branch-free), or, at the end of the
    buffer, byte by byte. The eight reads are written out at unsigned positions (no check
    for a negative index between them), so that LLVM fuses them into one unaligned load."""
    if q + 8 <= data.shape[0]:
        u = np.uint64(q)
        w = (np.uint64(data[u]) | (np.uint64(data[u + ONE]) << EIGHT)
             | (np.uint64(data[u + np.uint64(2)]) << np.uint64(16))
             | (np.uint64(data[u + np.uint64(3)]) << np.uint64(24))
             | (np.uint64(data[u + np.uint64(4)]) << np.uint64(32))
             | (np.uint64(data[u + np.uint64(5)]) << np.uint64(40))
             | (np.uint64(data[u + np.uint64(6)]) << np.uint64(48))
             | (np.uint64(data[u + np.uint64(7)]) << np.uint64(56)))
        return w & _low_bytes(m)
    w = ZERO
    for j in range(m):
        w |= np.uint64(data[q + j]) << (EIGHT * np.uint64(j))
    return w


@njit(cache=True, nogil=True, inline="always")
def _low_bytes(m):
    """The mask of a word's ``m`` (1..8) low bytes."""
    return ALL >> (EIGHT * (EIGHT - np.uint64(m)))


@njit(cache=True, nogil=True, inline="always")
def _has_control(w):
    """Whether a word has a byte below 0x20 or equal to 0x7F (SWAR tests on 8 bytes)."""
    below = (w - LOW7 * np.uint64(0x20)) & ~w & HIGH
    x = w ^ (LOW7 * np.uint64(0x7F))
    delete = (x - LOW7) & ~x & HIGH
    return (below | delete) != ZERO


@njit(cache=True, nogil=True)
def hash_sweep(offsets, data, start, start0, want0, check, max_bytes):
    """acprn v1 hashes of ids ``data[offsets[i]:offsets[i+1]]`` from the start state
    ``start`` (and ``start0``, the seed-0 state, when ``want0``), and, when ``check``, the
    number of ids that might break an id rule of ``schemas.validate.id_problems``: empty, a
    first or last character that is a space or a Unicode space (by its lead byte), a control
    byte anywhere, or more than ``max_bytes`` bytes (a superset of the rule's hits, so a
    batch with none needs no exact check)."""
    n = offsets.shape[0] - 1
    h = np.empty(n, np.uint64)
    h0 = np.empty(n if want0 else 0, np.uint64)
    suspects = 0
    for i in range(n):
        p = np.int64(offsets[i])
        length = np.int64(offsets[i + 1]) - p
        a = start
        b = start0
        control = False
        k = np.int64(0)
        while k < length:
            m = min(np.int64(8), length - k)
            w = _word(data, p + k, m)
            a = fmix(a ^ w)
            if want0:
                b = fmix(b ^ w)
            if check:
                control |= _has_control(w | (FILL & ~_low_bytes(m)))
            k += 8
        tail = np.uint64(length) * LEN_MUL
        h[i] = fmix(a ^ tail)
        if want0:
            h0[i] = fmix(b ^ tail)
        if check:
            bad = control or length == 0 or length > max_bytes
            if not bad:
                first = data[p]
                last = data[p + length - 1]
                bad = first == 0x20 or last == 0x20 or _space_lead(first)
                if not bad and last >= 0x80:  # the last character's lead byte
                    q = p + length - 1
                    while q > p and (data[q] & 0xC0) == 0x80:
                        q -= 1
                    bad = _space_lead(data[q])
            if bad:
                suspects += 1
    return h, h0, suspects


@njit(cache=True, nogil=True)
def unit_interval(h):
    """``((h >> 11) + 0.5) / 2**53`` of each hash (``samplers.prn.to_unit_interval``), in one
    sweep instead of three array passes; every step is exact, so the floats are the same."""
    out = np.empty(h.shape[0], np.float64)
    for i in range(h.shape[0]):
        out[i] = (np.float64(h[i] >> ELEVEN) + 0.5) / 9007199254740992.0
    return out


@njit(cache=True, nogil=True)
def float_hash(x, salt):
    """``fmix(bits(x) ^ salt)`` of each float, every NaN as the one NaN and -0.0 as 0.0 (the
    numeric case of ``samplers.profile.column_hash``)."""
    f = np.empty(x.shape[0], np.float64)
    for i in range(x.shape[0]):
        v = x[i]
        f[i] = np.nan if np.isnan(v) else v + 0.0
    out = f.view(np.uint64)
    for i in range(out.shape[0]):
        out[i] = fmix(out[i] ^ salt)
    return out


@njit(cache=True, nogil=True)
def fold(fp, hashes, salt):
    """``fp = fmix(fp ^ (hashes + salt))`` in place: a column folded into the fingerprint."""
    for i in range(fp.shape[0]):
        fp[i] = fmix(fp[i] ^ (hashes[i] + salt))


@njit(cache=True, nogil=True)
def bucket_order(h, shift, buckets):
    """The hashes grouped by ``h >> shift`` (a counting sort, stable) and the group sizes."""
    counts = np.zeros(buckets, np.int64)
    s = np.uint64(shift)
    for i in range(h.shape[0]):
        counts[np.int64(h[i] >> s)] += 1
    at = np.zeros(buckets, np.int64)
    for b in range(1, buckets):
        at[b] = at[b - 1] + counts[b - 1]
    out = np.empty_like(h)
    for i in range(h.shape[0]):
        b = np.int64(h[i] >> s)
        out[at[b]] = h[i]
        at[b] += 1
    return out, counts


@njit(cache=True, nogil=True)
def repeated_values(h):
    """Values that occur more than once in ``h`` (unsorted, each once): an open-addressing
    set of twice the size, probed from the value's low bits (the values are hashes)."""
    n = h.shape[0]
    size = 1
    while size < 2 * n + 2:
        size <<= 1
    mask = np.uint64(size - 1)
    table = np.zeros(size, np.uint64)
    state = np.zeros(size, np.uint8)  # 0 empty, 1 seen once, 2 reported
    out = np.empty(n, np.uint64)
    found = 0
    for i in range(n):
        v = h[i]
        slot = np.int64(v & mask)
        while True:
            if state[slot] == 0:
                table[slot] = v
                state[slot] = 1
                break
            if table[slot] == v:
                if state[slot] == 1:
                    out[found] = v
                    found += 1
                    state[slot] = 2
                break
            slot = np.int64((np.uint64(slot) + ONE) & mask)
    return out[:found]


@njit(cache=True, nogil=True)
def admitted(codes, keys, threshold, k):
    """Positions of the rows a bottom-k sketch keeps: ``key <= threshold[code]`` in a stratum
    with ``k[code] > 0`` (the test of ``BestK.offer``, in one sweep)."""
    out = np.empty(codes.shape[0], np.int64)
    m = 0
    for i in range(codes.shape[0]):
        c = codes[i]
        if keys[i] <= threshold[c] and k[c] > 0:
            out[m] = i
            m += 1
    return out[:m]


def warm() -> None:
    """Compile (or load from the on-disk cache) every kernel for the types the samplers use."""
    data = np.frombuffer(b"ab", np.uint8)  # read-only views, as of Arrow buffers
    for width in (np.int32, np.int64):
        off = np.frombuffer(np.array([0, 1, 2], width).tobytes(), width)
        hash_sweep(off, data, ONE, ONE, True, True, np.int64(1000))
        hash_sweep(off, data, ONE, ONE, False, False, np.int64(1000))
    h = np.array([1, 1, 2], np.uint64)
    unit_interval(h)
    float_hash(np.array([0.5, np.nan]), ONE)
    fold(h.copy(), h, ONE)
    bucket_order(h, 58, 64)
    repeated_values(h)
    admitted(np.zeros(2, np.int64), np.zeros(2), np.full(1, np.inf), np.ones(1, np.int64))
