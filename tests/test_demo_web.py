"""The bundled demo web: determinism, charsets, robots, search quirks, image defects, faults, ground truth.

Loopback only. The session fixture `demo_web` (1,500 pairs) serves most tests; the measured checks
(every image rendered and inspected) run on a smaller web of their own.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import random
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.robotparser
from collections import Counter, defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pyarrow.parquet as pq
import pytest
from PIL import Image

from filters.image_inspect import inspect_image
from manifests import reasons
from manifests.keys import key_for_url, normalize_url
from wukong.demoweb import build_web, objurl
from wukong.demoweb.captions import load_lexicon
from wukong.demoweb.generator import planned_counts
from wukong.demoweb.groundtruth import GROUND_TRUTH, NOT_CRAWLED, decide
from wukong.demoweb.measure import check_invariants
from wukong.demoweb.pictures import codewords, hamming
from wukong.demoweb.rules import TextRules, jieba_words, normalize_caption
from wukong.demoweb.search import QUERIES
from wukong.demoweb.server import DemoWebServer, bind
from wukong.demoweb.sites.gallery import LAZY_ATTRS

REPO = Path(__file__).resolve().parents[1]
MAX_PIXELS = 89_478_485


# --- helpers --------------------------------------------------------------------------------------
def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One GET with http.client: no redirects followed, no cookies kept."""
    u = urlsplit(url)
    assert u.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path + (f"?{u.query}" if u.query else ""), headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def lenient(body: bytes) -> Any:
    """acjson as crawlers parse it: drop the invalid `\\'` escape, then JSON."""
    return json.loads(body.decode("utf-8").replace("\\'", "'"))


def cookie(server: Any) -> dict[str, str]:
    _, headers, _ = get(server.url("/"))
    return {"Cookie": headers["set-cookie"].split(";", 1)[0]}


