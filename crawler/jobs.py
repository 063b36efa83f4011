"""Crawl jobs: what one crawler process does (`job.json` in its job folder), and how a crawl is planned.

The output folder holds the parts and `crawl_stats-<spider>.json`; its `_jobs/` holds one folder
per crawler process (`search-p000`, `search-p001`, ..., `site`), each with `job.json`, the resume
journal, cumulative `stats.json`, `progress.json`, `crawl.log` and a lock. A re-run with the same
output folder resumes: finished queries (from every search journal, whatever the partitioning
was) are not planned again; the site spider replays its journal.

An output folder on object storage (`--out s3://bucket/prefix`) cannot hold locks, fsynced appends
or a log being written, so each job's files are split in two:
- its state, which every machine must see, stays in `OUT/_jobs/<job>/` on object storage: the
  journal as a folder of whole segment objects (crawler.journal) and `stats.json`; a re-run resumes
  from them on any machine, whichever node a Ray task lands on;
- its job folder proper (`job.json`, the lock, `progress.json`, `crawl.log`, `stderr.log`, the staging
  part) is a local folder on the machine that runs the job (`manifests.storage.local_cache_dir`:
  `$WUKONG_CACHE` or ~/.cache/wukong, then `crawl-jobs/<name>-<hash of the URL>/<job>`).
The lock is therefore per machine: two crawls of the same remote `--out` on different machines at
once are not refused; they still clobber nothing (every part and segment name is claimed with a
conditional PUT), but they crawl the same units twice and `stats.json` keeps the last writer's counts.
For a local `--out`, a job's state folder and its job folder are one and the same.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.journal import done_queries, journal_path
from crawler.parts import existing_parts
from crawler.stats import STATS_NAME, merge_jobs, summarize
from manifests.config import CrawlConfig, StorageConfig
from manifests.errors import UserError
from manifests.parquet_io import write_json_atomic
from manifests.storage import DataPath, data_path, is_remote, local_cache_dir
from manifests.text_files import read_text_file

JOBS_DIR = "_jobs"
JOB_FILE = "job.json"
LOCK_FILE = "lock"
LOCAL_JOBS_PURPOSE = "crawl-jobs"


@dataclass(slots=True)
class JobSpec:
    """Everything a crawler child process needs (serialised as `job.json`).

    `out_dir` is a local path or a URL; `storage` holds the `storage.*` settings (StorageConfig's
    fields) needed to reach a URL, so that a child process or a Ray task on another node rebuilds
    the same location without the driver's environment. `job_dir` is always a local folder.
    """

    spider: str
    out_dir: str
    job_dir: str
    crawl: dict[str, Any]
    queries: list[str] = field(default_factory=list)
    start_urls: list[str] = field(default_factory=list)
    max_pages: int | None = None
    log_level: str = "INFO"
    storage: dict[str, Any] | None = None

    @property
    def config(self) -> CrawlConfig:
        return CrawlConfig(**self.crawl)

    @property
    def name(self) -> str:
        return Path(self.job_dir).name

    @property
    def out(self) -> DataPath:
        return data_path(self.out_dir, StorageConfig(**self.storage) if self.storage else None)

    @property
    def remote(self) -> bool:
        return is_remote(self.out_dir)

    @property
    def state_dir(self) -> DataPath:
        """Where the job's journal and stats live: `OUT/_jobs/<job>` (the job folder itself locally)."""
        return state_root(self.out) / self.name if self.remote else Path(self.job_dir)

    @property
    def path(self) -> Path:
        return Path(self.job_dir) / JOB_FILE

    def on_this_machine(self) -> JobSpec:
        """This job with its job folder on this machine (for a Ray task: a remote `--out`'s job
        folders are local to the node that runs the job)."""
        if not self.remote:
            return self
        return dataclasses.replace(self, job_dir=str(jobs_root(self.out) / self.name))

    def save(self) -> Path:
        """Writes `job.json` atomically, readable by its owner only (it may hold storage credentials)."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{JOB_FILE}.{uuid.uuid4().hex[:8]}.tmp")
        data = json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, job_dir: str | Path) -> JobSpec:
        path = Path(job_dir) / JOB_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"{path}: not a readable crawl job ({exc.__class__.__name__})") from None


def jobs_root(out_dir: DataPath) -> Path:
    """The local folder holding the job folders: `OUT/_jobs` for a local `--out`, a folder of the
    local cache for one on object storage."""
    if is_remote(out_dir):
        return local_cache_dir(out_dir, LOCAL_JOBS_PURPOSE)
    assert isinstance(out_dir, Path)
    return out_dir / JOBS_DIR


def state_root(out_dir: DataPath) -> DataPath:
    """`OUT/_jobs`: the jobs' state folders (journal, stats), wherever `OUT` is."""
    return out_dir / JOBS_DIR


