"""Bit layouts for the pair search, and its cost model.

A layout is a permutation of the 64 bit positions (source bit of each output bit, MSB first).
Sorting values under a layout groups them by the leading bits; XOR and popcount commute with any
such permutation, so distances are computed on permuted values directly. A block filter
(`BlockFilter`: the block masks and the chosen blocks of one table) tells whether a pair belongs to
a table: it does only when the table's blocks are the first m-d blocks on which the pair agrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from filters.dedup.arrays import U64, chunks

IDENTITY: tuple[int, ...] = tuple(range(63, -1, -1))  # a layout: source bit of each output bit, MSB first
NS_SORT, NS_PAIR, NS_TABLE = 3.0, 6.0, 25.0  # cost model, ns per value per sort level / pair / table


def layout_moves(src: tuple[int, ...], dst: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(source position, target position, length) moves that turn values in layout `src` into layout `dst`."""
    where = [0] * 64
    for i, bit in enumerate(src):
        where[bit] = 63 - i
    perm = [where[dst[63 - j]] for j in range(64)]  # perm[j]: position in `src` of output bit j
    segs, j = [], 0
    while j < 64:
        k = j
        while k + 1 < 64 and perm[k + 1] == perm[k] + 1:
            k += 1
        segs.append((perm[j], j, k - j + 1))
        j = k + 1
    return segs


def permute(x: np.ndarray, segs: list[tuple[int, int, int]]) -> np.ndarray:
    if len(segs) == 1:
        return x.copy()
    out = np.zeros_like(x)
    for src, dst, length in segs:
        t = x >> U64(src - dst) if src >= dst else x << U64(dst - src)
        t &= U64(((1 << length) - 1) << dst)
        out |= t
    return out


def permute_inplace(buf: np.ndarray, segs: list[tuple[int, int, int]]) -> None:
    if len(segs) == 1:
        return
    for a, b in chunks(len(buf)):
        buf[a:b] = permute(buf[a:b], segs)


def bits_mask(bits: Sequence[int]) -> np.uint64:
    return U64(sum(1 << b for b in bits))


def choose_blocks(run: float, free: int, d: int) -> tuple[int, float]:
    """Number of blocks m (d < m <= free) minimising the estimated cost of C(m, d) sorted tables, and
    that cost in nanoseconds per value.

    Per value and table: sorting ~ log2(run) steps, and ~run / 2^keybits pairwise checks within runs;
    keybits = free * (m - d) / m. Constants from profiling numpy on one core.
    """
    best_m, best_cost = d + 1, math.inf
    for m in range(d + 1, free + 1):
        tables = math.comb(m, d)
        if tables > 5000:
            break
        keybits = free * (m - d) / m
        cost = tables * (NS_SORT * math.log2(max(run, 2.0)) + NS_PAIR * run / 2.0**keybits + NS_TABLE)
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m, best_cost


def split_blocks(bits: list[int], m: int) -> list[list[int]]:
    base, extra = divmod(len(bits), m)
    out, i = [], 0
    for b in range(m):
        size = base + (1 if b < extra else 0)
        out.append(bits[i:i + size])
        i += size
    return out


BlockFilter = tuple[list[np.uint64], tuple[int, ...]]


def leading_groups(x: np.ndarray, bits: int, min_mean: int = 64) -> list[tuple[int, int]] | None:
    """[start, stop) of the groups of sorted `x` sharing the leading `bits` bits (those of >= 2 values),
    or None when the groups average fewer than `min_mean` values (one sort is then cheaper)."""
    n = len(x)
    if n < 2 or bits >= 64:
        return None
    limit = U64(1 << (64 - bits))
    starts = [np.zeros(1, dtype=np.int64)]
    count = 1
    for a, b in chunks(n - 1):
        brk = np.flatnonzero((x[a:b] ^ x[a + 1:b + 1]) >= limit)
        if brk.size:
            starts.append(brk + (a + 1))
            count += len(brk)
            if count * min_mean > n:
                return None
    edges = np.append(np.concatenate(starts), n)
    sizes = np.diff(edges)
    big = np.flatnonzero(sizes >= 2)
    return list(zip(edges[big].tolist(), edges[big + 1].tolist(), strict=True))


def canonical(xr: np.ndarray, flt: BlockFilter) -> np.ndarray:
    """True where `combo` is the first m-d blocks on which the pair agrees (xr = a ^ b, source bits)."""
    masks, combo = flt
    ok = np.ones(len(xr), dtype=bool)
    chosen = set(combo)
    for blk in range(combo[-1]):
        if blk not in chosen:
            ok &= (xr & masks[blk]) != 0
    return ok
