"""The image downloader against a loopback aiohttp server: reasons, retries, caps, redirects, and the
private-network guard (which must refuse before any connection is made)."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from loopback import serve_app
from PIL import Image

from filters.download import Downloader
from manifests.config import DownloadConfig

HITS: Counter[str] = Counter()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 240), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


JPEG = _jpeg()


def _app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        HITS[request.path] += 1
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def missing(request: web.Request) -> web.Response:
        HITS[request.path] += 1
        return web.Response(status=404)

    async def flaky(request: web.Request) -> web.Response:
        HITS[request.path] += 1
        if HITS[request.path] < 3:
            return web.Response(status=503)
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def limited(request: web.Request) -> web.Response:
        HITS[request.path] += 1
        if HITS[request.path] == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def slow(request: web.Request) -> web.Response:
        HITS[request.path] += 1
        await asyncio.sleep(1.5)
        return web.Response(body=JPEG)

    async def big_declared(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(2 * 1024**3), "Content-Type": "image/jpeg"})
        await resp.prepare(request)
        await resp.write(b"\xff\xd8\xff" + b"0" * 100)
        return resp

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(50):
            await resp.write(b"x" * 10_000)
        return resp

    async def loop_redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def to_private(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://10.0.0.1/x.jpg")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok.jpg")

    app = web.Application()
    app.router.add_get("/ok.jpg", ok)
    app.router.add_get("/missing.jpg", missing)
    app.router.add_get("/flaky.jpg", flaky)
    app.router.add_get("/limited.jpg", limited)
    app.router.add_get("/slow.jpg", slow)
    app.router.add_get("/big.jpg", big_declared)
    app.router.add_get("/chunked.jpg", big_chunked)
    app.router.add_get("/loop", loop_redirect)
    app.router.add_get("/to-private", to_private)
    app.router.add_get("/hop", hop)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_app(_app()) as base:
        yield base


def _cfg(**kw: object) -> DownloadConfig:
    base: dict[str, object] = dict(allow_private_networks=True, connect_timeout=1.0, read_timeout=0.5,
                                   retries=2, backoff=0.01, max_bytes=200_000)
    base.update(kw)
    return DownloadConfig(**base)  # type: ignore[arg-type]


def _fetch(urls: list[str], **kw: object):
    dl = Downloader(_cfg(**kw))
    try:
        return dl.fetch_many(urls)
    finally:
        dl.close()


def test_success_and_http_errors(server: str) -> None:
    ok, missing = _fetch([f"{server}/ok.jpg", f"{server}/missing.jpg"])
    assert ok.data == JPEG and ok.reason is None and ok.status == 200
    assert missing.data is None and missing.reason == "http_404" and missing.attempts == 1


def test_retries_5xx_then_succeeds(server: str) -> None:
    (res,) = _fetch([f"{server}/flaky.jpg"])
    assert res.reason is None and res.data == JPEG and res.attempts == 3


def test_429_honours_retry_after(server: str) -> None:
    t0 = time.monotonic()
    (res,) = _fetch([f"{server}/limited.jpg"])
    assert res.reason is None and res.attempts == 2
    assert time.monotonic() - t0 >= 0.9


def test_timeout_is_a_reason(server: str) -> None:
    (res,) = _fetch([f"{server}/slow.jpg"], retries=0)
    assert res.reason == "timeout" and res.data is None


def test_byte_cap_declared_and_streamed(server: str) -> None:
    declared, chunked = _fetch([f"{server}/big.jpg", f"{server}/chunked.jpg"], retries=0)
    assert declared.reason == "too_large" and "Content-Length" in (declared.detail or "")
    assert chunked.reason == "too_large"


def test_redirects_followed_and_loops_stopped(server: str) -> None:
    hop, loop = _fetch([f"{server}/hop", f"{server}/loop"], max_redirects=3)
    assert hop.data == JPEG
    assert loop.reason == "too_many_redirects"


def test_guard_refuses_loopback_without_any_request(server: str) -> None:
    before = HITS["/ok.jpg"]
    (res,) = _fetch([f"{server}/ok.jpg"], allow_private_networks=False)
    assert res.reason == "private_address"
    assert HITS["/ok.jpg"] == before


class _MapsToPrivate(AbstractResolver):
    """Resolves every name to 10.1.2.3, as a hostile DNS answer would."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, object]]:
        return [{"hostname": host, "host": "10.1.2.3", "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


class _NeverConnects(aiohttp.TCPConnector):
    attempts: ClassVar[list[str]] = []

    async def _wrap_create_connection(self, *args: object, **kwargs: object):  # type: ignore[override]
        _NeverConnects.attempts.append(repr(kwargs.get("addr_infos") or args))
        pytest.fail("the guard let a connection to a private address through")


def test_guard_refuses_name_resolving_to_private_address() -> None:
    dl = Downloader(_cfg(allow_private_networks=False), resolver=_MapsToPrivate(), connector_cls=_NeverConnects)
    try:
        (res,) = dl.fetch_many(["http://images.example-cdn.test/a.jpg"])
    finally:
        dl.close()
    assert res.reason == "private_address" and "10.1.2.3" in (res.detail or "")
    assert _NeverConnects.attempts == []


def test_guard_rechecks_every_redirect_hop(server: str) -> None:
    """Only 10.x is forbidden here, so the loopback test server is reachable; its redirect to 10.0.0.1
    must be refused before connecting (the connector would fail the test)."""

    class _OnlyLoopback(aiohttp.TCPConnector):
        async def _wrap_create_connection(self, *args: object, **kwargs: object):  # type: ignore[override]
            infos = kwargs.get("addr_infos") or []
            for info in infos:  # type: ignore[union-attr]
                assert info[4][0] == "127.0.0.1", f"connection attempted to {info[4][0]}"
            return await super()._wrap_create_connection(*args, **kwargs)  # type: ignore[arg-type]

    dl = Downloader(_cfg(allow_private_networks=False), connector_cls=_OnlyLoopback,
                    forbidden=lambda ip: ip.startswith("10."))
    try:
        ok, redirected = dl.fetch_many([f"{server}/ok.jpg", f"{server}/to-private"])
    finally:
        dl.close()
    assert ok.data == JPEG
    assert redirected.reason == "private_address" and "10.0.0.1" in (redirected.detail or "")
