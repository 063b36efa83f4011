"""Running a function as Ray tasks over a list of argument tuples, with a tqdm bar, results in order;
and small I/O-bound calls on a thread pool."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def run_tasks(fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], desc: str, unit: str = "task",
              progress: bool = True, on_result: Callable[[T, tqdm], None] | None = None) -> list[T]:
    """Submits `fn(*args)` for every tuple as a 1-CPU Ray task; returns the results in call order.

    Tasks return errors as values; an exception escaping a task is a bug and propagates.
    """
    import ray

    if not calls:
        return []
    remote = ray.remote(num_cpus=1)(fn)
    refs = [remote.remote(*args) for args in calls]
    position = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    pending = list(refs)
    with tqdm(total=len(refs), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                result = ray.get(ref)
                results[position[ref]] = result
                bar.update(1)
                if on_result is not None:
                    on_result(result, bar)
    return results


def thread_map(fn: Callable[[Any], T], items: Sequence[Any], threads: int = 16) -> list[T]:
    """`fn` over `items` on a thread pool, results in order: the driver's many small reads and
    deletes (stats files, sidecars), which cost a round trip each on object storage."""
    from concurrent.futures import ThreadPoolExecutor

    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))
