"""`--spider cc-index`: rows of Common Crawl's columnar index selected, each record read by one ranged GET.

The cheap question first (cc-pyspark's way): the index says which record of which WARC file holds
which page, in which language, with which status and MIME type. A unit is one row group of one
index file (its footer is all that planning reads). A unit selects its rows (`fetch_status` 200,
an HTML `content_mime_detected`, `content_languages` meeting `crawl.cc_languages`; a missing
column or a null value selects), then fetches each selected record, and only it, with an HTTP
`Range` request (or an S3 ranged GET) from `crawl.warc_base_url` + `warc_filename`: a few in flight
at a time, at most `crawl.concurrent_requests_per_host` per host, retried with doubling backoff on
5xx, 429 and 503 SlowDown (Retry-After honoured). Each record is one gzip member holding the
response; it goes through the same page extraction as a WARC file's (`content_charset` as the
archive's charset hint). Pairs come out in index order, so a resumed unit continues at the first
row whose pairs were not committed.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from crawler.archive.extract import ArchiveSteps, Failure, Step, html_page
from crawler.archive.reader import read_records
from crawler.archive.records import Damage, Position
from crawler.archive.sources import RETRY_STATUSES, SourceError, check_host, join_base
from crawler.archive.unit_run import UnitWriter, run_unit_task
from crawler.archive.units import Progress, Unit
from manifests.config import CrawlConfig, StorageConfig
from manifests.parquet_io import parquet_file
from manifests.storage import data_path, is_url, storage_failure

REQUIRED = ("url", "warc_filename", "warc_record_offset", "warc_record_length")
OPTIONAL = ("fetch_status", "content_mime_detected", "content_mime_type", "content_languages", "content_charset")
HTML_MIMES = ("text/html", "application/xhtml+xml")
IN_FLIGHT_PER_HOST = 4  # requests queued per allowed connection: keeps every connection busy


@dataclass(frozen=True, slots=True)
class IndexRow:
    row: int  # position in the row group
    url: str
    location: str  # where the WARC file is read from
    offset: int
    length: int
    charset: str | None


def plan_index_units(files: list[str], storage: StorageConfig | None) -> tuple[list[Unit], list[tuple[str, str]]]:
    """One unit per row group of each index file (footers only); unreadable files are named."""
    units: list[Unit] = []
    unreadable: list[tuple[str, str]] = []
    for location in files:
        try:
            meta = parquet_file(data_path(location, storage) if is_url(location) else location).metadata
        except FileNotFoundError:
            unreadable.append((location, "not found"))
            continue
        except (OSError, pa.ArrowInvalid) as exc:
            unreadable.append((location, f"not a readable parquet file: {str(exc).splitlines()[0]}"))
            continue
        names = set(meta.schema.to_arrow_schema().names)
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            unreadable.append((location, f"not a Common Crawl index: no column {', '.join(missing)}"))
            continue
        units.extend(Unit("cc-index", location, rg) for rg in range(meta.num_row_groups))
    return units, unreadable


def _column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    return table.column(name) if name in table.column_names else None


def select_rows(table: pa.Table, languages: list[str]) -> tuple[pa.Array, Counter[str]]:
    """The boolean selection of a row group's rows, and why the others were left out."""
    n = table.num_rows
    keep = pa.array([True] * n)
    why: Counter[str] = Counter({"index_rows": n})
    status = _column(table, "fetch_status")
    if status is not None:
        ok = pc.fill_null(pc.equal(status, 200), True)
        why["index_skipped_status"] += int(pc.sum(pc.and_(keep, pc.invert(ok))).as_py() or 0)
        keep = pc.and_(keep, ok)
    mime = _column(table, "content_mime_detected")
    mime = mime if mime is not None else _column(table, "content_mime_type")
    if mime is not None:
        lowered = pc.utf8_lower(pc.cast(mime, pa.string()))
        ok = pc.fill_null(pc.or_(pc.starts_with(lowered, HTML_MIMES[0]), pc.starts_with(lowered, HTML_MIMES[1])),
                          True)
        why["index_skipped_mime"] += int(pc.sum(pc.and_(keep, pc.invert(ok))).as_py() or 0)
        keep = pc.and_(keep, ok)
    langs = _column(table, "content_languages")
    if langs is not None:
        pattern = "|".join(f"(^|,){lang.strip().lower()}(,|$)" for lang in languages)
        ok = pc.fill_null(pc.match_substring_regex(pc.utf8_lower(pc.cast(langs, pa.string())), pattern), True)
        why["skipped_language"] += int(pc.sum(pc.and_(keep, pc.invert(ok))).as_py() or 0)
        keep = pc.and_(keep, ok)
    why["index_selected"] = int(pc.sum(keep).as_py() or 0)
    return keep, why


