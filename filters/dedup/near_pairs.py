"""Near pairs: every pair of distinct 64-bit hashes within d bits, by multi-index hashing.

The interface is `find_pairs(hashes, d)`: a 1-d uint64 numpy array in, a `HashPairs` out (the pairs
of distinct values within d bits, each once, and the values that occur more than once). It knows
nothing of rows, keys or reasons: callers map values back to their rows (`components.near_stage`
does, for the filter's near-duplicate decision).

Pairs are found by multi-index hashing, never all pairs: the 64 bits are cut into m >= d+1 blocks,
so two hashes within d bits agree exactly on at least m-d blocks. For every choice of m-d blocks
(one "table"), the values are bit-permuted so that those blocks come first and sorted in place; the
pairs are then inside runs of equal leading bits and are verified with popcount(a ^ b), offset by
offset: streaming passes over the whole array while many positions still have a partner at that
offset, then only the positions left. m comes from a cost model of the input size: d+1 blocks
(13 bits at d=4) are too coarse at millions of rows (10M random hashes give runs of ~1,200 values
per block value), so 10M rows at d=4 use m=6, i.e. 15 tables keyed on ~21 bits. Tables sharing
their first block are re-sorted group by group (thousands of values each, in cache): 5 full sorts
and 10 cheap ones instead of 15 full sorts. Bits that are the same in every value are left out.

A run longer than `max_run` (e.g. many blank-ish images sharing the key bits) is not compared
pairwise when a sub-problem is cheaper: its members go, whole, to a sub-problem in which the run's
bits are fixed and the remaining bits are cut again by the same pigeonhole argument, at most
MAX_DEPTH levels deep (deeper long runs are compared pairwise, so that the branching cannot
explode). A pair is kept only in the first table (and sub-table) whose blocks it agrees on, so
each pair is emitted once, and every pair within d is found: recall is complete by construction
(the tests cross-check it against brute force). The cost grows with the number of true pairs:
inputs where most values are within d of many others (heavily biased bits, which median-thresholded
pHashes do not have) are slow.

Memory beyond the input: one uint64 per value sorted in place table after table (the input itself
with `overwrite=True`), a bit per value, the pairs found, and temporaries bounded by chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from filters.dedup.arrays import U64, Bits, chunks, unique
from filters.dedup.columns import as_phash
from filters.dedup.layouts import (
    IDENTITY,
    NS_PAIR,
    BlockFilter,
    bits_mask,
    canonical,
    choose_blocks,
    layout_moves,
    leading_groups,
    permute,
    permute_inplace,
    split_blocks,
)

DEFAULT_MAX_RUN = 256  # runs longer than this go to a sub-problem instead of pairwise comparison
MAX_DEPTH = 2  # nested sub-problems at most; deeper long runs are compared pairwise
_FOLLOW_CHUNK = 1 << 18  # positions followed together through the last offsets (bounded temporaries)
_DENSE = 8  # offset passes stream over the whole array while more than 1/_DENSE of positions have a partner


@dataclass(frozen=True, slots=True)
class HashPairs:
    """What the pair search found among a set of 64-bit hashes.

    `a`, `b`: uint64 arrays, the pairs of distinct values within the distance, each pair once and in
    no particular order of a and b. `repeated`: the distinct values that occur more than once in the
    input (sorted). `stats`: counters of the search (tables, sorted and compared values, long runs).
    """

    a: np.ndarray
    b: np.ndarray
    repeated: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.a)


def check_distance(max_distance: int) -> int:
    if isinstance(max_distance, bool) or not isinstance(max_distance, int | np.integer) or max_distance < 0:
        raise ValueError(f"max_distance must be an integer >= 0, not {max_distance!r}")
    return int(max_distance)


def find_pairs(hashes: np.ndarray, max_distance: int, *, max_run: int = DEFAULT_MAX_RUN,
               overwrite: bool = False) -> HashPairs:
    """The pairs of distinct values within `max_distance` bits among `hashes` (a 1-d uint64 array).

    Every pair within the distance is returned, except inside runs where all values are provably
    within the distance of each other (only when max_distance is so large that a run leaves
    <= max_distance free bits): those are linked as chains, which preserves the connected
    components. With `overwrite`, the search sorts and permutes `hashes` itself instead of a copy
    (8 bytes per value less; its content is then undefined). `max_run` tunes performance only.
    """
    d = check_distance(max_distance)
    if not isinstance(hashes, np.ndarray) or hashes.dtype != np.uint64 or hashes.ndim != 1:
        raise ValueError("hashes: expected a 1-d uint64 numpy array")
    buf = hashes if overwrite else hashes.copy()
    del hashes
    finder = PairFinder(d, max_run)
    repeated = finder.top(buf)
    del buf
    a, b = finder.edges()
    return HashPairs(a, b, repeated, finder.stats)


def near_duplicate_pairs(values: Any, max_distance: int, *, max_run: int = DEFAULT_MAX_RUN,
                         stats: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b) of distinct hash values within `max_distance` bits, as two uint64 arrays.

    `find_pairs` on any pHash column that `decide_duplicates` accepts (uint64, int64 bit patterns,
    16-character hex strings; lists, numpy or pyarrow). The search's counters go into `stats`.
    """
    d = check_distance(max_distance)
    found = find_pairs(np.array(as_phash(values), dtype=np.uint64, copy=True), d, max_run=max_run, overwrite=True)
    if stats is not None:
        stats.update(found.stats)
    return found.a, found.b


