"""Row links from value pairs: which rows the near pairs join, with cropped-view matches confirmed.

`find_pairs` joins hash values; a value may be held by several rows and by several views of one
row. A row pair is linked when one of its value pairs joins view 0 of both rows (the 100% views of
the trimmed images: the pHash rule), or, when it meets through any other view, when the two rows'
tone words agree (filters/image_tone.py). Without tone words every pair is linked.

A value held by several rows is represented by its member with the smallest (key, view): its other
members are paired with it, and a value pair joins the representative of each side with every
member of the other. Without confirmation that links exactly the rows the values connect; with it,
a member that only the representative fails to confirm stays apart (rare: a value held by two
distinct rows at once). Choices depend on keys, never on row order, so the result does not depend
on partitioning.
"""

from __future__ import annotations

import numpy as np

from filters.image_tone import tones_agree


def _expand(start: np.ndarray, count: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the first member of node ia[e], every member of node ib[e]) for each e, as member positions."""
    c = count[ib]
    e = np.repeat(np.arange(len(ia)), c)
    offset = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
    return start[ia][e], start[ib][e] + offset


def row_links(n_nodes: int, ia: np.ndarray, ib: np.ndarray, rows: np.ndarray, index: np.ndarray,
              view: np.ndarray, keys: np.ndarray, tone: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The linked row pairs (u, v), u != v: `ia`, `ib` are the near value pairs as node indexes (a
    pair of equal values needs none: the members of one node are paired); `rows`, `index`, `view`
    say which row holds which node in which view (components.rows_of_values)."""
    order = np.lexsort((view, keys[rows], index))
    rows, index, view = rows[order], index[order], view[order]
    del order
    count = np.bincount(index, minlength=n_nodes)
    start = np.cumsum(count) - count
    held = (count[ia] > 0) & (count[ib] > 0)
    ia, ib = ia[held], ib[held]
    same = np.flatnonzero(np.arange(len(index)) != start[index])  # a node's other members, with its first
    p1, q1 = _expand(start, count, ia, ib)
    p2, q2 = _expand(start, count, ib, ia)
    p = np.concatenate([start[index[same]], p1, p2])
    q = np.concatenate([same, q1, q2])
    del p1, q1, p2, q2, same
    u, v = rows[p], rows[q]
    ok = u != v
    if tone is not None:
        ok &= ((view[p] == 0) & (view[q] == 0)) | tones_agree(tone[u], tone[v])
    return u[ok], v[ok]
