"""`wukong crawl --spider warc|cc-index`: image-text candidates read from web archives.

    wukong crawl --spider warc --warc SRC [SRC ...] [--limit-files N] [--partitions N] --out DIR
    wukong crawl --spider cc-index --index PARQUET [PARQUET ...] [--partitions N] --out DIR

Each file (each index row group) is one Ray task; a re-run resumes: finished files are skipped and
an unfinished one goes on from its last committed part. Exit 0 when the run completed (failures are
counted, named in `OUT/crawl_stats-<spider>.json` and listed in the summary), 1 when no file could
be read, 2 on bad arguments, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from manifests.config import Config, load_config
from manifests.errors import UserError
from manifests.ray_session import cluster_address
from manifests.storage import DataPath, is_remote

log = logging.getLogger(__name__)
SHOWN_FAILURES = 10


def check_archive_flags(args: argparse.Namespace) -> None:
    if args.spider == "warc" and not args.warc:
        raise UserError("--spider warc needs --warc SRC [SRC ...]")
    if args.spider == "cc-index" and not args.index:
        raise UserError("--spider cc-index needs --index PARQUET [PARQUET ...]")
    if args.limit_files is not None and args.limit_files < 1:
        raise UserError(f"--limit-files must be at least 1, got {args.limit_files}")
    if args.partitions is not None and args.partitions < 1:
        raise UserError(f"--partitions must be at least 1, got {args.partitions}")


def archive_config(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.set)
    crawl = cfg.crawl
    if not crawl.cc_languages:
        raise UserError("crawl.cc_languages must name at least one language (ISO 639-3, e.g. zho)")
    for key in ("rows_per_part", "concurrent_requests_per_host"):
        if getattr(crawl, key) < 1:
            raise UserError(f"crawl.{key} must be at least 1, got {getattr(crawl, key)}")
    if crawl.retry_times < 0 or crawl.retry_backoff < 0 or crawl.timeout <= 0:
        raise UserError("crawl.retry_times and crawl.retry_backoff must not be negative, crawl.timeout positive")
    return cfg


def _plan(args: argparse.Namespace, cfg: Config) -> tuple[list[Any], list[dict[str, str]], Callable[..., Any]]:
    from crawler.archive.sources import expand_sources
    from crawler.archive.units import Unit

    if args.spider == "warc":
        from crawler.archive.unit_run import run_warc_unit

        expanded = expand_sources(args.warc, cfg.crawl, cfg.storage, args.limit_files)
        units = [Unit("warc", location) for location in expanded.files]
        task: Callable[..., Any] = run_warc_unit
    else:
        from crawler.archive.ccindex import plan_index_units, run_index_unit

        expanded = expand_sources(args.index, cfg.crawl, cfg.storage, None)
        units, more = plan_index_units(expanded.files, cfg.storage)
        expanded.unreadable.extend(more)
        task = run_index_unit
    unreadable = [{"where": src, "kind": "unreadable", "detail": why} for src, why in expanded.unreadable]
    for failure in unreadable:
        log.warning("%s: unreadable: %s", failure["where"], failure["detail"])
    return units, unreadable, task


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def run_archive(args: argparse.Namespace, out: DataPath, log_summary: Callable[[DataPath, str], None]) -> int:
    from tqdm import tqdm

    from crawler.archive.run import files_read, lock_dir, run_units, write_archive_stats
    from crawler.jobs import stats_file
    from crawler.runner import job_lock

    check_archive_flags(args)
    cfg = archive_config(args)
    partitions = args.partitions or cfg.crawl.partitions
    on_cluster = cluster_address(cfg) is not None
    if on_cluster and not is_remote(out):
        out = Path(out).resolve()
    started = time.monotonic()
    with job_lock(lock_dir(out, args.spider)) as lock:
        if lock is None:
            raise UserError(f"{out} is being crawled by another wukong crawl --spider {args.spider}")
        units, unreadable, task = _plan(args, cfg)
        bar = tqdm(total=len(units), unit="file", desc="crawl", disable=True if getattr(args, "quiet", False) else None,
                   file=sys.stderr, dynamic_ncols=True)
        try:
            result = run_units(units, task, out, cfg, partitions, bar)
        finally:
            bar.close()
        elapsed = time.monotonic() - started
        summary = write_archive_stats(out, args.spider, result, unreadable, last_run_seconds=round(elapsed, 3),
                                      partitions=partitions)
    files = summary["files"]
    new = result.new_counters
    failures = summary["failures"]
    report = "\n".join([
        f"crawl {args.spider}: {files['listed']:,} file(s) ({result.finished_before:,} finished earlier), "
        f"{elapsed:.1f} s -> {result.new_rows:,} pairs from {new.get('pages', 0):,} pages this run; "
        f"{summary['pairs']:,} pairs in {summary['parts_on_disk']} part(s) in all",
        f"  records: {_fmt(summary['records'])}; skipped (language): {summary['skipped_language']:,}; "
        f"pages opting out: {summary['opt_out_pages']:,}",
        f"  dropped: {_fmt(summary['dropped'])}",
        f"  failed: {_fmt(summary['failed'])}" + (f" (+{len(unreadable)} unreadable source(s))" if unreadable else ""),
        *[f"    {f['where']}: {f['kind']}: {f['detail']}" for f in failures[:SHOWN_FAILURES]],
        *([f"    ... {len(failures) - SHOWN_FAILURES:,} more in the stats"] if len(failures) > SHOWN_FAILURES else []),
        f"  stats: {stats_file(out, args.spider)}",
    ])
    print(report)
    log_summary(out, report)
    if result.interrupted:
        print("wukong: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    if files["listed"] and not files_read(result):
        print("wukong: error: no archive file could be read", file=sys.stderr)
        return 1
    if not files["listed"]:
        print("wukong: error: the sources name no archive file", file=sys.stderr)
        return 1
    return 0
