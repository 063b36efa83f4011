"""HTML charset detection for Chinese pages, built on w3lib's (and so Scrapy's) decoding.

Order: a BOM wins, then the HTTP `Content-Type` charset, then a `<meta>` declaration anywhere in
the head (w3lib looks at the first 4,096 bytes only; real pages put long scripts before the meta),
then, for a page read from a web archive, the charset the archive detected (Common Crawl's
`charset-detected`), then inference.
gb2312/GBK labels resolve to GB18030 and big5 to Big5-HKSCS (supersets: pages labelled GBK hold
GB18030-only characters such as 䶮, 𠮷 and €). w3lib up to 2.5 made that translation itself; 2.6
returns the label's own codec, so `superset` makes it here, whatever w3lib's version. A page
declared in a legacy Chinese charset whose bytes are valid UTF-8 with several non-ASCII characters
was resaved as UTF-8: real GBK/Big5 text practically never is.
Without any declaration: UTF-8 when the bytes are UTF-8 (a few stray bytes tolerated), else
GB18030 when they decode as such (the usual undeclared Chinese page), else the response's own
inference (charset_normalizer) stands.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

HEAD_SCAN_BYTES = 65536  # how far a late <meta charset> is looked for
_WINDOW = 4096  # w3lib's own scan length; windows overlap by half of it
_BODY_START_RE = re.compile(rb"<body[\s>/]", re.IGNORECASE)
_LEGACY_CHINESE = frozenset({"gb18030", "gbk", "gb2312", "big5hkscs", "big5", "cp950", "cp936"})
_MIN_NON_ASCII_BYTES_FOR_UTF8 = 6  # about three CJK characters
_ASCII = bytes(range(128))
_MAX_STRAY_UTF8_SHARE = 0.05  # invalid sequences per non-ASCII byte still read as UTF-8
# codec name (codecs.lookup) -> the superset that decodes it: cp936 is gbk's codec, euc-cn gb2312's
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "big5": "big5hkscs"}


@dataclass(frozen=True, slots=True)
class Detected:
    """The encoding to decode with and where it came from (bom|header|meta|archive|resaved_utf8|inferred)."""

    encoding: str | None
    source: str


def superset(encoding: str | None) -> str | None:
    """The encoding that decodes `encoding`'s pages without loss: GB18030 for GBK and GB2312, Big5-HKSCS for
    Big5; any other label (or an unknown one) as given."""
    if encoding is None:
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return _SUPERSETS.get(name, encoding)


def late_meta_encoding(body: bytes) -> str | None:
    """A `<meta>` charset in the head beyond the first 4,096 bytes (windows over the first 64 KiB)."""
    head = body[:HEAD_SCAN_BYTES]
    body_tag = _BODY_START_RE.search(head)
    if body_tag:
        head = head[: body_tag.start()]
    for start in range(0, max(len(head) - _WINDOW // 2, 1), _WINDOW // 2):
        found = html_body_declared_encoding(head[start : start + _WINDOW])
        if found:
            return superset(found)
    return None


def _non_ascii(body: bytes) -> int:
    return len(body.translate(None, _ASCII))


def _resaved_as_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _non_ascii(body) >= _MIN_NON_ASCII_BYTES_FOR_UTF8


def infer_encoding(body: bytes) -> str | None:
    """An undeclared page's encoding: mostly-UTF-8, else strict GB18030, else None (no opinion)."""
    non_ascii = _non_ascii(body)
    if not non_ascii:
        return None
    bad = body.decode("utf-8", "replace").count("\ufffd") - body.count("\ufffd".encode())
    if bad <= non_ascii * _MAX_STRAY_UTF8_SHARE:
        return "utf-8"
    try:
        body.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "gb18030"


def detect_html_encoding(body: bytes, content_type: str | None, archive_charset: str | None = None) -> Detected:
    """The encoding of an HTML body, following the order in the module docstring; `archive_charset` is
    what a web archive detected for the page (a label such as `GB18030`; unknown labels are ignored)."""
    bom, _ = read_bom(body)
    if bom:
        return Detected(bom, "bom")
    declared = http_content_type_encoding(content_type)
    source = "header"
    if declared is None:
        declared = html_body_declared_encoding(body) or late_meta_encoding(body)
        source = "meta"
    if declared is None and archive_charset:
        declared = resolve_encoding(archive_charset.strip())
        source = "archive"
    if declared is None:
        return Detected(infer_encoding(body), "inferred")
    declared = superset(declared)
    if declared in _LEGACY_CHINESE and _resaved_as_utf8(body):
        return Detected("utf-8", "resaved_utf8")
    return Detected(declared, source)
