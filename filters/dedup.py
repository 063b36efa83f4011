"""Global image dedup: exact (sha256 of the bytes), then near (64-bit pHash within a Hamming distance).

Pure numpy, run once on the driver over every downloaded and hashed row. The result depends only on
the set of rows, never on their order or partitioning. Keys must be unique (they are after URL dedup).

Exact: rows with the same sha256 form a group; the smallest key is kept, the others are
`duplicate_image` with the kept key as detail. Found by sorting one uint64 per row (the digest's
first bits packed with the row number) and comparing full digests only where those bits collide.

Near: among the rows left, identical pHashes are collapsed to one value; pairs of distinct values
within `max_distance` (d) bits are linked and the groups are the connected components. Within a
group the largest area, then the smallest key, is kept; the others are `near_duplicate`.

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

Memory beyond the inputs: the result (an int8 reason and an int32 index per row), one uint64 per row
sorted in place table after table, a bool per row, and temporaries bounded by chunking: ~18 bytes
per row measured at 1M and 10M rows (bench/bench_dedup.py). Union-find runs over the values that
have a partner only, with vectorised hooking and pointer jumping.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from manifests.reasons import DUPLICATE_IMAGE, NEAR_DUPLICATE

KEEP_CODE = 0
DUPLICATE_IMAGE_CODE = 1
NEAR_DUPLICATE_CODE = 2
REASONS: tuple[str | None, ...] = (None, DUPLICATE_IMAGE, NEAR_DUPLICATE)

KEY_DIGITS = 20
DEFAULT_MAX_RUN = 256  # runs longer than this go to a sub-problem instead of pairwise comparison
MAX_DEPTH = 2  # nested sub-problems at most; deeper long runs are compared pairwise
_NS_SORT, _NS_PAIR, _NS_TABLE = 3.0, 6.0, 25.0  # cost model, ns per value per sort level / pair / table
_DENSE = 8  # offset passes stream over the whole array while more than 1/_DENSE of positions have a partner
_CHUNK = 1 << 16  # elements per vectorised step: temporaries stay at ~0.5 MiB each
_TEXT_CHUNK = 1 << 14
_U64 = np.uint64
_ALL_ONES = (1 << 64) - 1
_IDENTITY: tuple[int, ...] = tuple(range(63, -1, -1))  # a layout: source bit of each output bit, MSB first
_MAX_U64_TEXT = np.frombuffer(str(_ALL_ONES).encode(), dtype=np.uint8)

_HEX_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_LUT[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX_LUT[_c] = 10 + _i
_DEC_LUT = np.full(256, 255, dtype=np.uint8)
_DEC_LUT[48:58] = np.arange(10, dtype=np.uint8)


def _unique(a: np.ndarray, counts: bool = False) -> Any:
    """Sorted distinct values (and their counts): numpy 2.4's hash-based np.unique is ~10x slower here."""
    a = np.sort(a)
    first = np.ones(len(a), dtype=bool)
    np.not_equal(a[1:], a[:-1], out=first[1:])
    if not counts:
        return a[first]
    starts = np.flatnonzero(first)
    return a[starts], np.diff(np.append(starts, len(a)))


def _chunks(n: int, size: int = _CHUNK) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


# --------------------------------------------------------------------------------------------------
# Input columns: numpy, lists, pyarrow; text (hex, digits) or raw bytes, read in bounded blocks.


def _arrow_matrix(values: Any, name: str) -> tuple[np.ndarray, bool] | None:
    """(rows, width) uint8 view of a pyarrow string/binary column whose values all have one length,
    and whether it is text; None when `values` is not a pyarrow array."""
    module = type(values).__module__ or ""
    if not module.startswith("pyarrow"):
        return None
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        return None
    if values.null_count:
        raise ValueError(f"{name}: {values.null_count} null values")
    t = values.type
    n = len(values)
    if pa.types.is_fixed_size_binary(t):
        w = t.byte_width
        data = np.frombuffer(values.buffers()[1], dtype=np.uint8, count=(values.offset + n) * w)
        return data[values.offset * w:].reshape(n, w), False
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        off_type = np.int64 if (pa.types.is_large_string(t) or pa.types.is_large_binary(t)) else np.int32
        offsets = np.frombuffer(values.buffers()[1], dtype=off_type, count=values.offset + n + 1)[values.offset:]
        if n == 0:
            return np.zeros((0, 0), dtype=np.uint8), pa.types.is_string(t) or pa.types.is_large_string(t)
        lengths = np.diff(offsets)
        w = int(lengths[0])
        if (lengths != w).any():
            raise ValueError(f"{name}: values of different lengths")
        data = np.frombuffer(values.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))[int(offsets[0]):]
        return data.reshape(n, w), pa.types.is_string(t) or pa.types.is_large_string(t)
    raise ValueError(f"{name}: unsupported arrow type {t}")


