"""Row links from value pairs: which rows the near pairs join, with cropped-view matches confirmed.

`find_pairs` joins hash values; a value may be held by several rows and by several views of one
row. A row pair is linked when one of its value pairs joins view 0 of both rows (the 100% views of
the trimmed images: the pHash rule), or, when it meets through any other view, when the two rows'
tone words agree (filters/image_tone.py). Without tone words every pair is linked.

The links stay linear in the memberships and the value pairs, whatever the input (a placeholder
image held by a million rows, near a few other placeholders, must not give a million links per
pair): the holders of a value are split into two classes, through their 100% view or through
another view, and each class is represented by its member with the smallest (key, view). Each
member is paired with its class's representative, the two representatives of a value with each
other, and a value pair joins the representatives of the classes on either side (at most four
pairs). Without tone words that links exactly the rows the values connect; with them, a member
whose tone word disagrees with its class representative's stays apart from the other side even
when it would agree with a member there (rare: several distinct rows holding one value at a
cropped view). Choices depend on keys, never on row order, so the result does not depend on
partitioning.
"""

from __future__ import annotations

import numpy as np

from filters.image_tone import tones_agree


def row_links(n_nodes: int, ia: np.ndarray, ib: np.ndarray, rows: np.ndarray, index: np.ndarray,
              view: np.ndarray, keys: np.ndarray, tone: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The linked row pairs (u, v), u != v: `ia`, `ib` are the near value pairs as node indexes (a
    pair of equal values needs none: the holders of one node are paired); `rows`, `index`, `view`
    say which row holds which node in which view (components.rows_of_values)."""
    cls = (view != 0).astype(np.int64)
    order = np.lexsort((view, keys[rows], cls, index))
    rows, view = rows[order], view[order]
    group = index[order] * 2 + cls[order]  # (node, class), sorted
    del order, cls
    count = np.bincount(group, minlength=2 * n_nodes)
    start = np.cumsum(count) - count
    others = np.flatnonzero(np.arange(len(group)) != start[group])  # each member with its class's first
    p_l, q_l = [start[group[others]]], [others]
    del others
    both = np.flatnonzero((count[0::2] > 0) & (count[1::2] > 0))  # a value held through both classes
    p_l.append(start[2 * both])
    q_l.append(start[2 * both + 1])
    for ca in (0, 1):
        for cb in (0, 1):
            ga, gb = 2 * ia + ca, 2 * ib + cb
            held = (count[ga] > 0) & (count[gb] > 0)
            p_l.append(start[ga[held]])
            q_l.append(start[gb[held]])
    p, q = np.concatenate(p_l), np.concatenate(q_l)
    del p_l, q_l
    u, v = rows[p], rows[q]
    ok = u != v
    if tone is not None:
        ok &= ((view[p] == 0) & (view[q] == 0)) | tones_agree(tone[u], tone[v])
    return u[ok], v[ok]
