"""One fetched page -> its image-caption pairs and in-site links: the extraction that the live site
spider and the web-archive readers share, so that a page gives the same pairs whichever way it came.

    response = decoded_response(url, body, headers, archive_charset)  # a page from an archive
    response = with_detected_encoding(response)                      # a page Scrapy fetched live
    page = read_page(response)                                        # then, either way

`decoded_response` builds the Scrapy response the page would have been live (Scrapy picks the
response class from the headers and body, as its downloader does) and decodes it in
crawler.charset's order: BOM, HTTP header, `<meta>`, the archive's detected charset, inference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from scrapy.http import Headers, HtmlResponse, Response
from scrapy.responsetypes import responsetypes
from selectolax.lexbor import LexborHTMLParser

from crawler.charset import Detected, detect_html_encoding
from crawler.html import PageImages, extract_images, extract_links, parse_html


@dataclass(slots=True)
class ParsedPage:
    """A parsed HTML page: its pairs (and counted drops), and its tree for the link extractor."""

    images: PageImages = field(default_factory=PageImages)
    tree: LexborHTMLParser | None = None

    def links(self, response: HtmlResponse, allowed: Iterable[str]) -> list[str]:
        """The page's `<a href>` targets inside the allowed `host:port`s."""
        return [] if self.tree is None else extract_links(self.tree, response.urljoin, allowed)


def with_detected_encoding(response: Response, archive_charset: str | None = None) -> tuple[Response, Detected]:
    """An HTML response re-decoded with crawler.charset's choice (unchanged when it has no opinion)."""
    if not isinstance(response, HtmlResponse):
        return response, Detected(None, "not_html")
    content_type = response.headers.get(b"Content-Type")
    detected = detect_html_encoding(response.body, content_type.decode("latin-1") if content_type else None,
                                    archive_charset)
    if detected.encoding is None:
        return response, detected
    return response.replace(encoding=detected.encoding), detected


def decoded_response(url: str, body: bytes, headers: Iterable[tuple[str, str]] | Headers,
                     archive_charset: str | None = None, status: int = 200) -> tuple[Response, Detected]:
    """The response a page read from an archive would have been live (its class chosen by Scrapy from
    the headers, URL and body), decoded as a live page is."""
    hdrs = headers if isinstance(headers, Headers) else Headers(list(headers))
    cls = responsetypes.from_args(headers=hdrs, url=url, body=body)
    return with_detected_encoding(cls(url=url, status=status, headers=hdrs, body=body), archive_charset)


def read_page(response: HtmlResponse) -> ParsedPage:
    """The page's image-caption pairs (and counted drops)."""
    tree = parse_html(response.text)
    return ParsedPage(extract_images(tree, response.urljoin), tree)
