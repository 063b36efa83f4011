"""Opt-out lists (`privacy.opt_out_lists`): candidates whose image or page URL a publisher asked us to
leave out are rejected as `opt_out` in the text pass, right after the URL step, so before any download.

A list file is UTF-8 text, local or on object storage (read through the storage layer like the
sensitive-word lexicons), one entry a line; blank lines and `#` comments (whole lines, or after a
space) are ignored:

    example.com                     # a domain: the domain and every subdomain (img.example.com)
    *.example.org                   # the same, written with a wildcard
    https://cdn.example.net/u/123/  # a URL prefix (http and https alike, host case-insensitive)
    pics.example.cn/albums/42       # a URL prefix without a scheme

The image URL is checked first, then the page URL; detail: `<list file name>: <entry as written>`,
with ` (page_url)` when the page matched. A missing or unreadable list, or a line that is neither a
domain nor a URL prefix, is a one-line UserError naming the file (and line).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from manifests import reasons
from manifests.config import Config, StorageConfig
from manifests.errors import UserError
from manifests.keys import normalize_url
from manifests.storage import as_path
from manifests.text_files import read_text_file

OPT_OUT_MATCH = "opt_out_match"
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_SCHEME_RE = re.compile(r"https?://", re.I)


def _ascii_host(host: str) -> str | None:
    """A host name in lowercase ASCII (IDNA for non-ASCII names), or None when it cannot be one."""
    host = host.strip().rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host


def _url_key(url: str) -> tuple[str, str] | None:
    """(host, `netloc/path?query` of the normalised URL) for prefix matching, or None."""
    norm = normalize_url(url)
    if norm is None:
        return None
    host = _ascii_host(urlsplit(norm).hostname or "")
    if host is None:
        return None
    return host, _SCHEME_RE.sub("", norm, count=1)


@dataclass(slots=True)
class OptOutList:
    """The entries of every configured list: domains (with subdomains) and URL prefixes by host."""

    domains: dict[str, str] = field(default_factory=dict)  # ascii domain -> "file: entry"
    prefixes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # host -> [(prefix, detail)]
    digest: str = ""  # sha256 over the lists' bytes, so a changed list restarts a resumed filter run

    def __len__(self) -> int:
        return len(self.domains) + sum(len(v) for v in self.prefixes.values())

    def add_line(self, line: str, where: str, label: str) -> None:
        entry = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not entry or entry.startswith("#"):
            return
        detail = f"{label}: {entry}"
        if "/" in entry:  # a URL prefix, with or without its scheme
            scheme = _SCHEME_RE.match(entry)
            key = _url_key(entry if scheme else f"http://{entry}") if scheme or "://" not in entry else None
            if key is None:
                raise UserError(f"{where}: not a domain or an http(s) URL prefix: {entry[:80]}")
            self.prefixes.setdefault(key[0], []).append((key[1], detail))
            return
        domain = _ascii_host(entry.removeprefix("*.").lstrip("."))
        if domain is None or _DOMAIN_RE.fullmatch(domain) is None:
            raise UserError(f"{where}: not a domain or an http(s) URL prefix: {entry[:80]}")
        self.domains.setdefault(domain, detail)

    def match(self, url: str | None) -> str | None:
        """`file: entry` of the first entry covering `url`, or None."""
        key = _url_key(url) if url else None
        if key is None:
            return None
        host, rest = key
        labels = host.split(".")
        for i in range(len(labels)):  # img.a.example.com, a.example.com, example.com, com
            hit = self.domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        for prefix, detail in self.prefixes.get(host, ()):
            if rest.startswith(prefix):
                return detail
        return None


def load_opt_out_lists(paths: list[str], storage: StorageConfig | None = None) -> OptOutList:
    """Reads every list (local paths or object-storage URLs); one-line UserErrors for bad ones."""
    lists = OptOutList()
    digest = hashlib.sha256()
    for spec in paths:
        path = as_path(str(spec), storage)
        text, raw = read_text_file(path, "opt-out list")
        digest.update(hashlib.sha256(raw).digest())
        for number, line in enumerate(text.splitlines(), 1):
            lists.add_line(line, f"{spec}:{number}", path.name)
    lists.digest = digest.hexdigest() if paths else ""
    return lists


class OptOutListFilter(Filter):
    """`opt_out` for candidates whose image URL (or else page URL) an opt-out list covers."""

    name: ClassVar[str] = "opt_out_list"

    def __init__(self, cfg: Config, lists: OptOutList | None = None) -> None:
        super().__init__(cfg)
        self.lists = lists if lists is not None else load_opt_out_lists(cfg.privacy.opt_out_lists, cfg.storage)

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        urls = batch.column("url").to_pylist()
        pages = batch.column("page_url").to_pylist() if "page_url" in batch.column_names else [None] * len(urls)
        found: list[str | None] = []
        for url, page in zip(urls, pages, strict=True):
            hit = self.lists.match(url)
            if hit is None:
                hit = self.lists.match(page)
                hit = f"{hit} (page_url)" if hit is not None else None
            found.append(hit)
        return {OPT_OUT_MATCH: pa.array(found, pa.string())}

    def decide(self, batch: pa.Table) -> Verdict:
        match = batch.column(OPT_OUT_MATCH).combine_chunks()
        reason = pc.if_else(pc.is_valid(match), pa.scalar(reasons.OPT_OUT), pa.scalar(None, pa.string()))
        return Verdict(reason, match)