class PageParser(HTMLParser):
    """A reference extractor: images with caption alt > title > figcaption, URL from lazy attribute
    (srcset: first URL) > src; links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, Any]] = []
        self.links: list[str] = []
        self._figure: list[dict[str, Any]] | None = None
        self._figcaption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "figure":
            self._figure = []
        elif tag == "figcaption":
            self._figcaption = []
        elif tag == "img":
            lazy = next((n for n in LAZY_ATTRS if n in a), None)
            src = a[lazy].split()[0] if lazy == "srcset" else a[lazy] if lazy else a["src"]
            img = {"src": src, "lazy": lazy, "alt": a.get("alt"), "title": a.get("title"), "fig": None}
            self.images.append(img)
            if self._figure is not None:
                self._figure.append(img)

    def handle_data(self, data: str) -> None:
        if self._figcaption is not None:
            self._figcaption.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption" and self._figcaption is not None and self._figure is not None:
            for img in self._figure:
                img["fig"] = "".join(self._figcaption)
            self._figcaption = None
        elif tag == "figure":
            self._figure = None


def extract(page_url: str, body: bytes, encoding: str) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    parser = PageParser()
    parser.feed(body.decode(encoding))
    rows = []
    for img in parser.images:
        if img["alt"] is not None:
            caption, source = img["alt"], "alt"
        elif img["title"] is not None:
            caption, source = img["title"], "title"
        else:
            caption, source = img["fig"], "figcaption"
        rows.append((page_url, urljoin(page_url, img["src"]), caption, source))
    return rows, [urljoin(page_url, h).split("#")[0] for h in parser.links]


def charset_of(content_type: str) -> str | None:
    m = re.search(r"charset=([\w-]+)", content_type)
    return m.group(1).lower() if m else None


@pytest.fixture(scope="module")
def truth(demo_web: Any) -> list[dict[str, Any]]:
    return demo_web.web.ground_truth(demo_web.base_url, measure=False).to_pylist()


@pytest.fixture(scope="module")
def small() -> Iterator[DemoWebServer]:
    """A second, smaller web (other seed) whose every image is rendered and inspected."""
    with DemoWebServer(pairs=300, seed=11) as server:
        yield server


@pytest.fixture(scope="module")
def measured(small: DemoWebServer) -> list[dict[str, Any]]:
    return small.web.ground_truth(small.base_url, measure=True).to_pylist()


# --- building -------------------------------------------------------------------------------------
def test_same_seed_same_web_other_seed_other_web() -> None:
    a, b, c = build_web(300, 5), build_web(300, 5), build_web(300, 6)
    assert list(a.pages) == list(b.pages)
    for path in a.pages:
        assert a.page_response(path) == b.page_response(path)
    ids = sorted(a.images)
    assert ids == sorted(b.images)
    formats = {}
    for i in ids:
        formats.setdefault((a.images[i].rendition.fmt, a.images[i].body), i)
    for i in list(formats.values()) + ids[:10]:
        assert a.image_response(a.images[i].name) == b.image_response(b.images[i].name)
    assert [o.caption for o in a.occurrences] == [o.caption for o in b.occurrences]
    assert [o.caption for o in a.occurrences] != [o.caption for o in c.occurrences]
    assert a.page_response("/news/") != c.page_response("/news/")


def test_size_knob_and_planted_counts() -> None:
    for pairs in (200, 1000, 5000):
        web = build_web(pairs, 7)
        assert abs(len(web.occurrences) - pairs) <= pairs * 0.02
        got = Counter(o.planted for o in web.occurrences)
        for label, n in planned_counts(pairs).items():
            assert got[label] == n, label
    with pytest.raises(ValueError):
        build_web(50, 7)


def test_server_binds_loopback_only(demo_web: Any) -> None:
    sock = bind(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    assert demo_web.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(OSError):  # nothing listens on another interface's address for this port
        socket.create_connection((_other_local_address(), demo_web.port), timeout=1).close()


def _other_local_address() -> str:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # UDP connect sends nothing; it only picks a source address
        addr = probe.getsockname()[0]
    except OSError:
        addr = "127.0.0.2"
    finally:
        probe.close()
    return addr if addr != "127.0.0.1" else "127.0.0.2"


# --- pages, robots, charsets -----------------------------------------------------------------------
def test_robots_disallows_a_linked_section_with_pairs(demo_web: Any, truth: list[dict[str, Any]]) -> None:
    status, headers, body = get(demo_web.url("/robots.txt"))
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert "Disallow: /forum/private/" in body.decode("utf-8")
    _, headers, forum = get(demo_web.url("/forum/"))
    assert b'href="/forum/private/"' in forum
    status, _, private = get(demo_web.url("/forum/private/"))
    assert status == 200 and b"thread-" in private
    hidden = [r for r in truth if r["disallowed"]]
    assert hidden and all("/forum/private/" in r["page_url"] for r in hidden)
    assert all(r["expected_reason"] == NOT_CRAWLED for r in hidden)
    assert not [r for r in truth if "/forum/private/" in r["page_url"] and not r["disallowed"]]


def test_polite_crawl_finds_exactly_the_ground_truth(demo_web: Any, truth: list[dict[str, Any]]) -> None:
    """A reference crawl (robots obeyed, links followed from /) yields the ground truth's allowed rows."""
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(get(demo_web.url("/robots.txt"))[2].decode().splitlines())
    seen, queue, rows = set(), [demo_web.url("/")], Counter()
    pages = {demo_web.url(p): p for p in demo_web.web.pages}
    while queue:
        url = queue.pop()
        if url in seen or not url.startswith(demo_web.base_url) or not robots.can_fetch("*", url):
            continue
        seen.add(url)
        status, _, body = get(url)
        assert status == 200, url
        page = demo_web.web.pages.get(urlsplit(url).path)
        found, links = extract(url, body, page.encoding if page else "utf-8")
        rows.update(found)
        queue.extend(links)
    assert seen - {demo_web.url("/")} == {u for u, p in pages.items() if not demo_web.web.pages[p].disallowed}
    want = Counter((r["page_url"], r["url"], r["caption"], r["caption_source"]) for r in truth if not r["disallowed"])
    assert rows == want
    # the disallowed pages hold pairs too, which a crawler ignoring robots.txt would find
    hidden = Counter()
    for url, path in pages.items():
        if demo_web.web.pages[path].disallowed:
            hidden.update(extract(url, get(url)[2], "gbk")[0])
    assert hidden == Counter((r["page_url"], r["url"], r["caption"], r["caption_source"])
                             for r in truth if r["disallowed"])


def test_charsets_declared_as_planned_and_captions_byte_exact(demo_web: Any, truth: list[dict[str, Any]]) -> None:
    by_page: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth:
        by_page[r["page_url"]].append(r)
    declarations = Counter()
    for page_url, rows in by_page.items():
        enc, decl = rows[0]["encoding"], rows[0]["charset_declaration"]
        declarations[(enc, decl)] += 1
        status, headers, body = get(page_url)
        assert status == 200
        header_cs = charset_of(headers["content-type"])
        head = body[:4096].decode("latin-1")
        metas = re.findall(r"<meta[^>]+charset=\"?([\w-]+)", head, re.IGNORECASE)
        if decl in ("header", "header+meta"):
            assert header_cs is not None and codec_name(header_cs) == codec_name(enc)
        else:
            assert header_cs is None
        if decl == "meta_late":
            assert head.lower().find("charset=") > 1024 and body[:1024].isascii()
        if decl == "gb2312":
            assert metas == ["gb2312"]
            with pytest.raises(UnicodeDecodeError):
                body.decode("gb2312")
        elif decl != "header":
            assert [codec_name(m) for m in metas] == [codec_name(enc)]
        text = body.decode(enc)  # strict: the page really is in its encoding
        for r in rows:
            escaped = r["caption"].replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;") \
                .replace(">", "&gt;").replace("'", "&#x27;")
            assert escaped.encode(enc) in body and escaped in text
    assert {e for e, _ in declarations} == {"utf-8", "gbk", "big5"}
    assert {d for e, d in declarations if e == "gbk"} >= {"header", "meta", "meta_late", "gb2312"}
    gbk_only = [r["caption"] for r in truth if r["charset_declaration"] == "gb2312"]
    assert gbk_only and all(_not_gb2312(c) for c in gbk_only)
    big5 = [r for r in truth if r["encoding"] == "big5"]
    assert len(big5) >= 8 and all(r["caption"] != r["caption"].encode("big5").decode("big5", "replace") or
                                  r["caption"].encode("big5") for r in big5)


