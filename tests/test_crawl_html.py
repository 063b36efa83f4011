"""HTML pages on saved bytes: charset detection (GBK, GB18030 declared gb2312, Big5, late meta,
resaved UTF-8, BOM), lazy-load attributes, srcset, captions, links, and broken markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.charset import Detected, detect_html_encoding, late_meta_encoding
from crawler.html import best_srcset, extract_images, extract_links, netloc_key, page_key, parse_html, parse_srcset
from crawler.loopback import is_loopback_host
from crawler.middlewares import CharsetMiddleware

DATA = Path(__file__).parent / "data" / "crawl"


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


class _Crawler:
    def __init__(self) -> None:
        self.stats = _Stats()


def response(name: str, url: str = "http://127.0.0.1:8000/forum/index.html", content_type: str | None = None,
             ) -> HtmlResponse:
    """A saved page as Scrapy would hand it to the spider (after the charset middleware)."""
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": "text/html"}
    raw = HtmlResponse(url=url, body=(DATA / name).read_bytes(), headers=headers, request=Request(url))
    return CharsetMiddleware(_Crawler()).process_response(raw.request, raw)  # type: ignore[arg-type]


def pairs(resp: HtmlResponse) -> list[tuple[str, str, str]]:
    page = extract_images(parse_html(resp.text), resp.urljoin)
    return [(p.url, p.caption, p.caption_source) for p in page.pairs]


CASES = [
    # file, content type, encoding, expected captions
    ("gbk_page.html", "text/html; charset=GBK", "gb18030", ("红烧肉的做法", "麻婆豆腐", "宫保鸡丁配米饭")),
    ("gb18030_declared_gb2312.html", "text/html", "gb18030", ("刘䶮的画像", "𠮷野家牛肉饭", "欧元€符号")),
    ("big5_page.html", None, "big5hkscs", ("臺北一○一夜景", "日月潭的晨霧", "阿里山鐵路")),
    ("late_meta_gbk.html", None, "gb18030", ("西湖断桥残雪", "灵隐寺", "雷峰塔夕照")),
    ("resaved_utf8_declared_gb2312.html", None, "utf-8", ("桂林山水", "漓江竹筏", "象鼻山")),
    ("bom_utf8_meta_gbk.html", "text/html; charset=gbk", "utf-8", ("黄山云海", "迎客松", "光明顶")),
]


@pytest.mark.parametrize(("name", "content_type", "encoding", "captions"), CASES)
def test_charsets_decode_captions_exactly(name: str, content_type: str | None, encoding: str,
                                          captions: tuple[str, ...]) -> None:
    resp = response(name, content_type=content_type)
    assert resp.encoding.replace("_", "-") == encoding
    got = pairs(resp)
    assert [c for _, c, _ in got] == list(captions)
    assert [s for _, _, s in got] == ["alt", "title", "figcaption"]
    assert "\ufffd" not in resp.text


def test_detection_order() -> None:
    gbk = (DATA / "gbk_page.html").read_bytes()
    assert detect_html_encoding(gbk, "text/html; charset=gbk").source == "header"
    assert detect_html_encoding(gbk, "text/html") == Detected("gb18030", "inferred")  # undeclared Chinese page
    assert detect_html_encoding(b"<p>plain ascii</p>", None).encoding is None  # no opinion: Scrapy infers
    late = (DATA / "late_meta_gbk.html").read_bytes()
    assert late.find(b"<meta charset") > 4096  # beyond w3lib's own window
    assert detect_html_encoding(late, None).encoding == "gb18030"
    assert late_meta_encoding(b"<html><head>" + b" " * 9000 + b'<meta charset="big5"></head>') == "big5hkscs"
    # a meta inside the body does not count
    assert late_meta_encoding(b"<html><body>" + b" " * 9000 + b'<meta charset="big5">') is None
    bom = (DATA / "bom_utf8_meta_gbk.html").read_bytes()
    assert detect_html_encoding(bom, "text/html; charset=gbk").source == "bom"
    # gb2312 in the header, UTF-8 bytes: resaved
    resaved = (DATA / "resaved_utf8_declared_gb2312.html").read_bytes()
    assert detect_html_encoding(resaved, "text/html; charset=gb2312") == detect_html_encoding(resaved, None)
    assert detect_html_encoding(resaved, None).source == "resaved_utf8"
    # a short ASCII page declared gb2312 stays GB18030
    assert detect_html_encoding(b'<meta charset="gb2312"><p>hi</p>', None).encoding == "gb18030"


def test_big5_without_middleware_is_scrapy_default() -> None:
    """The middleware agrees with Scrapy where Scrapy already gets it right."""
    body = (DATA / "big5_page.html").read_bytes()
    plain = HtmlResponse(url="http://127.0.0.1/", body=body)
    assert plain.encoding == response("big5_page.html").encoding


def test_lazy_variants() -> None:
    resp = response("lazy_variants.html", url="http://127.0.0.1:8000/photos/index.html")
    base = "http://gallery.example.cn/photos/"
    got = pairs(resp)
    assert got == [
        (base + "lazy/a.jpg", "data-src图", "alt"),
        ("http://gallery.example.cn/lazy/b.jpg", "data-original图", "alt"),
        ("https://cdn.example.cn/c.jpg", "data-lazy-src图", "alt"),
        (base + "lazy/d.jpg", "data-actualsrc图", "alt"),
        (base + "lazy/e.jpg", "lazy图", "alt"),
        (base + "lazy/f.jpg", "original图", "alt"),
        (base + "lazy/g.jpg", "ne-lazy图", "alt"),
        (base + "lazy/h.jpg", "oldsrc图", "alt"),
        (base + "s/i-1280.jpg", "srcset宽度", "alt"),
        (base + "s/j-2x.jpg", "srcset密度", "alt"),
        (base + "s/k,comma.jpg", "逗号地址", "alt"),
        (base + "plain/l.jpg", "多余   空白\n 换行", "alt"),  # alt is raw: only the ends are stripped
        (base + "plain/n.jpg", "只有标题", "title"),
        (base + "plain/o.jpg", "图注 加粗", "figcaption"),  # text as shown: HTML whitespace collapsed
        (base + "plain/p.jpg", "替代文字优先", "alt"),
    ]
    page = extract_images(parse_html(resp.text), resp.urljoin)
    assert page.dropped == {"data_uri": 2, "no_caption": 1, "no_image_url": 2, "bad_url": 1}


def test_links_stay_inside_the_host_and_port() -> None:
    resp = response("lazy_variants.html", url="http://gallery.example.cn/photos/index.html")
    links = extract_links(parse_html(resp.text), resp.urljoin, {netloc_key("http://gallery.example.cn/")})
    assert links == ["http://gallery.example.cn/photos/page2.html"]  # fragment dropped, dupes, .jpg, other port
    assert netloc_key("HTTP://Example.CN/x") == "example.cn:80"
    assert netloc_key("https://example.cn:8443/") == "example.cn:8443"
    assert netloc_key("ftp://example.cn/") is None and netloc_key("http://[::1") is None
    assert page_key("http://a.cn/p?b=2&a=1#x") == page_key("http://a.cn/p?a=1&b=2")


@pytest.mark.parametrize("name", ["broken.html", "unclosed_title.html", "empty.html", "binary.html"])
def test_bad_html_no_crash_no_bogus_pair(name: str) -> None:
    resp = response(name, url="http://127.0.0.1:8000/broken/")
    got = pairs(resp)
    for url, caption, _ in got:
        assert url.startswith("http://127.0.0.1:8000/broken/") and caption.strip()
        assert "\x00" not in caption
    links = extract_links(parse_html(resp.text), resp.urljoin, {"127.0.0.1:8000"})
    assert all(link.startswith("http://127.0.0.1:8000/") for link in links)
    if name == "broken.html":
        assert resp.encoding == "utf-8"  # mostly UTF-8 with stray bytes
        assert got == [("http://127.0.0.1:8000/broken/ok.jpg", "好图", "alt"),
                       ("http://127.0.0.1:8000/broken/after.jpg", "后面", "alt")]  # no comment/script/CDATA image
    if name == "unclosed_title.html":
        assert got == []  # the title swallows the page, as in a browser


def test_srcset_parsing() -> None:
    assert parse_srcset(" a.jpg 1x ,b.jpg 2x") == [("a.jpg", 1.0), ("b.jpg", 2.0)]
    assert parse_srcset("a.jpg, b.jpg") == [("a.jpg", 0.0), ("b.jpg", 0.0)]
    assert best_srcset("a.jpg 100w, b.jpg 50w") == "a.jpg"
    assert best_srcset("first.jpg, second.jpg") == "first.jpg"
    assert best_srcset("  ,, ") is None


def test_loopback_hosts() -> None:
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.5.0.1"))
    assert not any(is_loopback_host(h) for h in ("10.0.0.1", "example.cn", "", None, "0.0.0.0"))


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.html")))
def test_every_img_is_a_pair_or_a_counted_drop(name: str) -> None:
    """The element walk sees exactly the `<img>`s XPath sees (markup after `</html>` included)."""
    resp = response(name, url="http://127.0.0.1:8000/x/")
    page = extract_images(parse_html(resp.text), resp.urljoin)
    assert len(page.pairs) + sum(page.dropped.values()) == len(resp.xpath("//img"))


def test_caption_whitespace_is_kept_as_written() -> None:
    html = ('<img src="a.jpg" alt="\u3000韦德之道\u3000配色 \xa0新款\t">'
            '<figure><img src="b.jpg"><figcaption>\n  两行\n  图注\u3000全角 </figcaption></figure>')
    resp = HtmlResponse(url="http://127.0.0.1/", body=html.encode(), encoding="utf-8")
    assert [c for _, c, _ in pairs(resp)] == ["\u3000韦德之道\u3000配色 \xa0新款", "两行 图注\u3000全角"]


OPT_OUT_CASES = [
    # (robots <meta>s, page response headers, why the page yields nothing, or None)
    ('<meta name="robots" content="noai">', {}, "meta robots: noai"),
    ('<meta name="ROBOTS" content="index, follow, NoImageAI">', {}, "meta robots: noimageai"),
    ('<meta name="wukong-pipeline" content="noai">', {}, "meta wukong-pipeline: noai"),
    ('<meta name="tdm-reservation" content="1">', {}, "tdm-reservation: 1"),
    ("", {"X-Robots-Tag": "noai"}, "X-Robots-Tag: noai"),
    ("", {"X-Robots-Tag": "wukong-pipeline: noimageai"}, "X-Robots-Tag: wukong-pipeline: noimageai"),
    ("", {"tdm-reservation": "1"}, "tdm-reservation: 1"),
    ('<meta name="robots" content="noindex, nofollow">', {}, None),  # about the page, not its images
    ('<meta name="otherbot" content="noai">', {"X-Robots-Tag": "otherbot: noai"}, None),  # another crawler's
    ("", {"tdm-reservation": "0"}, None),
]


@pytest.mark.parametrize(("metas", "headers", "why"), OPT_OUT_CASES)
def test_pages_that_opt_out_yield_no_pairs(metas: str, headers: dict[str, str], why: str | None) -> None:
    from crawler.pages import read_page
    from manifests.config import DEFAULT_USER_AGENT

    html = f'<html><head>{metas}</head><body><img src="a.jpg" alt="图片说明"><a href="/next">下一页</a></body></html>'
    resp = HtmlResponse(url="http://127.0.0.1/p.html", body=html.encode(), encoding="utf-8",
                        headers={"Content-Type": "text/html", **headers})
    page = read_page(resp, DEFAULT_USER_AGENT)
    assert page.opt_out == why
    assert len(page.images.pairs) == (0 if why else 1)
    assert page.links({"127.0.0.1:80"}) == ["http://127.0.0.1/next"]  # its links are still followed


@pytest.mark.parametrize(("label", "want"), [
    ("GBK", "gb18030"), ("gbk", "gb18030"), ("cp936", "gb18030"), ("gb2312", "gb18030"), ("GB2312-80", "gb18030"),
    ("euc-cn", "gb18030"),
    ("big5", "big5hkscs"), ("gb18030", "gb18030"), ("big5hkscs", "big5hkscs"), ("utf-8", "utf-8"),
    ("shift_jis", "shift_jis"), ("x-no-such-charset", "x-no-such-charset"), (None, None),
])
def test_legacy_chinese_labels_decode_with_their_supersets(label: str | None, want: str | None) -> None:
    """Whatever w3lib makes of a label (2.5 translated GBK to GB18030 itself, 2.6 does not)."""
    from crawler.charset import superset

    assert superset(label) == want
