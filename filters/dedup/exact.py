"""Exact image dedup: rows with the same sha256 form a group; the smallest key is kept.

The others are `duplicate_image` with the kept key as detail. Groups are found by sorting one uint64
per row (the digest's first bits packed with the row number) and comparing full digests only where
those bits collide: memory stays at one uint64 per row plus the colliding rows' digests.
"""

from __future__ import annotations

import numpy as np

from filters.dedup.arrays import TEXT_CHUNK, U64, chunks, unique
from filters.dedup.columns import Sha256Column
from filters.dedup.components import keep_best
from filters.dedup.result import DUPLICATE_IMAGE_CODE


def exact_stage(keys: np.ndarray, sha: Sha256Column, reason: np.ndarray, kept: np.ndarray,
                stats: dict[str, int]) -> None:
    """Marks every row but the smallest key of each sha256 group `duplicate_image` (in `reason`, `kept`)."""
    n = len(keys)
    bits = max(1, (n - 1).bit_length())
    low = U64((1 << bits) - 1)
    packed = np.empty(n, dtype=np.uint64)  # digest prefix in the high bits, row number in the low bits
    for a, b in chunks(n, TEXT_CHUNK):
        packed[a:b] = (sha.prefix(a, b) & ~low) | np.arange(a, b, dtype=np.uint64)
    packed.sort()
    found: list[np.ndarray] = []
    for a, b in chunks(n - 1):
        pos = np.flatnonzero((packed[a:b] ^ packed[a + 1:b + 1]) <= low) + a
        found += [packed[pos] & low, packed[pos + 1] & low]
    del packed
    rows = unique(np.concatenate(found)).astype(np.int64) if found else np.zeros(0, dtype=np.int64)
    stats["exact_candidates"] = len(rows)
    if not rows.size:
        stats["duplicate_image"] = 0
        return
    words = sha.full(rows)
    order = np.lexsort(words.T[::-1])
    rows, words = rows[order], words[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (words[1:] != words[:-1]).any(axis=1)
    group = np.cumsum(new) - 1
    stats["duplicate_image"] = keep_best(rows, group, keys, None, reason, kept, DUPLICATE_IMAGE_CODE)
