"""Candidate parts under their final names `part-<spider>-<NNNNN>.parquet`, atomically, never clobbered.

A part is first written complete under a private local staging name (manifests' atomic writer:
temporary file, fsync, rename), then given its final name by an operation that fails instead of
overwriting when the name is taken: `os.link` in a local folder, a conditional upload
(`If-None-Match: *`, manifests.storage.upload with `exclusive=True`) on object storage. Parallel
partitions, Ray tasks on other nodes and resumed runs simply take the next free number.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pyarrow as pa

from manifests.layout import part_name
from manifests.parquet_io import write_parquet_atomic
from manifests.storage import DataPath, is_remote, is_upath, upload


def part_prefix(spider: str) -> str:
    return f"part-{spider}-"


def existing_parts(out_dir: DataPath, spider: str) -> list[DataPath]:
    """The spider's parts in `out_dir` (a local folder or an object-storage prefix), by number."""
    pattern = re.compile(rf"^{re.escape(part_prefix(spider))}(\d+)\.parquet$")
    try:
        if not out_dir.is_dir():
            return []
        found = [p for p in out_dir.iterdir() if pattern.match(p.name)]
    except (FileNotFoundError, NotADirectoryError):  # an object-storage prefix with nothing under it
        return []
    return sorted(found, key=lambda p: p.name)


def _index(path: DataPath) -> int:
    return int(path.name.removesuffix(".parquet").rsplit("-", 1)[1])


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class PartWriter:
    """Commits tables as the next free `part-<spider>-NNNNN.parquet` in `out_dir` (local or remote);
    `staging` is a local file path private to this writer."""

    def __init__(self, out_dir: DataPath, spider: str, staging: Path) -> None:
        self.out_dir = out_dir
        self.spider = spider
        self.staging = staging
        self.remote = is_remote(out_dir)
        if not self.remote:
            out_dir.mkdir(parents=True, exist_ok=True)
        staging.parent.mkdir(parents=True, exist_ok=True)
        parts = existing_parts(out_dir, spider)
        self._next = _index(parts[-1]) + 1 if parts else 0

    def commit(self, table: pa.Table) -> DataPath:
        write_parquet_atomic(table, self.staging)
        try:
            while True:
                final = self.out_dir / part_name(self._next, prefix=part_prefix(self.spider))
                self._next += 1
                if self._claim(final):
                    if not self.remote:
                        assert isinstance(self.out_dir, Path)
                        _fsync_dir(self.out_dir)
                    return final
        finally:
            self.staging.unlink(missing_ok=True)

    def _claim(self, final: DataPath) -> bool:
        if self.remote:  # one conditional PUT: the object appears whole, or the name was taken
            assert is_upath(final)
            return upload(self.staging, final, exclusive=True)
        assert isinstance(final, Path)
        try:
            os.link(self.staging, final)
            return True
        except FileExistsError:
            return False
        except OSError as exc:  # a filesystem without hard links: an exclusive marker, then a rename
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
                raise
        marker = final.with_name(f".{final.name}.claim")
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        if final.exists():
            return False
        os.replace(self.staging, final)
        return True
