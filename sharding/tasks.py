"""Running the shard stage's tasks: a function over a list of argument tuples, with a tqdm bar,
results in call order; and small I/O-bound calls on a thread pool.

Three runners with one interface. `RayTasks` submits 1-CPU Ray tasks: the stage uses it when it joins
a Ray cluster (`RAY_ADDRESS` or `ray.address`) or a Ray session already running in the process.
`LocalTasks` runs them on a pool of local processes, one per CPU: on one machine it does the same
work without Ray's start-up and shutdown (about 4 s of the stage's 9 s on 13,814 pairs).
`InlineTasks` runs them in the driver, for a small release (`shard.inline_max_mb` of kept parts: two
spawned workers cost ~1.1 CPU-s to start, and writing 256 MB of tars ~1.5 CPU-s, which they would halve).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from tqdm import tqdm

from manifests.arrow_init import prepare_arrow
from manifests.config import Config
from manifests.local_pool import spawn_pool
from manifests.ray_session import cluster_address, ray_session

T = TypeVar("T")
log = logging.getLogger(__name__)
OnResult = Callable[[Any, tqdm], None]


class TaskRunner(Protocol):
    name: str

    def run(self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], desc: str, unit: str = "task",
            progress: bool = True, on_result: OnResult | None = None) -> list[T]:
        """`fn(*args)` for every tuple, in parallel; the results in call order. Tasks return errors as
        values; an exception escaping a task is a bug and propagates."""
        ...


def _bar(total: int, desc: str, unit: str, progress: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)


def _gather(handles: list[Any], next_done: Callable[[list[Any]], tuple[Any, list[Any]]],
            result_of: Callable[[Any], Any], desc: str, unit: str, progress: bool,
            on_result: OnResult | None) -> list[Any]:
    """The results of `handles` (Ray object refs or futures) in their order, collected as each
    finishes (`next_done` splits finished from pending), with a progress bar and `on_result`."""
    position = {h: i for i, h in enumerate(handles)}
    results: list[Any] = [None] * len(handles)
    pending = list(handles)
    with _bar(len(handles), desc, unit, progress) as bar:
        while pending:
            done, pending = next_done(pending)
            for handle in sorted(done, key=position.__getitem__):
                results[position[handle]] = result = result_of(handle)
                bar.update(1)
                if on_result is not None:
                    on_result(result, bar)
    return results


def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a Ray worker, after the set-up every process of the stages gets first."""
    prepare_arrow()
    return fn(*args)


class RayTasks:
    """Each call a 1-CPU Ray task, on whichever node of the session has a free CPU."""

    name = "Ray tasks"

    def run(self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], desc: str, unit: str = "task",
            progress: bool = True, on_result: OnResult | None = None) -> list[T]:
        import ray

        if not calls:
            return []
        remote = ray.remote(num_cpus=1)(_in_worker)
        refs = [remote.remote(fn, *args) for args in calls]
        return _gather(refs, lambda pending: ray.wait(pending, num_returns=1), ray.get, desc, unit, progress,
                       on_result)


class LocalTasks:
    """Calls on a pool of `processes` local worker processes, started fresh (spawn: never a fork of a
    driver that runs threads) as children of the driver, so that they can watch it."""

    name = "local worker processes"

    def __init__(self, processes: int) -> None:
        self.pool = spawn_pool(processes)
        for started in [self.pool.submit(os.getpid) for _ in range(processes)]:  # the workers up and imported
            started.result()

    def run(self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], desc: str, unit: str = "task",
            progress: bool = True, on_result: OnResult | None = None) -> list[T]:
        if not calls:
            return []
        futures: list[Future[T]] = [self.pool.submit(fn, *args) for args in calls]

        def next_done(pending: list[Future[T]]) -> tuple[Any, list[Future[T]]]:
            done, still = wait(pending, return_when=FIRST_COMPLETED)
            return done, list(still)

        return _gather(futures, next_done, lambda future: future.result(), desc, unit, progress, on_result)

    def close(self, cancel: bool) -> None:
        self.pool.shutdown(wait=True, cancel_futures=cancel)


class InlineTasks:
    """The calls one after another in this process: for a release small enough that starting worker
    processes costs more than it saves."""

    name = "this process"

    def run(self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], desc: str, unit: str = "task",
            progress: bool = True, on_result: OnResult | None = None) -> list[T]:
        results: list[T] = []
        with _bar(len(calls), desc, unit, progress) as bar:
            for args in calls:
                results.append(result := fn(*args))
                bar.update(1)
                if on_result is not None:
                    on_result(result, bar)
        return results


def local_processes(cfg: Config) -> int:
    return max(1, cfg.ray.num_cpus or os.cpu_count() or 1)


@contextmanager
def task_runner(cfg: Config, backend: str = "auto", input_bytes: int | None = None) -> Iterator[TaskRunner]:
    """`RayTasks` on a cluster or in a running Ray session; else `InlineTasks` for an input of at most
    `shard.inline_max_mb` (`input_bytes`, when known), else `LocalTasks` ("ray", "local" or "inline" force one)."""
    if backend not in ("auto", "ray", "local", "inline"):
        raise ValueError(f"unknown task backend {backend!r}")
    if backend == "auto":
        ray = sys.modules.get("ray")  # a session in this process means ray was imported
        if bool(cluster_address(cfg)) or (ray is not None and ray.is_initialized()):
            backend = "ray"
        elif input_bytes is not None and input_bytes <= cfg.shard.inline_max_mb * 10**6:
            backend = "inline"
            log.info("shard tasks in this process: %.1f MB of kept parts (<= shard.inline_max_mb=%d: worker "
                     "processes would cost more than they save)", input_bytes / 1e6, cfg.shard.inline_max_mb)
        else:
            backend = "local"
    if backend == "inline":
        yield InlineTasks()
        return
    if backend == "ray":
        with ray_session(cfg):
            yield RayTasks()
        return
    runner = LocalTasks(local_processes(cfg))
    try:
        yield runner
    except BaseException:
        runner.close(cancel=True)  # the tasks still queued never start; running ones finish
        raise
    runner.close(cancel=False)


def thread_map(fn: Callable[[Any], T], items: Sequence[Any], threads: int = 16) -> list[T]:
    """`fn` over `items` on a thread pool, results in order: the driver's many small reads and
    deletes (stats files, sidecars), which cost a round trip each on object storage."""
    from concurrent.futures import ThreadPoolExecutor

    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))
