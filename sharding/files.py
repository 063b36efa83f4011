"""The files of one shard and of the release's manifests, named in one place (img2dataset-style names)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from manifests.layout import shard_name

SHARD_FILE_RE = re.compile(r"([0-9]{5,})(\.tar|\.parquet|_stats\.json)")
MANIFEST_FILE_RE = re.compile(r"part-[0-9]{5,}\.(parquet|csv)")
TEMP_FILE_RE = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")


@dataclass(frozen=True, slots=True)
class ShardFiles:
    """`NNNNN.tar`, its `NNNNN.parquet` sidecar and `NNNNN_stats.json`, the completion marker."""

    directory: Path
    index: int

    @property
    def name(self) -> str:
        return shard_name(self.index)

    @property
    def tar(self) -> Path:
        return self.directory / f"{self.name}.tar"

    @property
    def sidecar(self) -> Path:
        return self.directory / f"{self.name}.parquet"

    @property
    def stats(self) -> Path:
        return self.directory / f"{self.name}_stats.json"

    def all(self) -> tuple[Path, Path, Path]:
        return self.tar, self.sidecar, self.stats


def manifest_path(directory: Path, index: int, ext: str) -> Path:
    return directory / f"part-{index:05d}.{ext}"
