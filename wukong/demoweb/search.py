"""The search corpus behind `/search/*`: fixed queries, each with a fixed number of ranked results.

Results are images of the demo web's allowed pages (a mix of good and bad ones, as a real engine
returns). A query's result list is the same for every page size; the endpoints only slice it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wukong.demoweb import vocab
from wukong.demoweb.model import Occurrence
from wukong.demoweb.seeds import derive, rng

# (query, number of results): some under 60, some several hundred.
QUERIES: tuple[tuple[str, int], ...] = (
    ("风景", 450), ("美食", 320), ("猫", 240), ("手机壳", 45), ("雪山", 30), ("蛋糕", 120), ("汽车", 360),
    ("婚纱照", 58), ("春节", 12), ("花", 200), ("熊猫", 90), ("海边", 75), ("家居", 150), ("运动鞋", 33),
    ("夜景", 180), ("古镇", 24), ("小狗", 260), ("火锅", 66), ("樱花", 100), ("书房", 8),
)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    rank: int
    image_id: int
    title: str          # plain page title (fromPageTitleEnc); contains the query
    from_path: str      # the page the image is on
    thumb_path: str
    variant: int        # which acjson spelling this item uses (see engines.acjson_item)
    cs: str
    di: str


class SearchCorpus:
    def __init__(self, results: dict[str, list[SearchResult]]) -> None:
        self._results = results

    @classmethod
    def build(cls, occurrences: Sequence[Occurrence], seed: int) -> SearchCorpus:
        """The results of every query, drawn (with `seed`) from the images on allowed pages."""
        page_of: dict[int, str] = {}
        for occ in sorted(occurrences, key=lambda o: (o.page_path, o.position)):
            if not occ.disallowed:
                page_of.setdefault(occ.image_id, occ.page_path)
        pool = sorted(page_of)
        results: dict[str, list[SearchResult]] = {}
        for query, count in QUERIES:
            r = rng(seed, "search", query)
            picks = r.sample(pool, min(count, len(pool)))
            picks += r.choices(pool, k=count - len(picks))
            items = []
            for rank, image_id in enumerate(picks):
                title = r.choice(vocab.TITLE_TEMPLATES).format(
                    q=query, year=r.randrange(2015, 2025), city=r.choice(vocab.CITIES),
                    apos=vocab.APOSTROPHE_BRANDS[rank % len(vocab.APOSTROPHE_BRANDS)], n=r.randrange(6, 60))
                if rank % 5 == 0 and "'" not in title:  # an apostrophe on every 5th item: acjson's \' quirk
                    title = f"{vocab.APOSTROPHE_BRANDS[rank % len(vocab.APOSTROPHE_BRANDS)]} {title}"
                h = derive(seed, "cs", query, rank)
                items.append(SearchResult(
                    query, rank, image_id, title, page_of[image_id], f"/thumb/{image_id}.jpg", rank % 5,
                    f"{h % 4_294_967_296},{(h >> 32) % 4_294_967_296}", str(h % 10**19)))
            results[query] = items
        return cls(results)

    @property
    def queries(self) -> list[str]:
        return list(self._results)

    def count(self, query: str) -> int:
        return len(self._results.get(query, ()))

    def window(self, query: str, offset: int, size: int, repeat_past_end: bool) -> list[SearchResult]:
        """Results [offset, offset+size). Past the end: the last page again (Baidu) or nothing."""
        items = self._results.get(query, [])
        offset, size = max(0, offset), max(0, size)
        if offset >= len(items) and repeat_past_end:
            return items[max(0, len(items) - size):]
        return items[offset: offset + size]

    def all_results(self) -> list[SearchResult]:
        return [item for items in self._results.values() for item in items]