def codec_name(label: str) -> str:
    import codecs

    return codecs.lookup(label).name


def _not_gb2312(text: str) -> bool:
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return True
    return False


def test_site_habits(truth: list[dict[str, Any]], demo_web: Any) -> None:
    news = [r for r in truth if r["site"] == "news"]
    assert {r["caption_source"] for r in news} == {"alt", "title", "figcaption"}
    assert {r["markup"] for r in news} >= {"alt+figcaption", "title+figcaption", "figcaption"}
    forum = [r for r in truth if r["site"] == "forum"]
    assert {r["caption_source"] for r in forum} == {"alt"}
    assert {r["url"].split("/")[3] for r in forum} == {"img", "forum"}  # ../img/ and img/ from /forum/
    gallery = [r for r in truth if r["site"] == "gallery"]
    assert {r["lazy_attr"] for r in gallery} == {*LAZY_ATTRS, None}
    page = next(r["page_url"] for r in gallery if r["lazy_attr"] == "data-actualsrc")
    body = get(page)[2].decode("utf-8")
    assert 'src="/static/blank.gif"' in body or 'src="/static/empty.png"' in body
    for path in ("/static/blank.gif", "/static/empty.png"):
        status, _, data = get(demo_web.url(path))
        assert status == 200 and Image.open(__import__("io").BytesIO(data)).size == (1, 1)
    assert get(demo_web.url("/news/nope.html"))[0] == 404


# --- captions --------------------------------------------------------------------------------------
def test_captions_cover_every_kind(truth: list[dict[str, Any]]) -> None:
    by = defaultdict(list)
    for r in truth:
        by[r["planted"]].append(r)
    normal = [r["caption"] for r in by[None]]
    assert len(set(normal)) > 0.9 * len(normal)  # natural captions are varied, not a dozen strings
    counts = [len(jieba_words(normalize_caption(c))) for c in normal]
    assert min(counts) >= 1 and max(counts) <= 14 and sum(2 <= n <= 12 for n in counts) > 0.97 * len(counts)
    assert any(re.search(r"[A-Za-z]", c) and re.search(r"[\u4e00-\u9fff]", c) for c in normal)  # brands, models
    assert all(len(jieba_words(normalize_caption(r["caption"]))) > 50 for r in by["too_long"])
    boiler = Counter(r["caption"] for r in by["boilerplate"])
    assert set(boiler) == {"查看源网页", "展开全文", "如下图所示"} and min(boiler.values()) > 10
    assert all(re.search("[\u3040-\u30ff]", r["caption"]) for r in by["japanese"])
    assert all(r["caption"].isascii() for r in by["english"])
    assert all(r["caption"] == "" for r in by["empty_caption"])
    lexicon = load_lexicon()
    assert all(sum(w in r["caption"] for w in lexicon) == 1 for r in by["sensitive"])
    assert not [c for c in normal if any(w in c for w in lexicon)]
    for r in truth:
        assert (r["person_name"] is not None) == (r["planted"] == "person_name")
        if r["person_name"]:
            assert r["caption"].startswith(r["person_name"])
    assert Counter(r["caption"] for r in by["repeat_5"]).most_common(1)[0][1] == 5
    assert Counter(r["caption"] for r in by["repeat_6"]).most_common(1)[0][1] == 6


# --- ground truth -----------------------------------------------------------------------------------
EXPECTED = {
    "empty_caption": reasons.EMPTY_CAPTION, "placeholder": reasons.PLACEHOLDER, "too_long": reasons.TOO_LONG,
    "english": reasons.NOT_CHINESE, "japanese": reasons.NOT_CHINESE, "sensitive": reasons.SENSITIVE,
    "boilerplate": reasons.FREQUENT_CAPTION, "repeat_6": reasons.FREQUENT_CAPTION, "repeat_5": None,
    "too_small": reasons.TOO_SMALL, "bad_aspect": reasons.BAD_ASPECT, "truncated": reasons.CORRUPT_IMAGE,
    "html_body": reasons.NOT_AN_IMAGE, "http_404": "http_404", "http_500": "http_500",
    "wrong_content_type": None, "size_boundary": None, "aspect_boundary": None, "gbk_only": None,
    "traditional": None, "person_name": None, "disallowed": NOT_CRAWLED,
}


