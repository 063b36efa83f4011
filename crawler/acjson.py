"""Baidu image search `acjson`: lenient JSON loading and the `objURL` de-obfuscation.

The body is almost JSON: it escapes `/` as `\\/` (valid) and quotes as `\\'` (invalid), and may carry
control characters inside strings. `objURL` and `fromURL` are obfuscated with three multi-character
tokens and a single-character substitution; `decode_objurl` reverses both.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A valid JSON escape is kept as it is; any other backslash-escape becomes the bare character.
_ESCAPE_RE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})|\\(.)', re.DOTALL)
_JSONP_RE = re.compile(r"^[\w$.]+\s*\((.*)\)\s*;?\s*$", re.DOTALL)

_TOKENS = (("_z2C$q", ":"), ("_z&e3B", "."), ("AzdH3F", "/"))
_CHARS = str.maketrans("0123456789abcdefghijklmnopqrstuvw", "7dgjmoru140852vsnkheb963wtqplifca")


def _fix_escapes(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: m.group(0) if m.group(1) else m.group(2), text)


def loads_lenient(text: str) -> Any:
    """Parses acjson-style text; raises ValueError when even the lenient reading fails."""
    text = text.strip().lstrip("\ufeff").strip()
    jsonp = _JSONP_RE.match(text) if text[:1] not in "{[" else None
    if jsonp:
        text = jsonp.group(1).strip()
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    return json.loads(_fix_escapes(text), strict=False)


def is_obfuscated(url: str) -> bool:
    return any(token in url for token, _ in _TOKENS)


def decode_objurl(url: str) -> str:
    """Reverses Baidu's obfuscation; a URL without any of its tokens is returned unchanged.

    Tokens first (`_z2C$q` -> `:`, `_z&e3B` -> `.`, `AzdH3F` -> `/`), then the single-character
    map over digits and `a`-`w`; uppercase letters and other characters pass unchanged.
    """
    if not is_obfuscated(url):
        return url
    for token, plain in _TOKENS:
        url = url.replace(token, plain)
    return url.translate(_CHARS)


def encode_objurl(url: str) -> str:
    """The inverse of `decode_objurl` (test vectors; the demo web has its own)."""
    inverse = {v: k for k, v in zip("0123456789abcdefghijklmnopqrstuvw", "7dgjmoru140852vsnkheb963wtqplifca",
                                    strict=True)}
    out = "".join(inverse.get(ch, ch) for ch in url)
    for token, plain in reversed(_TOKENS):
        out = out.replace(plain, token)
    return out
