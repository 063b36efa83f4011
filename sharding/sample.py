"""One released sample: its validated key, file extension and the exact bytes of its tar members.

Member names are built here and only here, from keys that are ASCII digits and extensions from a
fixed table, so nothing read from the input can name a file.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

FORMAT_VERSION = 1  # bump when the bytes written for the same input change: old shards are rewritten

# MIME -> extension of the image member (the filter stage keeps exactly these formats).
MIME_EXTENSION: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
}

# Columns of a kept row besides the image that every sample's `.json` member carries, in order
# (the release manifest's fields first, then provenance); `shard` is added per shard.
JSON_FIELDS: tuple[str, ...] = (
    "url", "caption", "key", "width", "height", "sha256", "phash",
    "caption_raw", "page_url", "query", "source", "mime",
)
META_COLUMNS: tuple[str, ...] = JSON_FIELDS  # every SAMPLE column except `image`

_KEY_RE = re.compile(r"[0-9]{1,64}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def check_key(key: object) -> str | None:
    """None when `key` is a valid sample key (1..64 ASCII digits), else why it is not."""
    if not isinstance(key, str):
        return f"key {key!r} is not a string"
    if _KEY_RE.fullmatch(key) is None:
        return f"key {key[:80]!r} is not 1-64 ASCII digits"
    return None


def check_row(row: dict[str, Any]) -> str | None:
    """None when a kept row can be released as it is, else a one-line reason (errors as values)."""
    problem = check_key(row.get("key"))
    if problem:
        return problem
    key = row["key"]
    if row.get("mime") not in MIME_EXTENSION:
        return f"key {key}: unsupported mime {str(row.get('mime'))[:40]!r}"
    if not isinstance(row.get("sha256"), str) or _SHA256_RE.fullmatch(row["sha256"]) is None:
        return f"key {key}: sha256 is not 64 lowercase hex digits"
    if not isinstance(row.get("caption"), str):
        return f"key {key}: caption is null"
    if not isinstance(row.get("url"), str):
        return f"key {key}: url is null"
    return None


def extension(mime: str) -> str:
    return MIME_EXTENSION[mime]


def member_names(key: str, mime: str) -> tuple[str, str, str]:
    """(image, json, txt) member names: `<key>.<ext>`, `<key>.json`, `<key>.txt`."""
    if check_key(key) is not None:
        raise ValueError(f"refusing unsafe key {key[:80]!r}")
    return f"{key}.{extension(mime)}", f"{key}.json", f"{key}.txt"


def json_member(row: dict[str, Any], shard: str | None) -> bytes:
    """The `.json` member: every manifest field plus provenance, UTF-8, Chinese left readable."""
    obj = {name: row.get(name) for name in JSON_FIELDS}
    if shard is not None:
        obj["shard"] = shard
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def txt_member(row: dict[str, Any]) -> bytes:
    return row["caption"].encode("utf-8")


def row_digest(row: dict[str, Any]) -> bytes:
    """16 bytes that change whenever anything written for this row changes (image bytes via sha256)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json_member(row, None))
    return h.digest()