def stats_file(out_dir: DataPath, spider: str) -> DataPath:
    return out_dir / f"crawl_stats-{spider}.json"


def _is_job_of(name: str, spider: str) -> bool:
    return name == spider or name.startswith(f"{spider}-p")


def job_dirs(out_dir: DataPath, spider: str) -> list[Path]:
    """The spider's job folders on this machine."""
    root = jobs_root(out_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _is_job_of(p.name, spider))


def state_dirs(out_dir: DataPath, spider: str) -> list[DataPath]:
    """The spider's job state folders, whichever machine ran the jobs (the job folders, locally)."""
    if not is_remote(out_dir):
        return list(job_dirs(out_dir, spider))
    root = state_root(out_dir)
    try:
        entries = root.fs.ls(root.path, detail=True)  # type: ignore[union-attr]
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = {str(e["name"]).rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory"}
    return [root / n for n in sorted(names) if _is_job_of(n, spider)]


def job_counters(out_dir: DataPath, spider: str) -> dict[str, int]:
    """The spider's counters summed over its jobs (all runs)."""
    return merge_jobs(d / STATS_NAME for d in state_dirs(out_dir, spider))


def read_queries(path: str | DataPath, storage: StorageConfig | None = None) -> list[str]:
    """One query per line (UTF-8, BOM allowed), from a local file or a URL (`s3://...`); blank lines
    and repeats are ignored, order kept."""
    p = data_path(path, storage) if isinstance(path, str) else path
    text, _ = read_text_file(p, "queries file")
    queries = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not queries:
        raise UserError(f"queries file {p} has no queries")
    return queries


def _storage_fields(out_dir: DataPath, storage: StorageConfig | None) -> dict[str, Any] | None:
    return dataclasses.asdict(storage) if storage is not None and is_remote(out_dir) else None


def plan_search(out_dir: DataPath, queries: list[str], cfg: CrawlConfig, partitions: int,
                log_level: str = "INFO", storage: StorageConfig | None = None) -> tuple[list[JobSpec], int]:
    """Jobs over the queries no earlier run finished, dealt round-robin; and how many were done."""
    done = done_queries(journal_path(d) for d in state_dirs(out_dir, "search"))
    remaining = [q for q in queries if q not in done]
    n = max(1, min(partitions, len(remaining)))
    specs = [
        JobSpec("search", str(out_dir), str(jobs_root(out_dir) / f"search-p{i:03d}"), dataclasses.asdict(cfg),
                queries=remaining[i::n], log_level=log_level, storage=_storage_fields(out_dir, storage))
        for i in range(n)
    ] if remaining else []
    return specs, len(queries) - len(remaining)


def plan_site(out_dir: DataPath, start_urls: list[str], cfg: CrawlConfig, log_level: str = "INFO",
              storage: StorageConfig | None = None) -> JobSpec:
    return JobSpec("site", str(out_dir), str(jobs_root(out_dir) / "site"), dataclasses.asdict(cfg),
                   start_urls=list(start_urls), max_pages=cfg.max_pages, log_level=log_level,
                   storage=_storage_fields(out_dir, storage))


def launch(spec: JobSpec) -> subprocess.Popen[bytes]:
    """Starts `python -m crawler.runner JOB_DIR` (own session: the parent forwards one SIGINT)."""
    job_dir = Path(spec.job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    spec.save()
    (job_dir / "progress.json").unlink(missing_ok=True)
    with open(job_dir / "stderr.log", "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "crawler.runner", str(job_dir)], stdin=subprocess.DEVNULL,
                                stdout=err, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "WUKONG_PARENT_PID": str(os.getpid())})


def read_progress(job_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((job_dir / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_crawl_stats(out_dir: DataPath, spider: str, **extra: Any) -> dict[str, Any]:
    """Sums every job's cumulative counters into `OUT/crawl_stats-<spider>.json`; returns the summary."""
    dirs = state_dirs(out_dir, spider)
    counters = merge_jobs(d / STATS_NAME for d in dirs)
    summary = {
        "spider": spider,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **summarize(counters),
        "parts_on_disk": len(existing_parts(out_dir, spider)),
        **extra,
        "jobs": [d.name for d in dirs],
        "counters": counters,
    }
    write_json_atomic(summary, stats_file(out_dir, spider))
    return summary
