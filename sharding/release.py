"""`build_release`: the shard stage from a filtered folder to a complete release folder.

index parts -> plan shards -> skip complete shards -> scatter parts into buckets -> write shards
-> manifests -> dataset card -> SHA256SUMS. Everything heavy runs as Ray tasks; the driver holds
keys and digests only, never image bytes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from manifests.config import Config
from manifests.errors import UserError
from manifests.layout import FilteredDir, ReleaseDir
from manifests.parquet_io import list_parts, write_bytes_atomic
from manifests.ray_session import ray_session
from manifests.stats import FilterStats
from sharding.card import CardFacts, find_filter_config, render_card
from sharding.checksums import CHECKSUMS, sha256_file, write_checksums
from sharding.files import MANIFEST_FILE_RE, SHARD_FILE_RE, TEMP_FILE_RE, ShardFiles
from sharding.manifest_writer import ShardSpan, manifest_slices, write_manifest_part
from sharding.plan import ReleasePlan, ShardSpec, index_part, is_complete, make_plan, read_stats
from sharding.scatter import Range, scatter_part
from sharding.shard_writer import ShardResult, write_shard
from sharding.tasks import run_tasks

log = logging.getLogger(__name__)
MB = 1_000_000
WORK = ".work"
LOCK = ".lock"


@dataclass(slots=True)
class ReleaseSummary:
    root: Path
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


@contextmanager
def release_lock(root: Path) -> Iterator[None]:
    """One writer per release folder (the lock dies with its process, so a killed run never blocks)."""
    path = root / LOCK
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another `wukong shard` is writing {root}") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def check_folders(filtered: Path, release: Path) -> None:
    if not filtered.is_dir():
        raise UserError(f"input folder not found: {filtered}")
    f, r = filtered.resolve(), release.resolve()
    if f == r or f in r.parents or r in f.parents:
        raise UserError("--in and --out must be separate folders")
    if release.exists() and not release.is_dir():
        raise UserError(f"not a folder: {release}")
    rd = ReleaseDir(release)
    if release.is_dir() and any(not p.name.startswith(".") for p in release.iterdir()) \
            and not (rd.shards.is_dir() or rd.checksums.exists()):
        raise UserError(f"{release} is not empty and is not a release: refusing to write into it")


def remove_stale(rd: ReleaseDir, shards: int) -> None:
    """Temp files and buckets of killed runs, and shards beyond this plan (a re-run with other settings)."""
    shutil.rmtree(rd.root / WORK, ignore_errors=True)
    for p in rd.root.iterdir():
        if p.is_file() and TEMP_FILE_RE.fullmatch(p.name):
            p.unlink()
    for p in rd.shards.iterdir():
        m = SHARD_FILE_RE.fullmatch(p.name)
        if TEMP_FILE_RE.fullmatch(p.name) or (m is not None and int(m.group(1)) >= shards):
            p.unlink()


def write_shards(plan: ReleasePlan, rd: ReleaseDir, progress: bool, summary: ReleaseSummary) -> None:
    todo = [s for s in plan.shards if not is_complete(s, rd.shards)]
    summary.written = len(todo)
    if not todo:
        return
    work = rd.root / WORK
    t0 = time.perf_counter()
    ranges = [Range(s.index, s.name, s.first_key, s.last_key) for s in todo]
    for spec in todo:
        ShardFiles(rd.shards, spec.index).stats.unlink(missing_ok=True)
    scattered = run_tasks(scatter_part, [(p, i, ranges, str(work)) for i, p in enumerate(plan.parts)],
                          "bucketing parts", "part", progress)
    for r in scattered:
        if r.error:
            raise UserError(r.error)

    def show(result: ShardResult, bar) -> None:
        summary.written_bytes += result.tar_bytes
        bar.set_postfix_str(f"{summary.written_bytes / MB:,.1f} MB")

    results = run_tasks(write_shard, [(s, str(work / s.name), str(rd.shards)) for s in todo],
                        "writing shards", "shard", progress, show)
    for r in results:
        if r.error:
            raise UserError(r.error)
    summary.write_seconds = time.perf_counter() - t0
    shutil.rmtree(work, ignore_errors=True)


def write_manifests(plan: ReleasePlan, rd: ReleaseDir, cfg: Config, progress: bool) -> list[Path]:
    rd.manifests.mkdir(parents=True, exist_ok=True)
    spans = [ShardSpan(s.index, s.name, s.start, s.count) for s in plan.shards]
    slices = manifest_slices(plan.total, cfg.shard.manifest_rows_per_file)
    calls = [(n, a, b, [s for s in spans if s.start < b and s.start + s.count > a], str(rd.shards),
              str(rd.manifests), cfg.shard.csv) for n, (a, b) in enumerate(slices)]
    written = {Path(p) for paths in run_tasks(write_manifest_part, calls, "writing manifests", "file", progress)
               for p in paths}
    for p in rd.manifests.iterdir():
        if p not in written and (MANIFEST_FILE_RE.fullmatch(p.name) or TEMP_FILE_RE.fullmatch(p.name)):
            p.unlink()
    return sorted(written)


def card_meta(plan: ReleasePlan, rd: ReleaseDir) -> pa.Table:
    cols = ["caption", "width", "height", "mime"]
    return pa.concat_tables(pq.read_table(ShardFiles(rd.shards, s.index).sidecar, columns=cols)
                            for s in plan.shards)


def write_card(plan: ReleasePlan, rd: ReleaseDir, cfg: Config, filtered: Path, manifest_files: int) -> Path:
    stats_by_shard = [read_stats(ShardFiles(rd.shards, s.index)) or {} for s in plan.shards]
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
    text = render_card(facts, card_meta(plan, rd), stats, config_yaml, find_filter_config(filtered))
    return write_bytes_atomic(text.encode("utf-8"), rd.card)


def checksum_release(plan: ReleasePlan, rd: ReleaseDir, manifests: list[Path]) -> int:
    """SHA256SUMS over the release's files; tar digests come from the stats written with the tars."""
    digests: dict[str, str] = {}
    rel = lambda p: p.relative_to(rd.root).as_posix()  # noqa: E731
    for spec in plan.shards:
        files = ShardFiles(rd.shards, spec.index)
        digests[rel(files.tar)] = json.loads(files.stats.read_text(encoding="utf-8"))["tar_sha256"]
        digests[rel(files.sidecar)] = sha256_file(files.sidecar)
        digests[rel(files.stats)] = sha256_file(files.stats)
    for p in [*manifests, rd.card]:
        digests[rel(p)] = sha256_file(p)
    write_checksums(rd.root, digests)
    return len(digests)