def check_expected(rows: list[dict[str, Any]], web: Any) -> None:
    assert [f.name for f in GROUND_TRUTH][:10] == ["page_url", "url", "caption", "caption_source", "site", "encoding",
                                                  "disallowed", "person_name", "expected_reason", "expected_detail"]
    by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_image[r["image_id"]].append(r)
        if r["planted"] in EXPECTED:
            assert r["expected_reason"] == EXPECTED[r["planted"]], r
        if r["planted"] == "sensitive":
            assert r["expected_detail"] in r["caption"]
    explained = set()
    for r in rows:
        spec = web.images[r["image_id"]]
        if r["planted"] == "exact_duplicate":
            pair = [r, *by_image[spec.original]]
            assert sorted(x["expected_reason"] or "" for x in pair) == ["", reasons.DUPLICATE_IMAGE]
            kept = min(pair, key=lambda x: x["key"])
            assert kept["expected_reason"] is None
            assert [x["expected_detail"] for x in pair if x is not kept] == [kept["key"]]
            explained.update(id(x) for x in pair)
        elif r["planted"] == "near_duplicate":
            pair = [r, *by_image[spec.original]]
            kept = min(pair, key=lambda x: (-(x["width"] * x["height"]), x["key"]))
            assert kept["expected_reason"] is None
            assert [x["expected_reason"] for x in pair if x is not kept] == [reasons.NEAR_DUPLICATE]
            assert [x["expected_detail"] for x in pair if x is not kept] == [kept["key"]]
            explained.update(id(x) for x in pair)
        elif r["planted"] == "duplicate_url":
            pair = by_image[r["image_id"]]
            assert len(pair) == 2 and pair[0]["url"] == pair[1]["url"]
            kept = min(pair, key=lambda x: (x["page_url"], x["caption"]))
            assert kept["expected_reason"] is None
            assert [x["expected_reason"] for x in pair if x is not kept] == [reasons.DUPLICATE_URL]
            explained.update(id(x) for x in pair)
    # clean pairs are kept unless a planted copy points at them
    assert not [r for r in rows if r["planted"] is None and r["expected_reason"] and id(r) not in explained]
    for r in rows:
        assert r["key"] == key_for_url(normalize_url(r["url"]))
        assert r["url"].startswith(rows[0]["page_url"].split("/")[0] + "//127.0.0.1:")


def test_ground_truth_reasons_follow_the_rules(truth: list[dict[str, Any]], demo_web: Any) -> None:
    assert len(truth) == len(demo_web.web.occurrences)
    check_expected(truth, demo_web.web)
    reasons_seen = {r["expected_reason"] for r in truth}
    assert reasons_seen >= {None, NOT_CRAWLED, *(v for v in EXPECTED.values() if v), reasons.DUPLICATE_URL,
                            reasons.DUPLICATE_IMAGE, reasons.NEAR_DUPLICATE}


def test_rule_engine_order_and_tie_breaks() -> None:
    from manifests.config import Config
    from wukong.demoweb.groundtruth import Row
    from wukong.demoweb.measure import Measurement

    cfg = Config()
    cfg.text.max_caption_repeats = 2
    far = [int(c) for c in codewords(10, 1)]  # pairwise >= 16 bits apart
    ok = {i: Measurement(200, "image/jpeg", width=400, height=300, sha256=f"s{i}", phash=f"{far[i]:016x}")
          for i in range(10)}
    ok[3] = Measurement(200, "image/jpeg", width=400, height=300, sha256="s2", phash=f"{far[2]:016x}")
    ok[4] = Measurement(200, "image/jpeg", width=800, height=600, sha256="s4", phash=f"{far[2] ^ 0b1011:016x}")
    ok[5] = Measurement(404, "text/html", reasons.http_status(404))
    rows = [
        Row("http://h/a", "http://h/img/1.jpg", "图片", True, 1),          # placeholder
        Row("http://h/b", "http://h/img/2.jpg", "重复的标题", True, 2),    # frequent (3 > 2)...
        Row("http://h/c", "http://h/img/2.jpg", "重复的标题", True, 2),
        Row("http://h/d", "http://h/img/6.jpg", "重复的标题", True, 6),
        Row("http://h/e", "http://h/img/7.jpg#x", "红烧肉盖饭", True, 7),   # same URL after normalising
        Row("http://h/d", "http://h/img/7.jpg", "红烧肉盖饭", True, 7),    # kept: smaller page_url
        Row("http://h/f", "http://h/img/3.jpg", "宫保鸡丁", True, 3),       # same bytes as 2 (s2)
        Row("http://h/g", "http://h/img/8.jpg", "麻婆豆腐", True, 2),
        Row("http://h/h", "http://h/img/5.jpg", "鱼香肉丝", True, 5),       # 404
        Row("http://h/i", "http://h/img/4.jpg", "酸菜鱼", True, 4),         # near dup of 2/3 (3 bits), larger
        Row("http://h/j", "http://h/img/9.jpg", "回锅肉", False, 9),        # not crawled
    ]
    got = decide(rows, ok, cfg, ["赌博"])
    assert got[0][0] == reasons.PLACEHOLDER
    assert [g[0] for g in got[1:4]] == [reasons.FREQUENT_CAPTION] * 3
    assert got[4] == (reasons.DUPLICATE_URL, "http://h/d") and got[5] == (None, None)
    assert got[8][0] == "http_404"
    k3, k8 = key_for_url("http://h/img/3.jpg"), key_for_url("http://h/img/8.jpg")
    exact_kept, exact_lost = (6, 7) if k3 < k8 else (7, 6)  # same bytes: the smaller key stays
    assert got[exact_lost] == (reasons.DUPLICATE_IMAGE, min(k3, k8))
    # the one left is then a near duplicate of the larger image 4, which stays
    assert got[exact_kept] == (reasons.NEAR_DUPLICATE, key_for_url("http://h/img/4.jpg"))
    assert got[9] == (None, None)
    assert got[10][0] == NOT_CRAWLED


