"""One crawler process: `python -m crawler.runner JOB_DIR` runs the job in `JOB_DIR/job.json`.

A fresh process means a fresh Twisted reactor per crawl. The job folder is locked (flock) while
the crawl runs, so two processes never share a journal; if the parent `wukong crawl` dies, the
child gets SIGTERM (Linux) and shuts down gracefully. Exit codes: 0 finished, 130 interrupted
(SIGINT/SIGTERM: re-run to resume), 3 job folder busy, 1 anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from scrapy.crawler import CrawlerProcess

from crawler.jobs import LOCK_FILE, JobSpec
from crawler.settings import scrapy_settings
from crawler.spiders import SPIDERS
from crawler.stats import STATS_NAME, load_job_counters, write_job_stats
from manifests.arrow_init import prepare_arrow

EXIT_BUSY = 3


@contextlib.contextmanager
def job_lock(job_dir: Path) -> Iterator[IO[str] | None]:
    job_dir.mkdir(parents=True, exist_ok=True)
    with open(job_dir / LOCK_FILE, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield fh


_told_to_stop = False


def _parent_died(signum: int, frame: object) -> None:
    """SIGHUP's handler: one SIGTERM however often it runs. A multithreaded parent's death signals once per
    thread (the child is handed to each next thread as one exits), and a SIGHUP arriving after Python took
    the first one but before SIG_IGN below is in place runs this handler again: a second SIGTERM would make
    Scrapy force an unclean shutdown (seen on a loaded machine)."""
    global _told_to_stop
    if _told_to_stop:  # checked and set with no point between where another handler could run
        return
    _told_to_stop = True
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's graceful shutdown, exactly once


def die_with_parent() -> None:
    """A graceful stop (one SIGTERM) when the parent dies (Linux); exits now if it already has.

    The kernel sends the parent-death signal (SIGHUP here) as each thread of the parent exits, so
    it is turned into a single SIGTERM, which Scrapy handles as a graceful shutdown.
    """
    parent = os.environ.get("WUKONG_PARENT_PID")
    if not parent or not sys.platform.startswith("linux"):
        return
    signal.signal(signal.SIGHUP, _parent_died)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGHUP)  # PR_SET_PDEATHSIG
    if str(os.getppid()) != parent:
        sys.exit(130)


def run_job(spec: JobSpec) -> str:
    """Runs the crawl to its end; returns Scrapy's finish reason."""
    job_dir = Path(spec.job_dir)
    cfg = spec.config
    state_dir = spec.state_dir
    process = CrawlerProcess(scrapy_settings(cfg, spec.out, job_dir, spec.log_level, state_dir=state_dir,
                                             storage=spec.storage))
    spider_cls = SPIDERS[spec.spider]
    kwargs: dict[str, object] = {"config": cfg, "job_dir": str(job_dir), "state_dir": state_dir}
    if spec.spider == "search":
        kwargs["queries"] = spec.queries
    else:
        kwargs["start_urls"] = spec.start_urls
        kwargs["max_pages"] = spec.max_pages
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, **kwargs)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    reason = str(stats.get("finish_reason", "unknown"))
    stats_path = state_dir / STATS_NAME
    write_job_stats(stats_path, load_job_counters(stats_path), finish_reason=reason,
                    last_run_crawl_seconds=round(float(stats.get("elapsed_time_seconds", 0.0)), 3))
    return reason


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m crawler.runner JOB_DIR", file=sys.stderr)
        return 2
    die_with_parent()
    prepare_arrow()
    spec = JobSpec.load(args[0])
    with job_lock(Path(spec.job_dir)) as lock:
        if lock is None:
            print(f"job folder {spec.job_dir} is in use by another crawl", file=sys.stderr)
            return EXIT_BUSY
        reason = run_job(spec)
    if reason == "finished":
        return 0
    return 130 if reason == "shutdown" else 1


if __name__ == "__main__":
    sys.exit(main())
