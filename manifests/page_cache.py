"""Handing a finished local file's pages back to the kernel, so that the next file written reuses them.

A stage reads some large files exactly once (the filter's image work file in the finalize pass, a kept
part in the shard's scatter) and writes others it never reads again (the shard's tars). Their pages
would stay in the page cache, and every new file would be written into pages the kernel has not
handed out for a while. On a virtual machine that returns its free memory to the host (virtio-balloon
free page reporting, as on this project's 2-core machines), writing into such a page costs about
8 ms of system CPU per MB, against about 0.3 ms per MB into pages that were just freed
(BENCHMARKS.md, "Fixed cost, eighteenth session"). `drop_cached` asks the kernel to drop the file's
clean pages (`posix_fadvise(POSIX_FADV_DONTNEED)`); the file itself is untouched and is read from disk
if anything reads it again. It is a hint: off Linux, for a file on object storage, or where the kernel
refuses, nothing happens.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def drop_cached(path: object) -> bool:
    """Drops the clean page-cache pages of the local file `path` (written and fsynced, or read);
    returns whether the kernel was asked. A URL (object storage), a missing file or a platform without
    `posix_fadvise` is left alone."""
    if not isinstance(path, Path) or not hasattr(os, "posix_fadvise"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        log.debug("page cache of %s kept: %s", path, exc)
        return False
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError as exc:  # a file system that refuses the hint: the pages simply stay
        log.debug("page cache of %s kept: %s", path, exc)
        return False
    finally:
        os.close(fd)
    return True
