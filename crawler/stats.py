"""Crawl statistics: namespaced Scrapy counters (`wukong/...`), summed across runs and partitions.

A job's `stats.json` is cumulative: a run starts from what the file holds (written at every part
commit, so even a killed run's counts up to its last part survive) and adds its own counters. It
sits in the job's state folder, on object storage for an output folder there (crawler.jobs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from manifests.parquet_io import write_json_atomic
from manifests.storage import DataPath

STATS_NAME = "stats.json"  # a job's cumulative counters, in its state folder
PREFIX = "wukong/"
PAGES = "wukong/pages"  # pages parsed: HTML pages (site) or API answers (search)
PAIRS = "wukong/pairs"  # pairs accepted by the output pipeline
PARTS = "wukong/parts"
BLOCKED = "wukong/blocked"  # anti-spider answers (antiFlag)
BLOCKED_GAVE_UP = "wukong/blocked_gave_up"
QUERIES_DONE = "wukong/queries_done"
QUERIES_FAILED = "wukong/queries_failed"  # a page failed for good: not journaled, a re-run retries it
SKIPPED_DONE = "wukong/skipped_done"  # units finished by an earlier run
OPT_OUT_PAGES = "wukong/opt_out_pages"  # pages whose headers or robots <meta> opt out of AI use: no pairs
ERRORS = "wukong/errors/"
DROPPED = "wukong/dropped/"
# Scrapy's own counters worth keeping.
SCRAPY_KEYS = ("downloader/request_count", "downloader/response_count", "retry/count", "retry/max_reached",
               "robotstxt/forbidden", "log_count/ERROR", "item_dropped_count")
SCRAPY_PREFIXES = ("downloader/response_status_count/", "spider_exceptions/")

Counters = dict[str, int]


def select_counters(stats: Mapping[str, Any]) -> Counters:
    """The numeric counters of a Scrapy stats dict that the summary keeps."""
    out: Counters = {}
    for key, value in stats.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if key.startswith(PREFIX) or key in SCRAPY_KEYS or key.startswith(SCRAPY_PREFIXES):
            out[key] = value
    return out


def add_counters(*many: Mapping[str, int]) -> Counters:
    total: Counters = {}
    for counters in many:
        for key, value in counters.items():
            total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items()))


def _under(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in sorted(counters.items()) if k.startswith(prefix)}


def summarize(counters: Mapping[str, int]) -> dict[str, Any]:
    """The crawl stats users read: pages, pairs, errors, blocked and drops per reason."""
    errors = _under(counters, ERRORS)
    for key, value in _under(counters, "spider_exceptions/").items():
        errors[f"spider_exception/{key}"] = value
    return {
        "pages": counters.get(PAGES, 0),
        "pairs": counters.get(PAIRS, 0),
        "parts": counters.get(PARTS, 0),
        "requests": counters.get("downloader/request_count", 0),
        "errors": errors,
        "blocked": counters.get(BLOCKED, 0),
        "blocked_gave_up": counters.get(BLOCKED_GAVE_UP, 0),
        "robots_forbidden": counters.get("robotstxt/forbidden", 0),
        "queries_done": counters.get(QUERIES_DONE, 0),
        "queries_failed": counters.get(QUERIES_FAILED, 0),
        "skipped_done": counters.get(SKIPPED_DONE, 0),
        "opt_out_pages": counters.get(OPT_OUT_PAGES, 0),
        "dropped": _under(counters, DROPPED),
    }


def load_job_counters(path: DataPath) -> Counters:
    """The cumulative counters in a job's stats file ({} when missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in data.get("counters", {}).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def write_job_stats(path: DataPath, counters: Mapping[str, int], **extra: Any) -> None:
    write_json_atomic({"counters": dict(sorted(counters.items())), **extra}, path)


def merge_jobs(paths: Iterable[DataPath]) -> Counters:
    return add_counters(*(load_job_counters(p) for p in paths))
