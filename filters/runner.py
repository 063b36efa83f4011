"""The filter stage on Ray Data: plans tasks, runs the per-task passes on task pools, makes the
global decisions on the driver from compact hashes, and sums the stats.

Each pass is `ray.data.from_items(tasks).map_batches(run_pass_batch, batch_format="pyarrow")` over a
task pool: a worker process loads a pass's models the first time it runs one of its tasks and keeps
them for the rest of the run (workers are reused across passes), and each task writes its result
atomically, so a re-run resumes where the last one stopped and the output never depends on the
number of workers.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from filters.base import DETAIL, REASON
from filters.global_text import decide_global_text
from filters.lexicon import check_categories
from filters.passes import ROW, TASK, FinalizePass, ImagePass, TextPass
from filters.plan import Task, WorkLayout, plan_tasks, prepare_work
from filters.references import Chunk, ReferenceHashes, ReferenceSet, hash_chunk, list_references, load_reference_hashes
from manifests.config import Config
from manifests.errors import UserError
from manifests.layout import FilteredDir
from manifests.parquet_io import existing_names, read_tables, write_json_atomic, write_parquet_atomic
from manifests.ray_session import ray_session
from manifests.stats import FilterStats
from manifests.storage import DataPath

log = logging.getLogger(__name__)

BACKPRESSURE_POLICIES = "backpressure_policies.enabled"  # a DataContext.set_config key of Ray Data
DECISIONS = pa.schema([(TASK, pa.int32()), (ROW, pa.int32()), (REASON, pa.string()), (DETAIL, pa.string())])


PASSES: dict[str, type[Any]] = {"text": TextPass, "image": ImagePass, "finalize": FinalizePass}

# The pass implementations loaded in this process (a Ray worker), for the run `_loaded_run`. Ray reuses
# a worker process for the tasks of every pass, so jieba, fastText and the Aho-Corasick automaton
# load once per worker and run, not once per pass, and no pass waits for new processes to start.
_loaded: dict[str, Any] = {}
_loaded_run: str | None = None


def _pass_impl(name: str, run_id: str, cfg: Config, layout: WorkLayout) -> Any:
    global _loaded_run
    if _loaded_run != run_id:  # another run in this Ray session: its models and downloader go
        for impl in _loaded.values():
            if hasattr(impl, "close"):
                impl.close()
        _loaded.clear()
        _loaded_run = run_id
    if name not in _loaded:
        _loaded[name] = PASSES[name](cfg, layout)
    return _loaded[name]


def run_pass_batch(batch: pa.Table, name: str, run_id: str, cfg: Config, layout: WorkLayout) -> pa.Table:
    """A Ray Data batch function: runs pass `name` on each task of `batch`, one summary row per task."""
    impl = _pass_impl(name, run_id, cfg, layout)
    out = []
    for row in batch.to_pylist():
        try:
            out.append({**impl.run(Task(**row)), "error": None})
        except UserError as exc:  # bad input (a corrupt part): the driver reports it as one line
            out.append({"task_id": row["task_id"], "stage": "", "rows": 0, "rejected": 0, "seconds": 0.0,
                        "error": str(exc)})
    return pa.Table.from_pylist(out)


@dataclass(slots=True)
class FilterRun:
    stats: FilterStats
    seconds: float
    tasks: int
    resumed_tasks: int
    phase_seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)  # one line each, for the command's summary


def _cluster_cpus() -> int:
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _warm_worker() -> int:
    """Imports what every pass needs (Ray Data's task machinery, pyarrow, the passes) in a worker."""
    import ray.data  # noqa: F401

    import filters.passes  # noqa: F401

    return os.getpid()


def _warm_workers(cpus: int) -> list[Any]:
    """One warm-up task per CPU, started as soon as Ray is up. Without them the first pass's tasks
    waited ~2 s for workers (Ray Data's own actors took the workers Ray had prestarted, so new ones
    had to start and import everything); with them the first task starts ~0.5 s into the pass."""
    import ray

    warm = ray.remote(num_cpus=1)(_warm_worker)
    return [warm.remote() for _ in range(cpus)]


def _run_pass(name: str, todo: list[Task], cfg: Config, layout: WorkLayout, run_id: str, concurrency: int,
              cpus_per_task: float = 1.0) -> None:
    if not todo:
        return
    import ray

    # Ray Data's backpressure policies guard the object store against a fast producer; here every task
    # returns one summary row and the pool size caps concurrency, so they only cost time: with them the
    # second task of each pass started ~1 s late (a 2 s pass of two workers took 3.1-3.3 s, without 2.1).
    ray.data.DataContext.get_current().set_config(BACKPRESSURE_POLICIES, [])
    ds = ray.data.from_items([asdict(t) for t in todo], override_num_blocks=len(todo))
    out = ds.map_batches(
        run_pass_batch,
        fn_kwargs={"name": name, "run_id": run_id, "cfg": cfg, "layout": layout},
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.TaskPoolStrategy(size=max(1, min(concurrency, len(todo)))),
        num_cpus=cpus_per_task,
    )
    rows = 0
    with tqdm(total=len(todo), desc=f"filter:{name}", unit="task", disable=None) as bar:
        for summary in out.iter_rows():
            if summary.get("error"):
                raise UserError(summary["error"])
            rows += int(summary["rows"])
            bar.set_postfix(rows=rows)
            bar.update(1)
    log.info("%s pass: %d tasks, %d rows", name, len(todo), rows)


def _global_text(tasks: list[Task], layout: WorkLayout, cfg: Config) -> None:
    paths = [layout.text(t.task_id) for t in tasks]
    frames = read_tables(paths, columns=[ROW, "cap_h", "url_h", REASON])
    task_ids = np.concatenate([np.full(f.num_rows, t.task_id, dtype=np.int32) for f, t in zip(frames, tasks,
                                                                                            strict=True)])
    cols = pa.concat_tables(frames)
    del frames
    rows = cols.column(ROW).to_numpy()
    url_h = cols.column("url_h").fill_null(0).to_numpy()
    alive = pc.is_null(cols.column(REASON)).to_numpy(zero_copy_only=False)
    cap_h = cols.column("cap_h").to_numpy()
    del cols

    def tie_breaker(positions: np.ndarray) -> list[tuple[str, str]]:
        wanted = pa.array(np.unique(url_h[positions]), pa.uint64())
        lookup: dict[tuple[int, int], tuple[str, str]] = {}
        subs = read_tables(paths, columns=[ROW, "page_url", "caption"], filters=pc.field("url_h").isin(wanted))
        for sub, t in zip(subs, tasks, strict=True):
            for r, page, cap in zip(sub.column(ROW).to_pylist(), sub.column("page_url").to_pylist(),
                                    sub.column("caption").to_pylist(), strict=True):
                lookup[(t.task_id, r)] = (page or "", cap or "")
        return [lookup[(int(task_ids[p]), int(rows[p]))] for p in positions.tolist()]

    decisions = decide_global_text(cap_h, url_h, alive, cfg.text.max_caption_repeats, tie_breaker)
    order = np.argsort(decisions.rows, kind="stable")
    pos = decisions.rows[order]
    table = pa.Table.from_arrays(
        [pa.array(task_ids[pos], pa.int32()), pa.array(rows[pos], pa.int32()),
         pa.array([decisions.reasons[i] for i in order], pa.string()),
         pa.array([decisions.details[i] for i in order], pa.string())],
        schema=DECISIONS,
    )
    write_parquet_atomic(table, layout.text_global)


def _reference_hashes(refs: ReferenceSet, layout: WorkLayout, cfg: Config) -> ReferenceHashes:
    """The `dedup.exclude` references' hashes: from the cache in `_work/`, else hashed by Ray tasks."""
    import ray

    task = ray.remote(num_cpus=1)(hash_chunk)

    def on_ray(chunks: list[Chunk]) -> list[pa.Table]:
        return ray.get([task.remote(c, cfg.storage, cfg.image.max_pixels) for c in chunks])

    return load_reference_hashes(refs, layout.references(refs.digest), cfg, on_ray)


def _dedup(tasks: list[Task], layout: WorkLayout, cfg: Config, refs: ReferenceHashes | None = None) -> None:
    """Exact and near-duplicate decisions over every alive image row, then contamination (`refs`),
    written as (task, row) decisions.

    Columns go to `decide_duplicates` as arrow/numpy arrays (never Python lists): ~25 bytes per row
    on the driver beyond the arrays read, instead of ~300.
    """
    from filters.dedup import decide_duplicates, format_keys

    frames = []
    tables = read_tables([layout.image(t.task_id) for t in tasks],
                         columns=[ROW, REASON, "sha256", "views", "width", "height"])
    for t, table in zip(tasks, tables, strict=True):
        table = table.filter(pc.is_null(table.column(REASON))).drop_columns([REASON])
        frames.append(table.append_column(TASK, pa.array(np.full(table.num_rows, t.task_id, np.int32))))
    alive = pa.concat_tables(frames) if frames else pa.table({})
    if alive.num_rows == 0:
        write_parquet_atomic(DECISIONS.empty_table(), layout.dedup)
        return
    area = pc.multiply(alive.column("width").cast(pa.int64()), alive.column("height").cast(pa.int64())).to_numpy()
    result = decide_duplicates(
        keys=_keys_for(alive, layout),
        sha256=alive.column("sha256").combine_chunks(),
        phash=_views_matrix(alive.column("views")),
        area=area,
        max_distance=cfg.dedup.phash_max_distance,
        near=cfg.dedup.near_duplicates,
        references=refs.hashes if refs is not None and len(refs.hashes) else None,
        reference_ids=refs.ids if refs is not None and len(refs.hashes) else None,
    )
    rejected = np.flatnonzero(~result.keep_mask)
    # The detail names the member that is finally kept (an exact copy's kept twin may itself be a
    # near duplicate of a larger image); a contaminated row's names its reference image.
    survivors = format_keys(result.keys[result.survivor_index()[rejected]]).astype(object)
    if len(result.contaminated_rows):
        at = np.searchsorted(rejected, result.contaminated_rows)
        survivors[at] = [refs.names[i] for i in result.contaminated_refs.tolist()]  # type: ignore[union-attr]
    table = pa.Table.from_arrays(
        [alive.column(TASK).take(rejected), alive.column(ROW).take(rejected),
         pa.array(result.reasons()[rejected].tolist(), pa.string()), pa.array(survivors.tolist(), pa.string())],
        schema=DECISIONS,
    )
    write_parquet_atomic(table, layout.dedup)


def _views_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """(rows, VIEW_COUNT) uint64 from the image work files' `views` column (VIEW_BYTES per row)."""
    from filters.image_views import VIEW_BYTES, VIEW_COUNT

    values = column.combine_chunks()
    if values.null_count:
        raise RuntimeError(f"image work files: {values.null_count} alive rows without view hashes")
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1 + values.offset)
    start, stop = int(offsets[values.offset]), int(offsets[values.offset + len(values)])
    if stop - start != VIEW_BYTES * len(values):
        raise RuntimeError("image work files: view hashes of the wrong size (a work file of another version?)")
    if not len(values):
        return np.zeros((0, VIEW_COUNT), dtype=np.uint64)
    data = np.frombuffer(values.buffers()[2], dtype=">u8", count=(stop - start) // 8, offset=start)
    return data.astype(np.uint64).reshape(len(values), VIEW_COUNT)  # the one copy: native byte order


def _keys_for(alive: pa.Table, layout: WorkLayout) -> np.ndarray:
    """The uint64 key of each alive image row (in `alive`'s order), looked up in its task's text work file."""
    out = np.zeros(alive.num_rows, dtype=np.uint64)
    task_col = alive.column(TASK).to_numpy()
    row_col = alive.column(ROW).to_numpy()
    task_ids = [int(t) for t in np.unique(task_col)]
    texts = read_tables([layout.text(t) for t in task_ids], columns=[ROW, "url_h"])
    for task_id, text in zip(task_ids, texts, strict=True):
        by_row = np.zeros(text.num_rows, dtype=np.uint64)
        by_row[text.column(ROW).to_numpy()] = text.column("url_h").fill_null(0).to_numpy()
        sel = task_col == task_id
        out[sel] = by_row[row_col[sel]]
    return out


def collect_stats(layout: WorkLayout, tasks: list[Task]) -> FilterStats:
    stats = FilterStats()
    kept = read_tables([layout.kept(t.task_id) for t in tasks], columns=[])
    rejected = read_tables([layout.rejected(t.task_id) for t in tasks], columns=[REASON])
    for t, k, r in zip(tasks, kept, rejected, strict=True):
        stats = stats + FilterStats(t.rows, k.num_rows, Counter(r.column(REASON).to_pylist()))
    return stats


def run_filter(in_dir: DataPath, out_dir: DataPath, cfg: Config) -> FilterRun:
    """Runs the whole filter stage; resumes from `out_dir/_work` when the input is unchanged.

    Either folder may be on object storage (a `UPath`): tasks then read and write there directly.
    """
    started = time.perf_counter()
    check_categories(cfg.text.sensitive_categories)  # a misspelt category fails here, before Ray starts
    tasks = plan_tasks(in_dir, cfg.ray.rows_per_task, cfg.storage)
    # references listed and checked before Ray starts (one-line errors); their digest guards resume
    refs = list_references(cfg.dedup.exclude, cfg.storage) if cfg.dedup.exclude else None
    layout = WorkLayout(FilteredDir(out_dir))
    prepare_work(layout, tasks, cfg, references_digest=refs.digest if refs is not None else None)
    notes: list[str] = []

    def missing(folder: DataPath, path_of: Any) -> list[Task]:
        """The tasks whose file in `folder` does not exist yet (one listing, not one request per task)."""
        names = existing_names(folder)
        return [t for t in tasks if path_of(t.task_id).name not in names]

    def unfinished() -> list[Task]:
        absent = {t.task_id for t in missing(layout.out.kept, layout.kept)}
        absent |= {t.task_id for t in missing(layout.out.rejected, layout.rejected)}
        return [t for t in tasks if t.task_id in absent]

    done_before = len(tasks) - len(unfinished())
    phases: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> None:
        t0 = time.perf_counter()
        fn(*args)
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0

    run_id = uuid.uuid4().hex
    with ray_session(cfg):
        import ray

        cpus = _cluster_cpus()
        ray.get(_warm_workers(cpus))
        phases["ray_start"] = time.perf_counter() - started  # Ray up, and a warm worker per CPU
        timed("text", _run_pass, "text", missing(layout.text_dir, layout.text), cfg, layout, run_id, cpus)
        timed("global_text", _global_text, tasks, layout, cfg)
        # One image task per CPU by default: each overlaps its downloads with its decoding.
        pool = cfg.ray.download_actors or cpus
        timed("download_image", _run_pass, "image", missing(layout.image_dir, layout.image), cfg, layout, run_id,
              pool, max(0.25, cpus / pool))
        ref_hashes = None
        if refs is not None:
            t0 = time.perf_counter()
            ref_hashes = _reference_hashes(refs, layout, cfg)
            phases["references"] = time.perf_counter() - t0
            notes.append(_references_note(ref_hashes))
        timed("dedup", _dedup, tasks, layout, cfg, ref_hashes)
        timed("finalize", _run_pass, "finalize", unfinished(), cfg, layout, run_id, cpus)
    log.info("filter phases: %s", ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))
    stats = collect_stats(layout, tasks)
    if not stats.balanced:
        raise RuntimeError(f"accounting broken: {stats.to_dict()}")
    write_json_atomic(stats.to_dict(), layout.out.stats)
    return FilterRun(stats, time.perf_counter() - started, len(tasks), done_before, phases, notes)


def _references_note(refs: ReferenceHashes) -> str:
    line = f"dedup.exclude: {len(refs.names):,} reference images hashed"
    if refs.unreadable:
        shown = ", ".join(f"{name} ({why})" for name, why in refs.unreadable[:3])
        line += f"; {len(refs.unreadable):,} unreadable: {shown}" + (" ..." if len(refs.unreadable) > 3 else "")
    return line
