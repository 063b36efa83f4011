"""Fetching a released dataset again: img2dataset over release manifests, resumable, with per-host stats.

Manifests are this pipeline's `manifests/part-NNNNN.parquet` or Wukong-style `url,caption` CSV files.
They are staged once into `OUT/_wukong/input/` (columns that img2dataset reserves, such as `key`,
renamed `release_<name>`), so that img2dataset sees one folder of parquet files in a fixed order and
its incremental mode resumes a re-run shard by shard.
"""

from __future__ import annotations

import glob
import json
import logging
import math
import os
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv

from manifests.config import Config, StorageConfig
from manifests.errors import UserError
from manifests.parquet_io import parquet_file, read_table, write_json_atomic, write_parquet_atomic
from manifests.storage import DataPath, data_path, is_remote, is_url, storage_options

log = logging.getLogger(__name__)

USER_AGENT_TOKEN = "wukong-pipeline"
STAGING = "_wukong"  # below OUT: img2dataset only looks at OUT's own files
FORMATS = {".parquet": "parquet", ".csv": "csv"}
# Columns img2dataset writes itself: a manifest column of that name travels as `release_<name>`.
# `shard` too: in the download it would read as img2dataset's shard, not the release's.
RESERVED = ("key", "width", "height", "original_width", "original_height", "status", "error_message",
            "exif", "md5", "sha256", "sha512", "shard")


@dataclass(frozen=True, slots=True)
class DownloadOptions:
    processes: int = 4
    threads: int = 64
    resize: bool = False
    image_size: int = 256
    samples_per_shard: int = 10_000
    verify_hash: bool = False
    respect_x_robots_tag: bool = True


@dataclass(slots=True)
class HostStats:
    host: str
    count: int = 0
    successes: int = 0

    @property
    def rate(self) -> float:
        return self.successes / self.count if self.count else 0.0


@dataclass(slots=True)
class DownloadSummary:
    out: DataPath
    count: int = 0
    successes: int = 0
    failed_to_download: int = 0
    failed_to_resize: int = 0
    shards: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    hosts: list[HostStats] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.successes / self.count if self.count else 0.0

    def render(self, top: int = 20) -> str:
        lines = [
            f"Downloaded into {self.out}: {self.shards:,} shards, {self.count:,} pairs tried, "
            f"{self.successes:,} images saved ({100 * self.rate:.1f}%), {self.failed_to_download:,} failed to "
            f"download, {self.failed_to_resize:,} failed to decode/resize"
            + (f"; {self.count / self.seconds:,.1f} pairs/s" if self.seconds > 0 else "") + ".",
        ]
        if self.errors:
            lines.append("Most frequent errors:")
            lines += [f"  {n:>8,}  {err[:100]}" for err, n in self.errors.most_common(10)]
        if self.hosts:
            lines.append(f"{'host':<40} {'pairs':>9} {'saved':>9} {'rate':>7}")
            for h in self.hosts[:top]:
                lines.append(f"{h.host[:40]:<40} {h.count:>9,} {h.successes:>9,} {100 * h.rate:>6.1f}%")
            if len(self.hosts) > top:
                lines.append(f"... and {len(self.hosts) - top:,} more hosts")
        return "\n".join(lines)


def _glob(pattern: str, storage: StorageConfig | None) -> list[DataPath]:
    if not is_url(pattern):
        return [Path(p) for p in glob.glob(pattern, recursive=True)]
    protocol = pattern.split("://", 1)[0]
    fs, path = fsspec.core.url_to_fs(pattern, **storage_options(storage, protocol))
    return [data_path(f"{protocol}://{p}", storage) for p in fs.glob(path)]


def find_manifests(pattern: str, storage: StorageConfig | None = None) -> tuple[list[DataPath], str]:
    """The files the glob (a local pattern or an s3:// URL pattern) matches, sorted, and their one
    input format (parquet or csv)."""
    files = sorted((p for p in _glob(pattern, storage) if p.is_file() and not p.name.startswith(".")), key=str)
    if not files:
        raise UserError(f"no manifest matches {pattern}")
    formats = {FORMATS.get(p.suffix.lower()) for p in files}
    if None in formats:
        bad = next(p for p in files if p.suffix.lower() not in FORMATS)
        raise UserError(f"{bad}: a manifest must be .parquet or .csv")
    if len(formats) > 1:
        raise UserError(f"{pattern} matches both parquet and CSV manifests: download them separately")
    return files, formats.pop()