def test_served_urls_answer_what_the_ground_truth_claims(demo_web: Any, truth: list[dict[str, Any]]) -> None:
    sample: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in truth:
        if len(sample[r["planted"]]) < 3:
            sample[r["planted"]].append(r)
    for rows in sample.values():
        for r in rows:
            status, headers, body = get(r["url"])
            assert (status, headers["content-type"]) == (r["http_status"], r["content_type"]), r
            if status != 200:
                assert r["expected_reason"] == f"http_{status}" or r["disallowed"]
                continue
            info = inspect_image(body, MAX_PIXELS)
            if r["planted"] == "truncated":
                assert info.reason == reasons.CORRUPT_IMAGE
            elif r["planted"] == "html_body":
                assert info.reason == reasons.NOT_AN_IMAGE and body.lstrip().startswith(b"<!DOCTYPE html>")
            else:
                assert info.reason is None and (info.width, info.height, info.mime) == \
                    (r["width"], r["height"], r["mime"])
            if r["planted"] == "wrong_content_type":
                assert headers["content-type"] != info.mime
    # the same image under /img/ and /forum/img/, unknown names 404
    spec = next(iter(demo_web.web.images.values()))
    assert get(demo_web.url(f"/img/{spec.name}"))[2] == get(demo_web.url(f"/forum/img/{spec.name}"))[2]
    assert get(demo_web.url("/img/1.jpg"))[0] == 404
    wrong_ext = spec.name.rsplit(".", 1)[0] + (".gif" if spec.ext != "gif" else ".png")
    assert get(demo_web.url(f"/img/{wrong_ext}"))[0] == 404
    status, headers, thumb = get(demo_web.url(f"/thumb/{spec.id}.jpg"))
    assert status == 200 and max(Image.open(__import__("io").BytesIO(thumb)).size) <= 240


def test_measured_ground_truth_equals_planned_and_phash_invariants(small: DemoWebServer,
                                                                  measured: list[dict[str, Any]]) -> None:
    web = small.web
    planned = web.ground_truth(small.base_url, measure=False).to_pylist()
    strip = ("sha256", "phash", "mime", "content_type")  # planned: a token and the codeword instead

    def comparable(r: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in r.items() if k not in strip}
        if r["expected_reason"] == reasons.CORRUPT_IMAGE:
            out["expected_detail"] = None  # measured: Pillow's message
        return out

    diffs = [(a, b) for a, b in zip(map(comparable, measured), map(comparable, planned), strict=True) if a != b]
    assert not diffs, [(k, a[k], b[k]) for a, b in diffs[:3] for k in a if a[k] != b[k]]
    check_expected(measured, web)
    m = web.measurements()
    valid = {i: x for i, x in m.items() if x.reason is None}
    for i, x in m.items():
        spec = web.images[i]
        if spec.valid:
            assert x.reason is None and (x.width, x.height) == spec.rendition.size
        if spec.planted == "exact_duplicate":
            assert x.sha256 == m[spec.original].sha256
        if spec.planted == "near_duplicate":
            assert x.sha256 != m[spec.original].sha256
            assert hamming(int(x.phash, 16), int(m[spec.original].phash, 16)) <= 4
    picture = {i: web.images[i].rendition.picture for i in valid}
    ids = sorted(valid)
    hashes = [int(valid[i].phash, 16) for i in ids]
    closest = 64
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            if picture[ids[a]] != picture[ids[b]]:
                closest = min(closest, hamming(hashes[a], hashes[b]))
    assert closest > 10, closest
    assert check_invariants(web.images, m) == []
    near = next(s for s in web.images.values() if s.planted == "near_duplicate")
    other = next(s for s in web.images.values() if s.valid and s.rendition.picture != near.rendition.picture)
    far_copy = dict(m)
    far_copy[near.id] = dataclasses.replace(m[near.id], phash=f"{int(m[near.original].phash, 16) ^ 0x1F:016x}")
    far_copy[other.id] = dataclasses.replace(m[other.id], phash=m[near.original].phash)
    problems = check_invariants(web.images, far_copy)
    assert len(problems) >= 2 and any("5 pHash bits" in p for p in problems)
    assert any("distinct pictures only" in p for p in problems)
    # pictures carry their planted code: pHash is the codeword (within a bit or two)
    assert sum(hamming(int(valid[i].phash, 16), web.renderer.code(picture[i])) <= 2 for i in ids) > 0.95 * len(ids)


