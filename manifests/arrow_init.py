"""What each process of the stages sets up for pyarrow before its first call: `prepare_arrow`.

1. Transparent huge pages off for the process and the processes it starts (`no_transparent_huge_pages`).
   pyarrow 26's allocator (mimalloc 3) asks the kernel for huge pages on its 1 GiB arena. The kernel
   zeroes such a 2 MiB page at its first touch; on a virtual machine that hands its free memory back
   to the host (virtio-balloon's free page reporting, in blocks of that size), the host must first
   back each one again. Here that was up to 9 ms of system time a page: reading the 2,000-JPEG
   filter's 70 MB image work file in a fresh process touched about 120 of them (0.05 to 1.0 s of
   system time, most often 0.5 or more), and the whole filter took 0.56 s longer in wall time
   (BENCHMARKS.md, 2026-12-07). `WUKONG_THP=1` leaves the machine's setting alone.
2. pandas deferred (`defer_pandas`). pyarrow 26's first `pa.array` (or `pa.scalar`, `pa.table` ...)
   of the process imports pandas, only to ask whether the value is a pandas object; that import is
   0.26-0.29 CPU-s (a third of a filter worker's start). No stage hands pyarrow a pandas object.
   `defer_pandas` lets pyarrow ask that question once while pandas cannot be imported; pyarrow
   remembers the answer for that check only, so pandas is imported as usual by whatever really uses
   it later (`to_pandas`, `from_pandas` and img2dataset work as before: tests/test_arrow_init.py).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

log = logging.getLogger(__name__)

PR_SET_THP_DISABLE = 41  # linux/prctl.h: inherited by children, kept across execve
KEEP_THP_ENV = "WUKONG_THP"

_done = False
_thp_tried = False


class _NoPandas(MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None) -> ModuleSpec | None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas deferred by manifests.arrow_init", name=name)
        return None


def prepare_arrow() -> None:
    """Once per process, first thing: huge pages off, then pandas deferred."""
    no_transparent_huge_pages()
    defer_pandas()


def no_transparent_huge_pages() -> None:
    """Once per process: transparent huge pages off for it and its future children. Left as the machine has
    them where `WUKONG_THP=1`, off Linux, or where prctl refuses (a kernel before 3.15, a sandbox)."""
    global _thp_tried
    if _thp_tried:  # pass_impl calls this before every task of a Ray worker
        return
    _thp_tried = True
    if os.environ.get(KEEP_THP_ENV) == "1" or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
            log.debug("transparent huge pages left on: prctl: %s", os.strerror(ctypes.get_errno()))
    except (OSError, AttributeError) as exc:  # no libc, or no prctl in it
        log.debug("transparent huge pages left on: %s", exc)


def defer_pandas() -> None:
    """Once per process, before its first `pa.array`; a no-op where pandas is already imported."""
    global _done
    if _done:
        return
    _done = True
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])  # pyarrow's one question: is pandas there?
    finally:
        sys.meta_path.remove(blocker)
