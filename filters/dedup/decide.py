"""The entry point: exact then near duplicate decisions for every row (see the package docstring)."""

from __future__ import annotations

from typing import Any

import numpy as np

from filters.dedup.columns import Sha256Column, as_phash, parse_keys
from filters.dedup.components import near_stage, rows_of_values
from filters.dedup.contamination import ReferenceIndex, contaminate
from filters.dedup.exact import exact_stage
from filters.dedup.near_pairs import DEFAULT_MAX_RUN, check_distance
from filters.dedup.result import CONTAMINATED_CODE, KEEP_CODE, NEAR_DUPLICATE_CODE, DedupResult


def _hashes(values: Any) -> np.ndarray:
    """One uint64 hash per row (as_phash), or a (rows, views) matrix of them."""
    if isinstance(values, np.ndarray) and values.ndim == 2:
        if values.dtype.kind not in "ui":
            raise ValueError("phash: a matrix of views must hold integers")
        return values.view(np.uint64) if values.dtype == np.int64 else values.astype(np.uint64, copy=False)
    return as_phash(values)


def decide_duplicates(keys: Any, sha256: Any, phash: Any, area: Any, max_distance: int, near: bool = True,
                      *, references: Any = None, reference_ids: Any = None,
                      max_run: int = DEFAULT_MAX_RUN, tone: Any = None) -> DedupResult:
    """Exact then near duplicate decisions for every row, then contamination (package docstring).

    keys: 20-digit decimal strings or their uint64 values (unique); sha256: 64-char hex strings or
    32-byte digests; phash: uint64 (or int64 bit patterns, or 16-char hex strings), or a (rows,
    views) uint64 matrix of several hashes per row (image_views.py: rows are near when any view of
    one is within `max_distance` of any view of the other); area: pixels. Lists, numpy arrays and
    pyarrow arrays are accepted. `references`: the hashes of reference images (values as `phash`,
    flattened), `reference_ids` the reference each belongs to (default: its position); a group with
    a member within `max_distance` of one is rejected as `contaminated` (contamination.py).
    `tone`: a tone word per row (filters/image_tone.py; uint64), or None: with it, rows that meet
    only through views other than both 100% views are linked only when their tone words agree
    (confirm.py). `max_run` tunes performance only.
    """
    d = check_distance(max_distance)
    if max_run < 2:
        raise ValueError("max_run must be >= 2")
    k = parse_keys(keys)
    n = len(k)
    refs = None
    if references is not None and len(references):
        refs = ReferenceIndex.build(_hashes(references).reshape(-1), reference_ids)
    ph = _hashes(phash) if near or refs is not None else np.zeros(n, dtype=np.uint64)
    ar = np.asarray(area)
    if ar.dtype.kind not in "ui" and not (ar.size == 0 and ar.ndim == 1):
        raise ValueError("area: expected integers")
    ar = ar.astype(np.int64, copy=False)
    sha = Sha256Column(sha256)
    tn = None if tone is None else np.asarray(tone).astype(np.uint64, copy=False).reshape(-1)
    lengths = {"keys": n, "sha256": sha.col.length, "phash": len(ph), "area": len(ar)}
    if tn is not None:
        lengths["tone"] = len(tn)
    if len(set(lengths.values())) != 1:
        raise ValueError(f"columns of different lengths: {lengths}")
    index_type = np.int32 if n < 2**31 else np.int64
    reason = np.zeros(n, dtype=np.int8)
    kept = np.arange(n, dtype=index_type)
    stats: dict[str, int] = {"rows": n}
    if n > 1:
        exact_stage(k, sha, reason, kept, stats)
    elif n == 1:
        sha.prefix(0, 1)  # validates the one digest
    if n and ((near and n > 1) or refs is not None):
        matches = near_stage(k, ph, ar, d, max_run, reason, kept, stats, link=near and n > 1, refs=refs,
                             tone=tn)
        if matches is not None:
            rows, index, _ = rows_of_values(ph, reason, (KEEP_CODE, NEAR_DUPLICATE_CODE), matches.values)
            bad, ref = contaminate(rows, index, matches, kept)
            reason[bad] = CONTAMINATED_CODE
            stats["contaminated"] = len(bad)
            return DedupResult(k, reason, kept, stats, bad, ref)
    return DedupResult(keys=k, reason_code=reason, kept_index=kept, stats=stats)
