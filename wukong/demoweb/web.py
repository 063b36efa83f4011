"""`DemoWeb`: the planned web and what each URL answers (pages, images, thumbnails), with bounded caches.

The server is a thin layer over `DemoWeb.response_for(path)`-style lookups; tests can call them
without a socket. Ground truth and the search corpus are computed on demand.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wukong.demoweb.images import ImageRenderer
from wukong.demoweb.model import FORUM, GALLERY, NEWS, ImageSpec, Occurrence, Page, Response
from wukong.demoweb.sites import forum, gallery, home, news

if TYPE_CHECKING:
    import pyarrow as pa

    from manifests.config import Config
    from wukong.demoweb.measure import Measurement
    from wukong.demoweb.search import SearchCorpus

_IMAGE_NAME = re.compile(r"^(\d{1,12})\.(jpg|png|webp|gif)$")
_RENDERERS = {NEWS: news.render, FORUM: forum.render, GALLERY: gallery.render}


class DemoWeb:
    """The whole demo web for one (pairs, seed). Immutable once built; safe to share between threads."""

    def __init__(self, pairs: int, seed: int, images: Sequence[ImageSpec], occurrences: Sequence[Occurrence],
                 pages: Sequence[Page], codes: np.ndarray, cache_bytes: int = 256 * 1024 * 1024) -> None:
        self.pairs = pairs
        self.seed = seed
        self.images: dict[int, ImageSpec] = {im.id: im for im in images}
        self.occurrences: list[Occurrence] = list(occurrences)
        self.pages: dict[str, Page] = {p.path: p for p in pages}
        self.codes = codes
        self.renderer = ImageRenderer(codes, seed, cache_bytes)
        self._occ = {o.index: o for o in self.occurrences}
        self.page_response = functools.lru_cache(maxsize=2048)(self._page_response)
        self._lock = threading.Lock()
        self._measurements: dict[int, Measurement] | None = None
        self._search: SearchCorpus | None = None

    def keep_renders_on_disk(self, root: Path | None = None) -> bool:
        """Shares the encoded images with other processes through the disk (render_cache.py) when this web has at
        most DISK_MAX_PAIRS pairs: a server does, so each test worker and each `make demo` renders an image once
        per machine. Returns whether it does."""
        from wukong.demoweb.render_cache import DISK_MAX_PAIRS, DiskRenders

        if self.pairs <= DISK_MAX_PAIRS:
            self.renderer.disk = DiskRenders(root)
        return self.renderer.disk is not None

    # --- what URLs answer --------------------------------------------------------------------
    def _page_response(self, path: str) -> Response | None:
        if path == "/":
            return home.home_page()
        page = self.pages.get(path)
        if page is None:
            return None
        return _RENDERERS[page.site](page, self._occ)

    def image_spec(self, name: str) -> ImageSpec | None:
        """The spec behind `/img/<name>` (`<id>.<ext>`), or None when no such image exists."""
        m = _IMAGE_NAME.match(name)
        if not m:
            return None
        spec = self.images.get(int(m.group(1)))
        return spec if spec is not None and spec.ext == m.group(2) else None

    def image_response(self, name: str) -> Response | None:
        spec = self.image_spec(name)
        return None if spec is None else self.renderer.response(spec)

    def thumbnail_response(self, name: str) -> Response | None:
        """`/thumb/<id>.jpg`: a small JPEG of the image's picture (served even when the original is gone)."""
        m = _IMAGE_NAME.match(name)
        spec = self.images.get(int(m.group(1))) if m and m.group(2) == "jpg" else None
        if spec is None:
            return None
        w, h = spec.rendition.base_width, spec.rendition.base_height
        return Response(200, "image/jpeg", self.renderer.thumbnail(spec.rendition.picture, w, h))

    def prerender(self, stop: threading.Event | None = None, fill: float = 0.75) -> int:
        """Renders the images into the renderer's cache ahead of their requests, in id order, until every
        image is there, `stop` is set or the cache is `fill` full (more would evict what is rendered).
        The bytes are those a request would render: only when the work is done changes. Returns how many."""
        done = 0
        for spec in self.images.values():
            if (stop is not None and stop.is_set()) or self.renderer.cached_bytes >= fill * self.renderer.cache_limit:
                break
            self.renderer.response(spec)
            done += 1
        return done

    # --- derived views -----------------------------------------------------------------------
    def occurrences_on(self, path: str) -> list[Occurrence]:
        page = self.pages[path]
        return [self._occ[i] for i in page.occurrences]

    @property
    def query_words(self) -> list[str]:
        """The search endpoints' query words (one per line makes a `--queries` file)."""
        from wukong.demoweb.search import QUERIES

        return [q for q, _ in QUERIES]

    @property
    def search(self) -> SearchCorpus:
        from wukong.demoweb.search import SearchCorpus

        with self._lock:
            if self._search is None:
                self._search = SearchCorpus.build(self.occurrences, self.seed)
            return self._search

    def measurements(self) -> dict[int, Measurement]:
        """Every image rendered and inspected once (cached): status, sizes, sha256, pHash."""
        from wukong.demoweb.measure import measure_all

        with self._lock:
            if self._measurements is None:
                self._measurements = measure_all(self.renderer, self.images)
            return self._measurements

    def ground_truth(self, base_url: str, measure: bool = True, cfg: Config | None = None) -> pa.Table:
        """One row per image occurrence on the site pages, with the filters' expected verdicts.

        `measure=True` renders and inspects every image (the verdicts then come from the real bytes);
        `measure=False` uses the planned sizes and hashes instead (fast, same answer by construction).
        """
        from wukong.demoweb.groundtruth import build_ground_truth
        from wukong.demoweb.measure import planned_all

        measurements = self.measurements() if measure else planned_all(self.renderer, self.images)
        return build_ground_truth(self.occurrences, self.pages, self.images, measurements, base_url,
                                  measured=measure, cfg=cfg)

    def search_ground_truth(self, base_url: str) -> pa.Table:
        """One row per (query, rank) of the search endpoints."""
        from wukong.demoweb.groundtruth import build_search_ground_truth

        return build_search_ground_truth(self.search, self.images, base_url)
