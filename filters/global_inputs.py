"""The filter driver's per-row inputs to its global decisions, read task by task into compact numpy
columns: nothing per row stays in Python objects or in arrow strings.

At a release's size (100M rows, 50k tasks) this is what decides whether the driver fits: the image
work files hold sha256 and pHash as 64- and 16-character hex strings (~110 B/row with their
offsets; a single arrow string array also stops at 2 GiB, ~33M sha256 values), while the decisions
need 32 + 8 bytes. Each task's file is converted right after it is read, several files at a time,
so at most a few raw tables exist at once. Rows keep task order, and within a task, file order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import REASON
from filters.image_views import VIEW_BYTES, VIEW_COUNT
from filters.plan import ROW, Task, WorkLayout
from manifests.parquet_io import read_table

T = TypeVar("T")
_NIBBLE = np.full(256, 255, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def each_task(tasks: list[Task], read: Callable[[Task], T], threads: int = 16) -> list[T]:
    """`read(task)` for every task, several at a time (object storage answers in tens of ms), in order."""
    if len(tasks) <= 1:
        return [read(t) for t in tasks]
    with ThreadPoolExecutor(max_workers=min(threads, len(tasks))) as pool:
        return list(pool.map(read, tasks))


def _concat(parts: list[dict[str, np.ndarray]], name: str, empty: np.ndarray) -> np.ndarray:
    arrays = [p[name] for p in parts]
    return np.concatenate(arrays) if arrays else empty


def sha256_bytes(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """(n, 32) uint8 digests of a column of 64-character hex strings (no nulls)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(arr)
    if n == 0:
        return np.zeros((0, 32), np.uint8)
    if arr.null_count:
        raise ValueError(f"sha256: {arr.null_count} null values in alive image rows")
    arr = arr.cast(pa.string())
    offsets = np.frombuffer(arr.buffers()[1], np.int32, count=arr.offset + n + 1)[arr.offset:]
    if (np.diff(offsets) != 64).any():
        raise ValueError("sha256: values that are not 64 hex characters")
    text = np.frombuffer(arr.buffers()[2], np.uint8, count=int(offsets[-1]))[int(offsets[0]):].reshape(n, 64)
    nib = _NIBBLE[text]
    if (nib == 255).any():
        raise ValueError("sha256: non-hex characters")
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


@dataclass(slots=True)
class TextColumns:
    """Every row of the text work files: 25 bytes per row."""

    task: np.ndarray  # int32
    row: np.ndarray  # int32
    cap_h: np.ndarray  # uint64
    url_h: np.ndarray  # uint64, 0 without a valid URL
    alive: np.ndarray  # bool: no per-row text filter rejected it


def text_columns(tasks: list[Task], layout: WorkLayout) -> TextColumns:
    def read(t: Task) -> dict[str, np.ndarray]:
        table = read_table(layout.text(t.task_id), columns=[ROW, "cap_h", "url_h", REASON])
        return {"task": np.full(table.num_rows, t.task_id, np.int32),
                "row": table.column(ROW).to_numpy().astype(np.int32, copy=False),
                "cap_h": table.column("cap_h").to_numpy().astype(np.uint64, copy=False),
                "url_h": table.column("url_h").fill_null(0).to_numpy().astype(np.uint64, copy=False),
                "alive": pc.is_null(table.column(REASON)).to_numpy(zero_copy_only=False)}

    parts = each_task(tasks, read)
    i32, u64 = np.zeros(0, np.int32), np.zeros(0, np.uint64)
    return TextColumns(_concat(parts, "task", i32), _concat(parts, "row", i32), _concat(parts, "cap_h", u64),
                       _concat(parts, "url_h", u64), _concat(parts, "alive", np.zeros(0, bool)))


@dataclass(slots=True)
class ImageColumns:
    """The alive rows of the image work files, with their key from the text work file: 64 + 8 x VIEW_COUNT
    bytes per row."""

    task: np.ndarray  # int32
    row: np.ndarray  # int32
    key: np.ndarray  # uint64 (the key's value: the normalised URL's hash)
    sha256: np.ndarray  # (n, 32) uint8
    views: np.ndarray  # (n, VIEW_COUNT) uint64: the image's view hashes (filters.image_views)
    tone: np.ndarray  # uint64: the image's tone word (filters.image_tone)
    area: np.ndarray  # int64, pixels

    def __len__(self) -> int:
        return len(self.key)


def views_matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """(rows, VIEW_COUNT) uint64 from an image work file's `views` column (VIEW_BYTES per row)."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if values.null_count:
        raise RuntimeError(f"image work files: {values.null_count} alive rows without view hashes")
    if not len(values):
        return np.zeros((0, VIEW_COUNT), dtype=np.uint64)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1 + values.offset)
    start, stop = int(offsets[values.offset]), int(offsets[values.offset + len(values)])
    if stop - start != VIEW_BYTES * len(values):
        raise RuntimeError("image work files: view hashes of the wrong size (a work file of another version?)")
    data = np.frombuffer(values.buffers()[2], dtype=">u8", count=(stop - start) // 8, offset=start)
    return data.astype(np.uint64).reshape(len(values), VIEW_COUNT)  # the one copy: native byte order


def image_columns(tasks: list[Task], layout: WorkLayout) -> ImageColumns:
    def read(t: Task) -> dict[str, np.ndarray]:
        image = read_table(layout.image(t.task_id), columns=[ROW, REASON, "sha256", "views", "tone", "width",
                                                                 "height"])
        image = image.filter(pc.is_null(image.column(REASON)))
        text = read_table(layout.text(t.task_id), columns=[ROW, "url_h"])
        by_row = np.zeros(max(text.num_rows, 1), dtype=np.uint64)
        by_row[text.column(ROW).to_numpy()] = text.column("url_h").fill_null(0).to_numpy()
        rows = image.column(ROW).to_numpy().astype(np.int32, copy=False)
        area = pc.multiply(image.column("width").cast(pa.int64()), image.column("height").cast(pa.int64()))
        return {"task": np.full(len(rows), t.task_id, np.int32), "row": rows, "key": by_row[rows],
                "sha256": sha256_bytes(image.column("sha256")), "views": views_matrix(image.column("views")),
                "tone": image.column("tone").fill_null(0).to_numpy().astype(np.uint64, copy=False),
                "area": area.to_numpy().astype(np.int64, copy=False)}

    parts = each_task(tasks, read)
    i32, u64 = np.zeros(0, np.int32), np.zeros(0, np.uint64)
    return ImageColumns(_concat(parts, "task", i32), _concat(parts, "row", i32), _concat(parts, "key", u64),
                        _concat(parts, "sha256", np.zeros((0, 32), np.uint8)),
                        _concat(parts, "views", np.zeros((0, VIEW_COUNT), np.uint64)), _concat(parts, "tone", u64),
                        _concat(parts, "area", np.zeros(0, np.int64)))
