"""Baidu's objURL obfuscation: `decode` as public crawlers do it, and `encode`, its exact inverse.

decode: replace `_z2C$q` -> `:`, `_z&e3B` -> `.`, `AzdH3F` -> `/`, then map single characters with
`str.maketrans("0123456789abcdefghijklmnopqrstuvw", "7dgjmoru140852vsnkheb963wtqplifca")`; upper-case
letters and other characters pass unchanged.
"""

from __future__ import annotations

_PLAIN = "0123456789abcdefghijklmnopqrstuvw"
_CODED = "7dgjmoru140852vsnkheb963wtqplifca"
_DECODE = str.maketrans(_PLAIN, _CODED)
_ENCODE = str.maketrans(_CODED, _PLAIN)
TOKENS = (("_z2C$q", ":"), ("_z&e3B", "."), ("AzdH3F", "/"))


def decode(text: str) -> str:
    if not any(token in text for token, _ in TOKENS):
        return text
    for token, char in TOKENS:
        text = text.replace(token, char)
    return text.translate(_DECODE)


def encode(url: str) -> str:
    """The obfuscated form of `url`; `decode(encode(url)) == url` (checked: otherwise ValueError)."""
    text = url.translate(_ENCODE)
    for token, char in TOKENS:
        text = text.replace(char, token)
    if decode(text) != url:
        raise ValueError(f"cannot obfuscate {url!r} reversibly")
    return text
