"""Where the filter passes run: Ray (a cluster, a running session, or an embedded local Ray), or a
few local worker processes when the input is small and no cluster is set.

Both executors run the same pass code, one task at a time per worker, each worker keeping a pass's
models for the rest of the run (`pass_impl`). Each task writes its files atomically, so a task run
twice (a retry after a worker died, a resumed run) writes the same bytes, and the output never
depends on the executor or the number of workers.

The choice (`choose_executor`) is automatic and logged: Ray when a cluster address is set, when a
Ray session already runs in this process, or when the input has more than `ray.local_max_rows`
rows; local worker processes otherwise. An embedded Ray costs several seconds to start, warm and
shut down (BENCHMARKS.md, "Fixed cost"), which a small input never earns back on one machine. Where
the input is one task, the driver runs it, with helper processes on the CPUs it leaves spare
(`TaskHelpers`: image chunks and the finalize pass).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, Protocol, TypeVar

import pyarrow as pa

from filters.plan import Task, WorkLayout
from manifests.arrow_init import prepare_arrow
from manifests.config import Config
from manifests.errors import UserError
from manifests.local_pool import spawn_pool, submit_or_failed
from manifests.ray_session import cluster_address, ray_session

log = logging.getLogger(__name__)

# The pass classes by name, in `filters.passes`: imported where a pass first runs (a worker, a helper, the
# driver running a task), so a driver starts its workers before it spends 0.3 s importing them itself.
PASSES = {"text": "TextPass", "image": "ImagePass", "finalize": "FinalizePass"}
# A helper process for the driver's one task per this many of its rows (at most one per spare CPU):
# starting one costs about a CPU-second (BENCHMARKS.md, "Fixed cost, sixteenth session"), spent on a core the driver
# leaves idle while it loads its models.
ROWS_PER_HELPER = 1000
TASK_RETRIES = 3  # runs of a Ray task whose worker died (killed, out of memory) before the pass fails
LOCAL_RETRIES = 3  # restarts of the local pool after a worker died (Ray retries a task the same way)
OnTask = Callable[[dict[str, Any]], None]
T = TypeVar("T")

# The pass implementations loaded in this process (a worker), for the run `_loaded_run`: a worker runs
# tasks of every pass, so jieba, fastText and the Aho-Corasick automaton load once per worker and run.
_loaded: dict[str, Any] = {}
_loaded_run: str | None = None


def pass_impl(name: str, run_id: str, cfg: Config, layout: WorkLayout, threads: int = 1,
              helpers: TaskHelpers | None = None) -> Any:
    """Pass `name` as loaded in this process for run `run_id`; `threads`: CPUs this worker has to itself;
    `helpers`: spare local processes for the image pass's chunks (the driver's, when it runs the task)."""
    global _loaded_run
    prepare_arrow()  # a Ray worker's first call
    if _loaded_run != run_id:  # another run in this process: its models and downloader go
        release_passes()
        _loaded_run = run_id
    if name not in _loaded:
        if not _loaded and multiprocessing.parent_process() is not None:  # a local pool's worker: close the
            multiprocessing.util.Finalize(None, release_passes, exitpriority=10)  # downloader when it exits
        import filters.passes

        _loaded[name] = getattr(filters.passes, PASSES[name])(cfg, layout)
    if hasattr(_loaded[name], "decode_threads"):
        _loaded[name].decode_threads = threads
    if hasattr(_loaded[name], "helpers"):
        _loaded[name].helpers = helpers
    return _loaded[name]


def release_passes() -> None:
    for impl in _loaded.values():
        if hasattr(impl, "close"):
            impl.close()
    _loaded.clear()


def run_pass_task(row: dict[str, Any], name: str, run_id: str, cfg: Config, layout: WorkLayout,
                  threads: int = 1, helpers: TaskHelpers | None = None) -> dict[str, Any]:
    """Pass `name` on one task (a `Task` as a dict): its summary row, a bad input's error as a value."""
    try:
        return {**pass_impl(name, run_id, cfg, layout, threads, helpers).run(Task(**row)), "error": None}
    except UserError as exc:  # bad input (a corrupt part): the driver reports it as one line
        return {"task_id": row["task_id"], "stage": "", "rows": 0, "rejected": 0, "seconds": 0.0, "error": str(exc)}


def warm_worker(run_id: str | None = None, cfg: Config | None = None, layout: WorkLayout | None = None) -> int:
    """Imports what every pass needs in a worker; with a run, also loads the text pass's models."""
    prepare_arrow()
    import filters.passes  # noqa: F401
    if run_id is not None and cfg is not None and layout is not None:
        pass_impl("text", run_id, cfg, layout)
    return os.getpid()


def warm_helper(run_id: str, cfg: Config, layout: WorkLayout) -> int:
    """In a helper: imports the passes, builds the image pass (downloader, image filter) and loads the
    finalize pass's models (the name masker's jieba) while the driver loads the text pass's."""
    prepare_arrow()
    pass_impl("image", run_id, cfg, layout)
    pass_impl("finalize", run_id, cfg, layout)
    return os.getpid()


