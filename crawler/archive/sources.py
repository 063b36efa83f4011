"""Where archive files come from: `--warc SRC` expanded into file locations, and a file opened as a
stream at a byte offset, never downloaded whole.

A SRC is a local path or glob, an `s3://` URL or glob (through manifests.storage, with the
`storage.*` settings), an `http(s)://` URL, or a listing whose name ends in `.paths` or `.paths.gz`
(Common Crawl's `warc.paths.gz`): one location a line, relative lines joined to
`crawl.warc_base_url`. A location that cannot be found is not an error here: it is opened like the
others, and its failure is counted and named by the run.

HTTP streams are read with one GET (`Range: bytes=OFFSET-` to start inside a file); a connection
that breaks, or a 5xx/429 answer, is retried with backoff from the byte where it stopped. With
`WUKONG_LOOPBACK_ONLY=1` (tests, benchmarks) only loopback hosts are ever contacted.
"""

from __future__ import annotations

import glob as globlib
import gzip
import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from crawler.loopback import LOOPBACK_ENV, is_loopback_host, loopback_only
from manifests.config import CrawlConfig, StorageConfig
from manifests.errors import UserError
from manifests.storage import data_path, is_url

LISTING_SUFFIXES = (".paths", ".paths.gz")
GLOB_CHARS = "*?["
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """A file that cannot be opened or read (missing, refused, unreachable): counted, not fatal."""


def check_host(url: str) -> None:
    """Refuses a non-loopback host when WUKONG_LOOPBACK_ONLY is set."""
    if loopback_only() and not is_loopback_host(urlsplit(url).hostname):
        raise SourceError(f"{LOOPBACK_ENV} is set: refusing {url}")


def _scheme(location: str) -> str:
    return location.split("://", 1)[0].lower() if is_url(location) else "file"


def is_listing(location: str) -> bool:
    return location.lower().endswith(LISTING_SUFFIXES)


def join_base(line: str, base: str) -> str:
    """A listing line (or an index's `warc_filename`) as a location: kept when it is a URL, else
    appended to the base (an http(s):// or s3:// URL, or a local folder)."""
    if is_url(line):
        return line
    return f"{base.rstrip('/')}/{line.lstrip('/')}"


def _read_listing(location: str, cfg: CrawlConfig, storage: StorageConfig | None) -> list[str]:
    with open_stream(location, cfg, storage) as stream:
        raw = stream.read()
    if location.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise SourceError(f"listing {location} is not gzip: {exc}") from None
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines()]
    return [join_base(line, cfg.warc_base_url) for line in lines if line and not line.startswith("#")]


def _glob(location: str, storage: StorageConfig | None) -> list[str]:
    if _scheme(location) in ("http", "https") or not any(c in location for c in GLOB_CHARS):
        return [location]
    if is_url(location):
        path = data_path(location, storage)
        fs = path.fs  # type: ignore[union-attr]
        protocol = location.split("://", 1)[0]
        return [f"{protocol}://{p}" for p in sorted(fs.glob(path.path))]  # type: ignore[union-attr]
    return sorted(globlib.glob(location))


@dataclass(slots=True)
class Expanded:
    """The file locations of the SRCs, in order, and the SRCs that named nothing readable."""

    files: list[str]
    unreadable: list[tuple[str, str]]  # (SRC, why)


def expand_sources(sources: list[str], cfg: CrawlConfig, storage: StorageConfig | None,
                   limit_files: int | None = None) -> Expanded:
    """Every file the SRCs name (globs expanded, listings read; repeats dropped, order kept);
    `limit_files` takes the first N of each listing."""
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    for source in sources:
        scheme = _scheme(source)
        if scheme not in ("file", "s3", "s3a", "http", "https"):
            raise UserError(f"--warc/--index: unsupported location {source} (a path, s3:// or http(s)://)")
        local = source if is_url(source) else str(Path(source).absolute())
        matches = _glob(local, storage)
        if not matches:
            unreadable.append((source, "no file matches"))
            continue
        for match in matches:
            if not is_listing(match):
                files.append(match)
                continue
            try:
                listed = _read_listing(match, cfg, storage)
            except SourceError as exc:
                unreadable.append((match, str(exc)))
                continue
            files.extend(listed[:limit_files] if limit_files else listed)
    return Expanded(list(dict.fromkeys(files)), unreadable)


