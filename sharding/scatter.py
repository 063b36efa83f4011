"""Scatter: one task per kept part sorts it by key and writes the rows of each shard still to be
written into that shard's bucket (an Arrow IPC file under the release's hidden work folder).
With a release on object storage the buckets are objects under the release's prefix, so the shard
task that reads a bucket may run on another node than the task that wrote it.

Keys are hashes, so every part feeds every shard: bucketing reads each part once, where reading
"rows in my key range" from every part in every shard task would read the image bytes once per shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from manifests.errors import UserError
from manifests.page_cache import drop_cached
from manifests.parquet_io import read_parquet_checked
from manifests.schemas import SAMPLE
from manifests.storage import DataPath, atomic_output, is_remote
from sharding.tarwriter import temp_path


@dataclass(frozen=True, slots=True)
class Range:
    """A shard's key range (inclusive) and name, as the scatter tasks need it."""

    index: int
    name: str
    first_key: str
    last_key: str


@dataclass(frozen=True, slots=True)
class ScatterResult:
    path: str
    rows: int = 0
    error: str | None = None


def bucket_path(work: DataPath, shard: str, part_number: int) -> DataPath:
    return work / shard / f"{part_number:05d}.arrow"


def _write_ipc(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def write_arrow_atomic(table: pa.Table, path: DataPath) -> None:
    """The bucket appears whole or not at all: renamed into place locally, uploaded whole remotely."""
    if is_remote(path):
        with atomic_output(path) as tmp:
            _write_ipc(table, tmp)
        return
    assert isinstance(path, Path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        _write_ipc(table, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def scatter_part(path: DataPath, part_number: int, ranges: list[Range], work: DataPath) -> ScatterResult:
    """Writes `work/<shard>/<part_number>.arrow` for every range this part has rows in."""
    try:
        table = read_parquet_checked(path, SAMPLE)
    except UserError as exc:
        return ScatterResult(str(path), error=str(exc))
    drop_cached(path)  # read once here: its pages go to the buckets written below
    keys = np.asarray(table.column("key").to_pylist(), dtype=object)
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():  # the filter writes its parts in key order already
        order = pc.sort_indices(table, [("key", "ascending")])
        table = table.take(order)  # copies every image: only for a part not in key order
        keys = keys[order.to_numpy()]
    written = 0
    for r in ranges:
        lo = int(np.searchsorted(keys, r.first_key, side="left"))
        hi = int(np.searchsorted(keys, r.last_key, side="right"))
        if hi > lo:
            write_arrow_atomic(table.slice(lo, hi - lo), bucket_path(work, r.name, part_number))
            written += hi - lo
    return ScatterResult(str(path), rows=written)