def build_release(filtered: Path, release: Path, cfg: Config, progress: bool = True) -> ReleaseSummary:
    """Writes (or completes) the release of `filtered` in `release`; returns its summary."""
    if cfg.shard.samples_per_shard < 1 or cfg.shard.manifest_rows_per_file < 1:
        raise UserError("shard.samples_per_shard and shard.manifest_rows_per_file must be at least 1")
    t0 = time.perf_counter()
    check_folders(filtered, release)
    shown, filtered, release = release, filtered.resolve(), release.resolve()  # Ray workers need absolute paths
    parts = [str(p) for p in list_parts(FilteredDir(filtered).kept)]
    if not parts:
        raise UserError(f"no kept parts in {FilteredDir(filtered).kept}")
    rd = ReleaseDir(release)
    rd.shards.mkdir(parents=True, exist_ok=True)
    summary = ReleaseSummary(shown)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.phases[name] = now - clock
        clock = now

    with release_lock(release), ray_session(cfg):
        lap("ray start")
        plan = make_plan(run_tasks(index_part, [(p,) for p in parts], "indexing parts", "part", progress),
                         cfg.shard.samples_per_shard)
        (rd.root / CHECKSUMS).unlink(missing_ok=True)  # the release is incomplete until it is rewritten
        remove_stale(rd, len(plan.shards))
        lap("index and plan")
        write_shards(plan, rd, progress, summary)
        lap("bucket and write shards")
        manifests = write_manifests(plan, rd, cfg, progress)
        lap("manifests")
        write_card(plan, rd, cfg, filtered, len([p for p in manifests if p.suffix == ".parquet"]))
        lap("dataset card")
        summary.checksummed = checksum_release(plan, rd, manifests)
        lap("SHA256SUMS")
    summary.pairs, summary.shards = plan.total, len(plan.shards)
    summary.tar_bytes = sum(ShardFiles(rd.shards, s.index).tar.stat().st_size for s in plan.shards)
    summary.manifest_files = len(manifests)
    summary.total_seconds = time.perf_counter() - t0
    return summary


__all__ = ["ReleaseSummary", "ShardSpec", "build_release"]
