"""The shared base spider: config, pair building, counted drops, download-error accounting.

Subclasses add their inputs and callbacks; every drop and error is a namespaced stat
(`wukong/dropped/<reason>`, `wukong/errors/<kind>`), never a silent loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from crawler.items import CandidatePair
from crawler.stats import DROPPED, ERRORS
from manifests.config import CrawlConfig
from manifests.storage import DataPath


def error_kind(failure: Failure) -> str | None:
    """`http_404`, `timeout`, `dns`, `connection`, `other_<Exception>`; None for an ignored request."""
    if failure.check(IgnoreRequest) and not failure.check(HttpError):
        return None
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
        return "timeout"
    if failure.check(DNSLookupError, CannotResolveHostError):
        return "dns"
    if failure.check(ConnectError, ConnectionLost, ResponseFailed, DownloadConnectionRefusedError,
                     DownloadFailedError, ResponseDataLossError):
        return "connection"
    return f"other_{type(failure.value).__name__}"


class WukongSpider(scrapy.Spider):
    """Base of `search` and `site`; `allowed_netlocs` bounds every request (see HostGuardMiddleware)."""

    allowed_netlocs: set[str] | None = None

    def __init__(self, config: CrawlConfig | Mapping[str, Any] | None = None, job_dir: str | Path = ".",
                 state_dir: DataPath | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if config is None:
            config = CrawlConfig()
        elif not isinstance(config, CrawlConfig):
            config = CrawlConfig(**dict(config))
        self.config: CrawlConfig = config
        self.job_dir = Path(job_dir)
        self.state_dir: DataPath = self.job_dir if state_dir is None else state_dir  # journal and stats

    def inc(self, key: str, count: int = 1) -> None:
        if count and getattr(self, "crawler", None) is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)

    def drop(self, reason: str, count: int = 1) -> None:
        self.inc(f"{DROPPED}{reason}", count)

    def drops(self, counts: Mapping[str, int]) -> None:
        for reason, count in counts.items():
            self.drop(reason, count)

    def pair(self, url: str, caption: str, caption_source: str, page_url: str, *, query: str | None = None,
             width: int | None = None, height: int | None = None, at: datetime | None = None) -> CandidatePair:
        return CandidatePair(url=url, caption=caption, caption_source=caption_source, page_url=page_url,
                             query=query, source=self.name, crawled_at=at or datetime.now(UTC),
                             width_hint=width, height_hint=height)

    def count_failure(self, failure: Failure) -> str | None:
        """Counts a failed request under `wukong/errors/<kind>` (ignored requests are not errors)."""
        kind = error_kind(failure)
        if kind is not None:
            self.inc(f"{ERRORS}{kind}")
            self.logger.warning("request failed (%s): %s", kind, getattr(failure.request, "url", "?"))
        return kind
