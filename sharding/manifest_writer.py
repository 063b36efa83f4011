"""The release manifests: `manifests/part-NNNNN.parquet` (MANIFEST schema) and optional `url,caption` CSV.

Manifest rows are the shards' sidecar rows in key order, so a manifest part is cut from the
sidecars of the shards it spans; no image bytes are read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pyarrow as pa

from manifests.parquet_io import read_table, write_bytes_atomic, write_parquet_atomic
from manifests.schemas import MANIFEST, conform
from manifests.storage import DataPath
from sharding.files import ShardFiles, manifest_path


@dataclass(frozen=True, slots=True)
class ShardSpan:
    """Where a shard's rows sit in the global key order."""

    index: int
    name: str
    start: int
    count: int


def manifest_slices(total: int, rows_per_file: int) -> list[tuple[int, int]]:
    return [(start, min(start + rows_per_file, total)) for start in range(0, total, rows_per_file)]


def csv_bytes(table: pa.Table) -> bytes:
    """`url,caption` with a header, like Wukong's `wukong_100m_*.csv` (RFC 4180 quoting, UTF-8)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["url", "caption"])
    writer.writerows(zip(table.column("url").to_pylist(), table.column("caption").to_pylist(), strict=True))
    return buf.getvalue().encode("utf-8")


def write_manifest_part(number: int, start: int, stop: int, spans: list[ShardSpan], shards_dir: DataPath,
                        manifests_dir: DataPath, with_csv: bool) -> list[str]:
    """Writes manifest part `number` holding global rows [start, stop); returns the names written."""
    pieces = []
    for span in spans:
        lo, hi = max(start, span.start), min(stop, span.start + span.count)
        if hi <= lo:
            continue
        sidecar = read_table(ShardFiles(shards_dir, span.index).sidecar,
                             columns=[f.name for f in MANIFEST if f.name != "shard"])
        piece = sidecar.slice(lo - span.start, hi - lo)
        pieces.append(piece.append_column("shard", pa.array([span.name] * piece.num_rows, pa.string())))
    table = conform(pa.concat_tables(pieces), MANIFEST)
    written = [write_parquet_atomic(table, manifest_path(manifests_dir, number, "parquet"))]
    if with_csv:
        written.append(write_bytes_atomic(csv_bytes(table), manifest_path(manifests_dir, number, "csv")))
    return [p.name for p in written]
