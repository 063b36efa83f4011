"""Deterministic random picks that do not depend on row order: a seeded 64-bit hash per row, and the
rows with the smallest hashes.

The filter's parts hold rows in crawl order, which changes from run to run (Scrapy fetches
concurrently), and the same rows can fall into other parts. Picking "the k rows whose hash is
smallest" gives the same rows whenever the set of rows is the same. Sample keys are already 64-bit
hashes (of the URL, as digits), so they are only parsed and mixed with the seed, vectorised; other
strings (URLs of rejected rows) go through BLAKE2b keyed with the seed, about 1 us per string.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _seed_word(seed: int) -> np.uint64:
    return np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64)


def string_hashes(values: pa.Array | pa.ChunkedArray, seed: int = 0) -> np.ndarray:
    """A seeded uint64 hash per string: the same string and seed give the same hash; a null hashes as ""."""
    key = seed.to_bytes(8, "big", signed=True)
    return np.fromiter((int.from_bytes(hashlib.blake2b((v or "").encode("utf-8"), digest_size=8, key=key).digest(),
                                       "big") for v in values.to_pylist()), dtype=np.uint64, count=len(values))


def key_hashes(keys: pa.Array | pa.ChunkedArray, seed: int = 0) -> np.ndarray:
    """A seeded uint64 hash per sample key (digits); a key that is not a number is hashed as a string."""
    try:
        numbers = pc.cast(pc.fill_null(keys, "0"), pa.uint64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return string_hashes(keys, seed)
    values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.uint64)
    return _mix(values ^ _seed_word(seed))


def smallest(hashes: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` smallest hashes, smallest first (ties by index)."""
    if k <= 0 or len(hashes) == 0:
        return np.zeros(0, np.int64)
    candidates = np.argpartition(hashes, k - 1)[:k] if k < len(hashes) else np.arange(len(hashes))
    return candidates[np.lexsort((candidates, hashes[candidates]))].astype(np.int64)
