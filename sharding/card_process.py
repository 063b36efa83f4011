"""The dataset card's distributions (`sharding.card.distributions`: jieba over every caption) measured
beside the shard writes. In a thread of the driver they share its GIL with the writes; where the
driver writes the release itself (`InlineTasks`) on a machine with a CPU to spare, a helper process
measures them instead: it starts and loads jieba's dictionary while the driver indexes the kept parts.
A helper that dies leaves the measuring to the driver."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import pyarrow as pa

from manifests.jieba_dict import load_tokenizer
from manifests.local_pool import spawn_pool, submit_or_failed
from sharding.card import distributions

log = logging.getLogger(__name__)

# A helper costs about half a CPU-second to start (Python, the card's imports): it pays where the card's
# jieba (its dictionary 0.25 s, then ~1 CPU-s per 35,000 captions) would hold the driver's GIL that long.
HELPER_MIN_PAIRS = 1000


def _warm() -> int:
    load_tokenizer()
    return os.getpid()


class CardMeasure:
    """`submit(card)` starts measuring; `result()` of what it returned gives the markdown."""

    def __init__(self, helper: bool) -> None:
        self.pool = spawn_pool(1) if helper else None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="card")
        if self.pool is not None:
            self.pool.submit(_warm)
            log.info("the dataset card is measured in a helper process (this process writes the release)")

    def submit(self, card: pa.Table) -> Future[str]:
        if self.pool is None:
            return self.thread.submit(distributions, card)
        return self.thread.submit(self._or_here, submit_or_failed(self.pool, distributions, card), card)

    @staticmethod
    def _or_here(helped: Future[str], card: pa.Table) -> str:
        try:
            return helped.result()
        except BrokenProcessPool:
            log.warning("the dataset card's helper process died; the driver measures the card")
            return distributions(card)

    def close(self, cancel: bool) -> None:
        self.thread.shutdown(wait=True, cancel_futures=cancel)
        if self.pool is not None:
            self.pool.shutdown(wait=cancel, cancel_futures=cancel)


@contextmanager
def card_measure(helper: bool) -> Iterator[Callable[[pa.Table], Future[str]]]:
    """`submit(card)`: the card measured in a helper process (`helper`) or on a thread of this one."""
    measure = CardMeasure(helper)
    try:
        yield measure.submit
    except BaseException:
        measure.close(cancel=True)
        raise
    measure.close(cancel=False)
