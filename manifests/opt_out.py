"""Machine-readable opt-outs of a web response: `X-Robots-Tag`, TDMRep's `tdm-reservation`, and the
`<meta name="robots">` tag of a page. Pure functions, shared by the filter stage (image responses)
and the crawler (page responses), which never import each other.

`X-Robots-Tag` follows Google's documented shape: one or more headers, each a comma list of
directives, case-insensitive; an element `agent: directive` scopes it and the elements after it
(`googlebot: noindex, nofollow`) to one crawler, which we obey only when `agent` is our
User-Agent's product token (`wukong-pipeline` of `wukong-pipeline/0.1 (+https://...)`) or `*`.
Directives that carry a value with a colon (`unavailable_after: 25 Jun 2010 15:00:00 PST`,
`max-image-preview: large`) are not agents. `none` means `noindex, nofollow`, so it opts out of
indexing too. TDMRep (W3C community report): `tdm-reservation: 1` reserves text and data mining.

    opt_out_directive(resp.headers, cfg.user_agent)      # -> "X-Robots-Tag: noai" or None
    meta_robots_opt_out("noindex, noai")                 # -> 'meta robots: noai' or None
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

ROBOTS_HEADER = "x-robots-tag"
TDM_HEADER = "tdm-reservation"
# An image response with any of these is not used (img2dataset's set); `none` = noindex + nofollow.
IMAGE_OPT_OUT: frozenset[str] = frozenset({"noai", "noimageai", "noindex", "noimageindex"})
# A page that says these yields no pairs (noindex on a page is about the page, not its images).
PAGE_OPT_OUT: frozenset[str] = frozenset({"noai", "noimageai"})
_IMPLIES = {"none": ("noindex", "nofollow")}
# Directives whose own value follows a colon: `name: value` is then a directive, not an agent.
_VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_AGENT_RE = re.compile(r"\s*([A-Za-z0-9_*.-]+)\s*:\s*(.*)", re.S)

Headers = Mapping[Any, Any] | Iterable[tuple[Any, Any]]


def product_token(user_agent: str) -> str:
    """`wukong-pipeline` of `wukong-pipeline/0.1 (+https://...)`, lowercased."""
    first = user_agent.strip().split(None, 1)[0] if user_agent.strip() else ""
    return first.split("/", 1)[0].lower()


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)


def header_values(headers: Headers, name: str) -> list[str]:
    """Every value of header `name` (case-insensitive) from a multidict (aiohttp), a Scrapy `Headers`
    (lists of bytes), a plain mapping or (name, value) pairs; repeated headers all count."""
    if hasattr(headers, "getall"):  # aiohttp's case-insensitive multidict: its own lookup, in C
        return [_text(v) for v in headers.getall(name, ())]
    # a multidict's items() repeats a header once per value; Scrapy's gives each name's list of values
    pairs: Iterable[tuple[Any, Any]] = headers.items() if hasattr(headers, "items") else headers
    out: list[str] = []
    for key, value in pairs:
        if _text(key).strip().lower() != name:
            continue
        for v in value if isinstance(value, list | tuple) else (value,):
            out.append(_text(v))
    return out


def _scoped_directives(value: str) -> Iterator[tuple[str | None, str]]:
    """(agent or None, directive) for each comma element; an `agent:` prefix holds until the next."""
    agent: str | None = None
    for element in value.split(","):
        m = _AGENT_RE.fullmatch(element)
        if m and m.group(1).lower() not in _VALUED:
            agent, element = m.group(1).lower(), m.group(2)
        directive = element.strip().lower()
        if directive:
            yield agent, directive


def robots_opt_out(values: Iterable[str], user_agent: str, directives: frozenset[str] = IMAGE_OPT_OUT,
                   ) -> tuple[str | None, str] | None:
    """The first (agent, directive) of robots directive lists `values` that opts us out, or None."""
    token = product_token(user_agent)
    for value in values:
        for agent, directive in _scoped_directives(value):
            if agent not in (None, "*", token):
                continue
            if directive in directives or any(d in directives for d in _IMPLIES.get(directive, ())):
                return agent, directive
    return None


def opt_out_directive(headers: Headers, user_agent: str = "", directives: frozenset[str] = IMAGE_OPT_OUT,
                      ) -> str | None:
    """Why a response's headers forbid using it (`X-Robots-Tag: noai`, `X-Robots-Tag: wukong-pipeline:
    noimageai`, `tdm-reservation: 1`), or None. `directives`: IMAGE_OPT_OUT for image responses,
    PAGE_OPT_OUT for pages."""
    found = robots_opt_out(header_values(headers, ROBOTS_HEADER), user_agent, directives)
    if found is not None:
        agent, directive = found
        return f"X-Robots-Tag: {agent}: {directive}" if agent else f"X-Robots-Tag: {directive}"
    for value in header_values(headers, TDM_HEADER):
        if value.strip() == "1":
            return "tdm-reservation: 1"
    return None


def meta_robots_opt_out(content: str, name: str = "robots", user_agent: str = "",
                        directives: frozenset[str] = PAGE_OPT_OUT) -> str | None:
    """Why a `<meta name=NAME content=CONTENT>` tag forbids using the page (`meta robots: noai`), or
    None. Only `robots` and our product token are names we obey; `content` is a robots directive list."""
    meta = name.strip().lower()
    if meta not in ("robots", product_token(user_agent) or "robots"):
        return None
    found = robots_opt_out([content], user_agent, directives)
    return f"meta {meta}: {found[1]}" if found is not None else None


def tdm_meta_opt_out(name: str, content: str) -> str | None:
    """TDMRep in HTML: `<meta name="tdm-reservation" content="1">` -> `tdm-reservation: 1`, else None."""
    return "tdm-reservation: 1" if name.strip().lower() == TDM_HEADER and content.strip() == "1" else None