def read_manifest(path: DataPath, fmt: str) -> pa.Table:
    try:
        if fmt == "parquet":
            table = read_table(path)
        else:
            with path.open("rb") as fh:
                table = pacsv.read_csv(fh)
            table = table.rename_columns([c.lstrip("\ufeff").strip() for c in table.column_names])
            table = pa.table({c: table.column(c).cast(pa.string()) for c in table.column_names})
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: not a readable {fmt} manifest ({str(exc).splitlines()[0]})") from None
    if "url" not in table.column_names:
        raise UserError(f"{path}: no url column")
    return table


def staged_columns(names: list[str]) -> dict[str, str]:
    """Manifest column -> staged column: url and caption as they are, reserved names prefixed."""
    return {c: (f"release_{c}" if c in RESERVED else c) for c in names}


def stage_inputs(files: list[DataPath], fmt: str, out: DataPath,
                 samples_per_shard: int) -> tuple[DataPath, list[str], bool]:
    """Writes the manifests as `OUT/_wukong/input/NNNNN.parquet`; returns (folder, extra columns, has caption).

    A re-run into the same OUT must name the same manifests with the same shard size, or img2dataset's
    shard numbers would point at other rows: that is checked against `OUT/_wukong/plan.json`.
    """
    staging = out / STAGING
    plan = {"manifests": [{"path": str(p if is_remote(p) else p.resolve()), "bytes": p.stat().st_size}
                          for p in files],
            "samples_per_shard": samples_per_shard}
    plan_file = staging / "plan.json"
    staged = [staging / "input" / f"{n:05d}.parquet" for n in range(len(files))]
    if plan_file.is_file():
        if json.loads(plan_file.read_text(encoding="utf-8")) != plan:
            raise UserError(f"{out} holds a download of other manifests or shard size: choose another --out")
        columns = parquet_file(staged[0]).schema_arrow.names if all(p.is_file() for p in staged) else None
    else:
        columns = None
    if columns is None:
        for path, target in zip(files, staged, strict=True):
            table = read_manifest(path, fmt)
            renamed = staged_columns(table.column_names)
            table = table.rename_columns([renamed[c] for c in table.column_names])
            if columns is None:
                columns = table.column_names
            elif table.column_names != columns:
                raise UserError(f"{path}: columns differ from {files[0]}")
            write_parquet_atomic(table, target)
        write_json_atomic(plan, plan_file)
    assert columns is not None
    extra = [c for c in columns if c not in ("url", "caption")]
    return staging / "input", extra, "caption" in columns


def _share_storage_options(cfg: Config) -> None:
    """img2dataset opens `s3://` folders with fsspec's defaults, in its own worker processes: the
    storage.* options reach it as fsspec's per-protocol config, in this process and (through the
    FSSPEC_S3 environment variable, read at import) in its children."""
    opts = storage_options(cfg.storage, "s3")
    fsspec.config.conf.setdefault("s3", {}).update(opts)
    os.environ["FSSPEC_S3"] = json.dumps(opts)


@contextmanager
def worker_environment() -> Iterator[None]:
    """What img2dataset's worker processes (spawned: each imports img2dataset anew) see of the environment.

    - Each imports wandb, which makes two temporary folders at import (`tmp*wandb-media`, `tmp*wandb-artifacts`),
      and ends without Python's exit handlers, so they stayed in the temporary folder after every run: the
      workers get a temporary folder of their own (TMPDIR), removed with what is in it once they have ended.
      This process keeps the temporary folder it had.
    - Each imports albumentations, which asks PyPI for a newer version of itself unless
      NO_ALBUMENTATIONS_UPDATE is set: nothing here needs that request, and a machine without internet waits on it
      (up to 2 s in each worker).
    """
    private = Path(tempfile.mkdtemp(prefix="wukong-download-"))  # also fixes this process's own gettempdir()
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "NO_ALBUMENTATIONS_UPDATE")}
    os.environ["TMPDIR"] = str(private)
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(private, ignore_errors=True)