class HttpStream:
    """A file-like reader over one HTTP(S) resource from `offset`, resuming a broken transfer with a
    Range request at the byte where it stopped (up to `retries` times, with doubling backoff)."""

    def __init__(self, url: str, offset: int, cfg: CrawlConfig) -> None:
        self.url = url
        self.position = offset
        self.cfg = cfg
        self.response: Any = None
        self.end: int | None = None  # the byte where the resource ends, when the server says
        self.failures = 0
        self._open()

    def _open(self) -> None:
        check_host(self.url)
        headers = {"User-Agent": self.cfg.user_agent}
        if self.position:
            headers["Range"] = f"bytes={self.position}-"
        request = urllib.request.Request(self.url, headers=headers)
        opener = urllib.request.build_opener(_GuardedRedirects())
        for attempt in range(self.cfg.retry_times + 1):
            try:
                response = opener.open(request, timeout=self.cfg.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code in RETRY_STATUSES and attempt < self.cfg.retry_times:
                    self._backoff(attempt, exc.headers.get("Retry-After"))
                    continue
                raise SourceError(f"HTTP {exc.code} for {self.url}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt < self.cfg.retry_times:
                    self._backoff(attempt, None)
                    continue
                reason = getattr(exc, "reason", exc)
                raise SourceError(f"cannot reach {self.url}: {reason}") from None
            if self.position and response.status != 206:
                response.close()
                raise SourceError(f"{self.url}: the server ignored the Range request (HTTP {response.status})")
            self.response = response
            length = response.headers.get("Content-Length")
            self.end = self.position + int(length) if length and length.isdigit() else None
            return
        raise SourceError(f"cannot open {self.url}")

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        wait = self.cfg.retry_backoff * 2**attempt
        if retry_after and retry_after.strip().isdigit():
            wait = max(wait, min(float(retry_after), 60.0))
        time.sleep(wait)

    def read(self, size: int = -1) -> bytes:
        while True:
            assert self.response is not None
            try:
                data = self.response.read(size) if size >= 0 else self.response.read()
                if not data and size != 0 and self.end is not None and self.position < self.end:
                    raise ConnectionError(f"the connection closed at byte {self.position:,} of {self.end:,}")
            except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:  # a broken connection
                self.failures += 1
                if self.failures > self.cfg.retry_times:
                    raise SourceError(f"{self.url}: the transfer broke at byte {self.position:,}: {exc}") from None
                self._backoff(self.failures - 1, None)
                self._open()
                continue
            self.position += len(data)
            return data

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed only to hosts the loopback guard allows."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_host(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@contextmanager
def open_stream(location: str, cfg: CrawlConfig, storage: StorageConfig | None, offset: int = 0) \
        -> Iterator[BinaryIO]:
    """The file at `location`, readable from byte `offset` (SourceError when it cannot be opened)."""
    scheme = _scheme(location)
    if scheme in ("http", "https"):
        stream = HttpStream(location, offset, cfg)
        try:
            yield stream  # type: ignore[misc]
        finally:
            stream.close()
        return
    if scheme == "file":
        try:
            fh = open(location.removeprefix("file://"), "rb")
        except OSError as exc:
            raise SourceError(f"cannot open {location}: {exc.strerror or exc}") from None
        with fh:
            fh.seek(offset)
            yield fh
        return
    path = data_path(location, storage)
    try:
        fh = path.fs.open(path.path, "rb", block_size=8 << 20)  # type: ignore[union-attr]
    except FileNotFoundError:
        raise SourceError(f"not found: {location}") from None
    except Exception as exc:  # botocore's own errors: credentials, permissions, endpoint
        raise SourceError(f"cannot open {location}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    with fh:
        fh.seek(offset)
        yield fh
