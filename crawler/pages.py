"""One fetched page -> its image-caption pairs and in-site links: the extraction that the live site
spider and the web-archive readers share, so that a page gives the same pairs whichever way it came.

    response = decoded_response(url, body, headers, archive_charset)  # a page from an archive
    response = with_detected_encoding(response)                      # a page Scrapy fetched live
    page = read_page(response, user_agent)                            # then, either way

`decoded_response` builds the Scrapy response the page would have been live (Scrapy picks the
response class from the headers and body, as its downloader does) and decodes it in
crawler.charset's order: BOM, HTTP header, `<meta>`, the archive's detected charset, inference.
A page that opts out of AI use (`noai`, `noimageai` or `tdm-reservation: 1` in its headers or its
robots `<meta>`) yields no pairs; its links are still followed.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass, field

from scrapy.http import Headers, HtmlResponse, Response
from scrapy.responsetypes import responsetypes
from selectolax.lexbor import LexborHTMLParser
from w3lib.html import get_base_url

from crawler.charset import Detected, detect_html_encoding
from crawler.html import PageImages, UrlJoiner, extract_images, extract_links, parse_html
from manifests.opt_out import PAGE_OPT_OUT, meta_robots_opt_out, opt_out_directive, tdm_meta_opt_out


@dataclass(slots=True)
class ParsedPage:
    """A parsed HTML page: its pairs (and counted drops), and its tree for the link extractor."""

    images: PageImages = field(default_factory=PageImages)
    tree: LexborHTMLParser | None = None
    base_url: str = ""
    opt_out: str | None = None  # why the page yields no pairs (`meta robots: noai`, `X-Robots-Tag: ...`)

    def links(self, allowed: Iterable[str]) -> list[str]:
        """The page's `<a href>` targets inside the allowed `host:port`s."""
        if self.tree is None:
            return []
        return extract_links(self.tree, UrlJoiner(self.base_url), allowed)


def _detect(body: bytes, headers: Headers, archive_charset: str | None) -> Detected:
    content_type = headers.get(b"Content-Type")
    return detect_html_encoding(body, content_type.decode("latin-1") if content_type else None, archive_charset)


def with_detected_encoding(response: Response, archive_charset: str | None = None) -> tuple[Response, Detected]:
    """An HTML response re-decoded with crawler.charset's choice (unchanged when it has no opinion)."""
    if not isinstance(response, HtmlResponse):
        return response, Detected(None, "not_html")
    detected = _detect(response.body, response.headers, archive_charset)
    if detected.encoding is None:
        return response, detected
    return response.replace(encoding=detected.encoding), detected


def decoded_response(url: str, body: bytes, headers: Iterable[tuple[str, str]] | Headers,
                     archive_charset: str | None = None, status: int = 200) -> tuple[Response, Detected]:
    """The response a page read from an archive would have been live (its class chosen by Scrapy from
    the headers, URL and body), decoded as a live page is (`with_detected_encoding`, in one step)."""
    hdrs = headers if isinstance(headers, Headers) else Headers(list(headers))
    cls = responsetypes.from_args(headers=hdrs, url=url, body=body)
    if not issubclass(cls, HtmlResponse):
        return cls(url=url, status=status, headers=hdrs, body=body), Detected(None, "not_html")
    detected = _detect(body, hdrs, archive_charset)
    return cls(url=url, status=status, headers=hdrs, body=body, encoding=detected.encoding), detected


BASE_CHARS = 4096  # where Scrapy looks for `<base href>` (scrapy.utils.response.get_base_url)


def _markup_and_base(response: HtmlResponse) -> tuple[str | bytes, str]:
    """What lexbor parses, and the URL relative links resolve against (as `response.urljoin`).

    A UTF-8 page goes to lexbor as its bytes: lexbor reads them as UTF-8 with the same replacement
    of invalid sequences as Python's decoder, without a decoded copy. Any other page is decoded
    first (`response.text`, Scrapy's decoding in the detected encoding).
    """
    body = response.body
    if response.encoding == "utf-8" and not body.startswith(codecs.BOM_UTF8):
        prefix = body[:4 * BASE_CHARS].decode("utf-8", "replace")[:BASE_CHARS]
        return body, get_base_url(prefix, response.url, response.encoding)
    text = response.text
    return text, get_base_url(text[:BASE_CHARS], response.url, response.encoding)


def page_opt_out(response: HtmlResponse, tree: LexborHTMLParser, user_agent: str) -> str | None:
    """Why the page forbids using its images, or None: `X-Robots-Tag` on the page response (`noai`,
    `noimageai`, for everyone or our product token), `tdm-reservation: 1`, or the same in a
    `<meta name="robots">`, `<meta name="<our token>">` or `<meta name="tdm-reservation">`."""
    headers = response.headers
    if b"X-Robots-Tag" in headers or b"Tdm-Reservation" in headers:  # Scrapy's Headers normalise names
        header = opt_out_directive(headers, user_agent, PAGE_OPT_OUT)
        if header is not None:
            return header
    for meta in tree.css("meta[name]"):
        attributes = meta.attributes
        name, content = attributes.get("name") or "", attributes.get("content") or ""
        why = meta_robots_opt_out(content, name, user_agent) or tdm_meta_opt_out(name, content)
        if why is not None:
            return why
    return None


def read_page(response: HtmlResponse, user_agent: str = "") -> ParsedPage:
    """The page's image-caption pairs (and counted drops); none when the page opts out."""
    markup, base = _markup_and_base(response)
    tree = parse_html(markup)
    why = page_opt_out(response, tree, user_agent)
    if why is not None:
        return ParsedPage(PageImages(), tree, base, why)
    return ParsedPage(extract_images(tree, UrlJoiner(base)), tree, base)