def read_selected(unit: Unit, cfg: CrawlConfig, storage: StorageConfig | None) -> tuple[list[IndexRow], Counter[str]]:
    assert unit.row_group is not None
    source = data_path(unit.location, storage) if is_url(unit.location) else unit.location
    pf = parquet_file(source)
    names = set(pf.schema_arrow.names)
    table = pf.read_row_group(unit.row_group, columns=[c for c in (*REQUIRED, *OPTIONAL) if c in names])
    keep, why = select_rows(table, cfg.cc_languages)
    rows: list[IndexRow] = []
    charsets = table.column("content_charset").to_pylist() if "content_charset" in names else [None] * len(table)
    columns = [table.column(c).to_pylist() for c in REQUIRED]
    for i, (chosen, url, filename, offset, length) in enumerate(zip(keep.to_pylist(), *columns, strict=True)):
        if chosen:
            rows.append(IndexRow(i, str(url), join_base(str(filename), cfg.warc_base_url), int(offset), int(length),
                                 charsets[i]))
    why["bytes_selected"] = sum(r.length for r in rows)
    return rows, why


class RangeFetcher:
    """Exactly the bytes of one record per request: HTTP(S) with aiohttp, s3:// with ranged GETs,
    a local path with a seek; retried with backoff on 5xx/429/503 and broken connections."""

    def __init__(self, cfg: CrawlConfig, storage: StorageConfig | None) -> None:
        self.cfg = cfg
        self.storage = storage
        self.session: Any = None
        self.bytes = 0
        self.requests = 0
        self.local_slots = asyncio.Semaphore(max(1, cfg.concurrent_requests_per_host))

    async def __aenter__(self) -> RangeFetcher:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=max(1, self.cfg.concurrent_requests),
                                         limit_per_host=max(1, self.cfg.concurrent_requests_per_host))
        timeout = aiohttp.ClientTimeout(total=self.cfg.timeout)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                             headers={"User-Agent": self.cfg.user_agent})
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def _wait(self, attempt: int, retry_after: str | None) -> None:
        wait = self.cfg.retry_backoff * 2**attempt
        if retry_after and retry_after.strip().isdigit():
            wait = max(wait, min(float(retry_after), 60.0))
        await asyncio.sleep(wait)

    async def fetch(self, row: IndexRow) -> bytes | str:
        """The record's bytes, or why they could not be had."""
        scheme = row.location.split("://", 1)[0].lower() if is_url(row.location) else "file"
        try:
            if scheme in ("http", "https"):
                return await self._http(row)
            if scheme == "file":
                return await asyncio.to_thread(self._local, row)
            return await self._object(row)
        except SourceError as exc:
            return str(exc)

    async def _http(self, row: IndexRow) -> bytes | str:
        import aiohttp

        check_host(row.location)
        headers = {"Range": f"bytes={row.offset}-{row.offset + row.length - 1}"}
        last = ""
        for attempt in range(self.cfg.retry_times + 1):
            try:
                self.requests += 1
                async with self.session.get(row.location, headers=headers, allow_redirects=False) as response:
                    if response.status == 206:
                        body = await response.read()
                        self.bytes += len(body)
                        if len(body) != row.length:
                            return f"HTTP 206 with {len(body):,} bytes for a {row.length:,}-byte range"
                        return body
                    last = f"HTTP {response.status}"
                    if response.status == 200:  # never read a whole file for one record
                        return "the server ignored the Range request (HTTP 200)"
                    if response.status not in RETRY_STATUSES:
                        return last
                    retry_after = response.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                last, retry_after = f"{type(exc).__name__}: {exc}", None
            if attempt < self.cfg.retry_times:
                await self._wait(attempt, retry_after)
        return f"{last} after {self.cfg.retry_times + 1} attempt(s)"

    def _local(self, row: IndexRow) -> bytes | str:
        try:
            with open(row.location.removeprefix("file://"), "rb") as fh:
                fh.seek(row.offset)
                body = fh.read(row.length)
        except OSError as exc:
            return f"cannot read {row.location}: {exc.strerror or exc}"
        self.requests += 1
        self.bytes += len(body)
        return body if len(body) == row.length else f"{len(body):,} of {row.length:,} bytes: the file is shorter"

    async def _object(self, row: IndexRow) -> bytes | str:
        path = data_path(row.location, self.storage)
        last = ""
        async with self.local_slots:
            for attempt in range(self.cfg.retry_times + 1):
                try:
                    self.requests += 1
                    body = await asyncio.to_thread(path.fs.cat_file, path.path,  # type: ignore[union-attr]
                                                   start=row.offset, end=row.offset + row.length)
                    self.bytes += len(body)
                    return bytes(body)
                except FileNotFoundError:
                    return f"not found: {row.location}"
                except Exception as exc:  # botocore's own errors (SlowDown, 5xx, endpoint): retried, then named
                    last = storage_failure(exc) or f"{type(exc).__name__}: {exc}"
                    if storage_failure(exc) is None and not isinstance(exc, OSError):
                        raise
                if attempt < self.cfg.retry_times:
                    await self._wait(attempt, None)
        return f"{last} after {self.cfg.retry_times + 1} attempt(s)"


