"""The one output pipeline: CANDIDATE rows buffered, committed as parquet parts every N rows.

Each commit (a part renamed into place) is followed by the journal append of every checkpoint
that arrived before it, and by a snapshot of the job's cumulative stats; on close the rest is
committed the same way. Pairs reach the pipeline in the order the spider yields them, so a
checkpoint is journaled only when all its unit's pairs are on disk.

For an output folder on object storage, parts are uploaded whole (crawler.parts), the journal and
the stats go to the job's state folder there (crawler.jobs), and a checkpoint that arrives with no
rows buffered waits for the next commit, or for `REMOTE_JOURNAL_INTERVAL` seconds, instead of
costing two uploads of its own (a delay only: a unit journaled late is at worst crawled again).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawler.apis import is_http_url
from crawler.items import CandidatePair, Checkpoint
from crawler.journal import Journal, SegmentJournal, journal_path, open_journal
from crawler.parts import PartWriter
from crawler.stats import (
    DROPPED,
    PAIRS,
    PARTS,
    STATS_NAME,
    add_counters,
    load_job_counters,
    select_counters,
    write_job_stats,
)
from manifests.config import StorageConfig
from manifests.schemas import CANDIDATE, CAPTION_SOURCES
from manifests.storage import DataPath, data_path, is_remote

STAGING_NAME = "staging.parquet"
REMOTE_JOURNAL_INTERVAL = 10.0  # seconds: how long a checkpoint with no pending rows may wait (object storage)


def validate(item: CandidatePair) -> str | None:
    """Why a pair cannot be a CANDIDATE row, or None."""
    if not item.caption or not item.caption.strip():
        return "no_caption"
    if item.caption_source not in CAPTION_SOURCES:
        return "bad_caption_source"
    if not is_http_url(item.url):
        return "bad_url"
    for dim in (item.width_hint, item.height_hint):
        if dim is not None and not 0 < dim < 2**31:
            return "bad_size_hint"
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _epoch_ms(t: datetime) -> int:
    """Milliseconds since the epoch (exact, truncated); a naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - _EPOCH) // _MS


def to_table(rows: list[CandidatePair]) -> pa.Table:
    """CANDIDATE columns from the items (built column by column: no per-row dicts)."""
    arrays = []
    for f in CANDIDATE:
        values = [getattr(r, f.name) for r in rows]
        if f.name == "crawled_at":
            cache: dict[datetime, int] = {}  # the rows of one page share one timestamp
            stamps = []
            for t in values:
                ms = cache.get(t)
                if ms is None:
                    ms = cache[t] = _epoch_ms(t)
                stamps.append(ms)
            arrays.append(pa.array(stamps, type=pa.int64()).cast(f.type))
        else:
            arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=CANDIDATE)


class CandidatePartsPipeline:
    """`out_dir` and `state_dir` (journal, stats; default `job_dir`) are local folders or URLs;
    `job_dir` is local (the staging part)."""

    def __init__(self, crawler: Crawler, out_dir: DataPath, job_dir: Path, rows_per_part: int,
                 state_dir: DataPath | None = None) -> None:
        self.crawler = crawler
        self.out_dir = out_dir
        self.job_dir = job_dir
        self.state_dir: DataPath = job_dir if state_dir is None else state_dir
        self.rows_per_part = rows_per_part
        self.rows: list[CandidatePair] = []
        self.pending: list[Checkpoint] = []
        self.writer: PartWriter | None = None
        self.journal: Journal | SegmentJournal | None = None
        self.base: dict[str, int] = {}
        self.remote_state = is_remote(self.state_dir)
        self.last_flush = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CandidatePartsPipeline:
        out, job = crawler.settings.get("WUKONG_OUT"), crawler.settings.get("WUKONG_JOBDIR")
        if not out or not job:
            raise NotConfigured("WUKONG_OUT and WUKONG_JOBDIR are required")
        fields = crawler.settings.get("WUKONG_STORAGE")
        storage = StorageConfig(**dict(fields)) if fields else None
        state = crawler.settings.get("WUKONG_STATEDIR")
        rows = crawler.settings.getint("WUKONG_ROWS_PER_PART", 10000)
        return cls(crawler, data_path(out, storage), Path(job), max(1, rows),
                   data_path(state, storage) if state else None)

    def open_spider(self) -> None:
        assert self.crawler.spider is not None
        self.writer = PartWriter(self.out_dir, self.crawler.spider.name, self.job_dir / STAGING_NAME)
        self.journal = open_journal(journal_path(self.state_dir), self.job_dir)
        self.base = load_job_counters(self.state_dir / STATS_NAME)

    def process_item(self, item: Any) -> Any:
        stats = self.crawler.stats
        assert stats is not None
        if isinstance(item, Checkpoint):
            self.pending.append(item)
            if not self.rows and self.journal_due():
                self.flush()
            return item
        if not isinstance(item, CandidatePair):
            stats.inc_value(f"{DROPPED}unexpected_item")
            raise DropItem(f"not a CandidatePair: {type(item).__name__}")
        reason = validate(item)
        if reason:
            stats.inc_value(f"{DROPPED}{reason}")
            raise DropItem(reason)
        self.rows.append(item)
        stats.inc_value(PAIRS)
        if len(self.rows) >= self.rows_per_part:
            self.flush()
        return item

    def journal_due(self) -> bool:
        """Whether checkpoints with no rows pending are journaled now (always, in a local folder)."""
        return not self.remote_state or time.monotonic() - self.last_flush >= REMOTE_JOURNAL_INTERVAL

    def flush(self) -> None:
        """Commits buffered rows as a part, then journals the checkpoints and snapshots the stats."""
        assert self.writer is not None and self.journal is not None and self.crawler.stats is not None
        if self.rows:
            self.writer.commit(to_table(self.rows))
            self.rows.clear()
            self.crawler.stats.inc_value(PARTS)
        if self.pending:
            self.journal.append(self.pending)
            self.pending.clear()
        self.write_stats()
        self.last_flush = time.monotonic()

    def write_stats(self, **extra: Any) -> None:
        assert self.crawler.stats is not None
        counters = add_counters(self.base, select_counters(self.crawler.stats.get_stats()))
        write_job_stats(self.state_dir / STATS_NAME, counters, **extra)

    def close_spider(self) -> None:
        self.flush()
