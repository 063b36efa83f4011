"""Downloader middlewares and the progress extension.

- `HostGuardMiddleware`: a request outside the spider's `allowed_netlocs` (its endpoint or start
  hosts, `host:port`) is refused before anything is sent, redirects and robots.txt included; with
  `WUKONG_LOOPBACK_ONLY=1` in the environment (tests, benchmarks) only loopback hosts are allowed.
- `CharsetMiddleware`: HTML responses get the encoding `crawler.charset` detects, so `response.text`
  decodes GBK, GB18030 and Big5 pages right, late `<meta>` and resaved pages included.
- `ProgressExtension`: a small `progress.json` in the job folder every second, read by `wukong crawl`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from twisted.internet import task

from crawler.html import netloc_key
from crawler.loopback import LOOPBACK_ENV, is_loopback_host, loopback_only
from crawler.pages import with_detected_encoding
from crawler.stats import DROPPED, PAGES, PAIRS, QUERIES_DONE


class HostGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.loopback_only = loopback_only()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        netloc = netloc_key(request.url)
        stats = self.crawler.stats
        assert stats is not None
        if self.loopback_only and (netloc is None or not is_loopback_host(netloc.rsplit(":", 1)[0])):
            stats.inc_value("wukong/refused_non_loopback")
            raise IgnoreRequest(f"{LOOPBACK_ENV} is set: refusing {request.url}")
        allowed: set[str] | None = getattr(self.crawler.spider, "allowed_netlocs", None)
        if allowed is not None and netloc not in allowed:
            stats.inc_value(f"{DROPPED}offsite_request")
            raise IgnoreRequest(f"outside the crawl's hosts: {request.url}")


class CharsetMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CharsetMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse):
            return response
        response, detected = with_detected_encoding(response)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"wukong/charset/{detected.source}")
        return response


class ProgressExtension:
    """Writes `{"pages", "pairs", "queries_done", "time"}` to the job's `progress.json` periodically."""

    def __init__(self, crawler: Crawler, path: Path, interval: float) -> None:
        self.crawler = crawler
        self.path = path
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        job = crawler.settings.get("WUKONG_JOBDIR")
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL", 1.0)
        if not job or interval <= 0:
            raise NotConfigured
        ext = cls(crawler, Path(job) / "progress.json", interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.loop = task.LoopingCall(self.write)
        self.loop.start(self.interval, now=True)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.write(finished=reason)

    def write(self, finished: str | None = None) -> None:
        stats = self.crawler.stats
        assert stats is not None
        data = {"pages": stats.get_value(PAGES, 0), "pairs": stats.get_value(PAIRS, 0),
                "queries_done": stats.get_value(QUERIES_DONE, 0), "time": time.time(), "finished": finished}
        tmp = self.path.with_name(".progress.json.tmp")
        try:
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass
