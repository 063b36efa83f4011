"""The HTTP response inside a WARC `response` record: status, headers and the payload as the page sent it.

Common Crawl stores payloads already decoded and renames the original encoding headers
(`X-Crawler-Content-Encoding`, `X-Crawler-Transfer-Encoding`), so their payloads pass unchanged.
Other writers (wget, Heritrix, warcio) keep the bytes as they came: a payload whose headers still
declare `Transfer-Encoding: chunked` is de-chunked, and one with `Content-Encoding` gzip, deflate or
br is decompressed. A payload that does not decode as declared is a problem (a string), not a page.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import brotli  # Scrapy's own dependency

_STATUS_RE = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s|$)")


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]  # as sent, in order
    payload: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


def parse_http_response(block: bytes) -> HttpResponse | str:
    """The status line, headers and payload of a record block; a string says why it is not HTTP."""
    end, sep = block.find(b"\r\n\r\n"), 4
    if end < 0:
        end, sep = block.find(b"\n\n"), 2
    if end < 0:
        return "no end of the HTTP header"
    head = block[:end].split(b"\n")
    match = _STATUS_RE.match(head[0].rstrip(b"\r"))
    if match is None:
        return f"not an HTTP status line: {head[0][:40]!r}"
    headers: list[tuple[str, str]] = []
    for line in head[1:]:
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        name, colon, value = line.partition(b":")
        if colon and name.strip():
            headers.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return HttpResponse(int(match.group(1)), headers, block[end + sep:])


def dechunk(payload: bytes) -> bytes | None:
    """A chunked transfer-coded body decoded, or None when it is not validly chunked."""
    out = bytearray()
    pos = 0
    while True:
        line_end = payload.find(b"\n", pos)
        if line_end < 0:
            return None
        size_text = payload[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        pos = line_end + 1
        if size == 0:
            return bytes(out)
        if pos + size > len(payload):
            return None
        out += payload[pos:pos + size]
        pos += size
        if payload[pos:pos + 2] == b"\r\n":
            pos += 2
        elif payload[pos:pos + 1] == b"\n":
            pos += 1
        else:
            return None


def _brotli_decompress(data: bytes) -> bytes | None:
    try:
        return bytes(brotli.decompress(data))
    except brotli.error:
        return None


def _decompress(encoding: str, data: bytes) -> bytes | None:
    if encoding == "br":
        return _brotli_decompress(data)
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(data, wbits=47)  # a gzip or zlib header
        try:
            return zlib.decompress(data)  # deflate: the zlib format, as specified
        except zlib.error:
            return zlib.decompress(data, wbits=-15)  # raw deflate, as many servers send it
    except zlib.error:
        return None


def decode_payload(response: HttpResponse) -> HttpResponse | str:
    """The payload with the transfer and content codings its headers still declare removed."""
    payload = response.payload
    transfer = (response.header("Transfer-Encoding") or "").lower()
    if "chunked" in transfer:
        decoded = dechunk(payload)
        if decoded is None:
            return "declared chunked, not validly chunked"
        payload = decoded
    codings = [c.strip() for c in (response.header("Content-Encoding") or "").lower().split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate", "br"):
            return f"unsupported Content-Encoding {coding}"
        decoded = _decompress(coding, payload)
        if decoded is None:
            return f"declared Content-Encoding {coding}, does not decode"
        payload = decoded
    if payload is response.payload:
        return response
    kept = [(k, v) for k, v in response.headers if k.lower() not in ("transfer-encoding", "content-encoding")]
    return HttpResponse(response.status, kept, payload)
