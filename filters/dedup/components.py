"""Near-duplicate groups: connected components of the near pairs, and the keep rule within a group.

Near: among the rows left after exact dedup, identical hashes are collapsed to one value; pairs of
distinct values within `max_distance` (d) bits are found (`near_pairs.find_pairs`), the rows that
hold them are found through a bitmap of leading bits and a binary search, chunk by chunk, and the
row pairs they join are linked (confirm.py: a match through cropped views needs the tone words to
agree). The groups are the connected components of the linked rows. Within a group the largest
area, then the smallest key, is kept; the others are `near_duplicate`. The same keep rule (without
the area) serves the exact stage.

Union-find runs over the rows that have a link only, with vectorised hooking and pointer jumping.
"""

from __future__ import annotations

import numpy as np

from filters.dedup.arrays import ALL_ONES, U64, chunks, unique
from filters.dedup.confirm import row_links
from filters.dedup.contamination import ReferenceIndex, ReferenceMatches, split_reference_pairs
from filters.dedup.near_pairs import find_pairs
from filters.dedup.result import KEEP_CODE, NEAR_DUPLICATE_CODE


def connected_components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
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


def keep_best(rows: np.ndarray, group: np.ndarray, keys: np.ndarray, area: np.ndarray | None,
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
    best_key = np.full(ng, ALL_ONES, dtype=np.uint64)
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



def _alive_hashes(hashes: np.ndarray, reason: np.ndarray) -> np.ndarray:
    """A new 1-d array of the hashes (every view) of the rows still kept, gathered chunk by chunk."""
    views = 1 if hashes.ndim == 1 else hashes.shape[1]
    alive = int(np.count_nonzero(reason == KEEP_CODE))
    buf = np.empty(alive * views, dtype=np.uint64)
    w = 0
    for a, b in chunks(len(hashes)):
        v = hashes[a:b][reason[a:b] == KEEP_CODE].reshape(-1)
        buf[w:w + len(v)] = v
        w += len(v)
    return buf


def rows_of_values(hashes: np.ndarray, reason: np.ndarray, codes: tuple[int, ...], nodes: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, index into `nodes`, view) for every hash (every view: a row may come several times) of
    the rows whose reason code is in `codes` that is one of `nodes` (sorted, distinct): a bitmap of
    the leading bits skips most rows before the binary search, chunk by chunk."""
    n = len(hashes)
    empty = np.zeros(0, dtype=np.int64)
    if not nodes.size:
        return empty, empty, np.zeros(0, dtype=np.int8)
    bits = max(8, min(len(nodes).bit_length() + 4, n.bit_length()))  # at most ~2 bytes per row
    bitmap = np.zeros(1 << bits, dtype=bool)
    bitmap[nodes >> U64(64 - bits)] = True
    rows_l, index_l, view_l = [empty], [empty], [np.zeros(0, dtype=np.int8)]
    columns = [hashes] if hashes.ndim == 1 else [hashes[:, k] for k in range(hashes.shape[1])]
    for a, b in chunks(n):
        alive = np.isin(reason[a:b], codes)
        for k, col in enumerate(columns):
            p = col[a:b]
            sel = np.flatnonzero(alive & bitmap[p >> U64(64 - bits)])
            if not sel.size:
                continue
            q = p[sel]
            j = np.minimum(np.searchsorted(nodes, q), len(nodes) - 1)
            hit = nodes[j] == q
            rows_l.append(sel[hit] + a)
            index_l.append(j[hit])
            view_l.append(np.full(int(np.count_nonzero(hit)), k, dtype=np.int8))
    return np.concatenate(rows_l), np.concatenate(index_l), np.concatenate(view_l)


def near_stage(keys: np.ndarray, hashes: np.ndarray, area: np.ndarray, d: int, max_run: int,
               reason: np.ndarray, kept: np.ndarray, stats: dict[str, int], *, link: bool = True,
               refs: ReferenceIndex | None = None, tone: np.ndarray | None = None) -> ReferenceMatches | None:
    """Marks the near duplicates among the rows still kept (see the module docstring) when `link`;
    with `refs`, their values join the one search and each matched candidate value's best reference
    match is returned (contamination.py). `hashes`: one per row, or (rows, views): two rows are
    linked when any view of one is within d of any view of the other; with `tone` (a tone word per
    row), a pair that meets through a view other than both 100% views only when their tone words
    agree (confirm.py)."""
    pool = _alive_hashes(hashes, reason)
    if refs is not None:
        pool = np.concatenate([pool, refs.values])
    found = find_pairs(pool, d, max_run=max_run, overwrite=True)
    del pool
    stats.update(found.stats)
    ea, eb, repeated = found.a, found.b, found.repeated
    del found
    matches = None
    if refs is not None:
        ea, eb, matches = split_reference_pairs(ea, eb, repeated, refs)
        stats["reference_matches"] = len(matches.values)
    if not link:
        return matches
    stats["near_pairs"] = len(ea)
    nodes = unique(np.concatenate([ea, eb, repeated]))
    if not nodes.size:
        stats["near_duplicate"] = 0
        return matches
    rows, index, view = rows_of_values(hashes, reason, (KEEP_CODE,), nodes)
    u, v = row_links(len(nodes), np.searchsorted(nodes, ea), np.searchsorted(nodes, eb), rows, index, view,
                     keys, tone)
    del ea, eb, rows, index, view
    stats["near_links"] = len(u)
    members = unique(np.concatenate([u, v]))
    label = connected_components(len(members), np.searchsorted(members, u), np.searchsorted(members, v))
    del u, v
    stats["near_group_rows"] = len(members)
    stats["near_duplicate"] = keep_best(members, label, keys, area, reason, kept, NEAR_DUPLICATE_CODE)
    return matches
