"""Parquet reading and atomic writing: a file appears complete under its final name, or not at all."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from manifests.errors import UserError


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


# Columns that hold already-compressed bytes (encoded images): compressing them again costs CPU for nothing.
INCOMPRESSIBLE_COLUMNS = frozenset({"image"})


def write_parquet_atomic(table: pa.Table, path: str | Path, compression: str = "zstd") -> Path:
    """Writes `table` to a hidden temporary file beside `path`, fsyncs it, then renames it.

    Image-byte columns are stored uncompressed; every other column with `compression`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    codecs: str | dict[str, str] = compression
    if INCOMPRESSIBLE_COLUMNS.intersection(table.column_names):
        codecs = {name: "none" if name in INCOMPRESSIBLE_COLUMNS else compression for name in table.column_names}
    try:
        pq.write_table(table, tmp, compression=codecs)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json_atomic(obj: Any, path: str | Path) -> Path:
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return write_bytes_atomic(text.encode("utf-8"), path)


def require_input_folder(directory: str | Path) -> Path:
    """`directory` as a Path, or a one-line error when it is missing or not a folder."""
    d = Path(directory)
    if not d.exists():
        raise UserError(f"input folder not found: {d}")
    if not d.is_dir():
        raise UserError(f"not a folder: {d}")
    return d


def list_parts(directory: str | Path, pattern: str = "*.parquet") -> list[Path]:
    """The parquet parts in `directory`, sorted; hidden temporary files are never listed."""
    d = require_input_folder(directory)
    return sorted(p for p in d.glob(pattern) if p.is_file() and not p.name.startswith("."))


def read_parquet_checked(path: str | Path, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """Reads a parquet file and checks it has the columns of `schema`; one-line errors otherwise."""
    path = Path(path)
    try:
        pf = pq.ParquetFile(path)
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


def iter_parquet_batches(path: str | Path, batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


def count_rows(path: str | Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows
