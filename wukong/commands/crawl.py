"""`wukong crawl`: image-text candidates from a search API (`--spider search`) or from sites (`--spider site`).

Each crawl runs Scrapy in child processes (a fresh reactor each): `--partitions N` deals the query
list round-robin to N of them. Output: `OUT/part-<spider>-NNNNN.parquet` (schema CANDIDATE),
`OUT/crawl_stats-<spider>.json`; per process `OUT/_jobs/<job>/` holds the log (`crawl.log`), the
resume journal and stats. Re-running the same command resumes: finished queries and pages are
skipped; a unit interrupted halfway is crawled again, so a pair may appear twice (at-least-once;
the filter stage dedups URLs).

`--out` (and `--queries`) may be an object-storage URL (`s3://bucket/prefix`, reached with the
`storage.*` config keys): parts and crawl stats are uploaded whole, each part under a name claimed
with a conditional PUT, so partitions and Ray tasks on nodes without a shared disk never clobber
one another. The resume journal and stats go to `OUT/_jobs/<job>/` there; what object storage
cannot hold (locks, progress, Scrapy's log) stays in a local folder of the machine that runs each
job, under $WUKONG_CACHE or ~/.cache/wukong (`crawl-jobs/`), and the run summary in its `logs/`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from manifests.config import CrawlConfig, StorageConfig, load_config
from manifests.errors import UserError
from manifests.ray_session import cluster_address
from manifests.storage import DataPath, data_path, is_remote
from wukong.commands.common import add_config_args
from wukong.logs import logs_dir_for

POLL_SECONDS = 0.25
EXIT_BUSY = 3


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="crawl image-text candidates into CANDIDATE parquet parts", description=__doc__)
    p.add_argument("--spider", choices=("search", "site", "warc", "cc-index"), required=True,
                   help="search API queries, site links, web-archive files (WARC/WAT), or Common Crawl's "
                        "columnar index")
    p.add_argument("--queries", metavar="FILE",
                   help="search: one query per line (UTF-8; blank lines and repeats ignored), a local file or a "
                        "URL such as s3://bucket/queries.txt (default: none)")
    p.add_argument("--endpoint", metavar="URL", help="search: the API endpoint (default: crawl.endpoint)")
    p.add_argument("--max-per-query", type=int, metavar="N",
                   help="search: at most N pairs per query (default: crawl.max_per_query)")
    p.add_argument("--partitions", type=int, metavar="N",
                   help="search: N crawler processes in parallel; warc, cc-index: N Ray tasks at a time on one "
                        "machine (default: crawl.partitions)")
    p.add_argument("--start-url", action="append", default=[], metavar="URL",
                   help="site: a start page (repeatable); links are followed within its host:port (default: none)")
    p.add_argument("--max-pages", type=int, metavar="N",
                   help="site: page budget, 0 = unlimited (default: crawl.max_pages)")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="output folder (a re-run resumes it), or an object-storage URL such as s3://bucket/prefix "
                        "(storage.* config keys): there, each job's lock, progress and Scrapy log stay in a local "
                        "folder of the machine that runs it ($WUKONG_CACHE or ~/.cache/wukong), while parts, "
                        "stats and the resume journal are on object storage, so a re-run on any machine resumes")
    p.add_argument("--warc", nargs="+", metavar="SRC",
                   help="warc: .warc, .warc.gz or .warc.wat.gz files: paths or globs, s3:// or http(s):// URLs, or "
                        ".paths/.paths.gz listings joined to crawl.warc_base_url (default: none)")
    p.add_argument("--limit-files", type=int, metavar="N",
                   help="warc: only the first N files of each listing (default: all)")
    p.add_argument("--index", nargs="+", metavar="PARQUET",
                   help="cc-index: Common Crawl columnar-index parquet files (paths, globs or s3:// URLs); the "
                        "selected records are read by HTTP Range or S3 ranged GETs from crawl.warc_base_url "
                        "(default: none)")
    add_config_args(p)
    p.set_defaults(func=run)


def _check_url(url: str, what: str) -> str:
    from crawler.apis import is_http_url

    if not is_http_url(url):
        raise UserError(f"{what} must be an http(s) URL, got {url!r}")
    return url


def effective_config(args: argparse.Namespace) -> CrawlConfig:
    """The crawl config: file, then --set, then this command's flags; checked."""
    from crawler.apis import API_FORMATS

    cfg = load_config(args.config, args.set).crawl
    if args.endpoint is not None:
        cfg.endpoint = args.endpoint
    if args.max_per_query is not None:
        cfg.max_per_query = args.max_per_query
    if args.partitions is not None:
        cfg.partitions = args.partitions
    if args.max_pages is not None:
        cfg.max_pages = args.max_pages
    if cfg.api_format not in API_FORMATS:
        raise UserError(f"crawl.api_format must be one of {', '.join(API_FORMATS)}, got {cfg.api_format!r}")
    for key in ("max_per_query", "partitions", "page_size", "rows_per_part", "concurrent_requests",
                "concurrent_requests_per_host"):
        if getattr(cfg, key) < 1:
            raise UserError(f"crawl.{key} must be at least 1, got {getattr(cfg, key)}")
    for key in ("max_pages", "retry_times", "max_blocked_retries", "download_delay"):
        if getattr(cfg, key) < 0:
            raise UserError(f"crawl.{key} must not be negative, got {getattr(cfg, key)}")
    if cfg.timeout <= 0:
        raise UserError(f"crawl.timeout must be positive, got {cfg.timeout}")
    if args.spider == "search":
        _check_url(cfg.endpoint, "the search endpoint (--endpoint / crawl.endpoint)")
    return cfg


ARCHIVE_SPIDERS = ("warc", "cc-index")


def _check_flags(args: argparse.Namespace) -> None:
    flags = {"--queries": (args.queries, {"search"}), "--endpoint": (args.endpoint, {"search"}),
             "--max-per-query": (args.max_per_query, {"search"}),
             "--partitions": (args.partitions, {"search", *ARCHIVE_SPIDERS}),
             "--start-url": (args.start_url or None, {"site"}), "--max-pages": (args.max_pages, {"site"}),
             "--warc": (args.warc, {"warc"}), "--limit-files": (args.limit_files, {"warc"}),
             "--index": (args.index, {"cc-index"})}
    given = [flag for flag, (value, spiders) in flags.items() if value is not None and args.spider not in spiders]
    if given:
        raise UserError(f"{', '.join(given)} cannot be used with --spider {args.spider}")
    if args.spider == "search" and not args.queries:
        raise UserError("--spider search needs --queries FILE")
    if args.spider == "site" and not args.start_url:
        raise UserError("--spider site needs at least one --start-url URL")


def _remote_out_dir(out: DataPath) -> DataPath:
    """Checks that an object-storage `--out` can be reached: its bucket exists, it is not an object."""
    bucket = str(getattr(out, "path", "")).split("/", 1)[0]
    try:
        if bucket:
            out.fs.info(bucket)  # type: ignore[union-attr]
        if out.is_file():
            raise UserError(f"--out is not a folder: {out}")
    except FileNotFoundError:
        raise UserError(f"--out: bucket not found: {str(out).split('://', 1)[0]}://{bucket}") from None
    except UserError:
        raise
    except Exception as exc:  # credentials, permissions, an unreachable endpoint: botocore has its own types
        raise UserError(f"cannot reach {out}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
            from None
    return out


def _out_dir(spec: str, storage: StorageConfig | None = None) -> DataPath:
    out = data_path(spec, storage)
    if is_remote(out):
        return _remote_out_dir(out)
    assert isinstance(out, Path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out is not a folder: {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror or exc}") from None
    return out


def _progress_bar(total: int | None, unit: str, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc="crawl", disable=True if quiet else None, file=sys.stderr,
                dynamic_ncols=True)


def _supervise(procs: list[Any], job_dirs: list[Path], bar: Any, by_queries: bool) -> list[int]:
    """Waits for the children (`Popen`s, or `RayJob`s on a cluster), updating the bar; Ctrl-C is
    forwarded once per press (graceful, then forced)."""
    from crawler.jobs import read_progress

    def progress_of(proc: Any, job_dir: Path) -> dict[str, Any]:  # a RayJob reports it; a local child writes it
        report = getattr(proc, "progress", None)
        return report() if callable(report) else read_progress(job_dir)

    while True:
        try:
            while any(p.poll() is None for p in procs):
                progress = [progress_of(p, d) for p, d in zip(procs, job_dirs, strict=True)]
                done = sum(int(p.get("queries_done" if by_queries else "pages", 0)) for p in progress)
                bar.n = done
                bar.set_postfix(pairs=sum(int(p.get("pairs", 0)) for p in progress), refresh=False)
                bar.refresh()
                time.sleep(POLL_SECONDS)
            return [int(p.returncode) for p in procs]
        except KeyboardInterrupt:
            bar.write("wukong crawl: interrupting (finishing in-flight pages; press Ctrl-C again to force)")
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)


def _fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def _log_to_data_dir(out: DataPath, report: str) -> None:
    """Appends the run's summary to DIR/logs/crawl.log (Scrapy's own logs stay per job in OUT/_jobs/)."""
    log_dir = logs_dir_for(out)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "crawl.log", "a", encoding="utf-8") as fh:
            fh.writelines(f"{stamp} {line}\n" for line in report.splitlines())
    except OSError as exc:
        raise UserError(f"cannot write the log file {log_dir / 'crawl.log'}: {exc.strerror or exc}") from None


