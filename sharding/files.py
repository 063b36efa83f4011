"""The files of one shard and of the release's manifests, named in one place (img2dataset-style names),
and listing a folder's files, local or on object storage."""

from __future__ import annotations

import re
from dataclasses import dataclass

from manifests.layout import shard_name
from manifests.storage import DataPath, is_remote, is_upath

SHARD_FILE_RE = re.compile(r"([0-9]{5,})(\.tar|\.parquet|_stats\.json)")
MANIFEST_FILE_RE = re.compile(r"part-[0-9]{5,}\.(parquet|csv)")
TEMP_FILE_RE = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")


@dataclass(frozen=True, slots=True)
class ShardFiles:
    """`NNNNN.tar`, its `NNNNN.parquet` sidecar and `NNNNN_stats.json`, the completion marker."""

    directory: DataPath
    index: int

    @property
    def name(self) -> str:
        return shard_name(self.index)

    @property
    def tar(self) -> DataPath:
        return self.directory / f"{self.name}.tar"

    @property
    def sidecar(self) -> DataPath:
        return self.directory / f"{self.name}.parquet"

    @property
    def stats(self) -> DataPath:
        return self.directory / f"{self.name}_stats.json"

    def all(self) -> tuple[DataPath, DataPath, DataPath]:
        return self.tar, self.sidecar, self.stats


def manifest_path(directory: DataPath, index: int, ext: str) -> DataPath:
    return directory / f"part-{index:05d}.{ext}"


def relative_files(root: DataPath) -> list[str]:
    """Every file under `root` as a relative posix path, sorted (one listing on object storage)."""
    if is_upath(root) and is_remote(root):
        prefix = root.path.rstrip("/") + "/"
        return sorted(p[len(prefix):] for p in root.fs.find(prefix) if p.startswith(prefix))
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
