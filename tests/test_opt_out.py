"""Opt-out headers: the shared parser (manifests.opt_out) and the image downloader against a loopback
server that sends X-Robots-Tag and tdm-reservation in every shape, including ones that must not apply."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from aiohttp import web
from loopback import serve_app
from multidict import CIMultiDict
from PIL import Image

from filters.download import Downloader
from manifests.config import DownloadConfig, load_config
from manifests.opt_out import (
    PAGE_OPT_OUT,
    header_values,
    meta_robots_opt_out,
    opt_out_directive,
    product_token,
    tdm_meta_opt_out,
)

UA = "wukong-pipeline/0.1 (+https://github.com/wukong-pipeline; dataset research crawler)"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 240), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


JPEG = _jpeg()

# path -> (headers as (name, value) pairs, the opt-out detail expected, or None when the image is used)
CASES: dict[str, tuple[list[tuple[str, str]], str | None]] = {
    "noai": ([("X-Robots-Tag", "noai")], "X-Robots-Tag: noai"),
    "noimageai": ([("X-Robots-Tag", "noimageai")], "X-Robots-Tag: noimageai"),
    "noindex-list": ([("X-Robots-Tag", "nofollow, noindex")], "X-Robots-Tag: noindex"),
    "upper": ([("x-robots-tag", "NoImageIndex")], "X-Robots-Tag: noimageindex"),
    "several": ([("X-Robots-Tag", "nofollow"), ("X-Robots-Tag", "noarchive, NOAI")], "X-Robots-Tag: noai"),
    "ours": ([("X-Robots-Tag", "Wukong-Pipeline: noimageai")], "X-Robots-Tag: wukong-pipeline: noimageai"),
    "star": ([("X-Robots-Tag", "*: noai")], "X-Robots-Tag: *: noai"),
    "none": ([("X-Robots-Tag", "none")], "X-Robots-Tag: none"),
    "scope-switch": ([("X-Robots-Tag", "otherbot: noindex, wukong-pipeline: noai")],
                     "X-Robots-Tag: wukong-pipeline: noai"),
    "tdm": ([("tdm-reservation", "1")], "tdm-reservation: 1"),
    # must NOT apply: another crawler's directives, harmless directives, a TDM right not reserved
    "otherbot": ([("X-Robots-Tag", "otherbot: noai")], None),
    "googlebot": ([("X-Robots-Tag", "googlebot: noindex, nofollow")], None),
    "other-then-harmless": ([("X-Robots-Tag", "otherbot: noai"), ("X-Robots-Tag", "nofollow")], None),
    "harmless": ([("X-Robots-Tag", "nofollow, noarchive, max-image-preview: large")], None),
    "unavailable": ([("X-Robots-Tag", "unavailable_after: 25 Jun 2010 15:00:00 PST")], None),
    "tdm0": ([("tdm-reservation", "0")], None),
    "plain": ([], None),
}


def _app() -> web.Application:
    async def image(request: web.Request) -> web.Response:
        headers = CIMultiDict(CASES[request.match_info["case"]][0])
        return web.Response(body=JPEG, content_type="image/jpeg", headers=headers)

    async def hop(request: web.Request) -> web.Response:  # the redirect itself carries no opt-out
        raise web.HTTPFound("/img/noai.jpg")

    app = web.Application()
    app.router.add_get("/img/{case}.jpg", image)
    app.router.add_get("/hop", hop)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_app(_app()) as base:
        yield base


def _fetch(urls: list[str], **kw: object):
    cfg = DownloadConfig(allow_private_networks=True, connect_timeout=1.0, read_timeout=1.0, retries=0,
                         backoff=0.01, **kw)  # type: ignore[arg-type]
    dl = Downloader(cfg)
    try:
        return dl.fetch_many(urls)
    finally:
        dl.close()


def test_opt_out_is_on_by_default() -> None:
    assert DownloadConfig().respect_opt_out is True
    assert load_config(None).download.respect_opt_out is True
    assert load_config(None, ["download.respect_opt_out=false"]).download.respect_opt_out is False


def test_image_responses_that_opt_out_are_rejected_with_the_directive(server: str) -> None:
    names = list(CASES)
    results = _fetch([f"{server}/img/{n}.jpg" for n in names] + [f"{server}/hop"])
    got = {n: (r.reason, r.detail) for n, r in zip([*names, "hop"], results, strict=True)}
    want = {n: (("opt_out", detail) if detail else (None, None)) for n, (_, detail) in CASES.items()}
    want["hop"] = ("opt_out", "X-Robots-Tag: noai")
    assert got == want
    for n, r in zip(names, results, strict=False):
        assert (r.data == JPEG) == (CASES[n][1] is None), n  # an opted-out body is never returned
        assert r.attempts == 1  # never retried


def test_opt_out_can_be_switched_off(server: str) -> None:
    results = _fetch([f"{server}/img/noai.jpg", f"{server}/img/tdm.jpg"], respect_opt_out=False)
    assert [(r.reason, r.data == JPEG) for r in results] == [(None, True), (None, True)]


def test_user_agent_scope_follows_the_configured_product_token(server: str) -> None:
    """`otherbot: noai` applies once our User-Agent is otherbot's."""
    results = _fetch([f"{server}/img/otherbot.jpg", f"{server}/img/ours.jpg"], user_agent="OtherBot/2.0 (+x)")
    assert [(r.reason, r.detail) for r in results] == [("opt_out", "X-Robots-Tag: otherbot: noai"), (None, None)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Robots-Tag": "noai"}, "X-Robots-Tag: noai"),
        ([(b"X-Robots-Tag", b"noimageai")], "X-Robots-Tag: noimageai"),  # raw bytes pairs
        ({b"X-Robots-Tag": [b"nofollow", b"noindex"]}, "X-Robots-Tag: noindex"),  # Scrapy's Headers shape
        ({"X-Robots-Tag": " , ,"}, None),
        ({"X-Robots-Tag": "noaibot"}, None),  # a different word, not a prefix match
        ({"X-Robots-Tag": "wukong-pipeline/0.1: noai"}, None),  # an agent is a product token, no version
        ({"Tdm-Reservation": " 1 "}, "tdm-reservation: 1"),
        ({"X-Robots-Tag": "googlebot: noai", "tdm-reservation": "1"}, "tdm-reservation: 1"),
        ({}, None),
    ],
)
def test_header_shapes(headers: object, expected: str | None) -> None:
    assert opt_out_directive(headers, UA) == expected  # type: ignore[arg-type]


