"""Ground truth: every image occurrence of the demo web and what the pipeline must decide about it.

The expected verdicts come from running the filter stage's rules (below, first failing rule wins)
over the rows a robots-obeying site crawl finds, with configs/demo.yaml:
  a. per-row text rules (`rules.TextRules`);
  b. frequent_caption: the normalised caption is on more than `text.max_caption_repeats` crawled rows;
  c. duplicate_url: rows sharing a normalised URL keep the smallest (page_url, caption);
  d. download and image: http_<status>, not_an_image, corrupt_image, too_small, bad_aspect;
  e. duplicate_image (same sha256: smallest key kept), then near_duplicate (any of the image
     filter's view hashes within `dedup.phash_max_distance` of any of the other's, confirmed by the
     tone words unless both are the 100% views: the pHash alone when planned, not measured; grouped
     transitively: largest width*height, then smallest key kept).
Rows on robots-disallowed pages are never crawled: `expected_reason` = "not_crawled".
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pyarrow as pa

from filters.image_tone import tones_agree
from manifests import reasons
from manifests.config import Config, load_config
from manifests.keys import key_for_url, normalize_url
from wukong.demoweb.captions import load_lexicon
from wukong.demoweb.measure import Measurement, check_invariants
from wukong.demoweb.model import ImageSpec, Occurrence, Page
from wukong.demoweb.pictures import hamming
from wukong.demoweb.rules import TextRules, normalize_caption
from wukong.demoweb.search import SearchCorpus
from wukong.demoweb.sites.home import DISALLOWED_PREFIX

NOT_CRAWLED = "not_crawled"
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"

GROUND_TRUTH = pa.schema([
    pa.field("page_url", pa.string()),
    pa.field("url", pa.string()),
    pa.field("caption", pa.string()),
    pa.field("caption_source", pa.string()),
    pa.field("site", pa.string()),
    pa.field("encoding", pa.string()),
    pa.field("disallowed", pa.bool_()),
    pa.field("person_name", pa.string()),
    pa.field("expected_reason", pa.string()),
    pa.field("expected_detail", pa.string()),
    pa.field("key", pa.string()),
    pa.field("position", pa.int32()),
    pa.field("image_id", pa.int64()),
    pa.field("planted", pa.string()),
    pa.field("markup", pa.string()),
    pa.field("lazy_attr", pa.string()),
    pa.field("charset_declaration", pa.string()),
    pa.field("http_status", pa.int32()),
    pa.field("content_type", pa.string()),
    pa.field("mime", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("sha256", pa.string()),
    pa.field("phash", pa.string()),
])

SEARCH_GROUND_TRUTH = pa.schema([
    pa.field("query", pa.string()),
    pa.field("rank", pa.int32()),
    pa.field("url", pa.string()),
    pa.field("caption", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("from_url", pa.string()),
    pa.field("thumb_url", pa.string()),
    pa.field("image_id", pa.int64()),
    pa.field("result_count", pa.int32()),
])


def demo_config() -> Config:
    """configs/demo.yaml when the checkout has it, else the defaults with the demo's repeat limit."""
    if DEMO_CONFIG.is_file():
        return load_config(DEMO_CONFIG)
    cfg = Config()
    cfg.text.max_caption_repeats = 5
    return cfg


@dataclass(slots=True)
class Row:
    """The columns the rules read."""

    page_url: str
    url: str
    caption: str
    crawled: bool
    image_id: int


