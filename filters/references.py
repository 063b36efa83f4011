"""Reference images for decontamination (`dedup.exclude`): listed and checked before Ray starts,
hashed once per run in parallel chunks, cached under `_work/` by their digest.

An entry is a folder (every image file below it), a glob, one image file, or a parquet file with an
`image` (bytes) or `phash` (16 hex characters) column; local or `s3://` (the storage layer lists and
reads them). Image files (jpg, jpeg, png, webp, gif, bmp) are decoded as the image pass decodes
candidates (`image_inspect.inspect_image`) and hashed the same way; a file that does not decode is
counted and named, never fatal. An image reference gets the view hashes candidates get
(image_views.py), so a crop or a framed copy of a reference is caught as a candidate's would be; a
`phash`-only reference has the one hash, which candidates' 100% view (their pHash when they have no
border) is compared with. A reference is named in a `contaminated` row's detail by its path
inside the entry's folder (`coco_cn/val/0001.jpg`), by its file name for a glob or a single file,
and as `<parquet file name>#<row>` for a parquet row.

Bad input is a one-line UserError: a path that does not exist, a folder or glob without any image
file, a parquet file without an `image` or `phash` column, a malformed `phash` value.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup import phash_from_hex
from filters.image_inspect import inspect_image
from manifests.config import Config, StorageConfig
from manifests.errors import UserError
from manifests.parquet_io import parquet_file, read_table, write_parquet_atomic
from manifests.storage import DataPath, Listing, data_path, list_files

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
HASH_VERSION = "views-1"  # changes whenever the reference hashes would change: the cache key includes it
FILES_PER_CHUNK = 500  # image files per hashing task
ROWS_PER_CHUNK = 2000  # parquet rows per hashing task
# per reference: its view hashes (VIEW_BYTES, big-endian uint64s), or its 8-byte pHash; null when unreadable
REFERENCE_HASHES = pa.schema([("ref", pa.string()), ("hashes", pa.binary()), ("error", pa.string())])


@dataclass(frozen=True, slots=True)
class ReferenceFile:
    """One file of `dedup.exclude`: an image, or a parquet file read through `column`."""

    name: str  # how details name it (a parquet row adds `#<row>`)
    url: str
    size: int
    stamp: str
    column: str | None = None  # "image" or "phash" for a parquet file
    rows: int = 0


@dataclass(frozen=True, slots=True)
class Chunk:
    """A hashing task: image files, or a row range of one parquet file."""

    files: tuple[ReferenceFile, ...]
    start: int = 0
    stop: int = 0


@dataclass(frozen=True, slots=True)
class ReferenceSet:
    files: tuple[ReferenceFile, ...]

    @property
    def digest(self) -> str:
        """sha256 over every file's name, URL, size and version stamp and the hash method."""
        rows = [[f.name, f.url, f.size, f.stamp, f.column] for f in self.files]
        return hashlib.sha256(json.dumps([HASH_VERSION, rows]).encode()).hexdigest()

    def chunks(self) -> list[Chunk]:
        images = [f for f in self.files if f.column is None]
        out = [Chunk(tuple(images[i:i + FILES_PER_CHUNK])) for i in range(0, len(images), FILES_PER_CHUNK)]
        for f in self.files:
            if f.column is not None:
                out += [Chunk((f,), a, min(a + ROWS_PER_CHUNK, f.rows)) for a in range(0, f.rows, ROWS_PER_CHUNK)]
        return out


@dataclass(frozen=True, slots=True)
class ReferenceHashes:
    """Every reference's name and hashes; `unreadable` names the ones that could not be hashed."""

    names: list[str]
    hashes: np.ndarray  # uint64: every hash of every reference
    ids: np.ndarray  # int64: the reference (index into `names`) of each hash
    unreadable: list[tuple[str, str]]


def _is_image(url: str) -> bool:
    return url.lower().endswith(IMAGE_SUFFIXES)


def _parquet_reference(url: str, size: int, stamp: str, storage: StorageConfig) -> ReferenceFile:
    name = posixpath.basename(url)
    try:
        pf = parquet_file(data_path(url, storage))
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"dedup.exclude: {url}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    schema = pf.schema_arrow
    if "image" in schema.names and (pa.types.is_binary(schema.field("image").type)
                                    or pa.types.is_large_binary(schema.field("image").type)):
        return ReferenceFile(name, url, size, stamp, "image", pf.metadata.num_rows)
    if "phash" in schema.names:
        values = pf.read(columns=["phash"]).column("phash")
        if values.null_count:
            raise UserError(f"dedup.exclude: {url}: {values.null_count} null phash value(s)")
        try:
            phash_from_hex(values.cast(pa.string()))
        except (ValueError, pa.ArrowException):
            raise UserError(f"dedup.exclude: {url}: phash values must be 16 hex characters") from None
        return ReferenceFile(name, url, size, stamp, "phash", pf.metadata.num_rows)
    raise UserError(f"dedup.exclude: {url}: no image (binary) or phash column")


