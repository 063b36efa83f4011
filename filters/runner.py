"""The filter stage: plans tasks, runs the per-task passes on an executor (Ray Data, or local worker
processes for a small input on one machine: `filters.executors`), makes the global decisions on the
driver from compact hashes, and sums the stats.

A worker loads a pass's models the first time it runs one of its tasks and keeps them for the rest
of the run (workers are reused across passes), and each task writes its result atomically, so a
re-run resumes where the last one stopped and the output never depends on the executor or the
number of workers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from filters.base import DETAIL, REASON
from filters.executors import PassExecutor, pass_executor
from filters.global_inputs import image_columns, text_columns
from filters.global_text import decide_global_text
from filters.lexicon import check_categories
from filters.plan import ROW, TASK, Task, WorkLayout, plan_tasks, prepare_work
from filters.references import Chunk, ReferenceHashes, ReferenceSet, hash_chunk, list_references, load_reference_hashes
from manifests.config import Config
from manifests.errors import UserError
from manifests.layout import FilteredDir
from manifests.parquet_io import existing_names, read_tables, write_json_atomic, write_parquet_atomic
from manifests.stats import FilterStats
from manifests.storage import DataPath

log = logging.getLogger(__name__)

DECISIONS = pa.schema([(TASK, pa.int32()), (ROW, pa.int32()), (REASON, pa.string()), (DETAIL, pa.string())])


@dataclass(slots=True)
class FilterRun:
    stats: FilterStats
    seconds: float
    tasks: int
    resumed_tasks: int
    phase_seconds: dict[str, float]
    executor: str = "ray"  # where the passes ran: "ray" or "local" (filters.executors)
    where: str = "Ray"  # the same for people: "Ray", "2 local worker processes", "the driver process"
    notes: list[str] = field(default_factory=list)  # one line each, for the command's summary


def _run_pass(executor: PassExecutor, name: str, todo: list[Task], concurrency: int,
              cpus_per_task: float = 1.0) -> None:
    if not todo:
        return
    rows = 0
    with tqdm(total=len(todo), desc=f"filter:{name}", unit="task", disable=None) as bar:

        def on_task(summary: dict[str, Any]) -> None:
            nonlocal rows
            if summary.get("error"):
                raise UserError(summary["error"])
            rows += int(summary["rows"])
            bar.set_postfix(rows=rows)
            bar.update(1)

        executor.run(name, todo, concurrency, cpus_per_task, on_task)
    log.info("%s pass: %d tasks, %d rows", name, len(todo), rows)


def _global_text(tasks: list[Task], layout: WorkLayout, cfg: Config) -> None:
    paths = [layout.text(t.task_id) for t in tasks]
    cols = text_columns(tasks, layout)
    task_ids, rows, url_h = cols.task, cols.row, cols.url_h

    def tie_breaker(positions: np.ndarray) -> list[tuple[str, str]]:
        wanted = pa.array(np.unique(url_h[positions]), pa.uint64())
        lookup: dict[tuple[int, int], tuple[str, str]] = {}
        subs = read_tables(paths, columns=[ROW, "page_url", "caption"], filters=pc.field("url_h").isin(wanted))
        for sub, t in zip(subs, tasks, strict=True):
            for r, page, cap in zip(sub.column(ROW).to_pylist(), sub.column("page_url").to_pylist(),
                                    sub.column("caption").to_pylist(), strict=True):
                lookup[(t.task_id, r)] = (page or "", cap or "")
        return [lookup[(int(task_ids[p]), int(rows[p]))] for p in positions.tolist()]

    decisions = decide_global_text(cols.cap_h, url_h, cols.alive, cfg.text.max_caption_repeats, tie_breaker)
    order = np.argsort(decisions.rows, kind="stable")
    pos = decisions.rows[order]
    table = pa.Table.from_arrays(
        [pa.array(task_ids[pos], pa.int32()), pa.array(rows[pos], pa.int32()),
         pa.array([decisions.reasons[i] for i in order], pa.string()),
         pa.array([decisions.details[i] for i in order], pa.string())],
        schema=DECISIONS,
    )
    write_parquet_atomic(table, layout.text_global)


def _reference_hashes(executor: PassExecutor, refs: ReferenceSet, layout: WorkLayout, cfg: Config) -> ReferenceHashes:
    """The `dedup.exclude` references' hashes: from the cache in `_work/`, else hashed on the executor."""

    def hash_all(chunks: list[Chunk]) -> list[pa.Table]:
        return executor.call_each(hash_chunk, [(c, cfg.storage, cfg.image.max_pixels) for c in chunks])

    return load_reference_hashes(refs, layout.references(refs.digest), cfg, hash_all)


