"""Where each stage's files live inside a data directory (DESIGN.md: the storage contract); the root may
be a local path or an object-storage URL (manifests.storage)."""

from __future__ import annotations

from dataclasses import dataclass

from manifests.storage import DataPath


def part_name(index: int, prefix: str = "part-") -> str:
    return f"{prefix}{index:05d}.parquet"


def shard_name(index: int) -> str:
    return f"{index:05d}"


@dataclass(frozen=True, slots=True)
class DataDir:
    root: DataPath

    @property
    def candidates(self) -> DataPath:
        return self.root / "candidates"

    @property
    def filtered(self) -> DataPath:
        return self.root / "filtered"

    @property
    def release(self) -> DataPath:
        return self.root / "release"

    @property
    def report_html(self) -> DataPath:
        return self.root / "report.html"

    @property
    def report_assets(self) -> DataPath:
        return self.root / "report"

    @property
    def logs(self) -> DataPath:
        return self.root / "logs"


@dataclass(frozen=True, slots=True)
class FilteredDir:
    """The filter stage's output folder."""

    root: DataPath

    @property
    def kept(self) -> DataPath:
        return self.root / "kept"

    @property
    def rejected(self) -> DataPath:
        return self.root / "rejected"

    @property
    def stats(self) -> DataPath:
        return self.root / "stats.json"

    @property
    def work(self) -> DataPath:
        """Intermediate per-task results that make a re-run resume (removed by nobody: cheap)."""
        return self.root / "_work"


@dataclass(frozen=True, slots=True)
class ReleaseDir:
    root: DataPath

    @property
    def shards(self) -> DataPath:
        return self.root / "shards"

    @property
    def manifests(self) -> DataPath:
        return self.root / "manifests"

    @property
    def checksums(self) -> DataPath:
        return self.root / "SHA256SUMS"

    @property
    def card(self) -> DataPath:
        return self.root / "README.md"
