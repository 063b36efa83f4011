"""Scrapy's cookie middleware splits domains with tldextract, whose default first tries to download
the public suffix list (publicsuffix.org, then GitHub) and only then falls back to the copy bundled
in the wheel. A crawl must never fetch data it was not asked to fetch, and the lookup must not hang
on a machine without DNS: `use_bundled_suffix_list()` points the middleware at the bundled snapshot.
It is parsed in the crawl process (about 40 ms, no slower than through tldextract's cache), never
cached in the user's home (the default, `~/.cache/python-tldextract`, lock files included): a crawl
writes only under its output and job folders.
"""

from __future__ import annotations

from tldextract import TLDExtract


def use_bundled_suffix_list() -> None:
    """Makes Scrapy's cookie middleware read the suffix list shipped with tldextract, never the network."""
    import scrapy.downloadermiddlewares.cookies as cookies

    if getattr(cookies, "_split_domain", None) is None:  # a Scrapy without it: nothing to point
        return
    cookies._split_domain = TLDExtract(suffix_list_urls=(), cache_dir=None,  # type: ignore[attr-defined]
                                       include_psl_private_domains=True)