def test_codewords_are_balanced_distinct_and_far_apart() -> None:
    codes = [int(c) for c in codewords(3000, 3)]
    assert len(set(codes)) == 3000
    assert all(c.bit_count() == 32 and c >> 63 == 1 for c in codes)
    sample = codes[:400]
    assert min(hamming(a, b) for i, a in enumerate(sample) for b in sample[i + 1:]) >= 16


# --- search endpoints ------------------------------------------------------------------------------
def acjson(server: Any, word: str, pn: int, rn: int = 30, headers: dict[str, str] | None = None) -> bytes:
    url = server.url(f"/search/acjson?tn=resultjson_com&ipn=rj&word={quote(word)}&pn={pn}&rn={rn}")
    status, h, body = get(url, headers)
    assert status == 200 and h["content-type"].startswith("application/json")
    return body


def test_acjson_blocks_without_cookie(demo_web: Any) -> None:
    assert lenient(acjson(demo_web, "猫", 0)) == {"antiFlag": 1, "message": "Forbid spider access",
                                                  "bfe_log_id": "12345678901234567890"}
    _, headers, _ = get(demo_web.url("/search/index"))
    assert headers["set-cookie"].startswith("BAIDUID=")
    assert "data" in lenient(acjson(demo_web, "猫", 0, headers=cookie(demo_web)))


def test_acjson_quirks_and_paging(demo_web: Any) -> None:
    jar = cookie(demo_web)
    truth = defaultdict(list)
    for r in demo_web.web.search_ground_truth(demo_web.base_url).to_pylist():
        truth[r["query"]].append(r)
    assert {q: len(v) for q, v in truth.items()} == dict(QUERIES)
    assert min(len(v) for v in truth.values()) < 60 and max(len(v) for v in truth.values()) >= 300
    body = acjson(demo_web, "风景", 0, headers=jar)
    assert b"\\/" in body and b"\\'" in body
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    spellings = Counter()
    for query in ("风景", "书房", "运动鞋"):
        items, pn = [], 0
        while pn < len(truth[query]):
            doc = lenient(acjson(demo_web, query, pn, headers=jar))
            assert doc["data"][-1] == {} and doc["listNum"] == len(truth[query])
            assert doc["gsm"] == format(pn + 30, "x")
            items += doc["data"][:-1]
            pn += 30
        assert len(items) == len(truth[query])
        for item, want in zip(items, truth[query], strict=True):
            assert isinstance(item["width"], int) and isinstance(item["height"], int)
            assert (item["width"], item["height"]) == (want["width"], want["height"])
            assert item["fromPageTitleEnc"] == want["caption"] and "<" not in item["fromPageTitleEnc"]
            assert f"<strong>{query}</strong>" in item["fromPageTitle"]
            assert objurl.decode(item["objURL"]) == want["url"]
            assert objurl.decode(item["fromURL"]) == want["from_url"]
            for key in ("thumbURL", "middleURL", "hoverURL", "fromURLHost", "type", "cs", "di"):
                assert item[key], key
            replace = item.get("replaceUrl")
            if replace:
                entry = replace[0]
                spellings.update(k for k in entry if k in ("ObjURL", "ObjUrl", "FromURL", "FromUrl"))
                assert (entry.get("ObjURL") or entry.get("ObjUrl")) == want["url"]
                assert (entry.get("FromURL") or entry.get("FromUrl")) == want["from_url"]
            else:
                spellings["none"] += 1
                spellings["plain objURL" if item["objURL"] == want["url"] else "obfuscated"] += 1
    assert spellings["ObjURL"] and spellings["ObjUrl"] and spellings["FromUrl"] and spellings["none"]
    assert spellings["plain objURL"] and spellings["obfuscated"]
    # past the end: repeats of the last page, never an empty list
    last = lenient(acjson(demo_web, "书房", 0, headers=jar))["data"][:-1]
    again = lenient(acjson(demo_web, "书房", 30, headers=jar))["data"][:-1]
    assert len(last) == 8 and again == last
    tail = lenient(acjson(demo_web, "风景", 2000, headers=jar))["data"][:-1]
    last_page = lenient(acjson(demo_web, "风景", 420, headers=jar))["data"][:-1]
    assert [i["objURL"] for i in tail] == [i["objURL"] for i in last_page] and len(tail) == 30
    assert len(lenient(acjson(demo_web, "风景", 0, rn=500, headers=jar))["data"]) == 61  # rn capped at 60
    thumb = lenient(acjson(demo_web, "猫", 0, headers=jar))["data"][0]["thumbURL"]
    assert get(thumb)[0] == 200


