"""The one item both spiders yield (a candidate image-text pair) and the work-unit checkpoint marker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class CandidatePair:
    """One row of `manifests.schemas.CANDIDATE`; the field names are the column names."""

    url: str
    caption: str
    caption_source: str
    page_url: str
    query: str | None
    source: str
    crawled_at: datetime
    width_hint: int | None = None
    height_hint: int | None = None


@dataclass(slots=True)
class Checkpoint:
    """A finished unit of work (a query, or a page and its in-site links).

    Spiders yield it after the unit's last pair; the output pipeline journals it once every pair
    yielded before it is inside a committed part, so a re-run skips exactly the committed units.
    """

    kind: str  # "query" | "page"
    key: str
    links: list[str] = field(default_factory=list)
