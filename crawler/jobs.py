"""Crawl jobs: what one crawler process does (`job.json` in its job folder), and how a crawl is planned.

The output folder holds the parts and `crawl_stats-<spider>.json`; its `_jobs/` holds one folder
per crawler process (`search-p000`, `search-p001`, ..., `site`), each with `job.json`, the resume
journal, cumulative `stats.json`, `progress.json`, `crawl.log` and a lock. A re-run with the same
output folder resumes: finished queries (from every search journal, whatever the partitioning
was) are not planned again; the site spider replays its journal.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.journal import JOURNAL_NAME, done_queries
from crawler.parts import existing_parts
from crawler.stats import merge_jobs, summarize
from manifests.config import CrawlConfig
from manifests.errors import UserError
from manifests.parquet_io import write_json_atomic

JOBS_DIR = "_jobs"
JOB_FILE = "job.json"
LOCK_FILE = "lock"


@dataclass(slots=True)
class JobSpec:
    """Everything a crawler child process needs (serialised as `job.json`)."""

    spider: str
    out_dir: str
    job_dir: str
    crawl: dict[str, Any]
    queries: list[str] = field(default_factory=list)
    start_urls: list[str] = field(default_factory=list)
    max_pages: int | None = None
    log_level: str = "INFO"

    @property
    def config(self) -> CrawlConfig:
        return CrawlConfig(**self.crawl)

    @property
    def path(self) -> Path:
        return Path(self.job_dir) / JOB_FILE

    def save(self) -> Path:
        return write_json_atomic(dataclasses.asdict(self), self.path)

    @classmethod
    def load(cls, job_dir: str | Path) -> JobSpec:
        path = Path(job_dir) / JOB_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"{path}: not a readable crawl job ({exc.__class__.__name__})") from None


def jobs_root(out_dir: Path) -> Path:
    return out_dir / JOBS_DIR


def stats_file(out_dir: Path, spider: str) -> Path:
    return out_dir / f"crawl_stats-{spider}.json"


def job_dirs(out_dir: Path, spider: str) -> list[Path]:
    root = jobs_root(out_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p.name == spider or p.name.startswith(f"{spider}-p")))


def read_queries(path: str | Path) -> list[str]:
    """One query per line (UTF-8, BOM allowed); blank lines and repeats are ignored, order kept."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"queries file not found: {p}")
    try:
        lines = p.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"queries file {p} is not UTF-8") from None
    queries = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not queries:
        raise UserError(f"queries file {p} has no queries")
    return queries


def plan_search(out_dir: Path, queries: list[str], cfg: CrawlConfig, partitions: int,
                log_level: str = "INFO") -> tuple[list[JobSpec], int]:
    """Jobs over the queries no earlier run finished, dealt round-robin; and how many were done."""
    done = done_queries(d / JOURNAL_NAME for d in job_dirs(out_dir, "search"))
    remaining = [q for q in queries if q not in done]
    n = max(1, min(partitions, len(remaining)))
    specs = [
        JobSpec("search", str(out_dir), str(jobs_root(out_dir) / f"search-p{i:03d}"), dataclasses.asdict(cfg),
                queries=remaining[i::n], log_level=log_level)
        for i in range(n)
    ] if remaining else []
    return specs, len(queries) - len(remaining)


def plan_site(out_dir: Path, start_urls: list[str], cfg: CrawlConfig, log_level: str = "INFO") -> JobSpec:
    return JobSpec("site", str(out_dir), str(jobs_root(out_dir) / "site"), dataclasses.asdict(cfg),
                   start_urls=list(start_urls), max_pages=cfg.max_pages, log_level=log_level)


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


def write_crawl_stats(out_dir: Path, spider: str, **extra: Any) -> dict[str, Any]:
    """Sums every job's cumulative counters into `OUT/crawl_stats-<spider>.json`; returns the summary."""
    dirs = job_dirs(out_dir, spider)
    counters = merge_jobs(d / "stats.json" for d in dirs)
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
