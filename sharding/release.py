"""`build_release`: the shard stage from a filtered folder to a complete release folder.

index parts -> plan shards -> skip complete shards -> scatter parts into buckets -> write shards
-> manifests -> dataset card -> SHA256SUMS. Everything heavy runs as tasks (`sharding.tasks`: Ray
tasks on a cluster, local processes otherwise); the driver holds keys and digests only, never image
bytes.

FILTERED and RELEASE may each be a local folder or a prefix on object storage (`s3://bucket/prefix`,
as `manifests.storage.data_path` makes it): the tasks get paths that carry their storage options,
and everything they hand each other (the buckets) lives under RELEASE, so no shared disk is needed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from manifests.config import Config
from manifests.errors import UserError
from manifests.layout import FilteredDir, ReleaseDir
from manifests.parquet_io import list_parts, write_bytes_atomic
from manifests.stats import FilterStats
from manifests.storage import DataPath, data_path, is_remote, is_upath, local_cache_dir, remove_tree
from sharding import card_process
from sharding.card import CardFacts, find_filter_config, render_card
from sharding.checksums import CHECKSUMS, sha256_file, write_checksums
from sharding.files import MANIFEST_FILE_RE, SHARD_FILE_RE, TEMP_FILE_RE, ShardFiles
from sharding.manifest_writer import ShardSpan, manifest_slices, write_manifest_part
from sharding.plan import ReleasePlan, ShardSpec, index_part, is_complete, make_plan
from sharding.scatter import Range, scatter_part
from sharding.shard_writer import ShardResult, write_shard
from sharding.tasks import InlineTasks, TaskRunner, local_processes, task_runner, thread_map

log = logging.getLogger(__name__)
MB = 1_000_000
WORK = ".work"
LOCK = ".lock"


@dataclass(slots=True)
class ReleaseSummary:
    root: DataPath
    pairs: int = 0
    shards: int = 0
    written: int = 0
    tar_bytes: int = 0
    written_bytes: int = 0
    write_seconds: float = 0.0
    total_seconds: float = 0.0
    manifest_files: int = 0
    checksummed: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for benchmarks and logs
    runner: str = ""  # where the tasks ran (sharding.tasks.TaskRunner.name)

    @property
    def mb_per_s(self) -> float:
        return self.written_bytes / MB / self.write_seconds if self.write_seconds > 0 else 0.0

    def paragraph(self) -> str:
        skipped = self.shards - self.written
        speed = (f"wrote {self.written_bytes / MB:,.1f} MB of tars in {self.write_seconds:.1f} s "
                 f"({self.mb_per_s:,.1f} MB/s)" if self.written else "no shard needed writing")
        return (f"Release ready in {self.root}: {self.pairs:,} pairs in {self.shards:,} shards "
                f"({self.written:,} written, {skipped:,} already complete and skipped), "
                f"{self.tar_bytes / MB:,.1f} MB of tars; {speed}; {self.manifest_files:,} manifest file(s); "
                f"SHA256SUMS over {self.checksummed:,} files; {self.total_seconds:.1f} s in all.")


    def startup_line(self, command_seconds: float) -> str:
        """Start-up apart from the work: the command's own start and the task runner's."""
        runner = self.phases.get("start workers", 0.0)
        return (f"start-up {command_seconds + runner:.1f}s (command {command_seconds:.1f}s, "
                f"{self.runner} {runner:.1f}s), work {max(0.0, self.total_seconds - runner):.1f}s")


@contextmanager
def release_lock(root: DataPath) -> Iterator[None]:
    """One writer per release folder (the lock dies with its process, so a killed run never blocks).

    Object storage has no locks: there the lock file is local (`local_cache_dir`), so it keeps out a
    second run on the same machine only.
    """
    if isinstance(root, Path):
        path = root / LOCK
    else:
        lock_dir = local_cache_dir(root, "locks")
        lock_dir.mkdir(parents=True, exist_ok=True)
        path = lock_dir / LOCK
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another `wukong shard` is writing {root}") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def absolute(path: DataPath) -> DataPath:
    """Local paths resolved (Ray workers need absolute paths); URLs are absolute already."""
    return path.resolve() if isinstance(path, Path) else path


def overlapping(a: DataPath, b: DataPath) -> bool:
    """Whether one folder is, or is inside, the other."""
    if isinstance(a, Path) and isinstance(b, Path):
        f, r = a.resolve(), b.resolve()
        return f == r or f in r.parents or r in f.parents
    if is_upath(a) and is_upath(b) and a.protocol == b.protocol:
        x, y = a.path.rstrip("/") + "/", b.path.rstrip("/") + "/"
        return x.startswith(y) or y.startswith(x)
    return False


def check_folders(filtered: DataPath, release: DataPath) -> None:
    if not filtered.is_dir():
        raise UserError(f"input folder not found: {filtered}")
    if overlapping(filtered, release):
        raise UserError("--in and --out must be separate folders")
    if is_upath(release) and is_remote(release):
        bucket = release.path.split("/", 1)[0]
        if not release.fs.exists(bucket):
            raise UserError(f"bucket not found: {release.protocol}://{bucket}")
    if release.exists() and not release.is_dir():
        raise UserError(f"not a folder: {release}")
    rd = ReleaseDir(release)
    if release.is_dir() and any(not p.name.startswith(".") for p in release.iterdir()) \
            and not (rd.shards.is_dir() or rd.checksums.exists()):
        raise UserError(f"{release} is not empty and is not a release: refusing to write into it")


def remove_stale(rd: ReleaseDir, shards: int) -> None:
    """Temp files and buckets of killed runs, and shards beyond this plan (a re-run with other settings)."""
    remove_tree(rd.root / WORK)
    if not rd.root.is_dir():  # a new release on object storage: nothing there yet
        return
    for p in rd.root.iterdir():
        if TEMP_FILE_RE.fullmatch(p.name) and p.is_file():
            p.unlink()
    if not rd.shards.is_dir():
        return
    stale = []
    for p in rd.shards.iterdir():
        m = SHARD_FILE_RE.fullmatch(p.name)
        if TEMP_FILE_RE.fullmatch(p.name) or (m is not None and int(m.group(1)) >= shards):
            stale.append(p)
    thread_map(lambda p: p.unlink(), stale)


def write_shards(tasks: TaskRunner, plan: ReleasePlan, rd: ReleaseDir, progress: bool,
                 summary: ReleaseSummary) -> None:
    complete = thread_map(lambda s: is_complete(s, rd.shards), plan.shards)
    todo = [s for s, done in zip(plan.shards, complete, strict=True) if not done]
    summary.written = len(todo)
    if not todo:
        return
    work = rd.root / WORK
    t0 = time.perf_counter()
    ranges = [Range(s.index, s.name, s.first_key, s.last_key) for s in todo]
    thread_map(lambda spec: ShardFiles(rd.shards, spec.index).stats.unlink(missing_ok=True), todo)
    scattered = tasks.run(scatter_part, [(p, i, ranges, work) for i, p in enumerate(plan.parts)],
                          "bucketing parts", "part", progress)
    for r in scattered:
        if r.error:
            raise UserError(r.error)

    def show(result: ShardResult, bar) -> None:
        summary.written_bytes += result.tar_bytes
        bar.set_postfix_str(f"{summary.written_bytes / MB:,.1f} MB")

    results = tasks.run(write_shard, [(s, work / s.name, rd.shards) for s in todo],
                        "writing shards", "shard", progress, show)
    for r in results:
        if r.error:
            raise UserError(r.error)
    summary.write_seconds = time.perf_counter() - t0
    remove_tree(work)


def write_manifests(tasks: TaskRunner, plan: ReleasePlan, rd: ReleaseDir, cfg: Config,
                    progress: bool) -> list[DataPath]:
    if isinstance(rd.manifests, Path):
        rd.manifests.mkdir(parents=True, exist_ok=True)
    spans = [ShardSpan(s.index, s.name, s.start, s.count) for s in plan.shards]
    slices = manifest_slices(plan.total, cfg.shard.manifest_rows_per_file)
    calls = [(n, a, b, [s for s in spans if s.start < b and s.start + s.count > a], rd.shards,
              rd.manifests, cfg.shard.csv) for n, (a, b) in enumerate(slices)]
    written = {name for names in tasks.run(write_manifest_part, calls, "writing manifests", "file", progress)
               for name in names}
    thread_map(lambda p: p.unlink(), [
        p for p in rd.manifests.iterdir()
        if p.name not in written and (MANIFEST_FILE_RE.fullmatch(p.name) or TEMP_FILE_RE.fullmatch(p.name))])
    return [rd.manifests / name for name in sorted(written)]


@dataclass(frozen=True, slots=True)
class WrittenStats:
    """A complete shard's stats file as written: its bytes (for SHA256SUMS) and its fields."""

    raw: bytes
    fields: dict[str, Any]