def test_a_multidict_is_read_with_its_own_lookup_and_gives_the_same_values() -> None:
    """aiohttp's headers (a case-insensitive multidict) are read with `getall`, not by walking every
    header twice per response: the same values, repeated headers and any case included."""
    headers = CIMultiDict([("Content-Type", "image/jpeg"), ("x-robots-tag", "nofollow"),
                           ("X-ROBOTS-TAG", "googlebot: noai"), ("X-Robots-Tag", "noimageindex")])
    assert header_values(headers, "x-robots-tag") == header_values(list(headers.items()), "x-robots-tag") == [
        "nofollow", "googlebot: noai", "noimageindex"]
    assert opt_out_directive(headers, UA) == "X-Robots-Tag: noimageindex"


def test_scrapy_headers_of_a_page_response() -> None:
    """The crawler's page responses carry Scrapy `Headers` (lists of bytes per name)."""
    from scrapy.http import Headers

    headers = Headers({"X-Robots-Tag": ["nofollow", "NoImageAI"], "Content-Type": "text/html"})
    assert opt_out_directive(headers, UA, PAGE_OPT_OUT) == "X-Robots-Tag: noimageai"
    assert opt_out_directive(Headers({"X-Robots-Tag": "noindex"}), UA, PAGE_OPT_OUT) is None


def test_product_token_and_meta_robots() -> None:
    assert product_token(UA) == "wukong-pipeline"
    assert product_token("") == ""
    assert meta_robots_opt_out("noindex, NoAI") == "meta robots: noai"
    assert meta_robots_opt_out("noimageai", name="Robots") == "meta robots: noimageai"
    assert meta_robots_opt_out("noindex, nofollow") is None  # a page's noindex is about the page
    assert meta_robots_opt_out("noai", name="googlebot", user_agent=UA) is None
    assert meta_robots_opt_out("noai", name="wukong-pipeline", user_agent=UA) == "meta wukong-pipeline: noai"
    assert opt_out_directive({"X-Robots-Tag": "noindex"}, UA, PAGE_OPT_OUT) is None
    assert opt_out_directive({"X-Robots-Tag": "noai"}, UA, PAGE_OPT_OUT) == "X-Robots-Tag: noai"
    assert tdm_meta_opt_out("tdm-reservation", "1") == "tdm-reservation: 1"
    assert tdm_meta_opt_out("tdm-reservation", "0") is None
