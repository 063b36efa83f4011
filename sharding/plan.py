"""Planning a release: index the kept parts (no image bytes), sort all keys, cut shards of N samples.
The index also carries the dataset card's columns (`CARD_COLUMNS`), so the card's distributions can be
computed while the shards are written.

A shard's plan digest covers its name, its keys in order and a digest of everything written for
each row, so a re-run recognises a complete shard whatever way the rows were split into parts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from manifests.errors import UserError
from manifests.layout import shard_name
from manifests.parquet_io import read_parquet_checked
from manifests.schemas import SAMPLE
from manifests.storage import DataPath
from sharding.files import ShardFiles
from sharding.sample import FORMAT_VERSION, META_COLUMNS, check_row, row_digest

INDEX_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("digest", pa.binary(16))])
CARD_COLUMNS: tuple[str, ...] = ("caption", "width", "height", "mime")  # what the dataset card measures


@dataclass(frozen=True, slots=True)
class PartIndex:
    """What one kept part holds: its keys with their row digests, or why it cannot be released."""

    path: DataPath
    table: pa.Table | None = None
    error: str | None = None
    card: pa.Table | None = None  # CARD_COLUMNS of the same rows (with `table`)


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """One shard: `count` samples from global sorted position `start`, keys first_key..last_key."""

    index: int
    start: int
    count: int
    first_key: str
    last_key: str
    plan: str

    @property
    def name(self) -> str:
        return shard_name(self.index)


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    shards: list[ShardSpec]
    parts: list[DataPath]
    total: int
    card: pa.Table  # CARD_COLUMNS of every sample in release order (key order)


def index_part(path: DataPath) -> PartIndex:
    """Reads a kept part's columns except `image`, validates every row, returns (key, digest) rows."""
    try:
        table = read_parquet_checked(path, SAMPLE, columns=[*META_COLUMNS])
    except UserError as exc:
        return PartIndex(path, error=str(exc))
    keys: list[str] = []
    digests: list[bytes] = []
    for row in table.to_pylist():
        problem = check_row(row)
        if problem:
            return PartIndex(path, error=f"{path}: {problem}")
        keys.append(row["key"])
        digests.append(row_digest(row))
    return PartIndex(path, table=pa.table([keys, digests], schema=INDEX_SCHEMA), card=table.select(list(CARD_COLUMNS)))


def make_plan(indexes: list[PartIndex], samples_per_shard: int) -> ReleasePlan:
    """Sorts all keys (string order), checks they are unique, cuts shards and digests their plans."""
    for ix in indexes:
        if ix.error:
            raise UserError(ix.error)
    listed = [ix for ix in indexes if ix.table is not None and ix.table.num_rows]
    if not listed:
        raise UserError("no kept samples to release")
    merged = pa.concat_tables([ix.table for ix in listed])  # type: ignore[misc]
    keys = np.asarray(merged.column("key").to_pylist(), dtype=object)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    digests = merged.column("digest").to_pylist()
    dup = np.flatnonzero(keys[1:] == keys[:-1])
    if dup.size:
        raise UserError(f"key {keys[dup[0]]} occurs more than once in the kept parts")
    shards: list[ShardSpec] = []
    for index, start in enumerate(range(0, len(keys), samples_per_shard)):
        stop = min(start + samples_per_shard, len(keys))
        h = hashlib.sha256(f"wukong-shard v{FORMAT_VERSION} {shard_name(index)}\n".encode())
        for key, i in zip(keys[start:stop], order[start:stop], strict=True):
            h.update(key.encode("ascii") + b"\n")
            h.update(digests[i])
        shards.append(ShardSpec(index, start, stop - start, str(keys[start]), str(keys[stop - 1]), h.hexdigest()))
    card = pa.concat_tables([ix.card for ix in listed]).take(pa.array(order))  # type: ignore[misc]
    return ReleasePlan(shards, [ix.path for ix in indexes], len(keys), card)


def read_stats(files: ShardFiles) -> dict | None:
    try:
        data = json.loads(files.stats.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(spec: ShardSpec, shards_dir: DataPath) -> bool:
    """A shard is done when its stats file (written last, the completion marker) has this plan and its
    files are all there. Also on object storage: there the stats object is uploaded after the tar and
    sidecar uploads have completed, and deleted before a shard is rewritten."""
    files = ShardFiles(shards_dir, spec.index)
    stats = read_stats(files)
    if stats is None or stats.get("plan") != spec.plan:
        return False
    try:
        return files.tar.stat().st_size == stats.get("tar_bytes") and files.sidecar.is_file()
    except OSError:
        return False
