"""`search`: a query list against an image-search JSON API (Baidu acjson by default).

Per query, pages are requested one after another (`pn` = offset) until the query has
`max_per_query` distinct image URLs or a page adds no new URL (past the end the API repeats
itself). An anti-spider answer (`antiFlag`) triggers a GET of the API site's home page (its cookies
are kept; one warm-up at a time, the pages blocked meanwhile wait for it), then the page is
retried, at most `crawl.max_blocked_retries` times per page. A query whose last
page is in the parts is journaled as done; blocked or failed queries are not, so a re-run retries them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.apis import API_FORMATS, home_url
from crawler.html import netloc_key
from crawler.items import Checkpoint
from crawler.spiders.base import WukongSpider
from crawler.stats import BLOCKED, BLOCKED_GAVE_UP, ERRORS, PAGES, QUERIES_DONE, QUERIES_FAILED

BLOCKED_META = "wukong_blocked"  # how many times this page was blocked already
GENERATION_META = "wukong_warmups"  # warm-ups done when the request was made


@dataclass(slots=True)
class QueryProgress:
    seen: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.seen)


class SearchSpider(WukongSpider):
    name = "search"

    def __init__(self, queries: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cfg = self.config
        if cfg.api_format not in API_FORMATS:
            raise ValueError(f"unknown crawl.api_format {cfg.api_format!r}")
        self.api = API_FORMATS[cfg.api_format]()
        self.endpoint = cfg.endpoint
        self.page_size = max(1, min(cfg.page_size, self.api.max_page_size))
        self.max_per_query = max(1, cfg.max_per_query)
        self.queries = list(queries or [])
        self.allowed_netlocs = {n for n in [netloc_key(self.endpoint)] if n}
        self.progress: dict[str, QueryProgress] = {}
        self.warmups_done = 0
        self.waiting: list[tuple[str, int, int]] | None = None  # retries waiting for the warm-up in flight

    async def start(self) -> AsyncIterator[Any]:
        for query in self.queries:
            yield self.page_request(query, 0)

    def page_request(self, query: str, offset: int, blocked: int = 0) -> Request:
        # Next pages go before new queries, so few queries are open at a time.
        return Request(self.api.page_url(self.endpoint, query, offset, self.page_size), callback=self.parse_page,
                       errback=self.page_failed, cb_kwargs={"query": query, "offset": offset},
                       meta={BLOCKED_META: blocked, GENERATION_META: self.warmups_done}, dont_filter=True,
                       priority=1 if offset or blocked else 0)

    def parse_page(self, response: Response, query: str, offset: int) -> Iterator[Any]:
        self.inc(PAGES)
        text = response.text if hasattr(response, "text") else response.body.decode("utf-8", "replace")
        page = self.api.parse(text)
        if page.blocked:
            yield from self.blocked(response, query, offset)
            return
        if page.error:
            self.inc(f"{ERRORS}{page.error}")
            self.inc(QUERIES_FAILED)
            self.progress.pop(query, None)
            return
        self.drops(page.dropped)
        progress = self.progress.setdefault(query, QueryProgress())
        now = datetime.now(UTC)
        added = 0
        for hit in page.hits:
            if hit.url in progress.seen:
                self.drop("duplicate_in_query")
                continue
            if progress.count >= self.max_per_query:
                self.drop("over_max_per_query")
                continue
            progress.seen.add(hit.url)
            added += 1
            yield self.pair(hit.url, hit.caption, "api", hit.page_url, query=query, width=hit.width,
                            height=hit.height, at=now)
        if added and progress.count < self.max_per_query:
            yield self.page_request(query, offset + self.page_size)
            return
        self.progress.pop(query, None)
        self.inc(QUERIES_DONE)
        yield Checkpoint("query", query)

    def blocked(self, response: Response, query: str, offset: int) -> Iterator[Request]:
        """One warm-up at a time: pages blocked meanwhile wait for it, then all are retried."""
        self.inc(BLOCKED)
        attempts = int(response.meta.get(BLOCKED_META, 0))
        if attempts >= self.config.max_blocked_retries:
            self.inc(BLOCKED_GAVE_UP)
            self.logger.warning("blocked by %s: gave up on %r after %d retries", self.endpoint, query, attempts)
            self.progress.pop(query, None)
            return
        retry = (query, offset, attempts + 1)
        if int(response.meta.get(GENERATION_META, -1)) < self.warmups_done:
            yield self.page_request(*retry)  # sent before the last warm-up: its cookies may do
        elif self.waiting is not None:
            self.waiting.append(retry)  # a warm-up is in flight
        else:
            self.waiting = [retry]
            self.logger.info("blocked by %s on %r: warming up cookies (retry %d)", self.endpoint, query, attempts + 1)
            yield Request(home_url(self.endpoint), callback=self.warmed_up, errback=self.warm_up_failed,
                          meta={"handle_httpstatus_all": True}, dont_filter=True, priority=2)

    def warmed_up(self, response: Response | None = None) -> Iterator[Request]:
        self.inc("wukong/warmups")
        self.warmups_done += 1
        waiting, self.waiting = self.waiting or [], None
        for retry in waiting:
            yield self.page_request(*retry)

    def warm_up_failed(self, failure: Failure) -> Iterator[Request]:
        self.count_failure(failure)
        yield from self.warmed_up()

    def page_failed(self, failure: Failure) -> None:
        if self.count_failure(failure) is not None:
            self.inc(QUERIES_FAILED)
        self.progress.pop(failure.request.cb_kwargs.get("query", ""), None)