def measure_image_chunk(rows: pa.ChunkedArray, urls: list[str], run_id: str, cfg: Config,
                        layout: WorkLayout) -> pa.Table:
    """In a helper: one chunk of the driver's image task, downloaded and measured."""
    return pass_impl("image", run_id, cfg, layout).measure_chunk(rows, urls)


def helper_processes(cpus: int, workers: int, rows: int) -> int:
    """Helper processes for a run: only where the driver runs the one task itself (one worker) on a
    machine with CPUs to spare, one per `ROWS_PER_HELPER` rows of it."""
    return max(0, min(cpus - 1, rows // ROWS_PER_HELPER)) if workers == 1 else 0


class TaskHelpers:
    """Spare local processes (spawned, children of the driver, which they watch) for the one task the
    driver runs: they download and measure chunks of its image pass (the chunks' tables are the same
    whoever measures them) and run its finalize pass. Started with the run, they import the passes
    and load the finalize pass's models while the driver loads the text pass's."""

    def __init__(self, processes: int, run_id: str, cfg: Config, layout: WorkLayout) -> None:
        self.processes = processes
        self.usable = True
        self.args = (run_id, cfg, layout)
        self.pool = spawn_pool(processes)

    def warm(self) -> None:
        for _ in range(self.processes):
            self.pool.submit(warm_helper, *self.args)

    def submit(self, rows: pa.ChunkedArray, urls: list[str]) -> Future[pa.Table]:
        """One image chunk on a helper (a future that fails with BrokenProcessPool where the helper died)."""
        return submit_or_failed(self.pool, measure_image_chunk, rows, urls, *self.args)

    def run_task(self, row: dict[str, Any], name: str) -> dict[str, Any] | None:
        """Pass `name` on one task on a helper: its summary, or None when the helper died (the caller
        runs it itself; the pass writes its files atomically, so nothing half-written is left)."""
        if not self.usable:
            return None
        try:
            return self.pool.submit(run_pass_task, row, name, *self.args).result()
        except BrokenProcessPool:
            log.warning("a helper process died; the %s pass runs in the driver", name)
            self.usable = False
            return None

    def close(self, cancel: bool) -> None:
        """Their work is done (or cancelled): they exit while the driver sums up (it joins them at its exit)."""
        self.pool.shutdown(wait=cancel, cancel_futures=cancel)


class PassExecutor(Protocol):
    name: str  # "ray" or "local"
    where: str  # for people: "Ray", "2 local worker processes", "the driver process"
    workers: int

    def run(self, name: str, todo: list[Task], concurrency: int, cpus_per_task: float, on_task: OnTask) -> None:
        """Runs pass `name` on every task of `todo`, `on_task(summary)` as each ends."""
        ...

    def call_each(self, fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
        """`fn(*args)` for each `args` of `calls` on the workers, the results in the order of `calls`."""
        ...


class RayPasses:
    """Each task of a pass a Ray task (`run_pass_task`), at most `concurrency` at once; Ray reuses its
    worker processes across passes, so the models a worker loaded stay loaded. A task whose worker
    died runs again (Ray's retries); its files are written atomically, so it writes the same bytes."""

    name = "ray"

    def __init__(self, run_id: str, cfg: Config, layout: WorkLayout) -> None:
        import ray

        self.run_id, self.cfg, self.layout = run_id, cfg, layout
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.where = "Ray"

    def warm(self) -> None:
        """One warm-up task per CPU: the workers import the passes and load the text models before the
        first pass needs them (start-up, not work, in the phase times)."""
        import ray

        remote = ray.remote(num_cpus=1)(warm_worker)
        ray.get([remote.remote(self.run_id, self.cfg, self.layout) for _ in range(self.workers)])

    def run(self, name: str, todo: list[Task], concurrency: int, cpus_per_task: float, on_task: OnTask) -> None:
        import ray

        remote = ray.remote(num_cpus=cpus_per_task, max_retries=TASK_RETRIES)(run_pass_task)
        args = (name, self.run_id, self.cfg, self.layout)
        waiting = [asdict(t) for t in reversed(todo)]
        running: list[Any] = []
        while waiting or running:
            while waiting and len(running) < max(1, concurrency):
                running.append(remote.remote(waiting.pop(), *args))
            done, running = ray.wait(running, num_returns=1)
            on_task(ray.get(done[0]))

    def call_each(self, fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
        import ray

        remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(fn)
        return ray.get([remote.remote(*args) for args in calls])


class LocalPasses:
    """Tasks on `workers` local processes (spawned, children of this driver, which they watch), or in
    this process when one worker is all the input needs. A worker that dies (killed, out of memory)
    breaks the pool: it is started again and the tasks that had not ended run again."""

    name = "local"

    def __init__(self, run_id: str, cfg: Config, layout: WorkLayout, workers: int, cpus: int = 1,
                 helpers: int = 0) -> None:
        self.run_id, self.cfg, self.layout, self.workers = run_id, cfg, layout, workers
        # CPUs each worker has to itself (fewer tasks than CPUs), the helpers' left out
        self.threads = max(1, cpus // (workers + helpers))
        self.pool = spawn_pool(workers) if workers > 1 else None
        self.helpers = TaskHelpers(helpers, run_id, cfg, layout) if helpers and self.pool is None else None
        self.where = f"{workers} local worker processes" if workers > 1 else "the driver process"
        if self.helpers is not None:
            self.where += f" and {helpers} helper process{'es' if helpers > 1 else ''}"
        self._warming: list[Future[int]] = []

    def warm(self) -> None:
        """Starts the workers and loads the text models in each, while the driver prepares the run."""
        args = (self.run_id, self.cfg, self.layout)
        if self.helpers is not None:
            self.helpers.warm()  # first: their start overlaps the driver's own loading
        if self.pool is None:
            warm_worker(*args)
        else:
            self._warming = [self.pool.submit(warm_worker, *args) for _ in range(self.workers)]

    def wait_warm(self) -> None:
        for future in self._warming:
            future.result()

    def run(self, name: str, todo: list[Task], concurrency: int, cpus_per_task: float, on_task: OnTask) -> None:
        if self.pool is None:
            args = (name, self.run_id, self.cfg, self.layout, self.threads, self.helpers)
            for task in todo:
                # The finalize pass on a helper, which loaded its models while this process loaded the text pass's.
                done = self.helpers.run_task(asdict(task), name) if self.helpers and name == "finalize" else None
                on_task(done if done is not None else run_pass_task(asdict(task), *args))
            return
        args = (name, self.run_id, self.cfg, self.layout, self.threads)
        left = {t.task_id: t for t in todo}
        for attempt in range(LOCAL_RETRIES + 1):
            futures = {self.pool.submit(run_pass_task, asdict(t), *args): t.task_id for t in left.values()}
            try:
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        summary = future.result()
                        del left[futures[future]]
                        on_task(summary)
                return
            except BrokenProcessPool:
                if attempt == LOCAL_RETRIES:
                    raise
                log.warning("a local filter worker died; restarting the pool for %d unfinished task(s)", len(left))
                self.pool.shutdown(wait=True, cancel_futures=True)
                self.pool = spawn_pool(self.workers)

    def call_each(self, fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
        if self.pool is None:
            return [fn(*args) for args in calls]
        return [f.result() for f in [self.pool.submit(fn, *args) for args in calls]]

    def close(self, cancel: bool) -> None:
        if self.helpers is not None:
            self.helpers.close(cancel)
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
        else:
            release_passes()


def choose_executor(cfg: Config, rows: int, tasks: int, force: str = "auto") -> tuple[str, int, str]:
    """("ray" or "local", local workers, why): local worker processes only on one machine with no Ray
    session in this process and at most `ray.local_max_rows` input rows ("ray" or "local" force one)."""
    if force not in ("auto", "ray", "local"):
        raise ValueError(f"unknown filter executor {force!r}")
    cpus = max(1, cfg.ray.num_cpus or os.cpu_count() or 1)
    if force != "auto":
        return force, max(1, min(cpus, tasks)) if force == "local" else 0, "chosen by the caller"
    if cluster_address(cfg):
        return "ray", 0, "a Ray cluster address is set"
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return "ray", 0, "a Ray session is running in this process"
    if rows > cfg.ray.local_max_rows:
        return "ray", 0, f"{rows:,} rows > ray.local_max_rows={cfg.ray.local_max_rows:,}"
    workers = max(1, min(cpus, tasks))
    return "local", workers, f"{rows:,} rows <= ray.local_max_rows={cfg.ray.local_max_rows:,}, no cluster"


@contextmanager
def pass_executor(cfg: Config, run_id: str, layout: WorkLayout, rows: int, tasks: int,
                  ready: Callable[[], None], force: str = "auto") -> Iterator[PassExecutor]:
    """The executor for this run, started and warm. `ready()` runs while it warms up (the driver's
    own preparation); the executor's workers are up and warm when the block starts."""
    kind, workers, why = choose_executor(cfg, rows, tasks, force)
    if kind == "ray":
        log.info("filter passes on Ray (%s)", why)
        with ray_session(cfg):
            executor = RayPasses(run_id, cfg, layout)
            ready()
            executor.warm()
            yield executor
        return
    cpus = max(1, cfg.ray.num_cpus or os.cpu_count() or 1)
    local = LocalPasses(run_id, cfg, layout, workers, cpus, helper_processes(cpus, workers, rows))
    log.info("filter passes on %s, no Ray (%s)", local.where, why)
    try:
        local.warm()
        ready()
        local.wait_warm()
        yield local
    except BaseException:
        local.close(cancel=True)
        raise
    local.close(cancel=False)