def _union_find_groups(item_hashes: Sequence[Sequence[int]], max_distance: int,
                       tones: Sequence[int | None] | None = None) -> list[int]:
    """Root index per item; items with two hashes within `max_distance` bits are joined
    (transitively) when those are both items' first hashes (the 100% views), or when the items' tone
    words agree (`tones`: filters/image_tone.py; an item without one joins unconfirmed), as the
    filter's dedup links them (filters/dedup/confirm.py).

    Pigeonhole banding: split 64 bits into max_distance+1 bands; two hashes within the distance
    agree exactly on at least one band, so only hashes sharing a band value are compared.
    """
    parent = list(range(len(item_hashes)))
    owners = [i for i, hs in enumerate(item_hashes) for _ in hs]
    views = [v for hs in item_hashes for v in range(len(hs))]
    hashes = [h for hs in item_hashes for h in hs]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def confirmed(a: int, b: int) -> bool:
        if (views[a] == 0 and views[b] == 0) or tones is None:
            return True
        ta, tb = tones[owners[a]], tones[owners[b]]
        return ta is None or tb is None or bool(tones_agree(np.uint64(ta), np.uint64(tb)))

    bands = max_distance + 1
    edges = [round(64 * b / bands) for b in range(bands + 1)]
    for lo, hi in itertools.pairwise(edges):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            buckets[(h >> lo) & mask].append(i)
        for members in buckets.values():
            for a_pos, a in enumerate(members):
                for b in members[a_pos + 1:]:
                    if hamming(hashes[a], hashes[b]) <= max_distance and confirmed(a, b):
                        ra, rb = find(owners[a]), find(owners[b])
                        if ra != rb:
                            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(len(item_hashes))]


def decide(rows: Sequence[Row], measurements: dict[int, Measurement], cfg: Config,
           lexicon: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """The expected (reason, detail) of every row, by the rules a..e of this module."""
    n = len(rows)
    verdict: list[tuple[str | None, str | None]] = [(None, None)] * n
    for i, row in enumerate(rows):
        if not row.crawled:
            verdict[i] = (NOT_CRAWLED, f"robots.txt disallows {DISALLOWED_PREFIX}")
    alive = [i for i in range(n) if rows[i].crawled]

    # a. per-row text rules
    text = TextRules(lexicon, cfg.text.min_words, cfg.text.max_words)
    norm = {i: normalize_caption(rows[i].caption) for i in alive}
    survivors = []
    for i in alive:
        v = text.verdict(norm[i])
        if v is None:
            survivors.append(i)
        else:
            verdict[i] = v
    # b. caption frequency, counted over every crawled row
    counts = Counter(norm.values())
    alive, survivors = survivors, []
    for i in alive:
        if counts[norm[i]] > cfg.text.max_caption_repeats:
            verdict[i] = (reasons.FREQUENT_CAPTION, f"{counts[norm[i]]} pairs")
        else:
            survivors.append(i)
    # c. exact URL dedup
    url_norm = {i: normalize_url(rows[i].url) for i in survivors}
    by_url: dict[str | None, list[int]] = defaultdict(list)
    for i in survivors:
        by_url[url_norm[i]].append(i)
    alive, survivors = survivors, []
    for i in alive:
        if url_norm[i] is None:
            verdict[i] = (reasons.INVALID_URL, rows[i].url)
            continue
        group = by_url[url_norm[i]]
        kept = min(group, key=lambda j: (rows[j].page_url, rows[j].caption))
        if kept == i:
            survivors.append(i)
        else:
            verdict[i] = (reasons.DUPLICATE_URL, rows[kept].page_url)
    # d. download and image checks
    key = {i: key_for_url(url_norm[i]) for i in survivors}  # type: ignore[arg-type]
    alive, survivors = survivors, []
    for i in alive:
        m = measurements[rows[i].image_id]
        if m.reason is not None:
            verdict[i] = (m.reason, m.detail)
        elif min(m.width, m.height) < cfg.image.min_side:
            verdict[i] = (reasons.TOO_SMALL, f"{m.width}x{m.height}")
        elif max(m.width, m.height) > cfg.image.max_aspect_ratio * min(m.width, m.height):
            verdict[i] = (reasons.BAD_ASPECT, f"{m.width}x{m.height}")
        else:
            survivors.append(i)
    # e. exact duplicates by sha256, then near duplicates by pHash
    by_sha: dict[str | None, list[int]] = defaultdict(list)
    for i in survivors:
        by_sha[measurements[rows[i].image_id].sha256].append(i)
    alive, survivors = survivors, []
    for i in alive:
        kept = min(by_sha[measurements[rows[i].image_id].sha256], key=lambda j: key[j])
        if kept == i:
            survivors.append(i)
        else:
            verdict[i] = (reasons.DUPLICATE_IMAGE, key[kept])
    if cfg.dedup.near_duplicates:
        hashes = [measurements[rows[i].image_id].hashes() for i in survivors]
        tones = [measurements[rows[i].image_id].tone for i in survivors]
        roots = _union_find_groups(hashes, cfg.dedup.phash_max_distance, tones)
        groups: dict[int, list[int]] = defaultdict(list)
        for pos, root in enumerate(roots):
            groups[root].append(survivors[pos])
        for members in groups.values():
            if len(members) < 2:
                continue

            def rank(j: int) -> tuple[int, str]:
                m = measurements[rows[j].image_id]
                return -(m.width * m.height), key[j]

            kept = min(members, key=rank)
            for j in members:
                if j != kept:
                    verdict[j] = (reasons.NEAR_DUPLICATE, key[kept])
    return verdict


def absolute(base_url: str, path: str) -> str:
    return urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))