@dataclass(slots=True)
class PairFinder:
    """Finds the pairs of distinct uint64 values within `d` bits (see the module docstring)."""

    d: int
    max_run: int = DEFAULT_MAX_RUN
    edges_a: list[np.ndarray] = field(default_factory=list)
    edges_b: list[np.ndarray] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def _count(self, name: str, n: int) -> None:
        self.stats[name] = self.stats.get(name, 0) + int(n)

    def top(self, buf: np.ndarray) -> np.ndarray:
        """Finds the pairs among `buf` (overwritten); returns the values that occur more than once."""
        if self.d == 0 or len(buf) < 2:
            buf.sort()
            n, repeated = _collapse(buf)
            self._count("distinct_values", n)
            return repeated
        return self.solve(buf, (), [], float(len(buf)), collapse=True)

    def solve(self, buf: np.ndarray, fixed: tuple[int, ...], filters: list[BlockFilter], run: float,
              depth: int = 0, collapse: bool = False) -> np.ndarray:
        """All pairs within d among `buf` (values in source bits) that agree on the bits `fixed`.

        Bits equal in every value of `buf` cannot tell pairs apart: blocks are cut from the others only.
        With `collapse`, `buf` may hold repeats: they are removed after the first sort (saving a sort)
        and returned; otherwise its values must be distinct.
        """
        repeated = np.zeros(0, dtype=np.uint64)
        fixed_set = set(fixed)
        ones, zeros = np.bitwise_or.reduce(buf), np.bitwise_and.reduce(buf)
        varying = int(ones ^ zeros)
        free = [b for b in IDENTITY if b not in fixed_set and varying >> b & 1]
        const = [b for b in IDENTITY if b not in fixed_set and not varying >> b & 1]
        cur = IDENTITY
        if len(free) <= self.d:  # every pair agreeing on `fixed` is within d: link runs as chains
            order = fixed + tuple(free) + tuple(const)
            permute_inplace(buf, layout_moves(cur, order))
            buf.sort()
            if collapse:
                buf, repeated = self._collapse(buf, order)
            self._scan(buf, order, len(fixed), filters, None, depth, chain=True)
            return repeated
        m, _ = choose_blocks(run, len(free), self.d)
        blocks = split_blocks(free, m)
        masks = [bits_mask(b) for b in blocks]
        self._count("tables", math.comb(m, self.d))
        segments: list[tuple[int, int]] | None = None
        lead = -1
        for combo in combinations(range(m), m - self.d):
            key = fixed + tuple(b for c in combo for b in blocks[c])
            order = key + tuple(b for c in range(m) if c not in combo for b in blocks[c]) + tuple(const)
            permute_inplace(buf, layout_moves(cur, order))
            cur = order
            if combo[0] == lead and segments is not None:
                # same leading block as the previous table: the values are still grouped by it, and
                # sorting each group apart (thousands of values, in cache) is several times faster
                for a, b in segments:
                    buf[a:b].sort()
                self._count("segment_sorted_values", len(buf))
            else:
                buf.sort()
                self._count("sorted_values", len(buf))
                if collapse:
                    buf, repeated = self._collapse(buf, order)
                    collapse = False
                lead = combo[0]
                segments = leading_groups(buf, len(fixed) + len(blocks[lead]))
            self._scan(buf, order, len(key), filters, (masks, combo), depth, chain=False)
        return repeated

    def _collapse(self, buf: np.ndarray, order: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        n, repeated = _collapse(buf)
        self._count("distinct_values", n)
        return buf[:n], permute(repeated, layout_moves(order, IDENTITY))

    def _scan(self, x: np.ndarray, order: tuple[int, ...], keybits: int, filters: list[BlockFilter],
              flt: BlockFilter | None, depth: int, *, chain: bool) -> None:
        n = len(x)
        if n < 2:
            return
        filters = [*filters, flt] if flt is not None else filters
        back = layout_moves(order, IDENTITY)
        shift = 64 - keybits
        limit = U64(1 << shift) if shift < 64 else None
        same = Bits(n)  # same[i]: x[i] and x[i+1] share the leading `keybits` bits (x[n-1]: False)
        adjacent: list[np.ndarray] = []  # neighbours within d: offset 1 is verified in this streaming pass
        for a, b in chunks(n - 1):
            xr = x[a:b] ^ x[a + 1:b + 1]
            flags = np.ones(b - a, dtype=bool) if limit is None else xr < limit
            same.put(a, flags)
            if chain:
                pos = np.flatnonzero(flags) + a
                self._emit(x[pos], x[pos + 1], back, [])
                continue
            hit = np.flatnonzero(flags & (np.bitwise_count(xr) <= self.d))
            if hit.size:
                adjacent.append(hit + a)
        if chain:
            self._count("chain_links", same.count())
            return
        long_runs = self._long_runs(x, limit) if n > self.max_run and depth < MAX_DEPTH else []
        if long_runs:
            lengths = np.array([e - s + 1 for s, e in long_runs], dtype=np.float64)
            run = float((lengths**2).sum() / lengths.sum())
            pairwise = NS_PAIR * float((lengths * (lengths - 1)).sum()) / 2
            if choose_blocks(run, 64 - keybits, self.d)[1] * lengths.sum() >= pairwise:
                long_runs = []  # recursion would not pay: compare these runs pairwise
        for a, b in long_runs:
            same.clear(a, b)  # their pairs are left to the sub-problem
        if adjacent:
            pos = np.concatenate(adjacent)
            if long_runs:
                pos = pos[same.at(pos)]
            self._emit(x[pos], x[pos + 1], back, filters)
        self._offsets(x, same, limit, back, filters, bool(long_runs))
        if long_runs:
            self._recurse(x, long_runs, order[:keybits], back, filters, depth + 1)

    def _long_runs(self, x: np.ndarray, limit: np.uint64 | None) -> list[tuple[int, int]]:
        """[first, last] positions of the runs longer than max_run (x[i] and x[i+L] in one run)."""
        span = self.max_run
        spans: list[list[int]] = []
        for a, b in chunks(len(x) - span):
            hit = np.flatnonzero((x[a:b] ^ x[a + span:b + span]) < limit) + a
            if not hit.size:
                continue
            breaks = np.flatnonzero(np.diff(hit) != 1)
            starts = np.concatenate([hit[:1], hit[breaks + 1]])
            ends = np.concatenate([hit[breaks], hit[-1:]])
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
                if spans and spans[-1][1] + 1 == s:
                    spans[-1][1] = e
                else:
                    spans.append([s, e])
        return [(s, e + span) for s, e in spans]

    def _offsets(self, x: np.ndarray, same: Bits, limit: np.uint64, back: list[tuple[int, int, int]],
                 filters: list[BlockFilter], excluded: bool) -> None:
        """Verifies the pairs at offsets >= 2 inside every run (runs are contiguous, long ones excluded).

        While many positions still have a run partner at offset k, offset k is a streaming pass over
        the whole array (x[i] ^ x[i+k] tells both "same run" and the distance); once few are left,
        only those positions are followed, offset by offset, chunk by chunk (bounded memory).
        """
        n = len(x)
        k, count = 1, same.count()
        compared = count
        while count * _DENSE > n and k + 1 < n:
            k += 1
            count = 0
            for a, b in chunks(n - k):
                xr = x[a:b] ^ x[a + k:b + k]
                within = xr < limit
                if excluded:  # members of long runs, left to sub-problems, must not keep this loop going
                    within &= same.get(a, b)
                count += int(np.count_nonzero(within))
                hit = np.flatnonzero(np.bitwise_count(xr) <= self.d)
                if hit.size:  # rare: keep those inside one (short) run
                    hit = hit[(xr[hit] < limit) & same.at(hit + a)] + a
                    self._emit(x[hit], x[hit + k], back, filters)
            compared += count
        if count and k + 1 < n:
            for a, b in chunks(n - k, _FOLLOW_CHUNK):
                compared += self._follow(x, same, limit, back, filters, a, b, k)
        self._count("compared_pairs", compared)

    def _follow(self, x: np.ndarray, same: Bits, limit: np.uint64, back: list[tuple[int, int, int]],
                filters: list[BlockFilter], a: int, b: int, k: int) -> int:
        """Follows the positions of [a, b) with a run partner at offset k through the offsets after k;
        returns how many pairs it compared."""
        pos = np.flatnonzero(((x[a:b] ^ x[a + k:b + k]) < limit) & same.get(a, b)) + a
        compared = 0
        while pos.size:
            pos = pos[same.at(pos + k)]  # x[i + k + 1] is in the run of x[i] iff same[i + k]
            k += 1
            if not pos.size:
                break
            xa, xb = x[pos], x[pos + k]
            compared += pos.size
            ok = np.bitwise_count(xa ^ xb) <= self.d
            if ok.any():
                self._emit(xa[ok], xb[ok], back, filters)
        return compared

    def _recurse(self, x: np.ndarray, runs: list[tuple[int, int]], fixed: tuple[int, ...],
                 back: list[tuple[int, int, int]], filters: list[BlockFilter], depth: int) -> None:
        batch_cap = max(1 << 18, len(x) // 8)
        batch: list[tuple[int, int]] = []
        size = 0
        for i, (s, e) in enumerate(runs):
            batch.append((s, e))
            size += e - s + 1
            if size >= batch_cap or i == len(runs) - 1:
                sub = np.concatenate([x[s0:e0 + 1] for s0, e0 in batch])
                permute_inplace(sub, back)
                lengths = np.array([e0 - s0 + 1 for s0, e0 in batch], dtype=np.float64)
                self._count("long_runs", len(batch))
                self._count("long_run_values", len(sub))
                self.stats["max_run"] = max(self.stats.get("max_run", 0), int(lengths.max()))
                self.solve(sub, fixed, filters, float((lengths**2).sum() / lengths.sum()), depth)
                batch, size = [], 0

    def _emit(self, a: np.ndarray, b: np.ndarray, back: list[tuple[int, int, int]], filters: list[BlockFilter]) -> None:
        a, b = permute(a, back), permute(b, back)
        if filters:
            xr = a ^ b
            ok = np.ones(len(a), dtype=bool)
            for flt in filters:
                ok &= canonical(xr, flt)
            a, b = a[ok], b[ok]
        if a.size:
            self.edges_a.append(a)
            self.edges_b.append(b)

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        empty = np.zeros(0, dtype=np.uint64)
        return (np.concatenate(self.edges_a) if self.edges_a else empty,
                np.concatenate(self.edges_b) if self.edges_b else empty)


def _collapse(buf: np.ndarray) -> tuple[int, np.ndarray]:
    """Removes repeats from sorted `buf` in place; returns the distinct count and the repeated values."""
    n = len(buf)
    write = 0
    last: np.uint64 | None = None
    repeated: list[np.ndarray] = []
    for a, b in chunks(n):
        x = buf[a:b]
        new = np.empty(len(x), dtype=bool)
        new[0] = last is None or x[0] != last
        np.not_equal(x[1:], x[:-1], out=new[1:])
        if not new.all():
            rep = x[~new]
            repeated.append(rep[np.r_[True, rep[1:] != rep[:-1]]])
        last = x[-1].copy()
        keep = x[new]
        buf[write:write + len(keep)] = keep
        write += len(keep)
    dup = unique(np.concatenate(repeated)) if repeated else np.zeros(0, dtype=np.uint64)
    return write, dup
