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
from urllib.parse import urlparse, urlsplit, urlunparse, urlunsplit, uses_netloc, uses_relative

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
_C0_OR_SPACE = "".join(map(chr, range(33)))  # what urlsplit strips from the start of a URL


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
    if not value.isprintable():  # printable text has no control characters: no regex needed
        value = _CONTROL_RE.sub("", value)
    return value.strip(_HTML_WS)


def clean_text(text: str) -> str:
    """Element text as a browser shows it: HTML whitespace runs become one space, ends stripped."""
    return _HTML_WS_RE.sub(" ", _CONTROL_RE.sub("", text)).strip(_HTML_WS)


def parse_html(text: str) -> LexborHTMLParser:
    """The page's tree (lexbor: HTML5 tree construction, as in a browser)."""
    return LexborHTMLParser(text)


Attributes = dict[str, str | None]  # an element's attributes (None: written without a value)


def attr(attributes: Attributes, name: str) -> str:
    """An attribute's value, "" when absent or written without a value."""
    value = attributes.get(name)
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


_URL_ATTRIBUTES = frozenset((*LAZY_ATTRIBUTES, *SRCSET_ATTRIBUTES))


def raw_image_url(attributes: Attributes) -> str | None:
    if not _URL_ATTRIBUTES.isdisjoint(attributes):  # most images have only a `src`
        for name in LAZY_ATTRIBUTES:
            value = attr(attributes, name).strip()
            if value:
                return value
        for name in SRCSET_ATTRIBUTES:
            chosen = best_srcset(attr(attributes, name))
            if chosen:
                return chosen
    value = attr(attributes, "src").strip()
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


def image_caption(img: LexborNode, attributes: Attributes, in_figure: bool = True) -> tuple[str, str] | None:
    """`alt`, else `title`, else the enclosing figure's caption (looked for only when `in_figure`)."""
    for name in ("alt", "title"):
        text = clean_attribute(attr(attributes, name))
        if text:
            return text, name
    if not in_figure:
        return None
    figure = _enclosing_figure(img)
    caption = _figcaption(figure) if figure is not None else None
    if caption is not None:
        text = clean_text(caption.text(deep=True))  # the element's text nodes, as XPath's string value
        if text:
            return text, "figcaption"
    return None


# An absolute http(s) URL that parsing and unparsing leave as it is: lowercase scheme, a plain host
# (no brackets, no user info, no characters NFKC could change), no `;params`, no empty `?` or `#`,
# no tab or line break (which urlsplit drops). urljoin returns such a URL unchanged for any base.
_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]*)?(?:/[^;?#\t\n\r]*)?(?:\?[^#\t\n\r]+)?"
                             r"(?:#[^\t\n\r]+)?")


class UrlJoiner:
    """`urllib.parse.urljoin(base, url)` for one base, with the base parsed once instead of at every
    call (RFC 3986 section 5.2 as the standard library resolves it, the same results)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.parts = urlparse(base, "")

    def __call__(self, url: str) -> str:
        if not self.base or not url:
            return url or self.base
        if _PLAIN_ABSOLUTE.fullmatch(url):  # what urljoin gives back unchanged (most image URLs): no parse
            return url
        base = self.parts
        scheme, netloc, path, params, query, fragment = urlparse(url, base.scheme)
        if scheme != base.scheme or scheme not in uses_relative:
            return url
        if scheme in uses_netloc:
            if netloc:
                return urlunparse((scheme, netloc, path, params, query, fragment))
            netloc = base.netloc
        if not path and not params:
            return urlunparse((scheme, netloc, base.path, base.params, query or base.query, fragment))
        if path.startswith("/"):
            segments = path.split("/")
        else:
            directory = base.path.split("/")[:-1] if not base.path.endswith("/") else base.path.split("/")
            segments = directory + path.split("/")
            segments[1:-1] = [s for s in segments[1:-1] if s]  # no empty segments in the middle
        resolved: list[str] = []
        for segment in segments:
            if segment == "..":
                if resolved:
                    resolved.pop()
            elif segment != ".":
                resolved.append(segment)
        if segments[-1] in (".", ".."):
            resolved.append("")
        return urlunparse((scheme, netloc, "/".join(resolved) or "/", params, query, fragment))


def http_url_with_host(url: str) -> bool:
    """Whether a URL that `urljoin` produced (so one `urlsplit` accepts) is http(s) with a host name,
    as `urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname` says, without a parse."""
    url = url.lstrip(_C0_OR_SPACE)
    if "\t" in url or "\n" in url or "\r" in url:  # urlsplit ignores them
        url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    scheme, colon, rest = url.partition(":")
    if not colon or scheme.lower() not in ("http", "https") or not rest.startswith("//"):
        return False
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark, 2)
        if 0 <= found < end:
            end = found
    host = rest[2:end].rpartition("@")[2]
    if host.startswith("["):
        return len(host) > 2
    return bool(host.partition(":")[0])


def extract_images(tree: LexborHTMLParser, urljoin: Callable[[str], str]) -> PageImages:
    """Every `<img>` of the page as a pair, or a counted drop reason (the caption is looked at before
    the URL is resolved: an image with neither a caption nor a valid URL counts as `no_caption`)."""
    pairs: list[ImagePair] = []
    no_url = data_uri = no_caption = bad_url = 0  # plain ints in the loop: a Counter's += costs more
    figured: set[int] | None = None  # the images inside a <figure>, found once a page needs them
    for img in tree.css("img"):
        attributes = img.attributes  # built anew by every access: once per element
        raw = raw_image_url(attributes)
        if raw is None:
            no_url += 1
            continue
        if raw[:5].lower() == "data:":
            data_uri += 1
            continue
        if figured is None and not (attributes.get("alt") or attributes.get("title")):
            figured = {node.mem_id for node in tree.css("figure img")}
        caption = image_caption(img, attributes, figured is None or img.mem_id in figured)
        if caption is None:
            no_caption += 1
            continue
        try:
            url = urljoin(raw)
        except ValueError:
            bad_url += 1
            continue
        if not http_url_with_host(url):
            bad_url += 1
            continue
        pairs.append(ImagePair(url, caption[0], caption[1]))
    counts = {"no_image_url": no_url, "data_uri": data_uri, "no_caption": no_caption, "bad_url": bad_url}
    return PageImages(pairs, Counter({k: v for k, v in counts.items() if v}))


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
        href = attr(anchor.attributes, "href").strip()
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
