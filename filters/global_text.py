"""Decisions that need the whole input, computed on the driver from compact per-row hashes:
caption frequency (-> frequent_caption) and exact URL dedup (-> duplicate_url).

Both are pure functions of the set of rows, so the result does not depend on partitioning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from manifests import reasons


def caption_hash64(caption: str) -> int:
    return int.from_bytes(hashlib.blake2b(caption.encode("utf-8"), digest_size=8).digest(), "big")


@dataclass(slots=True)
class GlobalTextDecisions:
    """Row positions (into the arrays given) newly rejected, with reason and detail."""

    rows: np.ndarray
    reasons: list[str]
    details: list[str]


def decide_global_text(
    cap_h: np.ndarray,
    url_h: np.ndarray,
    alive: np.ndarray,
    max_caption_repeats: int,
    tie_breaker: Callable[[np.ndarray], Sequence[tuple[str, str]]],
) -> GlobalTextDecisions:
    """`cap_h`/`url_h`: uint64 per row; `alive`: rows no per-row text filter rejected.

    1. A caption shared by more than `max_caption_repeats` pairs (rows counted whatever their verdict,
       but the same (caption, URL) pair only once: a crawl resumed after a kill delivers some pairs
       twice, and that must not push a caption over the limit) -> frequent_caption.
    2. Among rows still alive, rows sharing one URL: the one whose `tie_breaker` value
       (page_url, caption) is smallest is kept, the others -> duplicate_url.
    `tie_breaker(positions)` returns the (page_url, caption) of those rows; it is called only for
    rows in duplicate groups, which keeps the driver's memory at 17 bytes per row.
    """
    rows: list[np.ndarray] = []
    why: list[str] = []
    detail: list[str] = []

    per_row = _pairs_per_caption(cap_h, url_h)
    frequent = alive & (per_row > max_caption_repeats)
    freq_rows = np.flatnonzero(frequent)
    rows.append(freq_rows)
    why += [reasons.FREQUENT_CAPTION] * len(freq_rows)
    detail += [f"{int(c)} pairs" for c in per_row[freq_rows]]

    still = np.flatnonzero(alive & ~frequent)
    order = np.argsort(url_h[still], kind="stable")
    sorted_h = url_h[still][order]
    dup_mask = np.zeros(len(sorted_h), dtype=bool)
    if len(sorted_h) > 1:
        same_next = sorted_h[1:] == sorted_h[:-1]
        dup_mask[1:] |= same_next
        dup_mask[:-1] |= same_next
    dup_pos = still[order][dup_mask]
    if len(dup_pos):
        ties = tie_breaker(dup_pos)
        groups: dict[int, list[tuple[tuple[str, str], int]]] = {}
        for pos, tie in zip(dup_pos.tolist(), ties, strict=True):
            groups.setdefault(int(url_h[pos]), []).append((tie, pos))
        dup_rows: list[int] = []
        for members in groups.values():
            members.sort()
            kept_tie = members[0][0]
            for _tie, pos in members[1:]:
                dup_rows.append(pos)
                detail.append(f"same URL as {kept_tie[0]}"[:300])
                why.append(reasons.DUPLICATE_URL)
        rows.append(np.array(dup_rows, dtype=np.int64))
    all_rows = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    return GlobalTextDecisions(all_rows.astype(np.int64), why, detail)


_PAIR_MIX = np.uint64(0x9E3779B97F4A7C15)


def _pairs_per_caption(cap_h: np.ndarray, url_h: np.ndarray) -> np.ndarray:
    """Per row, the number of distinct (caption, URL) pairs with its caption. Rows without a valid URL
    (`url_h` 0) count one each."""
    cap_h = cap_h.astype(np.uint64, copy=False)
    has_url = url_h != 0
    with np.errstate(over="ignore"):
        pair_h = cap_h[has_url] ^ (url_h[has_url].astype(np.uint64, copy=False) * _PAIR_MIX)
    _, first = np.unique(pair_h, return_index=True)
    counted = np.concatenate([cap_h[has_url][first], cap_h[~has_url]])
    caps, counts = np.unique(counted, return_counts=True)
    return counts[np.searchsorted(caps, cap_h)]