def _dedup(tasks: list[Task], layout: WorkLayout, cfg: Config, refs: ReferenceHashes | None = None) -> None:
    """Exact and near-duplicate decisions over every alive image row, then contamination (`refs`),
    written as (task, row) decisions.

    The columns reach `decide_duplicates` as compact numpy arrays (`filters.global_inputs`: sha256 as
    raw digests, the image's view hashes as a matrix), and the decision adds ~18 bytes per row
    (bench/bench_driver.py).
    """
    from filters.dedup import decide_duplicates, format_keys

    alive = image_columns(tasks, layout)
    if len(alive) == 0:
        write_parquet_atomic(DECISIONS.empty_table(), layout.dedup)
        return
    with_refs = refs is not None and len(refs.hashes) > 0
    result = decide_duplicates(keys=alive.key, sha256=alive.sha256, phash=alive.views, area=alive.area, tone=alive.tone,
                               max_distance=cfg.dedup.phash_max_distance, near=cfg.dedup.near_duplicates,
                               references=refs.hashes if with_refs else None,  # type: ignore[union-attr]
                               reference_ids=refs.ids if with_refs else None)  # type: ignore[union-attr]
    rejected = np.flatnonzero(~result.keep_mask)
    # The detail names the member that is finally kept (an exact copy's kept twin may itself be a
    # near duplicate of a larger image); a contaminated row's names its reference image.
    survivors = format_keys(result.keys[result.survivor_index()[rejected]]).astype(object)
    if len(result.contaminated_rows):
        at = np.searchsorted(rejected, result.contaminated_rows)
        survivors[at] = [refs.names[i] for i in result.contaminated_refs.tolist()]  # type: ignore[union-attr]
    table = pa.Table.from_arrays(
        [pa.array(alive.task[rejected], pa.int32()), pa.array(alive.row[rejected], pa.int32()),
         pa.array(result.reasons()[rejected].tolist(), pa.string()), pa.array(survivors.tolist(), pa.string())],
        schema=DECISIONS,
    )
    write_parquet_atomic(table, layout.dedup)


def collect_stats(layout: WorkLayout, tasks: list[Task]) -> FilterStats:
    stats = FilterStats()
    kept = read_tables([layout.kept(t.task_id) for t in tasks], columns=[])
    rejected = read_tables([layout.rejected(t.task_id) for t in tasks], columns=[REASON])
    for t, k, r in zip(tasks, kept, rejected, strict=True):
        stats = stats + FilterStats(t.rows, k.num_rows, Counter(r.column(REASON).to_pylist()))
    return stats


def run_filter(in_dir: DataPath, out_dir: DataPath, cfg: Config, executor: str = "auto") -> FilterRun:
    """Runs the whole filter stage; resumes from `out_dir/_work` when the input is unchanged.

    Either folder may be on object storage (a `UPath`): tasks then read and write there directly.
    `executor` picks where the passes run (`filters.executors.choose_executor`: auto, ray or local).
    """
    started = time.perf_counter()
    check_categories(cfg.text.sensitive_categories)  # a misspelt category fails here, before Ray starts
    tasks = plan_tasks(in_dir, cfg.ray.rows_per_task, cfg.storage)
    # references listed and checked before any worker starts (one-line errors); their digest guards resume
    refs = list_references(cfg.dedup.exclude, cfg.storage) if cfg.dedup.exclude else None
    layout = WorkLayout(FilteredDir(out_dir))
    notes: list[str] = []

    def missing(folder: DataPath, path_of: Any) -> list[Task]:
        """The tasks whose file in `folder` does not exist yet (one listing, not one request per task)."""
        names = existing_names(folder)
        return [t for t in tasks if path_of(t.task_id).name not in names]

    def unfinished() -> list[Task]:
        absent = {t.task_id for t in missing(layout.out.kept, layout.kept)}
        absent |= {t.task_id for t in missing(layout.out.rejected, layout.rejected)}
        return [t for t in tasks if t.task_id in absent]

    phases: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> None:
        t0 = time.perf_counter()
        fn(*args)
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0

    run_id = uuid.uuid4().hex
    rows = sum(t.rows for t in tasks)
    refs_digest = refs.digest if refs is not None else None
    with pass_executor(cfg, run_id, layout, rows, len(tasks),
                       lambda: prepare_work(layout, tasks, cfg, references_digest=refs_digest), executor) as passes:
        # Start-up: Ray up (or the local workers), a warm worker per CPU, and the driver's preparation.
        phases["startup"] = time.perf_counter() - started
        cpus = passes.workers
        done_before = len(tasks) - len(unfinished())
        timed("text", _run_pass, passes, "text", missing(layout.text_dir, layout.text), cpus)
        timed("global_text", _global_text, tasks, layout, cfg)
        # One image task per CPU by default: each overlaps its downloads with its decoding.
        pool = cfg.ray.download_actors or cpus
        timed("download_image", _run_pass, passes, "image", missing(layout.image_dir, layout.image), pool,
              max(0.25, cpus / pool))
        ref_hashes = None
        if refs is not None:
            t0 = time.perf_counter()
            ref_hashes = _reference_hashes(passes, refs, layout, cfg)
            phases["references"] = time.perf_counter() - t0
            notes.append(_references_note(ref_hashes))
        timed("dedup", _dedup, tasks, layout, cfg, ref_hashes)
        timed("finalize", _run_pass, passes, "finalize", unfinished(), cpus)
        executor_name, where = passes.name, passes.where
        stopping = time.perf_counter()
    phases["shutdown"] = time.perf_counter() - stopping  # Ray's processes (or the local workers) exit
    log.info("filter phases: %s", ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))
    stats = collect_stats(layout, tasks)
    if not stats.balanced:
        raise RuntimeError(f"accounting broken: {stats.to_dict()}")
    write_json_atomic(stats.to_dict(), layout.out.stats)
    return FilterRun(stats, time.perf_counter() - started, len(tasks), done_before, phases, executor_name, where,
                     notes)


def _references_note(refs: ReferenceHashes) -> str:
    line = f"dedup.exclude: {len(refs.names):,} reference images hashed"
    if refs.unreadable:
        shown = ", ".join(f"{name} ({why})" for name, why in refs.unreadable[:3])
        line += f"; {len(refs.unreadable):,} unreadable: {shown}" + (" ..." if len(refs.unreadable) > 3 else "")
    return line
