"""Reading back the image bytes that the filter stage's image pass left in `_work/` (for reports).

The image pass keeps the downloaded bytes of every row that passed the image checks, so rows later
rejected as `duplicate_image` or `near_duplicate` still have theirs in `_work/image/task-N.parquet`;
rows rejected by the download or the image checks have none (their bodies are never stored). Task N
wrote `rejected/part-N.parquet`, so a rejected row's task is its part's number. Nothing here
downloads anything: when `_work/` is gone (deleted by hand), there are simply no bytes.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import pyarrow as pa
import pyarrow.compute as pc

from filters.image import IMAGE_COLUMN
from filters.plan import ROW, WorkLayout
from manifests.layout import FilteredDir
from manifests.parquet_io import read_table
from manifests.storage import DataPath

_PART = re.compile(r"^part-(\d+)\.parquet$")


def task_of_part(name: str) -> int | None:
    """The task that wrote `kept/` or `rejected/` part `name` (`part-00003.parquet` -> 3)."""
    m = _PART.match(name)
    return int(m.group(1)) if m else None


def downloaded_images(filtered: DataPath, task_id: int, keys: Collection[str]) -> dict[str, bytes]:
    """key -> the downloaded bytes, for those of `keys` whose image passed the image checks in task
    `task_id`; keys without bytes (or a task without work files) are absent from the result."""
    layout = WorkLayout(FilteredDir(filtered))
    text_path, image_path = layout.text(task_id), layout.image(task_id)
    if not keys or not text_path.is_file() or not image_path.is_file():
        return {}
    wanted = pa.array(sorted(set(keys)), pa.string())
    try:
        text = read_table(text_path, columns=["key", ROW])
        text = text.filter(pc.fill_null(pc.is_in(text.column("key"), value_set=wanted), False))
        if text.num_rows == 0:
            return {}
        images = read_table(image_path, columns=[ROW, IMAGE_COLUMN])
    except (pa.ArrowException, OSError, KeyError):  # a work file from another version, or torn: no bytes
        return {}
    images = images.filter(pc.and_(pc.is_in(images.column(ROW), value_set=text.column(ROW).combine_chunks()),
                                   pc.is_valid(images.column(IMAGE_COLUMN))))
    by_row = dict(zip(images.column(ROW).to_pylist(), images.column(IMAGE_COLUMN).to_pylist(), strict=True))
    out: dict[str, bytes] = {}
    for key, row in zip(text.column("key").to_pylist(), text.column(ROW).to_pylist(), strict=True):
        data = by_row.get(row)
        if data is not None:
            out[key] = data
    return out