class _BytesColumn:
    """A column of fixed-width byte strings (ASCII text or raw bytes) read as (rows, width) uint8 blocks.

    numpy `S`/`U`/uint8-matrix arrays are viewed without copying; lists, object arrays and pyarrow
    columns are converted block by block, so no full-size copy is ever made.
    """

    def __init__(self, values: Any, width: int, text: bool, name: str) -> None:
        self.width, self.text, self.name = width, text, name
        self._matrix: np.ndarray | None = None
        self._seq: Any = None
        arrow = _arrow_matrix(values, name)
        if arrow is not None:
            self._matrix = arrow[0]
        elif isinstance(values, np.ndarray) and values.dtype.kind in "SV":
            self._matrix = values.reshape(-1).view(np.uint8).reshape(len(values), values.dtype.itemsize)
        elif isinstance(values, np.ndarray) and values.dtype.kind == "U":
            self._matrix = values.reshape(-1).view(np.uint32).reshape(len(values), values.dtype.itemsize // 4)
        elif isinstance(values, np.ndarray) and values.dtype == np.uint8 and values.ndim == 2:
            self._matrix = values
        elif (isinstance(values, np.ndarray) and values.dtype.kind == "O") or isinstance(values, Sequence):
            self._seq = values
        else:
            raise ValueError(f"{name}: unsupported input {type(values).__name__}")
        self.length = len(self._matrix) if self._matrix is not None else len(self._seq)

    def block(self, start: int, stop: int) -> np.ndarray:
        if self._matrix is not None:
            return self._fit(self._matrix[start:stop])
        return self._convert(self._seq[start:stop])

    def take(self, rows: np.ndarray) -> np.ndarray:
        if self._matrix is not None:
            return self._fit(self._matrix[rows])
        if isinstance(self._seq, np.ndarray):
            return self._convert(self._seq[rows])
        return self._convert([self._seq[int(i)] for i in rows])

    def _fit(self, m: np.ndarray) -> np.ndarray:
        if m.dtype == np.uint32:  # numpy unicode: non-ASCII code points become 0, an invalid character
            m8 = m.astype(np.uint8)
            m8[m > 127] = 0
            m = m8
        w = m.shape[1]
        if w > self.width:
            if m[:, self.width:].any():
                raise ValueError(f"{self.name}: values longer than {self.width}")
            return m[:, : self.width]
        if w < self.width:  # `S` arrays drop trailing NULs: padding restores raw bytes; text then fails
            out = np.zeros((len(m), self.width), dtype=np.uint8)
            out[:, :w] = m
            return out
        return m

    def _convert(self, items: Any) -> np.ndarray:
        n = len(items)
        if n == 0:
            return np.zeros((0, self.width), dtype=np.uint8)
        if self.text:
            try:
                arr = np.array(items, dtype=f"S{self.width + 1}")
            except (UnicodeEncodeError, TypeError, ValueError) as exc:
                raise ValueError(f"{self.name}: not ASCII text ({exc})") from None
            return self._fit(arr.view(np.uint8).reshape(n, self.width + 1))
        try:
            if any(len(v) != self.width for v in items):
                raise ValueError(f"{self.name}: values must be {self.width} bytes")
            data = b"".join(items)
        except TypeError:
            raise ValueError(f"{self.name}: expected bytes values") from None
        return np.frombuffer(data, dtype=np.uint8).reshape(n, self.width)


def _first(values: Any) -> Any:
    if isinstance(values, np.ndarray):
        return values.reshape(-1)[0] if values.size else None
    return values[0] if len(values) else None


def _hex_to_bytes(m: np.ndarray, name: str) -> np.ndarray:
    nib = _HEX_LUT[m]
    if (nib == 255).any():
        raise ValueError(f"{name}: not a hex string of {m.shape[1]} characters")
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


def _be_u64(b: np.ndarray) -> np.ndarray:
    """Big-endian uint64 of the first 8 bytes of each row of a (rows, >=8) uint8 matrix."""
    return np.ascontiguousarray(b[:, :8]).view(">u8").reshape(-1).astype(np.uint64)


def _integers(values: Any, name: str, *, reinterpret_signed: bool) -> np.ndarray | None:
    arr = values if isinstance(values, np.ndarray) else None
    if arr is None and (type(values).__module__ or "").startswith("pyarrow"):
        import pyarrow as pa

        t = values.type
        if pa.types.is_integer(t):
            if values.null_count:
                raise ValueError(f"{name}: {values.null_count} null values")
            arr = values.to_numpy() if isinstance(values, pa.Array) else values.combine_chunks().to_numpy()
    if arr is None and isinstance(values, Sequence) and len(values) and isinstance(values[0], int | np.integer):
        try:  # not np.asarray: a list mixing ints above and below 2**63 would become float64
            return np.array(values, dtype=np.uint64)
        except OverflowError:
            raise ValueError(f"{name}: integers outside 0..2**64-1") from None
    if arr is None or arr.dtype.kind not in "ui":
        return None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array")
    if arr.dtype.kind == "i":
        if reinterpret_signed and arr.dtype == np.int64:
            return arr.view(np.uint64)
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name}: negative values")
    return arr.astype(np.uint64, copy=False)