def test_sogou_and_360_formats(demo_web: Any) -> None:
    truth = [r for r in demo_web.web.search_ground_truth(demo_web.base_url).to_pylist() if r["query"] == "雪山"]
    status, _, body = get(demo_web.url(f"/search/sogou?query={quote('雪山')}&start=0&xml_len=48"))
    doc = json.loads(body)
    items = doc["data"]["items"]
    assert status == 200 and len(items) == 30 == len(truth)
    assert [(i["picUrl"], i["oriPicUrl"], i["title"]) for i in items] == \
        [(r["url"], r["url"], r["caption"]) for r in truth]
    past_end = get(demo_web.url(f"/search/sogou?query={quote('雪山')}&start=48&xml_len=48"))[2]
    assert json.loads(past_end)["data"]["items"] == []
    doc = json.loads(get(demo_web.url(f"/search/so360?q={quote('雪山')}&sn=10&pn=10"))[2])
    assert [i["img"] for i in doc["list"]] == [r["url"] for r in truth[10:20]]
    assert all("<em>雪山</em>" in i["title"] and i["thumb"] for i in doc["list"]) and doc["end"] is False
    assert json.loads(get(demo_web.url(f"/search/so360?q={quote('雪山')}&sn=20&pn=30"))[2])["end"] is True


def test_objurl_round_trip() -> None:
    assert objurl.decode("ippr_z2C$qAzdH3FAzdH3F") == "http://"
    for url in ("http://127.0.0.1:8123/img/10234.jpg", "http://127.0.0.1:1/forum/thread-1-1-1.html"):
        coded = objurl.encode(url)
        assert "_z2C$q" in coded and "AzdH3F" in coded and "/" not in coded
        assert objurl.decode(coded) == url
    assert objurl.decode("http://plain/URL") == "http://plain/URL"


# --- faults ----------------------------------------------------------------------------------------
def test_fault_routes(demo_web: Any) -> None:
    f = demo_web.url
    import io

    ok = get(f("/fault/ok.jpg"))
    assert ok[0] == 200 and inspect_image(ok[2], MAX_PIXELS).reason is None
    for kind, status in (("429", 429), ("503", 503), ("500", 500), ("404", 404)):
        code, headers, _ = get(f(f"/fault/{kind}"))
        assert code == status
        if kind == "429":
            assert headers["retry-after"] == "1"
    assert [get(f("/fault/429?times=2&id=t1"))[0] for _ in range(3)] == [429, 429, 200]
    assert [get(f("/fault/503?times=1&id=t1"))[0] for _ in range(2)] == [503, 200]
    assert get(f("/fault/redirect-loop"))[1]["location"] == "/fault/redirect-loop-b"
    assert get(f("/fault/redirect-loop-b"))[1]["location"] == "/fault/redirect-loop"
    status, headers, _ = get(f("/fault/redirect-private"))
    assert status == 302 and headers["location"] == "http://10.0.0.1/x.jpg"
    assert get(f("/fault/redirect"))[1]["location"] == "/fault/ok.jpg"
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        get(f("/fault/reset"))
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        get(f("/fault/reset?times=1&id=r2"))
    assert get(f("/fault/reset?times=1&id=r2"))[2] == ok[2]  # transient: the retry succeeds
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        get(f("/fault/huge-length"))
    conn = http.client.HTTPConnection("127.0.0.1", demo_web.port, timeout=5)
    conn.request("GET", "/fault/huge-length")
    assert conn.getresponse().getheader("Content-Length") == str(2 * 1024 ** 3)
    conn.close()
    start = time.monotonic()
    status, headers, body = get(f("/fault/drip?n=2"))
    assert status == 200 and len(body) == 2 and 0.9 < time.monotonic() - start < 5
    with pytest.raises(TimeoutError):  # a second between bytes: a 0.5 s read timeout fires
        get(f("/fault/drip?n=4"), timeout=0.5)
    status, headers, body = get(f("/fault/chunked"))
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers and body == ok[2]
    status, headers, body = get(f("/fault/oversize?bytes=3000000"))
    assert headers["content-length"] == "3000000" and len(body) == 3_000_000
    status, headers, body = get(f("/fault/oversize-chunked?bytes=2500000"))
    assert "content-length" not in headers and len(body) == 2_500_000
    status, headers, bomb = get(f("/fault/bomb"))
    assert len(bomb) < 200_000 and bomb[12:16] == b"IHDR" and struct.unpack(">II", bomb[16:24]) == (30000, 30000)
    assert inspect_image(bomb, MAX_PIXELS).reason == reasons.DECOMPRESSION_BOMB
    gif = Image.open(io.BytesIO(get(f("/fault/animated-gif"))[2]))
    assert gif.format == "GIF" and gif.n_frames == 3
    assert Image.open(io.BytesIO(get(f("/fault/cmyk-jpeg"))[2])).mode == "CMYK"
    assert Image.open(io.BytesIO(get(f("/fault/png16"))[2])).mode.startswith("I;16")
    rotated = inspect_image(get(f("/fault/exif-rotated"))[2], MAX_PIXELS)
    assert rotated.reason is None and (rotated.width, rotated.height) == (300, 600)
    status, headers, svg = get(f("/fault/svg"))
    assert headers["content-type"] == "image/svg+xml" and inspect_image(svg, MAX_PIXELS).reason == reasons.NOT_AN_IMAGE
    status, headers, png = get(f("/fault/png-as-jpg.jpg"))
    assert headers["content-type"] == "image/jpeg" and png.startswith(b"\x89PNG")
    status, headers, page = get(f("/fault/html-as-jpeg"))
    assert headers["content-type"] == "image/jpeg" and inspect_image(page, MAX_PIXELS).reason == reasons.NOT_AN_IMAGE
    assert inspect_image(get(f("/fault/truncated-jpeg"))[2], MAX_PIXELS).reason == reasons.CORRUPT_IMAGE
    assert get(f("/fault/empty"))[2] == b""
    start = time.monotonic()
    assert get(f("/fault/stall?s=0.5"))[0] == 200 and time.monotonic() - start >= 0.5
    assert get(f("/fault/no-such-fault"))[0] == 404
    for page in demo_web.web.pages.values():  # faults are never linked
        assert b"/fault/" not in demo_web.web.page_response(page.path).body


