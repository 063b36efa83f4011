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


class Bits:
    """One flag per position, eight to a byte (numpy's packbits order): an eighth of a bool array.

    Written in aligned blocks (`put` at multiples of 8), read as ranges (`get`) or at positions (`at`).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.data = np.zeros((n + 7) // 8, dtype=np.uint8)

    def put(self, start: int, flags: np.ndarray) -> None:
        """Sets the flags of [start, start + len(flags)); start is a multiple of 8, and the bits after
        the last flag in its byte are cleared (blocks are written in order)."""
        if start % 8:
            raise ValueError("Bits.put: start must be a multiple of 8")
        packed = np.packbits(flags)
        self.data[start // 8:start // 8 + len(packed)] = packed

    def get(self, start: int, stop: int) -> np.ndarray:
        """The flags of [start, stop) as a bool array."""
        lo = start // 8
        return np.unpackbits(self.data[lo:(stop + 7) // 8], count=stop - 8 * lo)[start - 8 * lo:].view(bool)

    def at(self, pos: np.ndarray) -> np.ndarray:
        """The flags at the positions `pos` (integers) as a bool array."""
        shift = (7 - (pos & 7)).astype(np.uint8)
        return ((self.data[pos >> 3] >> shift) & 1).view(bool)

    def clear(self, start: int, stop: int) -> None:
        """Clears the flags of [start, stop)."""
        if start >= stop:
            return
        first, last = start // 8, (stop - 1) // 8
        keep_head = (0xFF << (8 - start % 8)) & 0xFF  # the bits before `start` in its byte
        keep_tail = 0xFF >> ((stop - 1) % 8 + 1)  # the bits after `stop - 1` in its byte
        if first == last:
            self.data[first] &= keep_head | keep_tail
            return
        self.data[first] &= keep_head
        self.data[first + 1:last] = 0
        self.data[last] &= keep_tail

    def count(self) -> int:
        return int(np.bitwise_count(self.data).sum())
