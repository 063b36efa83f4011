"""Gather: one task per shard merges its buckets in key order and writes the shard's three files.

Order of writes: the old stats file is removed first, the tar is written under a temporary name and
renamed, then the sidecar, then the stats file: a shard with a stats file is complete. On object
storage, where there is no rename, each file is uploaded whole in the same order (an object appears
complete or not at all), so the stats object is still the completion marker; the buckets are
downloaded to a local temporary folder first and memory-mapped from there.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from manifests.page_cache import drop_cached
from manifests.parquet_io import write_json_atomic, write_parquet_atomic
from manifests.storage import DataPath, is_remote, remove_tree
from sharding.files import ShardFiles
from sharding.plan import ShardSpec
from sharding.sample import FORMAT_VERSION, META_COLUMNS, json_member, member_names, row_digest, txt_member
from sharding.sidecar import shard_stats, sidecar_table
from sharding.tarwriter import DeterministicTarWriter


@dataclass(frozen=True, slots=True)
class ShardResult:
    index: int
    count: int = 0
    image_bytes: int = 0
    tar_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None


def read_buckets(bucket_dir: Path) -> pa.Table | None:
    """The shard's buckets, memory-mapped (image bytes are paged in as they are written out)."""
    tables = []
    for path in sorted(bucket_dir.glob("*.arrow")):
        with pa.memory_map(str(path), "r") as source:
            tables.append(pa.ipc.open_file(source).read_all())
    return pa.concat_tables(tables) if tables else None


@contextmanager
def local_buckets(bucket_dir: DataPath) -> Iterator[Path]:
    """`bucket_dir` itself when it is local, else a local temporary copy of its buckets."""
    if not is_remote(bucket_dir):
        assert isinstance(bucket_dir, Path)
        yield bucket_dir
        return
    with tempfile.TemporaryDirectory(prefix="wukong-buckets-") as tmp:
        for path in sorted(bucket_dir.glob("*.arrow")):
            path.fs.get_file(path.path, str(Path(tmp) / path.name))
        yield Path(tmp)


def plan_digest(name: str, keys: list[str], rows: list[dict]) -> str:
    h = hashlib.sha256(f"wukong-shard v{FORMAT_VERSION} {name}\n".encode())
    for key, row in zip(keys, rows, strict=True):
        h.update(key.encode("ascii") + b"\n")
        h.update(row_digest(row))
    return h.hexdigest()


def write_shard(spec: ShardSpec, bucket_dir: DataPath, shards_dir: DataPath) -> ShardResult:
    """Writes `NNNNN.tar`, `NNNNN.parquet` and last `NNNNN_stats.json` from the shard's buckets."""
    t0 = time.perf_counter()
    files = ShardFiles(shards_dir, spec.index)
    files.stats.unlink(missing_ok=True)
    with local_buckets(bucket_dir) as local_dir:
        result = _write_shard_files(spec, files, local_dir)
    if result.error is None:
        remove_tree(bucket_dir)
    return replace(result, seconds=time.perf_counter() - t0)


def _write_shard_files(spec: ShardSpec, files: ShardFiles, bucket_dir: Path) -> ShardResult:
    table = read_buckets(bucket_dir)
    if table is None:
        return ShardResult(spec.index, error=f"shard {spec.name}: no rows were scattered to it")
    order = pc.sort_indices(table.select(["key"]), [("key", "ascending")])
    rows = table.select(list(META_COLUMNS)).take(order).to_pylist()  # metadata only: images stay mapped
    keys = [r["key"] for r in rows]
    if len(rows) != spec.count or plan_digest(spec.name, keys, rows) != spec.plan:
        return ShardResult(spec.index, error=f"shard {spec.name}: the kept parts changed while the release was written")
    images = table.column("image")
    image_bytes = 0
    with DeterministicTarWriter(files.tar) as tar:
        for i, row in zip(order.to_pylist(), rows, strict=True):
            data = memoryview(images[i].as_buffer())
            if hashlib.sha256(data).hexdigest() != row["sha256"]:
                return ShardResult(spec.index, error=f"key {row['key']}: image bytes do not match its sha256")
            image_name, json_name, txt_name = member_names(row["key"], row["mime"])
            members = {image_name: data, json_name: json_member(row, spec.name), txt_name: txt_member(row)}
            for name in sorted(members):
                tar.add(name, members[name])
            image_bytes += len(data)
        tar_bytes, tar_sha = tar.commit()
    drop_cached(files.tar)  # never read again here: its pages go to the next shard's tar
    write_parquet_atomic(sidecar_table(rows), files.sidecar)
    write_json_atomic(shard_stats(spec.name, len(rows), image_bytes, tar_bytes, tar_sha,
                                  spec.first_key, spec.last_key, spec.plan), files.stats)
    return ShardResult(spec.index, len(rows), image_bytes, tar_bytes)
