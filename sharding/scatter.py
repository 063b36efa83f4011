"""Scatter: one task per kept part sorts it by key and writes the rows of each shard still to be
written into that shard's bucket (an Arrow IPC file under the release's hidden work folder).

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
from manifests.parquet_io import read_parquet_checked
from manifests.schemas import SAMPLE
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


def bucket_path(work: Path, shard: str, part_number: int) -> Path:
    return work / shard / f"{part_number:05d}.arrow"


def write_arrow_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def scatter_part(path: str, part_number: int, ranges: list[Range], work: str) -> ScatterResult:
    """Writes `work/<shard>/<part_number>.arrow` for every range this part has rows in."""
    try:
        table = read_parquet_checked(path, SAMPLE)
    except UserError as exc:
        return ScatterResult(path, error=str(exc))
    table = table.take(pc.sort_indices(table, [("key", "ascending")]))
    keys = np.asarray(table.column("key").to_pylist(), dtype=object)
    written = 0
    for r in ranges:
        lo = int(np.searchsorted(keys, r.first_key, side="left"))
        hi = int(np.searchsorted(keys, r.last_key, side="right"))
        if hi > lo:
            write_arrow_atomic(table.slice(lo, hi - lo), bucket_path(Path(work), r.name, part_number))
            written += hi - lo
    return ScatterResult(path, rows=written)