def build_ground_truth(occurrences: Sequence[Occurrence], pages: Mapping[str, Page], images: Mapping[int, ImageSpec],
                       measurements: Mapping[int, Measurement], base_url: str, *, measured: bool,
                       cfg: Config | None = None) -> pa.Table:
    """One row per occurrence with its expected verdict. `measured`: the measurements come from
    rendered bytes, which must then keep every promise of the images' plan (else RuntimeError)."""
    cfg = cfg or demo_config()
    if measured:
        problems = check_invariants(images, measurements)
        if problems:
            raise RuntimeError(f"demo web images break their plan ({len(problems)}): " + "; ".join(problems[:5]))
    occs = sorted(occurrences, key=lambda o: (o.page_path, o.position))
    rows = [Row(absolute(base_url, o.page_path), urljoin(absolute(base_url, o.page_path), o.src), o.caption,
                not o.disallowed, o.image_id) for o in occs]
    verdicts = decide(rows, measurements, cfg, load_lexicon())
    columns: dict[str, list[object]] = {f.name: [] for f in GROUND_TRUTH}
    for o, row, (reason, detail) in zip(occs, rows, verdicts, strict=True):
        page = pages[o.page_path]
        m = measurements[o.image_id]
        values = {
            "page_url": row.page_url, "url": row.url, "caption": o.caption, "caption_source": o.caption_source,
            "site": o.site, "encoding": page.encoding, "disallowed": o.disallowed, "person_name": o.person_name,
            "expected_reason": reason, "expected_detail": detail,
            "key": key_for_url(normalize_url(row.url) or row.url), "position": o.position, "image_id": o.image_id,
            "planted": o.planted, "markup": o.markup, "lazy_attr": o.lazy_attr,
            "charset_declaration": page.declaration, "http_status": m.status, "content_type": m.content_type,
            "mime": m.mime, "width": m.width or None, "height": m.height or None, "sha256": m.sha256,
            "phash": m.phash,
        }
        for name, value in values.items():
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=GROUND_TRUTH)


def build_search_ground_truth(corpus: SearchCorpus, images: Mapping[int, ImageSpec], base_url: str) -> pa.Table:
    columns: dict[str, list[object]] = {f.name: [] for f in SEARCH_GROUND_TRUTH}
    for result in corpus.all_results():
        spec = images[result.image_id]
        w, h = spec.rendition.size
        values = {
            "query": result.query, "rank": result.rank, "url": absolute(base_url, "/img/" + spec.name),
            "caption": result.title, "width": w, "height": h, "from_url": absolute(base_url, result.from_path),
            "thumb_url": absolute(base_url, result.thumb_path), "image_id": spec.id,
            "result_count": corpus.count(result.query),
        }
        for name, value in values.items():
            columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=SEARCH_GROUND_TRUTH)