def read_written_stats(plan: ReleasePlan, rd: ReleaseDir) -> list[WrittenStats]:
    """Every shard's stats file, read once (in parallel: one round trip each on object storage)."""

    def read(spec: ShardSpec) -> WrittenStats:
        path = ShardFiles(rd.shards, spec.index).stats
        try:
            raw = path.read_bytes()
            fields = json.loads(raw)
        except (OSError, ValueError):
            raise UserError(f"{path}: missing or unreadable after the shard was written") from None
        return WrittenStats(raw, fields if isinstance(fields, dict) else {})

    return thread_map(read, plan.shards)


def write_card(plan: ReleasePlan, rd: ReleaseDir, cfg: Config, filtered: DataPath, manifest_files: int,
               shard_stats: list[WrittenStats], measured: str) -> DataPath:
    """The dataset card; `measured` is `distributions(plan.card)`, computed while the shards were written."""
    stats_by_shard = [s.fields for s in shard_stats]
    facts = CardFacts(
        pairs=plan.total, shards=len(plan.shards), samples_per_shard=cfg.shard.samples_per_shard,
        image_bytes=sum(int(s.get("image_bytes", 0)) for s in stats_by_shard),
        tar_bytes=sum(int(s.get("tar_bytes", 0)) for s in stats_by_shard),
        manifest_files=manifest_files, manifest_rows_per_file=cfg.shard.manifest_rows_per_file, csv=cfg.shard.csv,
    )
    fd = FilteredDir(filtered)
    stats = FilterStats.load(fd.stats) if fd.stats.is_file() else None
    if stats is None:
        log.warning("%s not found: the dataset card has no filter funnel", fd.stats)
    config_yaml = yaml.safe_dump({"shard": {k: getattr(cfg.shard, k) for k in ("samples_per_shard",
                                  "manifest_rows_per_file", "csv")}}, sort_keys=False)
    text = render_card(facts, measured, stats, config_yaml, find_filter_config(filtered), cfg.shard.removal_contact)
    return write_bytes_atomic(text.encode("utf-8"), rd.card)


