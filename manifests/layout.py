"""Where each stage's files live inside a data directory (DESIGN.md: the storage contract)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def part_name(index: int, prefix: str = "part-") -> str:
    return f"{prefix}{index:05d}.parquet"


def shard_name(index: int) -> str:
    return f"{index:05d}"


@dataclass(frozen=True, slots=True)
class DataDir:
    root: Path

    @property
    def candidates(self) -> Path:
        return self.root / "candidates"

    @property
    def filtered(self) -> Path:
        return self.root / "filtered"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def report_assets(self) -> Path:
        return self.root / "report"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


@dataclass(frozen=True, slots=True)
class FilteredDir:
    """The filter stage's output folder."""

    root: Path

    @property
    def kept(self) -> Path:
        return self.root / "kept"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    @property
    def work(self) -> Path:
        """Intermediate per-task results that make a re-run resume (removed by nobody: cheap)."""
        return self.root / "_work"


@dataclass(frozen=True, slots=True)
class ReleaseDir:
    root: Path

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def checksums(self) -> Path:
        return self.root / "SHA256SUMS"

    @property
    def card(self) -> Path:
        return self.root / "README.md"
