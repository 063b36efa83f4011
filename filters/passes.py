"""The filter stage's per-task work, as plain functions (Ray actors in `runner` only wrap them).

1. `TextPass`: read the task's rows, normalise captions, per-row text filters, URL + key, opt-out lists.
2. (driver) caption frequency and URL dedup over all tasks -> `_work/text_global.parquet`.
3. `ImagePass`: download the rows still alive, decode and measure them.
4. (driver) exact and near-duplicate image dedup -> `_work/dedup.parquet`.
5. `FinalizePass`: merge every verdict, mask contacts and person names in kept captions (and in
   their raw form), write kept/rejected.
Every row of the input leaves step 5 exactly once, in kept or in rejected.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import DETAIL, REASON, apply_filters, ensure_verdict_columns
from filters.download import Downloader, FetchResult
from filters.global_text import caption_hash64
from filters.image import IMAGE_COLUMN, ImageFilter
from filters.mojibake import note_repairs
from filters.plan import ROW, TASK, Task, WorkLayout
from filters.url import UrlFilter
from manifests.config import Config, StorageConfig
from manifests.errors import UserError
from manifests.page_cache import drop_cached
from manifests.parquet_io import parquet_file, read_table, write_parquet_atomic
from manifests.schemas import CANDIDATE, REJECTED, SAMPLE
from manifests.storage import data_path

log = logging.getLogger(__name__)

IMAGE_WORK_COLUMNS = (ROW, REASON, DETAIL, IMAGE_COLUMN, "width", "height", "mime", "sha256", "phash", "views",
                      "tone")


def read_task_rows(task: Task, storage: StorageConfig | None = None) -> pa.Table:
    try:
        table = parquet_file(data_path(task.path, storage)).read(columns=CANDIDATE.names)
        table = table.slice(task.start, task.rows)
        return pa.Table.from_arrays([table.column(f.name).cast(f.type) for f in CANDIDATE], schema=CANDIDATE)
    except (pa.ArrowException, OSError) as exc:  # a part whose footer reads but whose pages do not
        raise UserError(f"{task.path}: corrupt parquet data ({str(exc).splitlines()[0][:200]})") from None


def _summary(task: Task, stage: str, rows: int, rejected: int, started: float) -> dict[str, Any]:
    return {"task_id": task.task_id, "stage": stage, "rows": rows, "rejected": rejected,
            "seconds": time.perf_counter() - started}


class TextPass:
    """Loads the text filters once (jieba, fastText, Aho-Corasick); runs them on one task at a time."""

    def __init__(self, cfg: Config, layout: WorkLayout) -> None:
        from filters.text_chain import normalize_captions, text_filters

        self.cfg = cfg
        self.layout = layout
        self._normalize = normalize_captions
        self.filters = [*text_filters(cfg), UrlFilter(cfg)]
        if cfg.privacy.opt_out_lists:  # before URL dedup, so before any download
            from filters.opt_out_list import OptOutListFilter

            self.filters.append(OptOutListFilter(cfg))

    def run(self, task: Task) -> dict[str, Any]:
        started = time.perf_counter()
        table = read_task_rows(task, self.cfg.storage)
        table = self._normalize(table, self.cfg.text.max_chars)
        table = ensure_verdict_columns(table)
        table = apply_filters(table, self.filters)
        if "url_h" not in table.column_names:  # every row was rejected before the URL step
            table = UrlFilter(self.cfg)(table)[0]
        caps = table.column("caption_norm").to_pylist()
        table = table.append_column("cap_h", pa.array([caption_hash64(c or "") for c in caps], pa.uint64()))
        table = table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int32)))
        write_parquet_atomic(table, self.layout.text(task.task_id))
        rejected = table.num_rows - pc.sum(pc.is_null(table.column(REASON))).as_py()
        return _summary(task, "text", table.num_rows, rejected, started)


def _task_decisions(path: Any, task_id: int) -> pa.Table:
    """The rows of one task in a driver-written decision file (task_id, row, reason, detail)."""
    return read_table(path, filters=[(TASK, "=", task_id)], columns=[ROW, REASON, DETAIL])


def _apply_decisions(table: pa.Table, decisions: pa.Table) -> pa.Table:
    """Sets reason/detail on the rows of `table` whose ROW value a decision names (alive rows only)."""
    if decisions.num_rows == 0 or table.num_rows == 0:
        return table
    row_values = table.column(ROW).to_numpy()
    position = np.full(int(row_values.max()) + 1, -1, dtype=np.int64)
    position[row_values] = np.arange(len(row_values))
    reason = table.column(REASON).to_pylist()
    detail = table.column(DETAIL).to_pylist()
    for r, why, det in zip(decisions.column(ROW).to_pylist(), decisions.column(REASON).to_pylist(),
                           decisions.column(DETAIL).to_pylist(), strict=True):
        i = int(position[r]) if 0 <= r < len(position) else -1
        if i >= 0 and reason[i] is None:
            reason[i] = why
            detail[i] = det
    table = table.set_column(table.schema.get_field_index(REASON), REASON, pa.array(reason, pa.string()))
    return table.set_column(table.schema.get_field_index(DETAIL), DETAIL, pa.array(detail, pa.string()))


def alive_rows(table: pa.Table) -> pa.Array:
    return pc.indices_nonzero(pc.is_null(table.column(REASON)))


class ChunkHelpers(Protocol):
    """Spare local processes that download and measure chunks of a task (`ImagePass.measure_chunk`)."""

    processes: int
    usable: bool  # False once one of them died: the rest of the task's chunks are measured here

    def submit(self, rows: pa.ChunkedArray, urls: list[str]) -> Future[pa.Table]:
        ...


class ImagePass:
    """Downloads and measures the rows that survived the text pass and the global text decisions.

    The task's URLs go to the downloader in chunks of `download.concurrency`, all submitted at once:
    while one chunk is decoded here, the downloader's loop thread fetches the next (Pillow releases
    the GIL while it decodes), so one worker per CPU keeps both the network and the CPU busy. A worker
    alone on several CPUs (a small input: one task on the driver) decodes `decode_threads` chunks at once,
    and where the executor gives it `helpers` (spare processes), they take chunks from the back of the
    task while it works from the front: one process's downloads and Python code hold its GIL.
    """

    def __init__(self, cfg: Config, layout: WorkLayout) -> None:
        self.cfg = cfg
        self.layout = layout
        self.downloader = Downloader(cfg.download)
        self.image_filter = ImageFilter(cfg)
        # Chunks measured at once: more than one only where this worker has CPUs to itself that no
        # other worker uses (the executor sets it; Pillow, hashlib and numpy release the GIL).
        self.decode_threads = 1
        self.helpers: ChunkHelpers | None = None  # set by the executor, as decode_threads

    def run(self, task: Task) -> dict[str, Any]:
        started = time.perf_counter()
        text = read_table(self.layout.text(task.task_id), columns=[ROW, "url", REASON, DETAIL])
        text = _apply_decisions(text, _task_decisions(self.layout.text_global, task.task_id))
        alive = text.take(alive_rows(text))
        rows, urls = alive.column(ROW), alive.column("url").to_pylist()
        step = max(1, self.cfg.download.concurrency)
        spans = [(start, min(start + step, len(urls))) for start in range(0, len(urls), step)]
        if self.helpers is not None and self.helpers.usable and len(spans) > 1:
            pieces = self._measure_shared(rows, urls, spans, self.helpers)
        else:
            pieces = self._measure_here(rows, urls, spans)
        table = pa.concat_tables(pieces) if pieces else self._measure(rows, [])
        write_parquet_atomic(table, self.layout.image(task.task_id))
        rejected = table.num_rows - (pc.sum(pc.is_null(table.column(REASON))).as_py() or 0)  # sum of nothing is null
        return _summary(task, "image", table.num_rows, rejected, started)

    def measure_chunk(self, rows: pa.ChunkedArray, urls: list[str]) -> pa.Table:
        """One chunk, downloaded and measured: its table depends only on its rows and their bodies."""
        return self._measure(rows, self.downloader.fetch_many(urls))

    def _measure_here(self, rows: pa.ChunkedArray, urls: list[str], spans: list[tuple[int, int]]) -> list[pa.Table]:
        chunks = [(start, end, self.downloader.submit_many(urls[start:end])) for start, end in spans]

        def measure(chunk: tuple[int, int, Future[list[FetchResult]]]) -> pa.Table:
            start, end, fetched = chunk
            return self._measure(rows.slice(start, end - start), fetched.result())

        if self.decode_threads > 1 and len(chunks) > 1:
            with ThreadPoolExecutor(max_workers=self.decode_threads) as pool:
                return list(pool.map(measure, chunks))  # in chunk order, as one thread would
        return [measure(chunk) for chunk in chunks]

    def _measure_shared(self, rows: pa.ChunkedArray, urls: list[str], spans: list[tuple[int, int]],
                        helpers: ChunkHelpers) -> list[pa.Table]:
        """The chunks from the front here (one measured while the next downloads) and from the back on
        the helpers (one each at a time), until the two meet; the pieces in chunk order, whoever measured
        them. A chunk whose helper died is measured here, and so is the rest of the task."""
        pieces: list[pa.Table | None] = [None] * len(spans)
        front, back = 0, len(spans) - 1

        def chunk(k: int) -> tuple[pa.ChunkedArray, list[str]]:
            start, end = spans[k]
            return rows.slice(start, end - start), urls[start:end]

        def measure_here(k: int, fetched: Future[list[FetchResult]]) -> tuple[int, pa.Table]:
            return k, self._measure(chunk(k)[0], fetched.result())

        there: dict[Future[pa.Table], int] = {}
        here: deque[tuple[int, Future[list[FetchResult]]]] = deque()
        measuring: Future[tuple[int, pa.Table]] | None = None
        helped = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure") as measurer:
            while True:
                while helpers.usable and len(there) < helpers.processes and front <= back:
                    there[helpers.submit(*chunk(back))] = back
                    back -= 1
                while len(here) + (measuring is not None) < 2 and front <= back:
                    here.append((front, self.downloader.submit_many(chunk(front)[1])))
                    front += 1
                if measuring is None and here:
                    measuring = measurer.submit(measure_here, *here.popleft())
                if measuring is None:
                    if not there:
                        break
                done, _ = wait([*there, *([measuring] if measuring is not None else [])],
                               return_when=FIRST_COMPLETED)
                if measuring is not None and measuring in done:
                    k, piece = measuring.result()
                    pieces[k] = piece
                    measuring = None
                for future in [f for f in there if f in done]:
                    k = there.pop(future)
                    try:
                        pieces[k] = future.result()
                    except BrokenProcessPool:
                        if helpers.usable:
                            log.warning("a helper process died; the image task's other chunks are measured here")
                        helpers.usable = False
                        here.append((k, self.downloader.submit_many(chunk(k)[1])))
                        continue
                    helped += 1
        log.info("image pass: %d of %d chunks measured on %d helper process(es)", helped, len(spans),
                 helpers.processes)
        assert all(piece is not None for piece in pieces)
        return pieces  # type: ignore[return-value]

    def _measure(self, rows: pa.ChunkedArray, results: list[FetchResult]) -> pa.Table:
        """The image work rows of one chunk: download verdicts, then the image filter on the bodies."""
        table = pa.table({
            ROW: rows,
            IMAGE_COLUMN: pa.array([r.data for r in results], pa.binary()),
            REASON: pa.array([r.reason for r in results], pa.string()),
            DETAIL: pa.array([r.detail for r in results], pa.string()),
        })
        table = apply_filters(table, [self.image_filter])
        for name, typ in (("width", pa.int32()), ("height", pa.int32()), ("mime", pa.string()),
                          ("sha256", pa.string()), ("phash", pa.string()), ("views", pa.binary()),
                          ("tone", pa.uint64())):
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, typ))
        # Bytes are kept only for rows that passed: a rejected body is never released.
        kept_mask = pc.is_null(table.column(REASON))
        image = pc.if_else(kept_mask, table.column(IMAGE_COLUMN), pa.scalar(None, pa.binary()))
        table = table.set_column(table.schema.get_field_index(IMAGE_COLUMN), IMAGE_COLUMN, image)
        return table.select(list(IMAGE_WORK_COLUMNS))

    def close(self) -> None:
        self.downloader.close()


class FinalizePass:
    """Merges all verdicts of a task, masks contacts and names in kept captions, writes kept/ and rejected/."""

    def __init__(self, cfg: Config, layout: WorkLayout) -> None:
        from filters.masking import CaptionMasking

        self.cfg = cfg
        self.layout = layout
        self.masking = CaptionMasking(cfg)

    def run(self, task: Task) -> dict[str, Any]:
        started = time.perf_counter()
        text = read_table(self.layout.text(task.task_id))
        text = _apply_decisions(text, _task_decisions(self.layout.text_global, task.task_id))
        image_path = self.layout.image(task.task_id)
        image = read_table(image_path) if image_path.exists() else None
        if image is not None:  # read once: its pages go to the kept part written below
            drop_cached(image_path)
        if image is not None and image.num_rows:
            image = _apply_decisions(image, _task_decisions(self.layout.dedup, task.task_id))
            text = _apply_decisions(text, image.select([ROW, REASON, DETAIL]).filter(
                pc.is_valid(image.column(REASON))))
        kept_text = text.take(alive_rows(text))
        # Key order (the kept part's order) before the images are taken: each image is copied once.
        kept_text = kept_text.take(pc.sort_indices(kept_text, [("key", "ascending")]))
        if image is not None and kept_text.num_rows:
            index = {r: i for i, r in enumerate(image.column(ROW).to_pylist())}
            image_kept = image.take(pa.array([index[r] for r in kept_text.column(ROW).to_pylist()], pa.int64()))
        else:
            image_kept = None
        kept = self._samples(kept_text, image_kept)
        text = note_repairs(text)  # a repaired caption rejected later says so in its detail
        rejected_rows = pc.indices_nonzero(pc.is_valid(text.column(REASON)))
        rejected = text.take(rejected_rows).select(REJECTED.names).cast(REJECTED)
        write_parquet_atomic(rejected, self.layout.rejected(task.task_id))
        write_parquet_atomic(kept, self.layout.kept(task.task_id))
        return _summary(task, "finalize", text.num_rows, rejected.num_rows, started)

    def _samples(self, text: pa.Table, image: pa.Table | None) -> pa.Table:
        if text.num_rows == 0 or image is None:
            return SAMPLE.empty_table()
        captions, raw = self.masking.mask(text.column("caption_norm"), text.column("caption"))
        columns = {
            "key": text.column("key"),
            "url": text.column("url"),
            "caption": captions,
            "caption_raw": raw,
            "page_url": text.column("page_url"),
            "query": text.column("query"),
            "source": text.column("source"),
            "width": image.column("width"),
            "height": image.column("height"),
            "sha256": image.column("sha256"),
            "phash": image.column("phash"),
            "image": image.column(IMAGE_COLUMN),
            "mime": image.column("mime"),
        }
        return pa.Table.from_arrays([columns[f.name] for f in SAMPLE], schema=SAMPLE)  # in key order: `run`