def phash_from_hex(values: Any) -> np.ndarray:
    """uint64 perceptual hashes from 16-character hex strings (list, numpy or pyarrow), vectorised."""
    col = _BytesColumn(values, 16, True, "phash")
    out = np.empty(col.length, dtype=np.uint64)
    for a, b in _chunks(col.length, _TEXT_CHUNK):
        out[a:b] = _be_u64(_hex_to_bytes(col.block(a, b), "phash"))
    return out


def phash_to_hex(values: np.ndarray) -> list[str]:
    """The 16-character lowercase hex form of uint64 hashes (as imagehash writes them)."""
    return [format(int(v), "016x") for v in np.asarray(values, dtype=np.uint64)]


def parse_keys(keys: Any) -> np.ndarray:
    """uint64 values of 20-digit decimal keys (strings, bytes, numpy, pyarrow), or integer keys as they are."""
    ints = _integers(keys, "keys", reinterpret_signed=False)
    if ints is not None:
        return ints
    col = _BytesColumn(keys, KEY_DIGITS, True, "keys")
    out = np.empty(col.length, dtype=np.uint64)
    pw = 10 ** np.arange(9, -1, -1, dtype=np.uint64)
    for a, b in _chunks(col.length, _TEXT_CHUNK):
        m = col.block(a, b)
        dig = _DEC_LUT[m]
        if (dig == 255).any():
            raise ValueError(f"keys: not {KEY_DIGITS} decimal digits")
        # 20 digits overflow uint64 above 18446744073709551615: compare as text (same length, so same order)
        diff = m != _MAX_U64_TEXT
        first = diff.argmax(axis=1)
        rows = np.arange(len(m))
        too_big = diff.any(axis=1) & (m[rows, first] > _MAX_U64_TEXT[first])
        if too_big.any():
            raise ValueError("keys: value above 2**64 - 1")
        hi = (dig[:, :10].astype(np.uint64) * pw).sum(axis=1, dtype=np.uint64)
        lo = (dig[:, 10:].astype(np.uint64) * pw).sum(axis=1, dtype=np.uint64)
        out[a:b] = hi * _U64(10**10) + lo
    return out


def format_keys(values: np.ndarray) -> np.ndarray:
    """20-digit zero-padded decimal strings (numpy `U20`) of uint64 keys, vectorised."""
    v = np.array(values, dtype=np.uint64, copy=True).reshape(-1)
    digits = np.empty((len(v), KEY_DIGITS), dtype=np.uint8)
    for i in range(KEY_DIGITS - 1, -1, -1):
        digits[:, i] = (v % _U64(10)).astype(np.uint8) + 48
        v //= _U64(10)
    return digits.view(f"S{KEY_DIGITS}").reshape(-1).astype(f"U{KEY_DIGITS}")


def _as_phash(phash: Any) -> np.ndarray:
    ints = _integers(phash, "phash", reinterpret_signed=True)
    return ints if ints is not None else phash_from_hex(phash)