def list_references(entries: Iterable[str], storage: StorageConfig) -> ReferenceSet:
    """Every reference file of `dedup.exclude`, in entry order then path order (UserError on bad input)."""
    files: list[ReferenceFile] = []
    seen: set[str] = set()
    for entry in entries:
        try:
            listing = list_files(entry, storage)
        except UserError as exc:
            raise UserError(f"dedup.exclude: {exc}") from None
        count = 0
        for url, size, stamp in listing.files:
            if url in seen:
                continue
            if url.lower().endswith(".parquet") and listing.kind != "folder":
                files.append(_parquet_reference(url, size, stamp, storage))
            elif _is_image(url):
                files.append(ReferenceFile(_name(url, listing), url, size, stamp))
            else:
                continue
            seen.add(url)
            count += 1
        if not count:
            raise UserError(f"dedup.exclude: no reference images in {entry}")
    return ReferenceSet(tuple(files))


def _name(url: str, listing: Listing) -> str:
    """A folder's file: the folder's name and the path below it; otherwise the file name."""
    if listing.kind != "folder" or not url.startswith(listing.root + "/"):
        return posixpath.basename(url)
    return posixpath.basename(listing.root) + url[len(listing.root):]


def hash_chunk(chunk: Chunk, storage: StorageConfig, max_pixels: int) -> pa.Table:
    """The hashes of one chunk's references (`REFERENCE_HASHES`): decoded as the image pass decodes."""
    names: list[str] = []
    hashes: list[bytes | None] = []
    errors: list[str | None] = []

    def add(name: str, data: bytes | None) -> None:
        names.append(name)
        if data is None:
            hashes.append(None)
            errors.append("no image bytes")
            return
        info = inspect_image(data, max_pixels)
        hashes.append(info.views)
        errors.append(None if info.views else f"{info.reason}: {info.detail}" if info.detail else info.reason)

    first = chunk.files[0]
    if first.column is None:
        for f in chunk.files:
            try:
                data = data_path(f.url, storage).read_bytes()
            except OSError as exc:
                names.append(f.name)
                hashes.append(None)
                errors.append(f"unreadable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
                continue
            add(f.name, data)
    else:
        table = parquet_file(data_path(first.url, storage)).read(columns=[first.column])
        column = table.column(first.column).slice(chunk.start, chunk.stop - chunk.start)
        labels = [f"{first.name}#{r}" for r in range(chunk.start, chunk.stop)]
        if first.column == "phash":
            raw = phash_from_hex(column.cast(pa.string())).astype(">u8").tobytes()
            packed = [raw[i:i + 8] for i in range(0, len(raw), 8)]
            return pa.table({"ref": labels, "hashes": pa.array(packed, pa.binary()),
                             "error": pa.nulls(len(labels), pa.string())}, schema=REFERENCE_HASHES)
        for name, data in zip(labels, column.to_pylist(), strict=True):
            add(name, data)
    return pa.table({"ref": names, "hashes": pa.array(hashes, pa.binary()), "error": pa.array(errors, pa.string())},
                    schema=REFERENCE_HASHES)


Mapper = Callable[[list[Chunk]], list[pa.Table]]


def load_reference_hashes(refs: ReferenceSet, cache: DataPath, cfg: Config, mapper: Mapper | None = None
                          ) -> ReferenceHashes:
    """The references' hashes: from `cache` when it exists, else hashed chunk by chunk, by `mapper`
    (`hash_chunk` over each chunk; the runner's runs Ray tasks) or here, and written to `cache`."""
    if cache.exists():
        table = read_table(cache)
    else:
        chunks = refs.chunks()
        if mapper is None:
            parts = [hash_chunk(c, cfg.storage, cfg.image.max_pixels) for c in chunks]
        else:
            parts = mapper(chunks)
        table = pa.concat_tables(parts) if parts else REFERENCE_HASHES.empty_table()
        write_parquet_atomic(table, cache)
    ok = pc.is_valid(table.column("hashes"))
    good, bad = table.filter(ok), table.filter(pc.invert(ok))
    unreadable = list(zip(bad.column("ref").to_pylist(), bad.column("error").to_pylist(), strict=True))
    if unreadable:
        shown = ", ".join(f"{n} ({e})" for n, e in unreadable[:5])
        log.warning("dedup.exclude: %d unreadable reference(s): %s%s", len(unreadable), shown,
                    " ..." if len(unreadable) > 5 else "")
    packed = good.column("hashes").to_pylist()
    counts = np.array([len(b) // 8 for b in packed], dtype=np.int64)
    values = np.frombuffer(b"".join(packed), dtype=">u8").astype(np.uint64)
    ids = np.repeat(np.arange(len(packed), dtype=np.int64), counts)
    return ReferenceHashes(good.column("ref").to_pylist(), values, ids, unreadable)