def record_step(row: IndexRow, fetched: bytes | str, steps: ArchiveSteps) -> Step:
    """One index row's fetched record -> its pairs and counts (resume: the next row)."""
    where = f"{row.location}@{row.offset}"
    if isinstance(fetched, str):
        steps.failures.append(Failure(where, "fetch_failed", fetched))
        steps.counts["failed/fetch_failed"] += 1
        return steps.step(Position(row.row + 1, 0))
    items = list(read_records(io.BytesIO(fetched)))
    records = [i for i in items if not isinstance(i, Damage)]
    damage = [i for i in items if isinstance(i, Damage)]
    if damage or len(records) != 1 or records[0].type.lower() != "response":
        detail = damage[0].detail if damage else f"{len(records)} record(s), not one response"
        steps.failures.append(Failure(where, damage[0].kind if damage else "not_a_response", detail))
        steps.counts[f"failed/{damage[0].kind if damage else 'not_a_response'}"] += 1
        return steps.step(Position(row.row + 1, 0))
    steps.counts["records/response"] += 1
    result = html_page(records[0], row.charset, steps.user_agent)
    steps.counts.update(result.counts)
    steps.pairs.extend(result.pairs)
    if result.failure is not None:
        steps.failures.append(Failure(where, *result.failure))
        steps.counts[f"failed/{result.failure[0]}"] += 1
    return steps.step(Position(row.row + 1, 0))


async def _fetched_in_order(rows: list[IndexRow], fetcher: RangeFetcher, in_flight: int) \
        -> AsyncIterator[tuple[IndexRow, bytes | str]]:
    """Each row's record, in index order, with up to `in_flight` requests running ahead."""
    pending: deque[tuple[IndexRow, asyncio.Task[bytes | str]]] = deque()
    queue = iter(rows)
    for row in queue:
        pending.append((row, asyncio.create_task(fetcher.fetch(row))))
        if len(pending) >= in_flight:
            break
    while pending:
        row, task = pending.popleft()
        result = await task
        nxt = next(queue, None)
        if nxt is not None:
            pending.append((nxt, asyncio.create_task(fetcher.fetch(nxt))))
        yield row, result


async def _run_rows(unit: Unit, progress: Progress, cfg: CrawlConfig, storage: StorageConfig | None,
                    writer: UnitWriter) -> None:
    rows, why = read_selected(unit, cfg, storage)
    steps = ArchiveSteps(unit.label, cfg.cc_languages, cfg.user_agent)
    start = progress.resume[0]
    if progress.seq == 0:  # the selection is counted once, with the unit's first commit
        steps.counts.update(why)
    todo = [r for r in rows if r.row >= start]
    in_flight = max(1, cfg.concurrent_requests_per_host) * IN_FLIGHT_PER_HOST
    seen_bytes = seen_requests = 0
    async with RangeFetcher(cfg, storage) as fetcher:
        async for row, fetched in _fetched_in_order(todo, fetcher, in_flight):
            steps.counts["bytes_fetched"] += fetcher.bytes - seen_bytes
            steps.counts["range_requests"] += fetcher.requests - seen_requests
            seen_bytes, seen_requests = fetcher.bytes, fetcher.requests
            writer.absorb(record_step(row, fetched, steps))
    writer.absorb(steps.step(None))


def _index_rows(unit: Unit, progress: Progress, cfg: CrawlConfig, storage: StorageConfig | None,
                writer: UnitWriter) -> None:
    asyncio.run(_run_rows(unit, progress, cfg, storage, writer))


def run_index_unit(*args: Any) -> dict[str, Any]:
    """The Ray task for one row group of one index file."""
    return run_unit_task(_index_rows, *args)