class _Sha256:
    """sha256 digests given as 64-char hex text or 32 raw bytes; the uint64 prefix in blocks, full digests on demand."""

    def __init__(self, values: Any) -> None:
        first = _first(values) if not (type(values).__module__ or "").startswith("pyarrow") else None
        arrow = _arrow_matrix(values, "sha256")
        if arrow is not None:
            text = arrow[0].shape[1] == 64
        elif isinstance(values, np.ndarray) and values.dtype == np.uint8 and values.ndim == 2:
            text = values.shape[1] == 64
        elif isinstance(values, np.ndarray) and values.dtype.kind in "SV":
            text = values.dtype.itemsize > 32
        elif isinstance(values, np.ndarray) and values.dtype.kind == "U":
            text = True
        else:
            text = not isinstance(first, bytes | bytearray | memoryview) or len(first) != 32
        self.text = text
        self.col = _BytesColumn(values, 64 if text else 32, text, "sha256")

    def _digest(self, m: np.ndarray) -> np.ndarray:
        return _hex_to_bytes(m, "sha256") if self.text else m

    def prefix(self, start: int, stop: int) -> np.ndarray:
        return _be_u64(self._digest(self.col.block(start, stop)))

    def full(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 4) uint64: the digests as big-endian words (sorting them sorts the digests)."""
        d = np.ascontiguousarray(self._digest(self.col.take(rows)))
        return d.view(">u8").astype(np.uint64).reshape(len(rows), 4)


# --------------------------------------------------------------------------------------------------
# Bit layouts: a layout is a permutation of the 64 bit positions (source bit of each output bit, MSB
# first). Sorting values under a layout groups them by the leading bits; XOR and popcount commute
# with any such permutation, so distances are computed on permuted values directly.


def _segments(src: tuple[int, ...], dst: tuple[int, ...]) -> list[tuple[int, int, int]]:
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


def _permute(x: np.ndarray, segs: list[tuple[int, int, int]]) -> np.ndarray:
    if len(segs) == 1:
        return x.copy()
    out = np.zeros_like(x)
    for src, dst, length in segs:
        t = x >> _U64(src - dst) if src >= dst else x << _U64(dst - src)
        t &= _U64(((1 << length) - 1) << dst)
        out |= t
    return out


def _permute_inplace(buf: np.ndarray, segs: list[tuple[int, int, int]]) -> None:
    if len(segs) == 1:
        return
    for a, b in _chunks(len(buf)):
        buf[a:b] = _permute(buf[a:b], segs)


def _mask(bits: Sequence[int]) -> np.uint64:
    return _U64(sum(1 << b for b in bits))


def _choose_blocks(run: float, free: int, d: int) -> tuple[int, float]:
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
        cost = tables * (_NS_SORT * math.log2(max(run, 2.0)) + _NS_PAIR * run / 2.0**keybits + _NS_TABLE)
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m, best_cost


def _split(bits: list[int], m: int) -> list[list[int]]:
    base, extra = divmod(len(bits), m)
    out, i = [], 0
    for b in range(m):
        size = base + (1 if b < extra else 0)
        out.append(bits[i:i + size])
        i += size
    return out


_Filter = tuple[list[np.uint64], tuple[int, ...]]


def _groups(x: np.ndarray, bits: int, min_mean: int = 64) -> list[tuple[int, int]] | None:
    """[start, stop) of the groups of sorted `x` sharing the leading `bits` bits (those of >= 2 values),
    or None when the groups average fewer than `min_mean` values (one sort is then cheaper)."""
    n = len(x)
    if n < 2 or bits >= 64:
        return None
    limit = _U64(1 << (64 - bits))
    starts = [np.zeros(1, dtype=np.int64)]
    count = 1
    for a, b in _chunks(n - 1):
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


def _canonical(xr: np.ndarray, flt: _Filter) -> np.ndarray:
    """True where `combo` is the first m-d blocks on which the pair agrees (xr = a ^ b, source bits)."""
    masks, combo = flt
    ok = np.ones(len(xr), dtype=bool)
    chosen = set(combo)
    for blk in range(combo[-1]):
        if blk not in chosen:
            ok &= (xr & masks[blk]) != 0
    return ok


@dataclass(slots=True)
class _PairFinder:
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

    def solve(self, buf: np.ndarray, fixed: tuple[int, ...], filters: list[_Filter], run: float,
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
        free = [b for b in _IDENTITY if b not in fixed_set and varying >> b & 1]
        const = [b for b in _IDENTITY if b not in fixed_set and not varying >> b & 1]
        cur = _IDENTITY
        if len(free) <= self.d:  # every pair agreeing on `fixed` is within d: link runs as chains
            order = fixed + tuple(free) + tuple(const)
            _permute_inplace(buf, _segments(cur, order))
            buf.sort()
            if collapse:
                buf, repeated = self._collapse(buf, order)
            self._scan(buf, order, len(fixed), filters, None, depth, chain=True)
            return repeated
        m, _ = _choose_blocks(run, len(free), self.d)
        blocks = _split(free, m)
        masks = [_mask(b) for b in blocks]
        self._count("tables", math.comb(m, self.d))
        segments: list[tuple[int, int]] | None = None
        lead = -1
        for combo in combinations(range(m), m - self.d):
            key = fixed + tuple(b for c in combo for b in blocks[c])
            order = key + tuple(b for c in range(m) if c not in combo for b in blocks[c]) + tuple(const)
            _permute_inplace(buf, _segments(cur, order))
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
                segments = _groups(buf, len(fixed) + len(blocks[lead]))
            self._scan(buf, order, len(key), filters, (masks, combo), depth, chain=False)
        return repeated

    def _collapse(self, buf: np.ndarray, order: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        n, repeated = _collapse(buf)
        self._count("distinct_values", n)
        return buf[:n], _permute(repeated, _segments(order, _IDENTITY))

    def _scan(self, x: np.ndarray, order: tuple[int, ...], keybits: int, filters: list[_Filter],
              flt: _Filter | None, depth: int, *, chain: bool) -> None:
        n = len(x)
        if n < 2:
            return
        filters = [*filters, flt] if flt is not None else filters
        back = _segments(order, _IDENTITY)
        shift = 64 - keybits
        limit = _U64(1 << shift) if shift < 64 else None
        same = np.empty(n, dtype=bool)  # same[i]: x[i] and x[i+1] share the leading `keybits` bits
        same[n - 1] = False
        adjacent: list[np.ndarray] = []  # neighbours within d: offset 1 is verified in this streaming pass
        for a, b in _chunks(n - 1):
            xr = x[a:b] ^ x[a + 1:b + 1]
            if limit is None:
                same[a:b] = True
            else:
                np.less(xr, limit, out=same[a:b])
            if not chain:
                hit = np.flatnonzero(same[a:b] & (np.bitwise_count(xr) <= self.d))
                if hit.size:
                    adjacent.append(hit + a)
        if chain:
            for a, b in _chunks(n - 1):
                pos = np.flatnonzero(same[a:b]) + a
                self._emit(x[pos], x[pos + 1], back, [])
            self._count("chain_links", np.count_nonzero(same))
            return
        long_runs = self._long_runs(x, limit) if n > self.max_run and depth < MAX_DEPTH else []
        if long_runs:
            lengths = np.array([e - s + 1 for s, e in long_runs], dtype=np.float64)
            run = float((lengths**2).sum() / lengths.sum())
            pairwise = _NS_PAIR * float((lengths * (lengths - 1)).sum()) / 2
            if _choose_blocks(run, 64 - keybits, self.d)[1] * lengths.sum() >= pairwise:
                long_runs = []  # recursion would not pay: compare these runs pairwise
        for a, b in long_runs:
            same[a:b] = False  # their pairs are left to the sub-problem
        if adjacent:
            pos = np.concatenate(adjacent)
            if long_runs:
                pos = pos[same[pos]]
            self._emit(x[pos], x[pos + 1], back, filters)
        self._offsets(x, same, limit, back, filters, bool(long_runs))
        if long_runs:
            self._recurse(x, long_runs, order[:keybits], back, filters, depth + 1)

    def _long_runs(self, x: np.ndarray, limit: np.uint64 | None) -> list[tuple[int, int]]:
        """[first, last] positions of the runs longer than max_run (x[i] and x[i+L] in one run)."""
        span = self.max_run
        spans: list[list[int]] = []
        for a, b in _chunks(len(x) - span):
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

    def _offsets(self, x: np.ndarray, same: np.ndarray, limit: np.uint64, back: list[tuple[int, int, int]],
                 filters: list[_Filter], excluded: bool) -> None:
        """Verifies the pairs at offsets >= 2 inside every run (runs are contiguous, long ones excluded).

        While many positions still have a run partner at offset k, offset k is a streaming pass over
        the whole array (x[i] ^ x[i+k] tells both "same run" and the distance); once few are left,
        only those positions are followed, offset by offset.
        """
        n = len(x)
        k, count = 1, int(np.count_nonzero(same))
        compared = count
        while count * _DENSE > n and k + 1 < n:
            k += 1
            count = 0
            for a, b in _chunks(n - k):
                xr = x[a:b] ^ x[a + k:b + k]
                within = xr < limit
                if excluded:  # members of long runs, left to sub-problems, must not keep this loop going
                    within &= same[a:b]
                count += int(np.count_nonzero(within))
                hit = np.flatnonzero(np.bitwise_count(xr) <= self.d)
                if hit.size:  # rare: keep those inside one (short) run
                    hit = hit[(xr[hit] < limit) & same[hit + a]] + a
                    self._emit(x[hit], x[hit + k], back, filters)
            compared += count
        if count and k + 1 < n:
            pos = np.concatenate([np.flatnonzero(((x[a:b] ^ x[a + k:b + k]) < limit) & same[a:b]) + a
                                  for a, b in _chunks(n - k)])
            while pos.size:
                pos = pos[same[pos + k]]  # x[i + k + 1] is in the run of x[i] iff same[i + k]
                k += 1
                if not pos.size:
                    break
                xa, xb = x[pos], x[pos + k]
                compared += pos.size
                ok = np.bitwise_count(xa ^ xb) <= self.d
                if ok.any():
                    self._emit(xa[ok], xb[ok], back, filters)
        self._count("compared_pairs", compared)

    def _recurse(self, x: np.ndarray, runs: list[tuple[int, int]], fixed: tuple[int, ...],
                 back: list[tuple[int, int, int]], filters: list[_Filter], depth: int) -> None:
        batch_cap = max(1 << 18, len(x) // 8)
        batch: list[tuple[int, int]] = []
        size = 0
        for i, (s, e) in enumerate(runs):
            batch.append((s, e))
            size += e - s + 1
            if size >= batch_cap or i == len(runs) - 1:
                sub = np.concatenate([x[s0:e0 + 1] for s0, e0 in batch])
                _permute_inplace(sub, back)
                lengths = np.array([e0 - s0 + 1 for s0, e0 in batch], dtype=np.float64)
                self._count("long_runs", len(batch))
                self._count("long_run_values", len(sub))
                self.stats["max_run"] = max(self.stats.get("max_run", 0), int(lengths.max()))
                self.solve(sub, fixed, filters, float((lengths**2).sum() / lengths.sum()), depth)
                batch, size = [], 0

    def _emit(self, a: np.ndarray, b: np.ndarray, back: list[tuple[int, int, int]], filters: list[_Filter]) -> None:
        a, b = _permute(a, back), _permute(b, back)
        if filters:
            xr = a ^ b
            ok = np.ones(len(a), dtype=bool)
            for flt in filters:
                ok &= _canonical(xr, flt)
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
    for a, b in _chunks(n):
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
    dup = _unique(np.concatenate(repeated)) if repeated else np.zeros(0, dtype=np.uint64)
    return write, dup


def near_duplicate_pairs(values: Any, max_distance: int, *, max_run: int = DEFAULT_MAX_RUN,
                         stats: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b) of distinct hash values within `max_distance` bits, as two uint64 arrays.

    Each pair appears at most once, in no particular order of a and b. Every pair within the distance
    is returned, except inside runs where all values are provably within the distance of each other
    (only when max_distance is so large that a run leaves <= max_distance free bits): those are linked
    as chains, which preserves the connected components.
    """
    d = _check_distance(max_distance)
    buf = np.array(_as_phash(values), dtype=np.uint64, copy=True)
    finder = _PairFinder(d, max_run)
    finder.top(buf)
    if stats is not None:
        stats.update(finder.stats)
    return finder.edges()


