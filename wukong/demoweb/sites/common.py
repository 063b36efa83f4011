"""HTML pieces every site shares: the document shell with its charset declaration, links, pagination,
relative image sources, chunking occurrences into pages.
"""

from __future__ import annotations

import html
import posixpath
import random
from collections.abc import Callable, Sequence

from wukong.demoweb.model import Page, Response

CSS = (
    "body{font-family:'PingFang SC','Microsoft YaHei',sans-serif;margin:0;background:#f7f7f7;color:#333}"
    ".wrap{width:980px;margin:0 auto;background:#fff;padding:16px}"
    ".nav a{margin-right:12px;color:#06c;text-decoration:none}"
    ".pager a{display:inline-block;padding:2px 8px;border:1px solid #ddd;margin:2px}"
    "figure{margin:16px 0}figcaption{color:#666;font-size:13px}"
    ".grid li{display:inline-block;width:220px;margin:6px;vertical-align:top}"
    ".t_msg{line-height:1.8}.t_msg img{max-width:600px}"
)
# Padding that pushes a late <meta charset> past the first 1,024 bytes (as some CMS templates do).
LATE_META_FILLER = "<style type=\"text/css\">\n" + "\n".join(
    f".c{i:02d}{{margin:{i}px {i % 7}px;padding:{i % 5}px;line-height:1.{i % 9};color:#{i * 7919 % 0xFFFFFF:06x}}}"
    for i in range(24)
) + "\n</style>\n"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def charset_label(page: Page) -> str:
    """The label the page declares (a gb2312 declaration on a page that is really GBK)."""
    if page.declaration == "gb2312":
        return "gb2312"
    return {"utf-8": "utf-8", "gbk": "GBK", "big5": "big5"}[page.encoding]


def content_type(page: Page) -> str:
    if page.declaration in ("header", "header+meta"):
        return f"text/html; charset={charset_label(page)}"
    return "text/html"


def document(page: Page, body: str, head_extra: str = "") -> Response:
    """The whole page, encoded in the page's real encoding, with its charset declared as planned."""
    label = charset_label(page)
    meta = ""
    if page.declaration in ("meta", "header+meta", "gb2312"):
        meta = f"<meta charset=\"{label}\">\n"
    late = ""
    if page.declaration == "meta_late":
        late = f"{LATE_META_FILLER}<meta http-equiv=\"Content-Type\" content=\"text/html; charset={label}\">\n"
    text = (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n"
        f"{meta}{late}<title>{esc(page.title)}</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<style>{CSS}</style>\n{head_extra}</head>\n<body>\n<div class=\"wrap\">\n{body}\n</div>\n</body>\n</html>\n"
    )
    return Response(200, content_type(page), text.encode(page.encoding))


def link_list(links: Sequence[tuple[str, str]], css: str = "links") -> str:
    items = "".join(f"<li><a href=\"{esc(href)}\">{esc(text)}</a></li>" for href, text in links)
    return f"<ul class=\"{css}\">{items}</ul>"


def pager(links: Sequence[tuple[str, str]]) -> str:
    return "<div class=\"pager\">" + "".join(f"<a href=\"{esc(h)}\">{esc(t)}</a>" for h, t in links) + "</div>"


def pagination(page_no: int, pages: int, url_of: Callable[[int], str], prev: str = "上一页", nxt: str = "下一页",
               first: str = "首页", last: str = "尾页") -> list[tuple[str, str]]:
    """Links of a paginated index: first, previous, a window of numbers, next, last."""
    out: list[tuple[str, str]] = []
    if page_no > 1:
        out += [(url_of(1), first), (url_of(page_no - 1), prev)]
    for n in range(max(1, page_no - 3), min(pages, page_no + 3) + 1):
        if n != page_no:
            out.append((url_of(n), str(n)))
    if page_no < pages:
        out += [(url_of(page_no + 1), nxt), (url_of(pages), last)]
    return out


def relative_src(page_path: str, target_path: str) -> str:
    """`target_path` relative to the page's directory (`img/1.jpg`, `../img/1.jpg`)."""
    return posixpath.relpath(target_path, posixpath.dirname(page_path))


def chunk(items: list[int], low: int, high: int, r: random.Random) -> list[list[int]]:
    """Splits `items` into consecutive groups of random size in [low, high]."""
    out: list[list[int]] = []
    i = 0
    while i < len(items):
        n = r.randint(low, high)
        out.append(items[i:i + n])
        i += n
    return out
