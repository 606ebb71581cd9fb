"""MurmurHash3 x86_32 and the rollout normalisation Unleash clients share.

Rollout buckets must agree byte for byte with every Unleash SDK, so the hash is computed on the
UTF-8 bytes of ``"{group}:{identifier}"`` and reduced with ``% normalizer + 1`` exactly as they do.
The C implementation from ``mmh3`` is used when installed (the ``fast`` extra); the pure-Python
version below gives identical results and is what runs everywhere else.
"""

from __future__ import annotations

import struct
from types import ModuleType

__all__ = ["VARIANT_SEED", "hash32", "murmur3_32", "normalized_hash"]

# Unleash hashes variant assignment with this seed so that a user's bucket for the rollout
# percentage and their variant are independent.
VARIANT_SEED = 86028157

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """Unsigned 32-bit MurmurHash3 (x86 variant) of ``data``."""
    h = seed & _MASK
    length = len(data)
    block_end = length - (length & 3)
    for (k,) in struct.iter_unpack("<I", data[:block_end]):
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    tail = length & 3
    if tail:
        k = 0
        if tail == 3:
            k ^= data[block_end + 2] << 16
        if tail >= 2:
            k ^= data[block_end + 1] << 8
        k ^= data[block_end]
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def _pure_hash32(text: str, seed: int = 0) -> int:
    return murmur3_32(text.encode("utf-8"), seed)


_mmh3: ModuleType | None
try:
    import mmh3 as _mmh3
except ImportError:  # the SDK must work with httpx alone
    _mmh3 = None


if _mmh3 is not None:
    _mmh3_hash = _mmh3.hash

    def hash32(text: str, seed: int = 0) -> int:
        """Unsigned MurmurHash3 x86_32 of the UTF-8 encoding of ``text``."""
        return _mmh3_hash(text, seed, signed=False)

else:
    hash32 = _pure_hash32


def normalized_hash(identifier: str, group: str, normalizer: int = 100, seed: int = 0) -> int:
    """Bucket in 1..normalizer, as Unleash computes it for rollouts and variant weights."""
    return hash32(f"{group}:{identifier}", seed) % normalizer + 1