def checksum_release(plan: ReleasePlan, rd: ReleaseDir, manifests: list[DataPath],
                     shard_stats: list[WrittenStats]) -> int:
    """SHA256SUMS over the release's files; tar digests come from the stats written with the tars."""
    digests: dict[str, str] = {}
    shards, manifest_dir = rd.shards.name, rd.manifests.name
    for spec, stats in zip(plan.shards, shard_stats, strict=True):
        files = ShardFiles(rd.shards, spec.index)
        digests[f"{shards}/{files.tar.name}"] = stats.fields["tar_sha256"]
        digests[f"{shards}/{files.stats.name}"] = hashlib.sha256(stats.raw).hexdigest()
    sidecars = [ShardFiles(rd.shards, spec.index).sidecar for spec in plan.shards]
    for path, digest in zip(sidecars, thread_map(sha256_file, sidecars), strict=True):
        digests[f"{shards}/{path.name}"] = digest
    for path, digest in zip(manifests, thread_map(sha256_file, manifests), strict=True):
        digests[f"{manifest_dir}/{path.name}"] = digest
    digests[rd.card.name] = sha256_file(rd.card)
    write_checksums(rd.root, digests)
    return len(digests)


def _local_bytes(parts: list[DataPath]) -> int | None:
    """The kept parts' total size when they are local files (free to ask), else None."""
    return sum(p.stat().st_size for p in parts) if all(isinstance(p, Path) for p in parts) else None


