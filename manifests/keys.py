"""Sample keys and URL normalisation.

A key is the 64-bit BLAKE2b hash of the normalised image URL written as 20 decimal digits: digits
only (webdataset splits names at the first dot), sortable, and the same on every re-run whatever the
partitioning or the order of the crawl. After URL dedup each kept URL is unique, so keys are too.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote, urlsplit, urlunsplit

KEY_DIGITS = 20
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str | None:
    """Canonical form of an http(s) URL, or None when it is not one.

    Lower-cases scheme and host, drops the default port, the fragment and empty query, and
    re-quotes path and query consistently (so `%E5%9B%BE` and `图` compare equal).
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~") or "/"
    query = quote(unquote(parts.query), safe="=&:@!$'()*+,;/?-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def url_hash64(url_norm: str) -> int:
    return int.from_bytes(hashlib.blake2b(url_norm.encode("utf-8"), digest_size=8).digest(), "big")


def key_for_url(url_norm: str) -> str:
    return str(url_hash64(url_norm)).zfill(KEY_DIGITS)
