"""The pure-Python MurmurHash3 agrees with mmh3, so rollouts do not move when mmh3 is missing."""

from __future__ import annotations

import random

import mmh3
from govctl.flags.murmur import VARIANT_SEED, murmur3_32, normalized_hash


def test_pure_python_hash__agrees_with_mmh3_on_many_inputs() -> None:
    rng = random.Random(20240601)
    alphabet = "abcXYZ019:-_.ø😊你好 "
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        seed = rng.choice([0, VARIANT_SEED, rng.randint(0, 2**32 - 1)])
        assert murmur3_32(text.encode("utf-8"), seed) == mmh3.hash(text, seed, signed=False), (text, seed)


def test_pure_python_hash__matches_published_test_vectors() -> None:
    assert murmur3_32(b"", 0) == 0
    assert murmur3_32(b"", 1) == 0x514E28B7
    assert murmur3_32(b"hello", 0) == 0x248BFA47
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog", 0) == 0x2E4FF723


def test_normalized_hash__lands_in_one_to_normalizer() -> None:
    buckets = {normalized_hash(str(user), "group", 100) for user in range(5000)}

    assert min(buckets) == 1 and max(buckets) == 100
