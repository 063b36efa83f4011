"""Image-caption pairs and in-site links from an HTML page (lexbor's HTML5 parser, no network).

Pages are parsed with lexbor (selectolax), which builds the tree as a browser does (HTML5 tree
construction) at several times lxml's speed: the live site spider and the web-archive reader both
parse every page this way (crawler.pages), so a page gives the same pairs whichever way it came.

An `<img>`'s URL comes from the lazy-load attributes first (the `src` is then a placeholder), then
the largest `srcset` candidate, else `src`; relative URLs resolve against the page (and `<base>`).
Its caption is `alt`, else `title`, else the enclosing `<figure>`'s `<figcaption>`. Images without
a caption or a usable URL are dropped with a reason, never guessed.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.url import url_has_any_extension
from selectolax.lexbor import LexborHTMLParser, LexborNode
from w3lib.url import canonicalize_url

LAZY_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "lazy", "original",
                   "ne-lazy", "oldsrc")
SRCSET_ATTRIBUTES = ("srcset", "data-srcset")
# HTML's whitespace (space, tab, LF, FF, CR): what a browser collapses in text. U+3000 and NBSP are content.
_HTML_WS = " \t\n\f\r"
_HTML_WS_RE = re.compile(r"[ \t\n\f\r]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_DESCRIPTOR_RE = re.compile(r"^(\d+(?:\.\d+)?)([wx])$", re.IGNORECASE)
_SKIPPED_EXTENSIONS = {f".{ext}" for ext in IGNORED_EXTENSIONS}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class ImagePair:
    url: str
    caption: str
    caption_source: str  # alt | title | figcaption


@dataclass(slots=True)
class PageImages:
    pairs: list[ImagePair] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


def clean_attribute(value: str) -> str:
    """An `alt`/`title` value as written (the raw caption): control characters removed, ends stripped."""
    return _CONTROL_RE.sub("", value).strip(_HTML_WS)


def clean_text(text: str) -> str:
    """Element text as a browser shows it: HTML whitespace runs become one space, ends stripped."""
    return _HTML_WS_RE.sub(" ", _CONTROL_RE.sub("", text)).strip(_HTML_WS)


def parse_html(text: str) -> LexborHTMLParser:
    """The page's tree (lexbor: HTML5 tree construction, as in a browser)."""
    return LexborHTMLParser(text)


def attr(element: LexborNode, name: str) -> str:
    """An attribute of an element, "" when absent or written without a value."""
    value = element.attributes.get(name)
    return value if isinstance(value, str) else ""


def parse_srcset(value: str) -> list[tuple[str, float]]:
    """`a.jpg 480w, b.jpg 2x` -> [(url, size)]; size 0 when the candidate has no descriptor.

    Follows the HTML algorithm: a URL runs to whitespace (trailing commas end it), descriptors run
    to the next comma, so URLs with commas inside survive.
    """
    out: list[tuple[str, float]] = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        descriptors = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = value.find(",", pos)
            end = n if end < 0 else end
            descriptors, pos = value[pos:end].strip(), end + 1
        if not url:
            continue
        size = 0.0
        for token in descriptors.split():
            match = _DESCRIPTOR_RE.match(token)
            if match:
                size = float(match.group(1))
        out.append((url, size))
    return out


def best_srcset(value: str) -> str | None:
    """The largest candidate by its descriptor; the first when none has one."""
    candidates = parse_srcset(value)
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c[1])
    return best[0] if best[1] > 0 else candidates[0][0]


def raw_image_url(img: LexborNode) -> str | None:
    for name in LAZY_ATTRIBUTES:
        value = attr(img, name).strip()
        if value:
            return value
    for name in SRCSET_ATTRIBUTES:
        chosen = best_srcset(attr(img, name))
        if chosen:
            return chosen
    value = attr(img, "src").strip()
    return value or None


def _enclosing_figure(img: LexborNode) -> LexborNode | None:
    node = img.parent
    while node is not None and node.tag != "figure":
        node = node.parent
    return node


def _figcaption(figure: LexborNode) -> LexborNode | None:
    """The figure's own `<figcaption>` child, else the first one anywhere inside it."""
    for child in figure.iter():
        if child.tag == "figcaption":
            return child
    return figure.css_first("figcaption")


def image_caption(img: LexborNode) -> tuple[str, str] | None:
    for name in ("alt", "title"):
        text = clean_attribute(attr(img, name))
        if text:
            return text, name
    figure = _enclosing_figure(img)
    caption = _figcaption(figure) if figure is not None else None
    if caption is not None:
        text = clean_text(caption.text(deep=True))  # the element's text nodes, as XPath's string value
        if text:
            return text, "figcaption"
    return None


def extract_images(tree: LexborHTMLParser, urljoin: Callable[[str], str]) -> PageImages:
    """Every `<img>` of the page as a pair, or a counted drop reason."""
    page = PageImages()
    for img in tree.css("img"):
        raw = raw_image_url(img)
        if raw is None:
            page.dropped["no_image_url"] += 1
            continue
        if raw[:5].lower() == "data:":
            page.dropped["data_uri"] += 1
            continue
        try:
            url = urljoin(raw)
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            page.dropped["bad_url"] += 1
            continue
        if parts.scheme not in ("http", "https") or not host:
            page.dropped["bad_url"] += 1
            continue
        caption = image_caption(img)
        if caption is None:
            page.dropped["no_caption"] += 1
            continue
        page.pairs.append(ImagePair(url, caption[0], caption[1]))
    return page


def netloc_key(url: str) -> str | None:
    """`host:port` with the scheme's default port made explicit; None for non-HTTP URLs."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return f"{parts.hostname.lower()}:{port}"


@functools.lru_cache(maxsize=65536)
def page_key(url: str) -> str:
    """The identity of a page: canonical URL without the fragment."""
    return canonicalize_url(url, keep_fragments=False)


def strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def extract_links(tree: LexborHTMLParser, urljoin: Callable[[str], str], allowed: Iterable[str]) -> list[str]:
    """`<a href>` targets inside the allowed `host:port`s (no images, archives...), fragment-free, unique."""
    allowed_set = set(allowed)
    seen: set[str] = set()
    out: list[str] = []
    for anchor in tree.css("a"):
        href = attr(anchor, "href").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        try:
            url = strip_fragment(urljoin(href))
        except ValueError:
            continue
        if url in seen:
            continue
        seen.add(url)
        if netloc_key(url) in allowed_set and not url_has_any_extension(url, _SKIPPED_EXTENSIONS):
            out.append(url)
    return out
