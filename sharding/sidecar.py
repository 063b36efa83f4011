"""A shard's parquet sidecar (one row per sample, img2dataset's columns) and its stats file."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from manifests.schemas import MANIFEST
from sharding.sample import FORMAT_VERSION

# img2dataset's sidecar columns (input columns, key, status, error_message, sizes, hash) plus ours.
SIDECAR = pa.schema(
    [
        MANIFEST.field("url"),
        MANIFEST.field("caption"),
        MANIFEST.field("key"),
        pa.field("status", pa.string()),
        pa.field("error_message", pa.string()),
        MANIFEST.field("width"),
        MANIFEST.field("height"),
        pa.field("original_width", pa.int32()),
        pa.field("original_height", pa.int32()),
        MANIFEST.field("sha256"),
        MANIFEST.field("phash"),
        pa.field("mime", pa.string()),
    ]
)


def sidecar_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Every sample is a success: the release only holds images the filter stage decoded."""
    cols: dict[str, list[Any]] = {name: [] for name in SIDECAR.names}
    for row in rows:
        for name in ("url", "caption", "key", "width", "height", "sha256", "phash", "mime"):
            cols[name].append(row[name])
        cols["status"].append("success")
        cols["error_message"].append(None)
        cols["original_width"].append(row["width"])
        cols["original_height"].append(row["height"])
    return pa.table(cols, schema=SIDECAR)


def shard_stats(name: str, count: int, image_bytes: int, tar_bytes: int, tar_sha256: str,
                first_key: str | None, last_key: str | None, plan: str) -> dict[str, Any]:
    """img2dataset's stats fields without the wall-clock times (the release is byte-reproducible);
    the keys are None for a shard a takedown left empty."""
    return {
        "shard": name,
        "count": count,
        "successes": count,
        "failed_to_download": 0,
        "failed_to_resize": 0,
        "status_dict": {"success": count} if count else {},
        "image_bytes": image_bytes,
        "tar_bytes": tar_bytes,
        "tar_sha256": tar_sha256,
        "first_key": first_key,
        "last_key": last_key,
        "plan": plan,
        "format": FORMAT_VERSION,
    }
