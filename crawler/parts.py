"""Candidate parts under their final names `part-<spider>-<NNNNN>.parquet`, atomically, never clobbered.

A part is first written complete under a private staging name (manifests' atomic writer: temporary
file, fsync, rename), then given its final name with `os.link`, which fails instead of overwriting
when the name is taken: parallel partitions and resumed runs simply take the next free number.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pyarrow as pa

from manifests.layout import part_name
from manifests.parquet_io import write_parquet_atomic


def part_prefix(spider: str) -> str:
    return f"part-{spider}-"


def existing_parts(out_dir: Path, spider: str) -> list[Path]:
    pattern = re.compile(rf"^{re.escape(part_prefix(spider))}(\d+)\.parquet$")
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.iterdir() if pattern.match(p.name))


def _index(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


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
    """Commits tables as the next free `part-<spider>-NNNNN.parquet` in `out_dir`."""

    def __init__(self, out_dir: Path, spider: str, staging: Path) -> None:
        self.out_dir = out_dir
        self.spider = spider
        self.staging = staging
        out_dir.mkdir(parents=True, exist_ok=True)
        parts = existing_parts(out_dir, spider)
        self._next = _index(parts[-1]) + 1 if parts else 0

    def commit(self, table: pa.Table) -> Path:
        write_parquet_atomic(table, self.staging)
        try:
            while True:
                final = self.out_dir / part_name(self._next, prefix=part_prefix(self.spider))
                self._next += 1
                if self._claim(final):
                    _fsync_dir(self.out_dir)
                    return final
        finally:
            self.staging.unlink(missing_ok=True)

    def _claim(self, final: Path) -> bool:
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
