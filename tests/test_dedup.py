"""Global image dedup (filters/dedup/): rules, determinism, and recall against brute force."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from itertools import combinations

import numpy as np
import pyarrow as pa
import pytest

from filters.dedup import (
    DUPLICATE_IMAGE_CODE,
    KEEP_CODE,
    NEAR_DUPLICATE_CODE,
    decide_duplicates,
    find_pairs,
    format_keys,
    near_duplicate_pairs,
    parse_keys,
    phash_from_hex,
    phash_to_hex,
)
from manifests.reasons import DUPLICATE_IMAGE, NEAR_DUPLICATE

# -------------------------------------------------------------------------------------------- helpers


def sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def key(i: int) -> str:
    return str(i).zfill(20)


def flip(h: int, *bits: int) -> int:
    for b in bits:
        h ^= 1 << b
    return h


def run(rows: list[tuple[int, int, int, int]], d: int = 4, **kw: object) -> dict[int, tuple[str | None, str | None]]:
    """rows: (key, sha id, phash, area) -> {key: (reason, detail)}."""
    res = decide_duplicates([key(r[0]) for r in rows], [sha(r[1]) for r in rows],
                            np.array([r[2] for r in rows], dtype=np.uint64),
                            np.array([r[3] for r in rows], dtype=np.int64), d, **kw)
    return {r[0]: (reason, detail) for r, reason, detail in zip(rows, res.reasons(), res.details(), strict=True)}


def popcount_matrix(h: np.ndarray) -> np.ndarray:
    return np.bitwise_count(h[:, None] ^ h[None, :])


def brute_pairs(values: np.ndarray, d: int) -> set[tuple[int, int]]:
    v = np.unique(values)
    i, j = np.nonzero(np.triu(popcount_matrix(v) <= d, 1))
    return {(int(v[a]), int(v[b])) for a, b in zip(i, j, strict=True)}


def reference(keys: np.ndarray, shas: list[str], phash: np.ndarray, area: np.ndarray, d: int
              ) -> tuple[list[str | None], list[int | None]]:
    """O(n^2) restatement of the rules: reason and kept key per row."""
    n = len(keys)
    reason: list[str | None] = [None] * n
    kept: list[int | None] = [None] * n
    by_sha: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        by_sha[shas[i]].append(i)
    alive = []
    for rows in by_sha.values():
        win = min(rows, key=lambda i: int(keys[i]))
        alive.append(win)
        for i in rows:
            if i != win:
                reason[i], kept[i] = DUPLICATE_IMAGE, int(keys[win])
    alive.sort()
    parent = list(range(len(alive)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    near = popcount_matrix(phash[alive]) <= d
    for a, b in zip(*np.nonzero(np.triu(near, 1)), strict=True):
        parent[find(int(a))] = find(int(b))
    groups: dict[int, list[int]] = defaultdict(list)
    for p, i in enumerate(alive):
        groups[find(p)].append(i)
    for members in groups.values():
        win = max(members, key=lambda i: (int(area[i]), -int(keys[i])))
        for i in members:
            if i != win:
                reason[i], kept[i] = NEAR_DUPLICATE, int(keys[win])
    return reason, kept


def planted(n: int, d: int, seed: int, free_bits: int = 64) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Random hashes (only `free_bits` of them vary) with planted copies at 0..d+1 flips and exact copies."""
    rng = np.random.default_rng(seed)
    varying = rng.choice(64, free_bits, replace=False)
    base = rng.integers(0, 2**64 - 1, dtype=np.uint64, endpoint=True)
    h = np.full(n, base, dtype=np.uint64)
    for b in varying:
        h ^= rng.integers(0, 2, n).astype(np.uint64) << np.uint64(b)
    shas = [sha(int(s)) for s in rng.permutation(n) + 10**6]
    for dst in rng.choice(n, n // 5, replace=False):  # near copies of random rows, some chained
        src = int(rng.integers(0, n))
        v = int(h[src])
        for b in rng.choice(64, int(rng.integers(0, min(d + 2, 65))), replace=False):
            v ^= 1 << int(b)
        h[dst] = v
    for dst in rng.choice(n, n // 20, replace=False):  # exact copies (same bytes, same hash)
        src = int(rng.integers(0, n))
        h[dst], shas[dst] = h[src], shas[src]
    keys = rng.choice(10**12, n, replace=False).astype(np.uint64)
    area = rng.integers(1, 6, n) * 10_000  # few distinct areas: ties are frequent
    return keys, shas, h, area


def check_against_reference(keys: np.ndarray, shas: list[str], h: np.ndarray, area: np.ndarray, d: int,
                            **kw: object) -> dict[str, int]:
    res = decide_duplicates(keys, shas, h, area, d, **kw)
    want_reason, want_kept = reference(keys, shas, h, area, d)
    got_reason = res.reasons().tolist()
    got_kept = [None if r is None else int(res.keys[res.kept_index[i]]) for i, r in enumerate(got_reason)]
    assert got_reason == want_reason
    assert got_kept == want_kept
    return res.stats


# ---------------------------------------------------------------------------------------------- rules


def test_exact_groups_keep_smallest_key() -> None:
    out = run([(30, 1, 0xAAAA, 100), (10, 1, 0xAAAA, 100), (20, 1, 0xAAAA, 100), (40, 2, 0xFFFF0000, 5)])
    assert out[10] == (None, None)
    assert out[20] == (DUPLICATE_IMAGE, key(10))
    assert out[30] == (DUPLICATE_IMAGE, key(10))
    assert out[40] == (None, None)


def test_exact_needs_identical_sha_not_identical_hash() -> None:
    # same pHash, different bytes: not an exact duplicate but a near one (distance 0)
    out = run([(1, 1, 0x1234, 50), (2, 2, 0x1234, 60)], d=0)
    assert out[1] == (NEAR_DUPLICATE, key(2))
    assert out[2] == (None, None)


def test_near_group_keeps_largest_area() -> None:
    h = 0x0123456789ABCDEF
    out = run([(1, 1, h, 100), (2, 2, flip(h, 3, 40), 900), (3, 3, flip(h, 63), 400), (4, 4, ~h & (2**64 - 1), 5)])
    assert out[2] == (None, None)
    assert out[1] == (NEAR_DUPLICATE, key(2))
    assert out[3] == (NEAR_DUPLICATE, key(2))
    assert out[4] == (None, None)


def test_area_tie_keeps_smallest_key() -> None:
    h = 0xF0F0F0F0F0F0F0F0
    out = run([(9, 1, h, 500), (7, 2, flip(h, 1), 500), (8, 3, flip(h, 2), 499)])
    assert out[7] == (None, None)
    assert out[9] == (NEAR_DUPLICATE, key(7))
    assert out[8] == (NEAR_DUPLICATE, key(7))


def test_transitive_chain_is_one_group() -> None:
    # a-b and b-c are within 4 bits, a-c is 8 bits apart: one group through b
    a = 0
    b = flip(a, 0, 1, 2, 3)
    c = flip(b, 10, 11, 12, 13)
    far = flip(c, 20, 21, 22, 23, 24)
    out = run([(1, 1, a, 10), (2, 2, b, 10), (3, 3, c, 99), (4, 4, far, 10)])
    assert out[3] == (None, None)
    assert out[1] == (NEAR_DUPLICATE, key(3))
    assert out[2] == (NEAR_DUPLICATE, key(3))
    assert out[4] == (None, None)


@pytest.mark.parametrize("d", [0, 1, 4, 8, 13])
def test_distance_boundary(d: int) -> None:
    h = 0x5DEECE66D5DEECE6
    at = flip(h, *range(0, 64, 64 // (d + 1))[:d]) if d else h
    beyond = flip(h, *range(1, 64, 64 // (d + 2))[: d + 1])
    assert bin(at ^ h).count("1") == d and bin(beyond ^ h).count("1") == d + 1
    out = run([(1, 1, h, 10), (2, 2, at, 5), (3, 3, beyond, 5)], d=d)
    assert out[2] == (NEAR_DUPLICATE, key(1))
    assert out[3] == (None, None)


def test_exact_compares_whole_digests() -> None:
    # digests equal in their first 8 (or 31) bytes are not the same image
    same_start = [bytes(8) + bytes([i]) * 24 for i in range(1, 4)] + [bytes(31) + b"\x01", bytes(32), bytes(32)]
    res = decide_duplicates([key(i) for i in range(1, 7)], same_start, np.array([0, 2**40, 2**50, 3, 2**60, 5],
                            dtype=np.uint64) * np.uint64(0xFFF), np.ones(6, dtype=np.int64), 0)
    assert res.reasons().tolist() == [None, None, None, None, None, DUPLICATE_IMAGE]
    assert res.details().tolist()[5] == key(5)


def test_near_false_does_exact_only() -> None:
    out = run([(1, 1, 0, 10), (2, 1, 0, 10), (3, 2, 0, 99)], near=False)
    assert out == {1: (None, None), 2: (DUPLICATE_IMAGE, key(1)), 3: (None, None)}


def test_exact_duplicate_of_a_near_duplicate() -> None:
    # 2 is an exact copy of 1; 1 is a near copy of 3 (larger): 2's detail is its exact twin, 1
    res = decide_duplicates([key(1), key(2), key(3)], [sha(1), sha(1), sha(3)],
                            np.array([0, 0, 1], dtype=np.uint64), np.array([10, 10, 20]), 4)
    assert res.details().tolist() == [key(3), key(1), None]
    assert res.reasons().tolist() == [NEAR_DUPLICATE, DUPLICATE_IMAGE, None]
    assert res.survivor_index().tolist() == [2, 2, 2]
    assert res.counts() == {DUPLICATE_IMAGE: 1, NEAR_DUPLICATE: 1}
    assert res.near_group_sizes().tolist() == [2]
    assert res.exact_group_sizes().tolist() == [2]


# ------------------------------------------------------------------------------------------ edge cases


def test_empty_input() -> None:
    res = decide_duplicates([], [], np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), 4)
    assert len(res) == 0
    assert res.reasons().tolist() == [] and res.details().tolist() == []
    assert res.near_group_sizes().tolist() == []
    assert res.to_arrow().num_rows == 0


def test_single_row() -> None:
    res = decide_duplicates([key(5)], [sha(5)], np.array([7], dtype=np.uint64), np.array([1]), 4)
    assert res.reasons().tolist() == [None]
    assert res.kept_index.tolist() == [0]


def test_single_row_still_validates() -> None:
    with pytest.raises(ValueError, match="sha256"):
        decide_duplicates([key(5)], ["not hex" * 8], np.array([7], dtype=np.uint64), np.array([1]), 4)


def test_all_identical_hashes() -> None:
    n = 5000
    area = np.arange(n) % 97
    keys = np.arange(n, dtype=np.uint64) + 1000
    res = decide_duplicates(keys, [sha(i) for i in range(n)], np.full(n, 0xDEADBEEF, dtype=np.uint64), area, 4)
    best = int(np.flatnonzero(area == area.max())[0])  # largest area, smallest key among those
    assert np.flatnonzero(res.keep_mask).tolist() == [best]
    assert (res.kept_index == best).all()
    assert res.near_group_sizes().tolist() == [n]


def test_many_repeats_are_not_pairs() -> None:
    # repeats of one value span many internal chunks: they are collapsed, never reported as pairs
    h = np.full(300_000, 0x1234, dtype=np.uint64)
    h[::3] = 0x1235
    h[::7] = 0x1234 ^ 0xFF0000
    a, b = near_duplicate_pairs(h, 4)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) in ([(0x1234, 0x1235)], [(0x1235, 0x1234)])


def test_all_identical_bytes() -> None:
    n = 3000
    keys = np.random.default_rng(0).permutation(n).astype(np.uint64) + 1
    res = decide_duplicates(keys, [sha(0)] * n, np.zeros(n, dtype=np.uint64), np.ones(n, dtype=np.int64), 4)
    assert res.counts() == {DUPLICATE_IMAGE: n - 1, NEAR_DUPLICATE: 0}
    assert int(res.keys[np.flatnonzero(res.keep_mask)[0]]) == 1
    assert res.exact_group_sizes().tolist() == [n]


def test_duplicate_keys_in_one_group_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate keys"):
        decide_duplicates([key(1), key(1)], [sha(1), sha(1)], np.zeros(2, dtype=np.uint64),
                          np.ones(2, dtype=np.int64), 4)


@pytest.mark.parametrize(("keys", "shas", "phash", "area", "match"), [
    ([key(1), "123"], [sha(1), sha(2)], [0, 0], [1, 1], "keys"),
    ([key(1), "1" * 19 + "x"], [sha(1), sha(2)], [0, 0], [1, 1], "keys"),
    ([key(1), "99999999999999999999"], [sha(1), sha(2)], [0, 0], [1, 1], "2\\*\\*64"),
    ([key(1), key(2)], [sha(1), sha(2)[:-1]], [0, 0], [1, 1], "sha256"),
    ([key(1), key(2)], [sha(1), sha(2) + "0"], [0, 0], [1, 1], "sha256"),
    ([key(1), key(2)], [sha(1), sha(2)], ["00000000000000zz", "0" * 16], [1, 1], "phash"),
    ([key(1), key(2)], [sha(1)], [0, 0], [1, 1], "different lengths"),
])
def test_bad_input_is_a_value_error(keys: list[str], shas: list[str], phash: list[object], area: list[int],
                                    match: str) -> None:
    ph = phash if isinstance(phash[0], str) else np.array(phash, dtype=np.uint64)
    with pytest.raises(ValueError, match=match):
        decide_duplicates(keys, shas, ph, np.array(area), 4)


def test_bad_distance_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="max_distance"):
        decide_duplicates([key(1)], [sha(1)], np.zeros(1, dtype=np.uint64), np.ones(1, dtype=np.int64), -1)


# ------------------------------------------------------------------------------------ input encodings


def test_phash_from_hex_is_vectorised_int16() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**64 - 1, 1000, dtype=np.uint64, endpoint=True)
    hexes = phash_to_hex(values)
    assert [int(h, 16) for h in hexes] == values.tolist()
    for form in (hexes, np.array(hexes), np.array(hexes, dtype=object), np.array([h.encode() for h in hexes]),
                 pa.array(hexes), pa.chunked_array([hexes[:10], hexes[10:]]), [h.upper() for h in hexes]):
        assert phash_from_hex(form).tolist() == values.tolist()


def test_keys_parse_and_format_round_trip() -> None:
    values = np.array([0, 1, 10**19, 2**64 - 1, 12345678901234567890], dtype=np.uint64)
    text = format_keys(values)
    assert text.tolist() == [str(int(v)).zfill(20) for v in values]
    for form in (text.tolist(), text, pa.array(text.tolist()), values, values.astype(object).tolist()):
        assert parse_keys(form).tolist() == values.tolist()


def test_every_encoding_gives_the_same_result() -> None:
    keys, shas, h, area = planted(400, 4, seed=11)
    base = decide_duplicates(keys, shas, h, area, 4)
    key_text = format_keys(keys).tolist()
    raw = [bytes.fromhex(s) for s in shas]
    variants = [
        (key_text, shas, phash_to_hex(h)),
        (pa.array(key_text), pa.array(shas), pa.array(phash_to_hex(h))),
        (keys, raw, h),
        (keys, np.array(raw, dtype="S32"), h.view(np.int64)),
        (keys, np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(-1, 32), h),
        (keys, pa.array(raw, pa.binary(32)), h),
        (keys, np.array(shas), h),
    ]
    for k, s, p in variants:
        res = decide_duplicates(k, s, p, area, 4)
        assert res.reason_code.tolist() == base.reason_code.tolist()
        assert res.kept_index.tolist() == base.kept_index.tolist()


# -------------------------------------------------------------------------------------- determinism


def test_result_ignores_row_order_and_partitioning() -> None:
    keys, shas, h, area = planted(3000, 4, seed=5, free_bits=30)
    n = len(keys)

    def by_key(order: np.ndarray) -> dict[int, tuple[str | None, str | None]]:
        res = decide_duplicates(keys[order], [shas[i] for i in order], h[order], area[order], 4)
        return {int(k): (r, d) for k, r, d in zip(keys[order], res.reasons(), res.details(), strict=True)}

    base = by_key(np.arange(n))
    assert sum(r is not None for r, _ in base.values()) > n // 5  # the data has plenty of duplicates
    rng = np.random.default_rng(0)
    for _ in range(3):
        assert by_key(rng.permutation(n)) == base
    # parts written by different workers, concatenated in another order
    parts = np.array_split(rng.permutation(n), 7)
    assert by_key(np.concatenate(parts[::-1])) == base
    assert by_key(np.concatenate(sorted(parts, key=len))) == base


# ------------------------------------------------------------------------ recall against brute force


@pytest.mark.parametrize(("d", "free_bits", "seed"), [(4, 64, 1), (4, 24, 2), (2, 20, 3), (6, 32, 4), (1, 16, 5)])
def test_matches_brute_force_reference(d: int, free_bits: int, seed: int) -> None:
    keys, shas, h, area = planted(3000, d, seed, free_bits)
    stats = check_against_reference(keys, shas, h, area, d)
    assert stats["near_duplicate"] > 100


@pytest.mark.parametrize(("d", "free_bits", "seed"), [(4, 64, 1), (4, 22, 2), (3, 18, 3), (7, 30, 4), (5, 40, 6)])
def test_pairs_are_exactly_the_brute_force_pairs(d: int, free_bits: int, seed: int) -> None:
    _, _, h, _ = planted(3000, d, seed, free_bits)
    stats: dict[str, int] = {}
    a, b = near_duplicate_pairs(h, d, stats=stats)
    assert int(np.bitwise_count(a ^ b).max(initial=0)) <= d
    got = [(min(int(x), int(y)), max(int(x), int(y))) for x, y in zip(a, b, strict=True)]
    assert len(got) == len(set(got))  # each pair once
    want = brute_pairs(h, d)
    assert len(want) > 300
    assert set(got) == want  # recall 100%, no false pair


def test_find_pairs_takes_uint64_hashes_and_returns_pairs_and_repeats() -> None:
    _, _, h, _ = planted(3000, 4, 7, 30)
    h = np.concatenate([h, h[:50]])  # 50 values (at least) occur twice
    before = h.copy()
    found = find_pairs(h, 4)
    assert np.array_equal(h, before)  # searched on a copy
    got = {(min(int(x), int(y)), max(int(x), int(y))) for x, y in zip(found.a, found.b, strict=True)}
    assert len(got) == len(found) > 200
    assert got == brute_pairs(h, 4)
    values, counts = np.unique(h, return_counts=True)
    assert found.repeated.tolist() == values[counts > 1].tolist()
    assert found.stats["distinct_values"] == len(values)
    again = find_pairs(h, 4, overwrite=True)  # the same answer, searched in place
    assert {(min(int(x), int(y)), max(int(x), int(y))) for x, y in zip(again.a, again.b, strict=True)} == got


@pytest.mark.parametrize("hashes", [np.arange(5, dtype=np.int64), np.zeros((2, 2), dtype=np.uint64), [1, 2]])
def test_find_pairs_refuses_anything_but_a_uint64_vector(hashes: object) -> None:
    with pytest.raises(ValueError, match="1-d uint64"):
        find_pairs(hashes, 2)  # type: ignore[arg-type]


def test_long_runs_go_to_sub_problems_without_losing_pairs() -> None:
    # the top 24 bits take 4 values only: tables keyed there have runs of ~700 values, which go to
    # (nested) sub-problems instead of being compared pairwise
    rng = np.random.default_rng(9)
    n = 3000
    h = rng.choice(rng.integers(0, 2**24, 4), n).astype(np.uint64) << np.uint64(40)
    h |= rng.integers(0, 2**40, n).astype(np.uint64)
    for src, dst in zip(rng.integers(0, n, 600), rng.integers(0, n, 600), strict=True):
        h[dst] = flip(int(h[src]), *rng.choice(64, int(rng.integers(0, 4)), replace=False).tolist())
    want = brute_pairs(h, 3)
    assert len(want) > 300
    for max_run in (4, 256):
        stats: dict[str, int] = {}
        a, b = near_duplicate_pairs(h, 3, max_run=max_run, stats=stats)
        assert stats.get("long_runs", 0) > 0
        got = {(min(int(x), int(y)), max(int(x), int(y))) for x, y in zip(a, b, strict=True)}
        assert len(got) == len(a)
        assert got == want


def neighbour_pairs(values: np.ndarray, d: int) -> np.ndarray:
    """Brute force by enumeration for large inputs: every XOR mask of <= d varying bits, looked up."""
    v = np.unique(values)
    varying = [b for b in range(64) if (int(np.bitwise_or.reduce(v)) ^ int(np.bitwise_and.reduce(v))) >> b & 1]
    found = []
    for r in range(1, d + 1):
        for bits in combinations(varying, r):
            other = v ^ np.uint64(sum(1 << b for b in bits))
            at = np.minimum(np.searchsorted(v, other), len(v) - 1)
            hit = (v[at] == other) & (other > v)
            found.append(np.stack([v[hit], other[hit]], axis=1))
    pairs = np.concatenate(found)
    return pairs[np.lexsort(pairs.T[::-1])]


def test_large_dense_input_matches_enumeration() -> None:
    # 120k hashes in a 2^20 space: ~20 neighbours each, groups of thousands of values sorted apart
    rng = np.random.default_rng(17)
    h = rng.integers(0, 2**20, 120_000).astype(np.uint64) * np.uint64(0x9E3779B1) & np.uint64(0xFFFFF) << np.uint64(7)
    h |= np.uint64(0xAB00000000000000)
    stats: dict[str, int] = {}
    a, b = near_duplicate_pairs(h, 2, stats=stats)
    assert stats.get("segment_sorted_values", 0) > 0
    got = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    got = got[np.lexsort(got.T[::-1])]
    want = neighbour_pairs(h, 2)
    assert len(want) > 500_000
    assert np.array_equal(got, want)


def test_decisions_with_sub_problems_match_reference() -> None:
    keys, shas, h, area = planted(2500, 4, seed=8, free_bits=20)
    check_against_reference(keys, shas, h, area, 4, max_run=4)


def test_huge_distance_links_everything() -> None:
    # d >= the varying bits: every pair is within d, runs are linked as chains
    keys, shas, h, area = planted(500, 6, seed=12, free_bits=6)
    check_against_reference(keys, shas, h, area, 6)
    keys, shas, h, area = planted(300, 64, seed=13)
    check_against_reference(keys, shas, h, area, 64)


def test_recall_of_planted_pairs_at_scale() -> None:
    """200k random hashes, 5% copies at 0..d flips: every copy lands in its source's group."""
    rng = np.random.default_rng(21)
    n, d = 200_000, 4
    h = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    perm = rng.permutation(n)
    src, dst = perm[: n // 20], perm[n // 20: n // 10]
    copies = h[src].copy()
    for i in range(len(copies)):
        for b in rng.choice(64, int(rng.integers(0, d + 1)), replace=False):
            copies[i] ^= np.uint64(1) << np.uint64(b)
    h[dst] = copies
    res = decide_duplicates(rng.permutation(n).astype(np.uint64), np.frombuffer(rng.bytes(32 * n), dtype="S32"),
                            h, rng.integers(1, 10**6, n), d)
    group = res.survivor_index()
    assert (group[src] == group[dst]).all()
    assert res.counts()[NEAR_DUPLICATE] >= len(src)
    assert set(np.unique(res.reason_code).tolist()) <= {KEEP_CODE, NEAR_DUPLICATE_CODE, DUPLICATE_IMAGE_CODE}