def run_img2dataset(input_dir: DataPath, out: DataPath, extra: list[str], has_caption: bool, cfg: Config,
                    opts: DownloadOptions) -> None:
    """img2dataset's Python API with defaults for slow, far-away hosts; original bytes unless resizing."""
    if is_remote(out) or is_remote(input_dir):
        _share_storage_options(cfg)
    verify = opts.verify_hash and "release_sha256" in extra
    previous = signal.getsignal(signal.SIGINT)
    try:
        with worker_environment():
            from img2dataset import download

            download(
                url_list=str(input_dir),
                input_format="parquet",
                output_folder=str(out),
                output_format="webdataset",
                url_col="url",
                caption_col="caption" if has_caption else None,
                save_additional_columns=[c for c in extra if not (verify and c == "release_sha256")] or None,
                processes_count=opts.processes,
                thread_count=opts.threads,
                number_sample_per_shard=opts.samples_per_shard,
                resize_mode="border" if opts.resize else "no",
                image_size=opts.image_size,
                disable_all_reencoding=not opts.resize,
                timeout=max(1, math.ceil(max(cfg.download.connect_timeout, cfg.download.read_timeout))),
                retries=cfg.download.retries,
                user_agent_token=USER_AGENT_TOKEN,
                disallowed_header_directives=None if opts.respect_x_robots_tag else [],
                compute_hash="sha256",
                verify_hash=["release_sha256", "sha256"] if verify else None,
                incremental_mode="incremental",
                enable_wandb=False,
                distributor="multiprocessing",
            )
    except SystemExit:  # img2dataset's own SIGINT handler exits; report it as the interruption it is
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGINT, previous)


def host_of(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "(none)").lower()
    except ValueError:
        return "(invalid)"


def summarize(out: DataPath) -> DownloadSummary:
    """img2dataset's per-shard stats added up, and the success rate per host from its sidecars."""
    summary = DownloadSummary(out)
    starts, ends = [], []
    for stats_file in sorted(out.glob("*_stats.json")):
        stats = json.loads(stats_file.read_text(encoding="utf-8"))
        summary.shards += 1
        summary.count += int(stats.get("count", 0))
        summary.successes += int(stats.get("successes", 0))
        summary.failed_to_download += int(stats.get("failed_to_download", 0))
        summary.failed_to_resize += int(stats.get("failed_to_resize", 0))
        summary.errors.update({k: v for k, v in stats.get("status_dict", {}).items() if k != "success"})
        starts.append(stats.get("start_time", 0.0))
        ends.append(stats.get("end_time", 0.0))
    if starts:
        summary.seconds = max(ends) - min(starts)
    hosts: dict[str, HostStats] = {}
    for sidecar in sorted(out.glob("[0-9]*.parquet")):
        if not (out / f"{sidecar.stem}_stats.json").is_file():
            continue  # a shard cut short: its rows are tried again on the next run
        table = read_table(sidecar, columns=["url", "status"])
        for url, status in zip(table.column("url").to_pylist(), table.column("status").to_pylist(), strict=True):
            h = hosts.setdefault(host_of(url), HostStats(host_of(url)))
            h.count += 1
            h.successes += status == "success"
    summary.hosts = sorted(hosts.values(), key=lambda h: (-h.count, h.host))
    return summary


def download_release(pattern: str, out: DataPath, cfg: Config, opts: DownloadOptions) -> DownloadSummary:
    """Downloads every pair of the manifests matching `pattern` into webdataset shards in `out`
    (either may be on object storage)."""
    if opts.processes < 1 or opts.threads < 1 or opts.samples_per_shard < 1:
        raise UserError("--processes, --threads and --samples-per-shard must be at least 1")
    files, fmt = find_manifests(pattern, cfg.storage)
    if out.exists() and not out.is_dir():
        raise UserError(f"not a folder: {out}")
    out.mkdir(parents=True, exist_ok=True)
    input_dir, extra, has_caption = stage_inputs(files, fmt, out, opts.samples_per_shard)
    log.info("downloading %d %s manifest(s) into %s", len(files), fmt, out)
    run_img2dataset(input_dir, out, extra, has_caption, cfg, opts)
    return summarize(out)
