"""A pool of local worker processes for a stage's tasks on one machine (no Ray): spawned fresh (never
a fork of a driver that runs threads), children of the driver, which they watch."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from manifests.arrow_init import prepare_arrow

T = TypeVar("T")


def _init_worker(driver_pid: int) -> None:
    """In pool workers: Ctrl-C is the driver's to handle (a worker finishes its task and exits when the
    driver shuts the pool down), and a worker whose driver died (kill -9) exits within half a second
    instead of waiting forever for work; files appear atomically either way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prepare_arrow()

    def watch() -> None:
        while os.getppid() == driver_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="driver-watch", daemon=True).start()


def spawn_pool(processes: int) -> ProcessPoolExecutor:
    """`processes` local workers; they start on the first submitted call."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_init_worker,
                               initargs=(os.getpid(),))


def submit_or_failed(pool: ProcessPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[T]:
    """`pool.submit(fn, *args)`; where a worker of the pool has died already, a future that failed with
    BrokenProcessPool, as one whose worker dies later does: the caller handles both where it reads the result."""
    try:
        return pool.submit(fn, *args)
    except BrokenProcessPool as exc:
        failed: Future[T] = Future()
        failed.set_exception(exc)
        return failed