def _card_helper(tasks: TaskRunner, cfg: Config, parts: list[DataPath]) -> bool:
    """Whether the card is measured in a helper process: where this process writes the release (local
    kept parts) on a machine with a CPU to spare, for at least `card_process.HELPER_MIN_PAIRS` pairs
    (the footers)."""
    return (isinstance(tasks, InlineTasks) and local_processes(cfg) > 1 and all(isinstance(p, Path) for p in parts)
            and sum(pq.read_metadata(p).num_rows for p in parts) >= card_process.HELPER_MIN_PAIRS)


def build_release(filtered: str | DataPath, release: str | DataPath, cfg: Config,
                  progress: bool = True, backend: str = "auto") -> ReleaseSummary:
    """Writes (or completes) the release of `filtered` in `release`; returns its summary.

    Either may be local or a URL; a URL given as a string gets `cfg.storage`'s options. `backend`
    picks the task runner (`sharding.tasks.task_runner`: auto, ray or local).
    """
    if cfg.shard.samples_per_shard < 1 or cfg.shard.manifest_rows_per_file < 1:
        raise UserError("shard.samples_per_shard and shard.manifest_rows_per_file must be at least 1")
    t0 = time.perf_counter()
    if isinstance(filtered, str):
        filtered = data_path(filtered, cfg.storage)
    if isinstance(release, str):
        release = data_path(release, cfg.storage)
    check_folders(filtered, release)
    shown, filtered, release = release, absolute(filtered), absolute(release)
    parts = list_parts(FilteredDir(filtered).kept)
    if not parts:
        raise UserError(f"no kept parts in {FilteredDir(filtered).kept}")
    rd = ReleaseDir(release)
    if isinstance(rd.shards, Path):
        rd.shards.mkdir(parents=True, exist_ok=True)
    summary = ReleaseSummary(shown)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.phases[name] = now - clock
        clock = now

    with release_lock(release), task_runner(cfg, backend, _local_bytes(parts)) as tasks, \
            card_process.card_measure(_card_helper(tasks, cfg, parts)) as measure_card:
        summary.runner = tasks.name
        lap("start workers")
        plan = make_plan(tasks.run(index_part, [(p,) for p in parts], "indexing parts", "part", progress),
                         cfg.shard.samples_per_shard)
        (rd.root / CHECKSUMS).unlink(missing_ok=True)  # the release is incomplete until it is rewritten
        remove_stale(rd, len(plan.shards))
        lap("index and plan")
        # The card's distributions (jieba over every caption: ~1 CPU-s per 35,000 pairs) are measured
        # while the tasks write the shards and manifests, not after them (sharding.card_process).
        measured = measure_card(plan.card)
        write_shards(tasks, plan, rd, progress, summary)
        lap("bucket and write shards")
        manifests = write_manifests(tasks, plan, rd, cfg, progress)
        lap("manifests")
        shard_stats = read_written_stats(plan, rd)
        write_card(plan, rd, cfg, filtered, len([p for p in manifests if p.name.endswith(".parquet")]),
                   shard_stats, measured.result())
        lap("dataset card")
        summary.checksummed = checksum_release(plan, rd, manifests, shard_stats)
        lap("SHA256SUMS")
    summary.pairs, summary.shards = plan.total, len(plan.shards)
    summary.tar_bytes = sum(int(s.fields["tar_bytes"]) for s in shard_stats)
    summary.manifest_files = len(manifests)
    summary.total_seconds = time.perf_counter() - t0
    return summary


__all__ = ["ReleaseSummary", "ShardSpec", "build_release"]
