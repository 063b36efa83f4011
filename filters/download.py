"""Image download with aiohttp: bounded concurrency per worker and per host, DNS cache, timeouts,
retries with exponential backoff (timeouts, 429 with Retry-After, 5xx), manual redirects (each hop
re-checked by the private-network guard), a byte cap, and the image's opt-out headers
(`download.respect_opt_out`: `X-Robots-Tag` noai/noimageai/noindex/noimageindex for us or `*`,
`tdm-reservation: 1`; `manifests.opt_out`) honoured before the body is read. Every failure is a
reason, never an exception.

One `Downloader` per worker process: it keeps one event loop, on its own thread, and one
`ClientSession` (one connection pool) for all the tasks the worker processes. `submit_many` returns
at once, so the caller decodes one chunk of images while the loop downloads the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from filters.netguard import GuardedResolver, PrivateAddressError, check_host, is_forbidden_ip
from manifests import reasons
from manifests.config import DownloadConfig
from manifests.opt_out import opt_out_directive

_RETRY_STATUSES = {429, 500, 502, 503, 504}
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


@dataclass(slots=True)
class FetchResult:
    """The body, or the reason there is none. `status` is the last HTTP status seen, if any."""

    data: bytes | None
    reason: str | None = None
    detail: str | None = None
    status: int | None = None
    content_type: str | None = None
    attempts: int = 0


class _Failure(Exception):
    def __init__(self, reason: str, detail: str, retryable: bool = False, wait: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
        self.wait = wait
        self.status = status


def _retry_after_seconds(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, min(when.timestamp() - time.time(), cap))
    return None


class Downloader:
    """Fetches many URLs concurrently on a background event loop; every call is safe from any thread."""

    def __init__(self, cfg: DownloadConfig, resolver: AbstractResolver | None = None,
                 connector_cls: type[aiohttp.TCPConnector] = aiohttp.TCPConnector,
                 forbidden: Callable[[str], bool] = is_forbidden_ip) -> None:
        self.cfg = cfg
        self._forbidden = forbidden
        self._resolver = resolver
        self._connector_cls = connector_cls
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None

    # -- session (created on the loop's thread) --------------------------------------------------
    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            inner = self._resolver if self._resolver is not None else aiohttp.ThreadedResolver()
            connector = self._connector_cls(
                limit=self.cfg.concurrency,
                limit_per_host=self.cfg.per_host,
                use_dns_cache=True,
                ttl_dns_cache=300,
                resolver=GuardedResolver(inner, self.cfg.allow_private_networks, self._forbidden),
            )
            timeout = aiohttp.ClientTimeout(
                total=self.cfg.connect_timeout + self.cfg.read_timeout,
                sock_connect=self.cfg.connect_timeout,
                sock_read=self.cfg.read_timeout,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                headers={"User-Agent": self.cfg.user_agent, "Accept": "image/*,*/*;q=0.8"},
                auto_decompress=True,
            )
            # One gate for every pending call: chunks submitted in order are fetched in order.
            self._gate = asyncio.Semaphore(self.cfg.concurrency)
        return self._session

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread is not None:
            if self._session is not None:
                asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None
        elif self._session is not None:
            self._loop.run_until_complete(self._session.close())
        self._session = None
        self._loop.close()

    # -- public ----------------------------------------------------------------------------------
    def submit_many(self, urls: list[str]) -> Future[list[FetchResult]]:
        """Starts fetching `urls`; the future's result is one `FetchResult` per URL, in order."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop.run_forever, name="downloader", daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._fetch_all(urls), self._loop)

    def fetch_many(self, urls: list[str]) -> list[FetchResult]:
        return self.submit_many(urls).result()

    async def _fetch_all(self, urls: list[str]) -> list[FetchResult]:
        session = await self._get_session()
        gate = self._gate
        assert gate is not None

        async def one(url: str) -> FetchResult:
            async with gate:
                return await self.fetch(session, url)

        return list(await asyncio.gather(*(one(u) for u in urls)))

    async def fetch(self, session: aiohttp.ClientSession, url: str) -> FetchResult:
        """One URL with retries; never raises."""
        attempts = 0
        while True:
            attempts += 1
            try:
                data, status, ctype = await self._fetch_once(session, url)
                return FetchResult(data, status=status, content_type=ctype, attempts=attempts)
            except _Failure as fail:
                if not fail.retryable or attempts > self.cfg.retries:
                    return FetchResult(None, fail.reason, fail.detail, fail.status, attempts=attempts)
                backoff = self.cfg.backoff * (2 ** (attempts - 1))
                await asyncio.sleep(max(backoff, fail.wait or 0.0))

    # -- one attempt -----------------------------------------------------------------------------
    async def _fetch_once(self, session: aiohttp.ClientSession, url: str) -> tuple[bytes, int, str | None]:
        current = url
        for _hop in range(self.cfg.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Failure(reasons.INVALID_URL, f"not an http(s) URL: {current[:200]}")
            try:
                check_host(parts.hostname, self.cfg.allow_private_networks, self._forbidden)
            except PrivateAddressError as exc:
                raise _Failure(reasons.PRIVATE_ADDRESS, str(exc)) from None
            try:
                async with session.get(current, allow_redirects=False) as resp:
                    if resp.status in _REDIRECT_STATUSES:
                        location = resp.headers.get("Location")
                        if not location:
                            raise _Failure(reasons.http_status(resp.status), "redirect without Location",
                                           status=resp.status)
                        current = urljoin(current, location)
                        continue
                    if resp.status != 200:
                        wait = _retry_after_seconds(resp.headers.get("Retry-After"), self.cfg.max_retry_after)
                        raise _Failure(reasons.http_status(resp.status), resp.reason or "",
                                       retryable=resp.status in _RETRY_STATUSES, wait=wait, status=resp.status)
                    if self.cfg.respect_opt_out:
                        opted_out = opt_out_directive(resp.headers, self.cfg.user_agent)
                        if opted_out is not None:  # the body is never read
                            raise _Failure(reasons.OPT_OUT, opted_out, status=resp.status)
                    declared = resp.content_length
                    if declared is not None and declared > self.cfg.max_bytes:
                        raise _Failure(reasons.TOO_LARGE, f"Content-Length {declared} > {self.cfg.max_bytes}")
                    body = bytearray()
                    async for chunk in resp.content.iter_chunked(_CHUNK):
                        body += chunk
                        if len(body) > self.cfg.max_bytes:
                            raise _Failure(reasons.TOO_LARGE, f"body over {self.cfg.max_bytes} bytes")
                    return bytes(body), resp.status, resp.headers.get("Content-Type")
            except _Failure:
                raise
            except aiohttp.ClientConnectorDNSError as exc:
                if isinstance(exc.os_error, PrivateAddressError):
                    raise _Failure(reasons.PRIVATE_ADDRESS, str(exc.os_error)) from None
                raise _Failure(reasons.DNS_ERROR, str(exc)[:200]) from None
            except TimeoutError as exc:
                raise _Failure(reasons.TIMEOUT, type(exc).__name__, retryable=True) from None
            except aiohttp.InvalidURL as exc:  # e.g. a non-canonical IPv4 host (127.1): refused, never retried
                raise _Failure(reasons.INVALID_URL, f"{type(exc).__name__}: {str(exc)[:200]}") from None
            except aiohttp.ClientPayloadError as exc:
                raise _Failure(reasons.CONNECTION_ERROR, f"payload: {str(exc)[:200]}", retryable=True) from None
            except (aiohttp.ClientError, OSError) as exc:
                raise _Failure(reasons.CONNECTION_ERROR, f"{type(exc).__name__}: {str(exc)[:200]}",
                               retryable=True) from None
        raise _Failure(reasons.TOO_MANY_REDIRECTS, f"more than {self.cfg.max_redirects} redirects")