# --------------------------------------------------------------------------------------------------
# Union-find over numpy arrays and the keep rule.


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected components of nodes 0..n-1: label = smallest node of the component.

    Hooking (each root with an edge to a smaller root points to the smallest such root) alternates
    with pointer jumping until every edge joins two nodes of the same root; labels only decrease
    along parent pointers, so there are no cycles.
    """
    parent = np.arange(n, dtype=np.int64)
    while u.size:
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            break
        pu, pv = pu[differ], pv[differ]
        lo, hi = np.minimum(pu, pv), np.maximum(pu, pv)
        np.minimum.at(parent, hi, lo)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        u, v = lo, hi
    return parent


def _keep_best(rows: np.ndarray, group: np.ndarray, keys: np.ndarray, area: np.ndarray | None,
               reason: np.ndarray, kept: np.ndarray, code: int) -> int:
    """Within each group keep the largest area, then the smallest key; mark the others. Returns how many."""
    if not rows.size:
        return 0
    ng = int(group.max()) + 1
    k = keys[rows]
    cand = np.ones(len(rows), dtype=bool)
    if area is not None:
        ar = area[rows]
        best_area = np.full(ng, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(best_area, group, ar)
        cand = ar == best_area[group]
    best_key = np.full(ng, _ALL_ONES, dtype=np.uint64)
    np.minimum.at(best_key, group[cand], k[cand])
    win = cand & (k == best_key[group])
    if (np.bincount(group[win], minlength=ng) != (np.bincount(group, minlength=ng) > 0)).any():
        raise ValueError("duplicate keys: the keep rule needs unique keys")
    winner = np.empty(ng, dtype=np.int64)
    winner[group[win]] = rows[win]
    lose = ~win
    reason[rows[lose]] = code
    kept[rows[lose]] = winner[group[lose]]
    return int(np.count_nonzero(lose))


# --------------------------------------------------------------------------------------------------
# The two stages and the public entry point.


def _check_distance(max_distance: int) -> int:
    if isinstance(max_distance, bool) or not isinstance(max_distance, int | np.integer) or max_distance < 0:
        raise ValueError(f"max_distance must be an integer >= 0, not {max_distance!r}")
    return int(max_distance)


def _exact_stage(keys: np.ndarray, sha: _Sha256, reason: np.ndarray, kept: np.ndarray, stats: dict[str, int]) -> None:
    n = len(keys)
    bits = max(1, (n - 1).bit_length())
    low = _U64((1 << bits) - 1)
    packed = np.empty(n, dtype=np.uint64)  # digest prefix in the high bits, row number in the low bits
    for a, b in _chunks(n, _TEXT_CHUNK):
        packed[a:b] = (sha.prefix(a, b) & ~low) | np.arange(a, b, dtype=np.uint64)
    packed.sort()
    found: list[np.ndarray] = []
    for a, b in _chunks(n - 1):
        pos = np.flatnonzero((packed[a:b] ^ packed[a + 1:b + 1]) <= low) + a
        found += [packed[pos] & low, packed[pos + 1] & low]
    del packed
    rows = _unique(np.concatenate(found)).astype(np.int64) if found else np.zeros(0, dtype=np.int64)
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
    stats["duplicate_image"] = _keep_best(rows, group, keys, None, reason, kept, DUPLICATE_IMAGE_CODE)


def _near_stage(keys: np.ndarray, phash: np.ndarray, area: np.ndarray, d: int, max_run: int,
                reason: np.ndarray, kept: np.ndarray, stats: dict[str, int]) -> None:
    n = len(keys)
    alive = int(np.count_nonzero(reason == KEEP_CODE))
    buf = np.empty(alive, dtype=np.uint64)
    w = 0
    for a, b in _chunks(n):
        v = phash[a:b][reason[a:b] == KEEP_CODE]
        buf[w:w + len(v)] = v
        w += len(v)
    finder = _PairFinder(d, max_run)
    repeated = finder.top(buf)
    del buf
    stats.update(finder.stats)
    ea, eb = finder.edges()
    finder.edges_a.clear()
    finder.edges_b.clear()
    stats["near_pairs"] = len(ea)
    nodes = _unique(np.concatenate([ea, eb, repeated]))
    if not nodes.size:
        stats["near_duplicate"] = 0
        return
    label = _components(len(nodes), np.searchsorted(nodes, ea), np.searchsorted(nodes, eb))
    del ea, eb
    # rows whose hash is a node: a bitmap of the leading bits skips most rows before the binary search
    bits = max(8, min(len(nodes).bit_length() + 4, n.bit_length()))  # at most ~2 bytes per row
    bitmap = np.zeros(1 << bits, dtype=bool)
    bitmap[nodes >> _U64(64 - bits)] = True
    rows_l, group_l = [], []
    for a, b in _chunks(n):
        p = phash[a:b]
        sel = np.flatnonzero((reason[a:b] == KEEP_CODE) & bitmap[p >> _U64(64 - bits)])
        if not sel.size:
            continue
        q = p[sel]
        j = np.minimum(np.searchsorted(nodes, q), len(nodes) - 1)
        hit = nodes[j] == q
        rows_l.append(sel[hit] + a)
        group_l.append(label[j[hit]])
    rows = np.concatenate(rows_l)
    group = np.concatenate(group_l)
    stats["near_group_rows"] = len(rows)
    stats["near_duplicate"] = _keep_best(rows, group, keys, area, reason, kept, NEAR_DUPLICATE_CODE)


@dataclass(frozen=True, slots=True)
class DedupResult:
    """Per input row: `reason_code` (0 keep, 1 duplicate_image, 2 near_duplicate) and `kept_index`,
    the row kept in its place (itself when kept). For a duplicate_image row that is the smallest key
    of its sha256 group, which may itself be a near_duplicate of another row."""

    keys: np.ndarray
    reason_code: np.ndarray
    kept_index: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.reason_code)

    @property
    def keep_mask(self) -> np.ndarray:
        return self.reason_code == KEEP_CODE

    def reasons(self) -> np.ndarray:
        """Object array: None (keep), `duplicate_image` or `near_duplicate`."""
        return np.array(REASONS, dtype=object)[self.reason_code]

    def details(self) -> np.ndarray:
        """Object array: None (keep) or the 20-digit key of the kept member."""
        out = np.full(len(self), None, dtype=object)
        rej = np.flatnonzero(self.reason_code != KEEP_CODE)
        out[rej] = format_keys(self.keys[self.kept_index[rej]]).astype(object)
        return out

    def counts(self) -> dict[str, int]:
        return {DUPLICATE_IMAGE: int(np.count_nonzero(self.reason_code == DUPLICATE_IMAGE_CODE)),
                NEAR_DUPLICATE: int(np.count_nonzero(self.reason_code == NEAR_DUPLICATE_CODE))}

    def survivor_index(self) -> np.ndarray:
        """The kept row that finally stands for each row (exact duplicates followed through near groups)."""
        return self.kept_index[self.kept_index]

    def near_group_index(self) -> np.ndarray:
        """Per row: the kept row of its near group (itself for a kept row with no near duplicate);
        exact duplicates belong to the near group of their kept copy."""
        return self.survivor_index()

    def _group_sizes(self, code: int) -> np.ndarray:
        heads, counts = _unique(self.kept_index[self.reason_code == code], counts=True)
        order = np.argsort(self.keys[heads], kind="stable")
        return (counts[order] + 1).astype(np.int64)

    def near_group_sizes(self) -> np.ndarray:
        """Size of each near-duplicate group (kept row included, exact duplicates not), by kept key."""
        return self._group_sizes(NEAR_DUPLICATE_CODE)

    def exact_group_sizes(self) -> np.ndarray:
        """Size of each group of identical images (kept row included), by kept key."""
        return self._group_sizes(DUPLICATE_IMAGE_CODE)

    def to_arrow(self) -> Any:
        """A pyarrow table with the `reason` and `detail` string columns (null where kept)."""
        import pyarrow as pa

        return pa.table({"reason": pa.array(self.reasons(), pa.string()),
                         "detail": pa.array(self.details(), pa.string())})


def decide_duplicates(keys: Any, sha256: Any, phash: Any, area: Any, max_distance: int, near: bool = True,
                      *, max_run: int = DEFAULT_MAX_RUN) -> DedupResult:
    """Exact then near duplicate decisions for every row (see the module docstring).

    keys: 20-digit decimal strings or their uint64 values (unique); sha256: 64-char hex strings or
    32-byte digests; phash: uint64 (or int64 bit patterns, or 16-char hex strings); area: pixels.
    Lists, numpy arrays and pyarrow arrays are accepted. `max_run` tunes performance only.
    """
    d = _check_distance(max_distance)
    if max_run < 2:
        raise ValueError("max_run must be >= 2")
    k = parse_keys(keys)
    n = len(k)
    ph = _as_phash(phash) if near else np.zeros(n, dtype=np.uint64)
    ar = np.asarray(area)
    if ar.dtype.kind not in "ui" and not (ar.size == 0 and ar.ndim == 1):
        raise ValueError("area: expected integers")
    ar = ar.astype(np.int64, copy=False)
    sha = _Sha256(sha256)
    lengths = {"keys": n, "sha256": sha.col.length, "phash": len(ph), "area": len(ar)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"columns of different lengths: {lengths}")
    index_type = np.int32 if n < 2**31 else np.int64
    reason = np.zeros(n, dtype=np.int8)
    kept = np.arange(n, dtype=index_type)
    stats: dict[str, int] = {"rows": n}
    if n > 1:
        _exact_stage(k, sha, reason, kept, stats)
        if near:
            _near_stage(k, ph, ar, d, max_run, reason, kept, stats)
    elif n == 1:
        sha.prefix(0, 1)  # validates the one digest
    return DedupResult(keys=k, reason_code=reason, kept_index=kept, stats=stats)
