"""A plain-Python re-implementation of the ``acprn`` v1 definition (samplers/prn.py docstring),
written from the definition alone, used to check the vectorized kernel."""

M = (1 << 64) - 1


def fmix(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M
    x ^= x >> 33
    return x


def hash64(unit_id: str | int, seed: int) -> int:
    b = str(unit_id).encode("utf-8")
    h = fmix(seed ^ 0x9E3779B97F4A7C15)
    for k in range(0, len(b), 8):
        h = fmix(h ^ int.from_bytes(b[k:k + 8].ljust(8, b"\0"), "little"))
    return fmix(h ^ ((len(b) * 0xC2B2AE3D27D4EB4F) & M))


def prn(unit_id: str | int, seed: int) -> float:
    return ((hash64(unit_id, seed) >> 11) + 0.5) / 2.0**53