# --- command line ----------------------------------------------------------------------------------
def test_prerender_fills_the_cache_with_the_bytes_a_request_renders() -> None:
    import threading

    web = build_web(200, 3)
    stopped = threading.Event()
    stopped.set()
    assert web.prerender(stopped) == 0 and web.renderer.cached_bytes == 0
    assert web.prerender() == len(web.images)
    cached = web.renderer.cached_bytes
    assert cached > 0
    fresh = build_web(200, 3)
    for spec in web.images.values():
        name = f"{spec.id}.{spec.ext}"
        got, want = web.image_response(name), fresh.image_response(name)
        assert got is not None and want is not None and (got.status, got.body) == (want.status, want.body)
    assert web.renderer.cached_bytes == cached  # every answer came from the cache
    small = build_web(200, 3)
    small.renderer._bytes.max_bytes = 200_000  # a cache that holds a few images: prerender stops at 3/4 of it
    assert 0 < small.prerender() < len(small.images) and small.renderer.cached_bytes <= 200_000


def test_cli_serves_writes_ground_truth_and_stops_on_sigterm(tmp_path: Path) -> None:
    from wukong.demoweb.process import spawn_demo_web

    gt, sgt = tmp_path / "gt.parquet", tmp_path / "search.parquet"
    proc = spawn_demo_web(pairs=200, seed=3, ground_truth=gt, search_ground_truth=sgt, planned=True,
                          prerender=True)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proc.base_url)
        fresh = build_web(200, 3)  # rendered ahead of the request or on it: the same bytes
        for spec in list(fresh.images.values())[:20]:
            want = fresh.image_response(f"{spec.id}.{spec.ext}")
            assert want is not None
            assert get(f"{proc.base_url}/img/{spec.id}.{spec.ext}")[2] == want.body
        assert get(proc.base_url + "/robots.txt")[0] == 200
        table = pq.read_table(gt)
        assert table.schema.equals(GROUND_TRUTH) and table.num_rows == len(build_web(200, 3).occurrences)
        assert all(u.startswith(proc.base_url + "/") for u in table.column("page_url").to_pylist())
        assert pq.read_table(sgt).num_rows == sum(n for _, n in QUERIES)
    finally:
        assert proc.stop() == 0
    bad = subprocess.run([sys.executable, "-m", "wukong.cli", "demo-web", "--port", "0", "--pairs", "10"],
                         capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--pairs" in bad.stderr


def test_the_ground_truths_sensitive_word_is_the_earliest_then_the_longest() -> None:
    """The ground truth's rule e names the lexicon word that starts first in the caption, the longest of those
    starting there: the same word as the minimum of (position, -length, word) over every lexicon word found."""
    lexicon = ["北京", "北京烤鸭", "烤鸭", "鸭", "京烤"]
    rules = TextRules(lexicon, 1, 50)
    assert rules.first_sensitive("我爱北京烤鸭") == "北京烤鸭"
    assert rules.first_sensitive("吃烤鸭和北京") == "烤鸭"
    assert rules.first_sensitive("南京的鸭血") == "鸭"
    assert rules.first_sensitive("上海小笼包") is None and rules.first_sensitive("") is None
    rng, words = random.Random(5), load_lexicon()
    pieces = [*words[:300], "的", "风景", "a", " ", "海边"]
    real = TextRules(words, 1, 50)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        hits = [(text.find(w), -len(w), w) for w in words if w in text]
        assert real.first_sensitive(text) == (min(hits)[2] if hits else None)
