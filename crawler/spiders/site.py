"""`site`: follows links from the start URLs inside their hosts (`host:port`) and pairs every `<img>`.

Pages are visited breadth-first, at most `max_pages` of them (0 = no limit; the budget counts
pages scheduled, robots-forbidden ones included). Each parsed page is journaled with its in-site
links once its pairs are committed, so a re-run replays finished pages from the journal (no
download) and fetches only the rest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy.http import HtmlResponse, Request, Response
from twisted.python.failure import Failure

from crawler.html import netloc_key, page_key
from crawler.items import Checkpoint
from crawler.journal import done_pages, journal_path
from crawler.pages import read_page
from crawler.spiders.base import WukongSpider
from crawler.stats import OPT_OUT_PAGES, PAGES, SKIPPED_DONE


class SiteSpider(WukongSpider):
    name = "site"
    custom_settings = {  # noqa: RUF012 (Scrapy reads a plain dict)
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
    }

    def __init__(self, start_urls: list[str] | None = None, max_pages: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = list(start_urls or [])
        self.max_pages = self.config.max_pages if max_pages is None else max_pages
        self.allowed_netlocs = {n for n in (netloc_key(u) for u in self.start_urls) if n}
        self.seen: set[str] = set()  # page keys scheduled (or replayed), against the budget
        self.parsed: set[str] = set()  # final page keys parsed by this run
        self.done: dict[str, list[str]] = done_pages(journal_path(self.state_dir))

    async def start(self) -> AsyncIterator[Any]:
        for request in self.visit(self.start_urls):
            yield request

    def visit(self, urls: Iterable[str]) -> Iterator[Request]:
        """Requests for new pages; pages finished by an earlier run are expanded from the journal."""
        queue = deque(urls)
        while queue:
            url = queue.popleft()
            key = page_key(url)
            if key in self.seen:
                continue
            if self.max_pages and len(self.seen) >= self.max_pages:
                self.inc("wukong/over_page_budget")
                continue
            self.seen.add(key)
            if key in self.done:
                self.inc(SKIPPED_DONE)
                queue.extend(self.done[key])
                continue
            yield Request(url, callback=self.parse_page, errback=self.page_failed, cb_kwargs={"key": key},
                          dont_filter=True)

    def parse_page(self, response: Response, key: str) -> Iterator[Any]:
        final = page_key(response.url)
        if final != key:  # redirected: the target counts as visited too, and is parsed once
            if final in self.parsed or final in self.done:
                self.drop("duplicate_page")
                yield Checkpoint("page", key)
                return
            self.seen.add(final)
        self.parsed.add(final)
        if not isinstance(response, HtmlResponse):
            self.drop("not_html")
            yield Checkpoint("page", key)
            return
        self.inc(PAGES)
        now = datetime.now(UTC)
        page = read_page(response, self.config.user_agent)
        if page.opt_out is not None:
            self.inc(OPT_OUT_PAGES)
            self.logger.info("page opts out (%s): %s", page.opt_out, response.url)
        self.drops(page.images.dropped)
        for img in page.images.pairs:
            yield self.pair(img.url, img.caption, img.caption_source, response.url, at=now)
        links = page.links(self.allowed_netlocs or ())
        yield from self.visit(links)
        yield Checkpoint("page", key, links)
        if final != key:
            yield Checkpoint("page", final, links)

    def page_failed(self, failure: Failure) -> None:
        self.count_failure(failure)
