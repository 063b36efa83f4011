"""The two spiders, by the name `wukong crawl --spider` takes."""

from __future__ import annotations

from crawler.spiders.base import WukongSpider
from crawler.spiders.search import SearchSpider
from crawler.spiders.site import SiteSpider

SPIDERS: dict[str, type[WukongSpider]] = {SearchSpider.name: SearchSpider, SiteSpider.name: SiteSpider}

__all__ = ["SPIDERS", "SearchSpider", "SiteSpider", "WukongSpider"]
