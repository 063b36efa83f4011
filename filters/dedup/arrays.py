"""Small numpy helpers shared by the dedup modules: sorted distinct values and bounded chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

CHUNK = 1 << 16  # elements per vectorised step: temporaries stay at ~0.5 MiB each
TEXT_CHUNK = 1 << 14
U64 = np.uint64
ALL_ONES = (1 << 64) - 1


def unique(a: np.ndarray, counts: bool = False) -> Any:
    """Sorted distinct values (and their counts): numpy 2.4's hash-based np.unique is ~10x slower here."""
    a = np.sort(a)
    first = np.ones(len(a), dtype=bool)
    np.not_equal(a[1:], a[:-1], out=first[1:])
    if not counts:
        return a[first]
    starts = np.flatnonzero(first)
    return a[starts], np.diff(np.append(starts, len(a)))


def chunks(n: int, size: int = CHUNK) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)
