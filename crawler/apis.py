"""Image-search JSON APIs: one class per source, each a few class attributes and one hook (`hit`).

`SearchApi.parse(text)` is shared: lenient JSON, the block check, the item list, and per-item
conversion through the source's `hit(item)` hook, which returns a `Hit` or a drop reason.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from crawler.acjson import decode_objurl, loads_lenient

_TAG_RE = re.compile(r"<[^>]*>")
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Hit:
    """One image-text pair as the API describes it."""

    url: str
    caption: str
    page_url: str
    width: int | None = None
    height: int | None = None


@dataclass(slots=True)
class ApiPage:
    """A parsed API answer: its hits, the items dropped per reason, and whether it was a block."""

    hits: list[Hit] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    blocked: bool = False
    error: str | None = None


def strip_tags(text: str) -> str:
    """`<strong>红</strong>烧肉` -> `红烧肉` (entities unescaped)."""
    return html.unescape(_TAG_RE.sub("", text)).strip()


def as_dimension(value: Any) -> int | None:
    """A positive int32 from an int or a numeric string; None for anything else (0 = unknown)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 < value <= _INT32_MAX:
        return value
    return None


def first_str(item: dict[str, Any], *keys: str) -> str:
    """The first non-empty string among `item[key]` for `keys`, stripped; "" when there is none."""
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def home_url(url: str) -> str:
    """The site's home page (`https://image.baidu.com/`) of an endpoint URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


class SearchApi:
    """The shared request building and answer parsing; subclasses set attributes and `hit`."""

    name: ClassVar[str]
    query_param: ClassVar[str]
    offset_param: ClassVar[str]
    size_param: ClassVar[str]
    max_page_size: ClassVar[int]
    fixed_params: ClassVar[tuple[tuple[str, str], ...]] = ()
    offset_hex_param: ClassVar[str | None] = None  # a copy of the offset in hex (Baidu's gsm)
    items_path: ClassVar[tuple[str, ...]]  # where the item list sits in the answer
    blocked_key: ClassVar[str | None] = None  # a truthy value under this key means "blocked"

    def page_url(self, endpoint: str, query: str, offset: int, size: int) -> str:
        params: list[tuple[str, str]] = [*self.fixed_params, (self.query_param, query),
                                         (self.offset_param, str(offset)),
                                         (self.size_param, str(min(size, self.max_page_size)))]
        if self.offset_hex_param:
            params.append((self.offset_hex_param, format(offset, "x")))
        parts = urlsplit(endpoint)
        query_string = "&".join(p for p in (parts.query, urlencode(params)) if p)
        return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query_string, ""))

    def parse(self, text: str) -> ApiPage:
        page = ApiPage()
        try:
            data = loads_lenient(text)
        except ValueError:
            page.error = "malformed_json"
            return page
        if not isinstance(data, dict):
            page.error = "unexpected_json"
            return page
        if self.blocked_key and data.get(self.blocked_key):
            page.blocked = True
            return page
        items: Any = data
        for key in self.items_path:
            items = items.get(key) if isinstance(items, dict) else None
        if items is None:
            return page  # an answer without results: the end of the list
        if not isinstance(items, list):
            page.error = "unexpected_json"
            return page
        for item in items:
            if not isinstance(item, dict):
                page.dropped["malformed_item"] += 1
                continue
            if not item:
                continue  # Baidu closes `data` with an empty object
            result = self.hit(item)
            if isinstance(result, Hit):
                page.hits.append(result)
            else:
                page.dropped[result] += 1
        return page

    def hit(self, item: dict[str, Any]) -> Hit | str:
        """The one hook: an API item as a `Hit`, or the reason it is dropped."""
        raise NotImplementedError

    @staticmethod
    def make_hit(url: str, caption: str, page_url: str, width: Any, height: Any) -> Hit | str:
        if not url:
            return "no_image_url"
        if not is_http_url(url):
            return "bad_url"
        if not caption:
            return "no_caption"
        if page_url and not is_http_url(page_url):
            page_url = ""
        return Hit(url, caption, page_url, as_dimension(width), as_dimension(height))


class BaiduAcjson(SearchApi):
    """`image.baidu.com/search/acjson?tn=resultjson_com&ipn=rj&word=Q&pn=OFFSET&rn=RN&gsm=HEX`."""

    name = "baidu"
    query_param = "word"
    offset_param = "pn"
    size_param = "rn"
    max_page_size = 60
    fixed_params = (("tn", "resultjson_com"), ("ipn", "rj"), ("ie", "utf-8"), ("oe", "utf-8"))
    offset_hex_param = "gsm"
    items_path = ("data",)
    blocked_key = "antiFlag"

    def hit(self, item: dict[str, Any]) -> Hit | str:
        replace = item.get("replaceUrl")
        first = replace[0] if isinstance(replace, list) and replace and isinstance(replace[0], dict) else {}
        url = first_str(first, "ObjURL", "ObjUrl")
        if not url:
            url = decode_objurl(first_str(item, "objURL")) or first_str(item, "middleURL", "thumbURL", "hoverURL")
        page_url = decode_objurl(first_str(item, "fromURL")) or first_str(first, "FromURL", "FromUrl")
        caption = first_str(item, "fromPageTitleEnc") or strip_tags(first_str(item, "fromPageTitle"))
        return self.make_hit(url, caption, page_url, item.get("width"), item.get("height"))


class SogouPics(SearchApi):
    """`pic.sogou.com/napi/pc/searchList?mode=2&start=OFFSET&xml_len=RN&query=Q`: `data.items[]`."""

    name = "sogou"
    query_param = "query"
    offset_param = "start"
    size_param = "xml_len"
    max_page_size = 48
    fixed_params = (("mode", "2"),)
    items_path = ("data", "items")

    def hit(self, item: dict[str, Any]) -> Hit | str:
        url = first_str(item, "oriPicUrl", "picUrl", "thumbUrl")
        caption = strip_tags(first_str(item, "title"))
        page_url = first_str(item, "url", "pageUrl", "page_url")
        return self.make_hit(url, caption, page_url, item.get("width"), item.get("height"))


class So360Images(SearchApi):
    """`image.so.com/j?q=Q&sn=OFFSET&pn=RN`: `list[]` with `img`, `thumb` and `title` (with `<em>`)."""

    name = "so360"
    query_param = "q"
    offset_param = "sn"
    size_param = "pn"
    max_page_size = 60
    items_path = ("list",)

    def hit(self, item: dict[str, Any]) -> Hit | str:
        url = first_str(item, "img", "thumb", "_thumb")
        caption = strip_tags(first_str(item, "title"))
        page_url = first_str(item, "link", "purl")
        return self.make_hit(url, caption, page_url, item.get("width"), item.get("height"))


API_FORMATS: dict[str, type[SearchApi]] = {api.name: api for api in (BaiduAcjson, SogouPics, So360Images)}
