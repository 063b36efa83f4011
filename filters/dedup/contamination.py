"""Decontamination: candidates within d bits of a reference image (an evaluation set's) are rejected.

The reference hashes join the candidates' hashes in the one multi-index search of the near stage
(`near_pairs.find_pairs` over both), so no second search runs: a found pair with a reference value
on one side and a candidate value on the other is a match, and a value present on both sides (a
repeat of the pooled search) is a match at distance 0. Each candidate value keeps its best match:
the smallest distance, then the smallest reference index (references are numbered in the order of
`dedup.exclude` and their paths), so the result never depends on row order or partitioning.

After exact and near dedup, the kept member of each group is rejected as `contaminated` when any
member of its group (itself, its near duplicates, their exact copies) matched: no copy of an
evaluation image survives through a group's stand-in. The detail names the group's best match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ReferenceIndex:
    """The distinct reference hash values (sorted) and, per value, the smallest reference index."""

    values: np.ndarray
    first: np.ndarray

    @classmethod
    def build(cls, hashes: np.ndarray, ids: np.ndarray | None = None) -> ReferenceIndex:
        """From reference hash values and the reference each belongs to (default: its position;
        a reference with several views gives several values with one id)."""
        h = np.asarray(hashes, dtype=np.uint64).reshape(-1)
        ref = np.arange(len(h), dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ref) != len(h):
            raise ValueError("reference ids: one per reference hash")
        order = np.lexsort((ref, h))
        s = h[order]
        new = np.ones(len(s), dtype=bool)
        new[1:] = s[1:] != s[:-1]
        return cls(s[new], ref[order][new])

    def __len__(self) -> int:
        return len(self.values)

    def position(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, index into `values`) per value of x."""
        if not len(self.values):
            return np.zeros(len(x), dtype=bool), np.zeros(len(x), dtype=np.int64)
        j = np.minimum(np.searchsorted(self.values, x), len(self.values) - 1)
        return self.values[j] == x, j


@dataclass(frozen=True, slots=True)
class ReferenceMatches:
    """Per matched candidate value (sorted, distinct): its best reference and the distance."""

    values: np.ndarray
    ref: np.ndarray
    distance: np.ndarray


def _contains(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    if not len(sorted_values):
        return np.zeros(len(x), dtype=bool)
    j = np.minimum(np.searchsorted(sorted_values, x), len(sorted_values) - 1)
    return sorted_values[j] == x


def split_reference_pairs(a: np.ndarray, b: np.ndarray, repeated: np.ndarray, refs: ReferenceIndex
                          ) -> tuple[np.ndarray, np.ndarray, ReferenceMatches]:
    """The pooled search's pairs split into candidate-candidate pairs and each candidate value's best
    reference match. A value is a candidate value when it is not a reference value, or when it is
    one that the pooled search saw more than once (references are distinct, so once more is a row)."""
    in_a, ja = refs.position(a)
    in_b, jb = refs.position(b)
    both = repeated[refs.position(repeated)[0]]  # reference values that rows have too: distance 0
    cand_a = ~in_a | _contains(both, a)
    cand_b = ~in_b | _contains(both, b)
    pair = cand_a & cand_b
    fwd, back = cand_a & in_b, cand_b & in_a
    dist = np.bitwise_count(a ^ b).astype(np.int64)
    values = np.concatenate([a[fwd], b[back], both])
    ref = np.concatenate([refs.first[jb[fwd]], refs.first[ja[back]], refs.first[refs.position(both)[1]]])
    distance = np.concatenate([dist[fwd], dist[back], np.zeros(len(both), dtype=np.int64)])
    order = np.lexsort((ref, distance, values))
    values, ref, distance = values[order], ref[order], distance[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return a[pair], b[pair], ReferenceMatches(values[first], ref[first], distance[first])


def contaminate(rows: np.ndarray, value_index: np.ndarray, matches: ReferenceMatches, kept: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The kept rows to reject (distinct, sorted) and their reference: for every matched row, its
    group's kept row (`kept[row]`), with the group's best (distance, reference) match."""
    if not rows.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    heads = kept[rows].astype(np.int64)
    order = np.lexsort((matches.ref[value_index], matches.distance[value_index], heads))
    heads, best = heads[order], matches.ref[value_index][order]
    first = np.ones(len(heads), dtype=bool)
    first[1:] = heads[1:] != heads[:-1]
    return heads[first], best[first]

