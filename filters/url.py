"""The URL step of the text pass: normalise the image URL (-> invalid_url) and derive the sample key.

The key is a pure function of the normalised URL (`manifests.keys`), so it is the same on every run
whatever the partitioning; `url_h` is the same 64-bit value as an integer, used by the URL dedup.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from manifests import reasons
from manifests.keys import KEY_DIGITS, normalize_url, url_hash64


class UrlFilter(Filter):
    name: ClassVar[str] = "url"

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        norms = [normalize_url(u) if u else None for u in batch.column("url").to_pylist()]
        hashes = [url_hash64(n) if n is not None else None for n in norms]
        return {
            "url_norm": pa.array(norms, pa.string()),
            "url_h": pa.array(hashes, pa.uint64()),
            "key": pa.array([str(h).zfill(KEY_DIGITS) if h is not None else None for h in hashes], pa.string()),
        }

    def decide(self, batch: pa.Table) -> Verdict:
        bad = pc.is_null(batch.column("url_norm"))
        reason = pc.if_else(bad, pa.scalar(reasons.INVALID_URL), pa.scalar(None, pa.string()))
        detail = pc.if_else(bad, pc.utf8_slice_codeunits(pc.fill_null(batch.column("url"), ""), 0, 200),
                            pa.scalar(None, pa.string()))
        return Verdict(reason, detail)
