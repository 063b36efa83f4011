"""A large, real-looking web archive for the WARC benchmark, built once and cached (seeded).

Each page looks like a Chinese portal or shop page as Common Crawl stores it: a head with styles,
several scripts and metadata (20-40 KB), navigation and sidebars full of links, article text, and
8-40 images in the markup real pages use (plain `alt`, lazy `data-original` with a placeholder
`src`, `<figure><figcaption>`, icons without `alt`); 75% UTF-8 (header), 20% GBK (declared in
`<meta>` only), 5% Big5. The file is written in Common Crawl's layout (request, response, metadata
with `languages-cld2`, one gzip member each) by warcio, after the demo web's own pages.
`chinese_share` sets the share of Chinese pages; the others are English pages of the same shape.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from wukong.demoweb import vocab

CACHE = Path(__file__).resolve().parent.parent / "data" / "bench"
_JS = ("function t(e){var n=document.createElement('script');n.src=e;document.head.appendChild(n)}"
       "window.dataLayer=window.dataLayer||[];var cfg={id:'UA-%d',page:'%s',ts:%d};")
_CSS = ".nav li{float:left;margin:0 %dpx}.main{width:%dpx}.item-%d img{max-width:100%%;border:1px solid #eee}"
EN_WORDS = ("travel", "market", "street", "sunset", "harbour", "coffee", "garden", "museum", "bridge", "winter",
            "mountain", "river", "festival", "family", "kitchen", "recipe", "review", "photo", "city", "night")


def _zh_caption(r: random.Random) -> str:
    kind = r.randrange(5)
    if kind == 0:
        return f"{r.choice(vocab.BRANDS)} {r.choice(vocab.PRODUCTS)} {r.choice(vocab.SUFFIXES)}"
    if kind == 1:
        return f"{r.choice(vocab.DISHES)}的做法"
    if kind == 2:
        _, landmark = r.choice(vocab.LANDMARKS)
        return f"{r.choice(vocab.SEASONS)}的{landmark}"
    if kind == 3:
        return f"{r.choice(vocab.COLORS)}{r.choice(vocab.ANIMALS)}在{r.choice(vocab.SPOTS)}"
    return f"{r.choice(vocab.STYLES)}{r.choice(vocab.ROOMS)}{r.choice(vocab.FURNITURE)}"


def _en_caption(r: random.Random) -> str:
    return " ".join(r.choice(EN_WORDS) for _ in range(r.randint(2, 5))).capitalize()


def _text(r: random.Random, chinese: bool, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = _zh_caption(r) + "，" if chinese else _en_caption(r) + ". "
        words.append(word)
        size += len(word)
    return "".join(words)


def _image(r: random.Random, i: int, caption: str) -> str:
    src = f"https://img{r.randrange(1, 9)}.example.cn/upload/{r.randrange(10**8)}/{i}.jpg"
    kind = r.random()
    if kind < 0.5:
        return f'<img src="{src}" alt="{caption}" width="{r.randrange(200, 900)}" class="pic">'
    if kind < 0.7:
        return f'<img src="/static/grey.gif" data-original="{src}" alt="{caption}" class="lazy">'
    if kind < 0.85:
        return f'<figure class="fig"><img src="{src}"><figcaption>{caption}</figcaption></figure>'
    return f'<img src="/static/icon-{i % 7}.png" class="icon">'


def page_html(r: random.Random, n: int, chinese: bool) -> str:
    caption = _zh_caption if chinese else _en_caption
    title = caption(r)
    scripts = "".join(f"<script>{(_JS % (r.randrange(10**6), title, r.randrange(10**9))) * r.randint(8, 30)}"
                      f"</script>" for _ in range(r.randint(2, 5)))
    style = "<style>" + "".join(_CSS % (r.randrange(30), r.randrange(900, 1200), k) for k in range(r.randint(40, 120)))
    links = "".join(f'<li><a href="/channel/{r.randrange(10**5)}.html">{caption(r)}</a></li>'
                    for _ in range(r.randint(30, 80)))
    article = "".join(f"<p>{_text(r, chinese, r.randint(60, 300))}</p>{_image(r, k, caption(r))}"
                      for k in range(r.randint(8, 40)))
    sidebar = "".join(f'<div class="item-{k}"><a href="/a/{r.randrange(10**6)}.html"><img src="/thumb/{k}.jpg">'
                      f"{caption(r)}</a></div>" for k in range(r.randint(10, 40)))
    return (f"<!DOCTYPE html><html><head><title>{title}</title>"
            + "".join(f'<link rel="stylesheet" href="/css/{k}.css">' for k in range(r.randint(3, 6)))
            + f'<meta name="keywords" content="{title}">{style}</style>{scripts}</head><body>'
            f'<div class="header"><ul class="nav">{links}</ul></div><div class="main"><h1>{title}</h1>{article}</div>'
            f'<div class="side">{sidebar}</div><div class="footer">{links}{scripts[:2000]}</div></body></html>')


def _pages(seed: int, count: int, chinese_share: float) -> Iterator[tuple[str, bytes, list[tuple[str, str]],
                                                                          str, str]]:
    r = random.Random(seed)
    for n in range(count):
        chinese = r.random() < chinese_share
        html = page_html(r, n, chinese)
        roll = r.random()
        if not chinese or roll < 0.75:
            body, headers, charset = html.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")], "UTF-8"
        elif roll < 0.95:
            body = html.replace("<head>", '<head><meta charset="gbk">', 1).encode("gb18030")
            headers, charset = [("Content-Type", "text/html")], "GB18030"
        else:
            body = html.encode("big5hkscs", "replace")
            headers, charset = [("Content-Type", "text/html; charset=big5")], "Big5"
        yield f"https://www{n % 97}.example.cn/news/{n}.html", body, headers, charset, "zho" if chinese else "eng"


def build(path: Path, min_bytes: int, chinese_share: float, seed: int = 13) -> Path:
    """The demo web's pages, then generated pages until the gzipped file holds at least `min_bytes`
    (cached by name: an existing file that large is used as it is)."""
    from wukong.demoweb.archive import write_warc
    from wukong.demoweb.generator import build_web

    if path.exists() and path.stat().st_size >= min_bytes:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    write_warc(build_web(3000, seed), "http://demo.example.cn", tmp)
    with open(tmp, "ab") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, (url, body, headers, charset, language) in enumerate(_pages(seed, 10**9, chinese_share)):
            rid = f"<urn:uuid:00000000-0000-4000-8000-{i:012d}>"
            date = {"WARC-Date": "2026-10-01T00:00:00Z"}
            writer.write_record(writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(f"GET /{i} HTTP/1.1", [("Host", url.split("/")[2])],
                                              is_http_request=True), warc_headers_dict=date))
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body),
                http_headers=StatusAndHeaders("200 OK", [*headers, ("Content-Length", str(len(body)))],
                                              protocol="HTTP/1.1"),
                warc_headers_dict={**date, "WARC-Record-ID": rid}))
            cld2 = json.dumps({"reliable": True, "languages": [{"code": language[:2], "code-iso-639-3": language}]})
            fields = f"charset-detected: {charset}\r\nlanguages-cld2: {cld2}\r\n".encode()
            writer.write_record(writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(fields), warc_content_type="application/warc-fields",
                warc_headers_dict={**date, "WARC-Concurrent-To": rid}))
            if i % 200 == 0 and fh.tell() >= min_bytes:
                break
    tmp.replace(path)
    return path
