"""Parquet reading and atomic writing, local or on object storage: a file appears complete under its
final name, or not at all."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from manifests.errors import UserError
from manifests.storage import DataPath, atomic_output, data_path, is_remote, is_upath

# Columns that hold already-compressed bytes (encoded images): compressing them again costs CPU for nothing.
INCOMPRESSIBLE_COLUMNS = frozenset({"image"})


def write_parquet_atomic(table: pa.Table, path: str | DataPath, compression: str = "zstd") -> DataPath:
    """Writes `table` so that it appears complete under `path` or not at all (local or object storage).

    Image-byte columns are stored plain: no compression, no dictionary, no min/max statistics. Each of
    those is useless on encoded images, and trying a dictionary alone (hashing every value until the
    dictionary page overflows) made writing a kept part 4x slower. Every other column uses `compression`.
    """
    dest = data_path(path) if isinstance(path, str) else path
    options: dict[str, Any] = {"compression": compression}
    if INCOMPRESSIBLE_COLUMNS.intersection(table.column_names):
        others = [name for name in table.column_names if name not in INCOMPRESSIBLE_COLUMNS]
        options = {
            "compression": {name: "none" if name in INCOMPRESSIBLE_COLUMNS else compression
                            for name in table.column_names},
            "use_dictionary": others,
            "write_statistics": others,
        }
    with atomic_output(dest) as tmp:
        pq.write_table(table, tmp, **options)
    return dest


def write_bytes_atomic(data: bytes, path: str | DataPath) -> DataPath:
    dest = data_path(path) if isinstance(path, str) else path
    with atomic_output(dest) as tmp:
        tmp.write_bytes(data)
    return dest


def write_json_atomic(obj: Any, path: str | DataPath) -> DataPath:
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return write_bytes_atomic(text.encode("utf-8"), path)


def require_input_folder(directory: str | DataPath) -> DataPath:
    """`directory` as a path, or a one-line error when it is missing or not a folder."""
    d = data_path(directory) if isinstance(directory, str) else directory
    try:
        exists = d.exists()
    except (PermissionError, OSError) as exc:
        raise UserError(f"cannot read {d}: {str(exc).splitlines()[0] or type(exc).__name__}") from None
    if not exists:
        raise UserError(f"input folder not found: {d}")
    if not d.is_dir():
        raise UserError(f"not a folder: {d}")
    return d


def list_parts(directory: str | DataPath, pattern: str = "*.parquet") -> list[DataPath]:
    """The parquet parts in `directory`, sorted; hidden temporary files are never listed."""
    d = require_input_folder(directory)
    return sorted(p for p in d.glob(pattern) if p.is_file() and not p.name.startswith("."))


# On object storage a small file (work files, decisions, manifests, candidate parts) is fetched whole in
# one GET; a large one (image work files, kept parts) is read by ranges, exactly the bytes pyarrow asks
# for: fsspec's default read-ahead would pull 50 MB of image bytes to read one small column.
WHOLE_OBJECT_BYTES = 8 * 2**20


def _source(path: str | DataPath) -> Any:
    """What pyarrow should read: a local path, or for an object, its bytes or a range-reading file."""
    p = data_path(path) if isinstance(path, str) else path
    if not is_remote(p):
        return os.fspath(p)
    assert is_upath(p)
    size = p.fs.size(p.path)
    if size == 0:
        return pa.BufferReader(b"")  # pyarrow says what is wrong with an empty file
    if size <= WHOLE_OBJECT_BYTES:
        # the range we already know: without it s3fs asks for the object's size once more (a second HEAD)
        return pa.BufferReader(p.fs.cat_file(p.path, start=0, end=size))
    return p.fs.open(p.path, "rb", cache_type="none", size=size)


def parquet_file(path: str | DataPath) -> pq.ParquetFile:
    """A ParquetFile on a local path or an object-storage URL."""
    return pq.ParquetFile(_source(path))


def read_table(path: str | DataPath, columns: list[str] | None = None, filters: Any = None) -> pa.Table:
    """`pq.read_table` on a local path or an object-storage URL."""
    return pq.read_table(_source(path), columns=columns, filters=filters)


def read_metadata(path: str | DataPath) -> pq.FileMetaData:
    return parquet_file(path).metadata


def read_parquet_checked(path: str | DataPath, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """Reads a parquet file and checks it has the columns of `schema`; one-line errors otherwise."""
    try:
        pf = parquet_file(path)
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    names = set(pf.schema_arrow.names)
    wanted = columns if columns is not None else schema.names
    missing = [c for c in wanted if c not in names]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    try:
        table = pf.read(columns=wanted)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: corrupt parquet data ({str(exc).splitlines()[0]})") from None
    fields = [schema.field(c) for c in wanted]
    try:
        return pa.Table.from_arrays(
            [table.column(f.name).cast(f.type) for f in fields], schema=pa.schema(fields)
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UserError(f"{path}: a column has the wrong type ({str(exc).splitlines()[0]})") from None


def iter_parquet_batches(path: str | DataPath, batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
    yield from parquet_file(path).iter_batches(batch_size=batch_size)


def count_rows(path: str | DataPath) -> int:
    return parquet_file(path).metadata.num_rows


def read_tables(paths: list[DataPath], columns: list[str] | None = None, filters: Any = None,
                threads: int = 16) -> list[pa.Table]:
    """`read_table` over many files, in their order, several at a time: on object storage each read
    waits on the network (tens of ms per request), so one after another would idle for hours at
    100k files."""
    if len(paths) <= 1:
        return [read_table(p, columns=columns, filters=filters) for p in paths]
    with ThreadPoolExecutor(max_workers=min(threads, len(paths))) as pool:
        return list(pool.map(lambda p: read_table(p, columns=columns, filters=filters), paths))


def existing_names(directory: DataPath) -> set[str]:
    """The names of the visible files in `directory` (one listing; empty when it is missing): cheaper
    than one existence check per file on object storage."""
    try:
        if not directory.is_dir():
            return set()
        return {p.name for p in directory.iterdir() if not p.name.startswith(".")}
    except FileNotFoundError:
        return set()