def _job_logs(out: DataPath, on_cluster: bool) -> str:
    from crawler.jobs import jobs_root

    where = f"{jobs_root(out)}/*/crawl.log"
    return f"{where} on the node that ran each job" if on_cluster and is_remote(out) else where


def _where(proc: Any, job_dir: Path) -> Path:
    """The job folder as the machine that ran the job knows it (a RayJob's node reports it)."""
    ran_in = getattr(proc, "ran_in", None)
    return Path(ran_in) if ran_in else job_dir


def run(args: argparse.Namespace) -> int:
    from crawler import jobs
    from crawler.stats import PAGES, PAIRS

    _check_flags(args)
    if args.spider in ARCHIVE_SPIDERS:
        from wukong.commands.crawl_archive import archive_config, check_archive_flags, run_archive

        check_archive_flags(args)
        return run_archive(args, _out_dir(args.out, archive_config(args).storage), _log_to_data_dir)
    cfg = effective_config(args)
    full_cfg = load_config(args.config, args.set)
    storage = full_cfg.storage
    queries = jobs.read_queries(args.queries, storage) if args.spider == "search" else []
    start_urls = [_check_url(u, "--start-url") for u in args.start_url]
    out = _out_dir(args.out, storage)  # only once the input is known to be good: a bad one leaves nothing behind
    remote = is_remote(out)
    on_cluster = cluster_address(full_cfg) is not None
    if on_cluster and not remote:  # jobs run on other nodes: absolute paths on the shared filesystem
        assert isinstance(out, Path)
        out = out.resolve()
    log_level = "DEBUG" if getattr(args, "verbose", False) else "INFO"
    if args.spider == "search":
        specs, done_before = jobs.plan_search(out, queries, cfg, cfg.partitions, log_level, storage)
        work = f"{len(queries):,} queries ({done_before:,} finished earlier)"
        total: int | None = len(queries) - done_before
    else:
        specs = [jobs.plan_site(out, start_urls, cfg, log_level, storage)]
        work = f"{len(start_urls)} start URL(s)"
        total = cfg.max_pages or None
    dirs = [Path(s.job_dir) for s in specs]
    before = jobs.job_counters(out, args.spider)
    started = time.monotonic()
    codes: list[int] = []
    procs: list[Any] = []
    if specs:
        bar = _progress_bar(total, "query" if args.spider == "search" else "page", getattr(args, "quiet", False))
        try:
            if on_cluster:  # one Ray task per job, spread over the nodes (crawler/ray_partitions.py)
                from crawler.ray_partitions import run_on_cluster

                def supervise(running: list[Any]) -> list[int]:
                    procs.extend(running)
                    return _supervise(running, dirs, bar, args.spider == "search")

                codes = run_on_cluster(specs, full_cfg, supervise)
            else:
                procs = [jobs.launch(s) for s in specs]
                codes = _supervise(procs, dirs, bar, args.spider == "search")
        finally:
            bar.close()
    elapsed = time.monotonic() - started
    summary = jobs.write_crawl_stats(out, args.spider, processes=len(specs), last_run_seconds=round(elapsed, 3),
                                     last_run_exit_codes=codes)
    run_counts = _delta(summary["counters"], before)
    report = "\n".join([
        f"crawl {args.spider}: {work}, {len(specs)} process(es), {elapsed:.1f} s -> "
        f"{run_counts.get(PAIRS, 0):,} pairs from {run_counts.get(PAGES, 0):,} pages this run; "
        f"{summary['pairs']:,} pairs in {summary['parts_on_disk']} part(s) in all",
        f"  errors: {_fmt_counts(summary['errors'])}; blocked: {summary['blocked']:,} "
        f"({summary['blocked_gave_up']:,} gave up); robots.txt forbidden: {summary['robots_forbidden']:,}; "
        f"pages opting out: {summary['opt_out_pages']:,}",
        f"  dropped: {_fmt_counts(summary['dropped'])}",
        f"  stats: {jobs.stats_file(out, args.spider)}; logs: {_job_logs(out, on_cluster)}",
    ])
    print(report)
    _log_to_data_dir(out, report)
    if not specs:
        print("  nothing to do: every query was finished by an earlier run (use a new --out to crawl again)")
    dirs = [_where(p, d) for p, d in zip(procs, dirs, strict=True)] if procs else dirs
    busy = [d for d, c in zip(dirs, codes, strict=True) if c == EXIT_BUSY]
    if busy:
        raise UserError(f"{busy[0]} is locked by another running crawl of the same --out")
    if any(c == 130 for c in codes):
        print("wukong: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    failed = [(d, c) for d, c in zip(dirs, codes, strict=True) if c != 0]
    if failed:
        d, c = failed[0]
        print(f"wukong: error: crawler process {d.name} failed (exit {c}); see {d / 'crawl.log'} and "
              f"{d / 'stderr.log'}", file=sys.stderr)
        return 1
    return 0
