"""`build_web(pairs, seed)`: plans the whole demo web as specs, deterministically and cheaply.

Every pair gets at most one planted property (a bad caption, a bad image, a copy of another pair's
image or URL); the ground truth later derives what the filters must decide from the rules, not from
these labels. Nothing is rendered here: images and pages are made on request.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from wukong.demoweb import pictures, vocab
from wukong.demoweb.captions import CaptionFactory
from wukong.demoweb.model import (
    BODY_ERROR,
    BODY_HTML,
    BODY_IMAGE,
    BODY_TRUNCATED,
    FORMAT_MIME,
    FORUM,
    GALLERY,
    NEWS,
    SITES,
    ImageSpec,
    Occurrence,
    Rendition,
)
from wukong.demoweb.seeds import cumulative, derive, rng, weighted
from wukong.demoweb.sites import forum, gallery, news
from wukong.demoweb.web import DemoWeb

MIN_PAIRS = 200
SITE_WEIGHTS = (42, 30, 28)  # news, forum, gallery

# planted label -> (share of all pairs, minimum count)
SHARES: dict[str, tuple[float, int]] = {
    "person_name": (0.03, 3),
    "english": (0.02, 2),
    "japanese": (0.015, 2),
    "placeholder": (0.02, 3),
    "empty_caption": (0.01, 2),
    "too_long": (0.01, 2),
    "sensitive": (0.015, 3),
    "too_small": (0.03, 3),
    "bad_aspect": (0.025, 3),
    "truncated": (0.015, 2),
    "wrong_content_type": (0.02, 4),
    "html_body": (0.01, 2),
    "http_404": (0.015, 2),
    "http_500": (0.01, 2),
    "size_boundary": (0.005, 2),
    "aspect_boundary": (0.005, 2),
    "exact_duplicate": (0.02, 2),
    "near_duplicate": (0.03, 3),
    "duplicate_url": (0.02, 2),
    "traditional": (0.02, 8),
    "disallowed": (0.02, 6),
}
BOILERPLATE_SHARE, BOILERPLATE_MIN = 0.008, 11   # per phrase: always more than 10 occurrences
REPEATS = {"repeat_5": 5, "repeat_6": 6}          # one caption exactly at, one just over, the limit
GBK_ONLY_COUNT = 3

FORMAT_WEIGHTS = (("JPEG", 70), ("PNG", 12), ("WEBP", 10), ("GIF", 8))
EXT_OF_FORMAT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
MAX_LONG_SIDE = {"JPEG": 1024, "WEBP": 1024, "PNG": 640, "GIF": 480}
ASPECTS = ((4, 3), (3, 4), (16, 9), (1, 1), (3, 2), (2, 3), (5, 4), (4, 5), (2, 1), (1, 2), (9, 16))
LONG_SIDES = ((320, 10), (400, 14), (480, 16), (500, 12), (560, 10), (600, 10), (640, 10), (720, 6), (800, 6),
              (960, 4), (1024, 2))
MIN_CLEAN_SIDE = 240
TOO_SMALL_SIZES = ((120, 90), (150, 150), (199, 300), (180, 120), (64, 64), (300, 160), (100, 200), (160, 240))
BAD_ASPECT_SIZES = ((900, 250), (1000, 200), (240, 800), (800, 210), (210, 700), (1200, 300))
SIZE_BOUNDARY_SIZES = ((200, 260), (260, 200), (200, 200), (300, 200))
ASPECT_BOUNDARY_SIZES = ((600, 200), (200, 600), (750, 250), (300, 900))
# (format of the bytes, extension in the URL, Content-Type served): valid images, wrong labels
WRONG_TYPES = (("JPEG", "jpg", "image/png"), ("PNG", "png", "image/jpeg"),
               ("WEBP", "webp", "application/octet-stream"), ("PNG", "jpg", "image/jpeg"))
NEAR_VARIANTS = ("quality", "resize_down", "crop", "resize_up", "webp")
_FORMATS, _FORMAT_CUM = tuple(f for f, _ in FORMAT_WEIGHTS), cumulative([w for _, w in FORMAT_WEIGHTS])
_SIDES, _SIDE_CUM = tuple(s for s, _ in LONG_SIDES), cumulative([w for _, w in LONG_SIDES])
_SITE_CUM = cumulative(SITE_WEIGHTS)


def planned_counts(pairs: int) -> dict[str, int]:
    """How many pairs of each planted kind a web of `pairs` pairs holds (the rest are clean)."""
    counts = {label: max(minimum, round(share * pairs)) for label, (share, minimum) in SHARES.items()}
    counts["boilerplate"] = len(vocab.BOILERPLATE) * max(BOILERPLATE_MIN, round(BOILERPLATE_SHARE * pairs))
    counts.update(REPEATS)
    counts["gbk_only"] = GBK_ONLY_COUNT
    return counts


@dataclass
class _Planner:
    pairs: int
    seed: int
    r: random.Random = field(init=False)
    sizes: random.Random = field(init=False)
    captions: CaptionFactory = field(init=False)
    images: list[ImageSpec] = field(default_factory=list)
    occs: list[Occurrence] = field(default_factory=list)
    n_pictures: int = 0

    def __post_init__(self) -> None:
        self.r = rng(self.seed, "plan")
        self.sizes = rng(self.seed, "sizes")
        self.captions = CaptionFactory(rng(self.seed, "captions"))
        upper = 2 * self.pairs + 64
        perm = np.random.default_rng(derive(self.seed, "image-ids")).permutation(upper)
        self._ids = (perm + 10_000).tolist()

    # --- images ----------------------------------------------------------------------------
    def _format(self) -> str:
        return weighted(self.sizes, _FORMATS, _FORMAT_CUM)

    def _clean_size(self, fmt: str) -> tuple[int, int]:
        s = self.sizes
        a, b = ASPECTS[s.randrange(len(ASPECTS))]
        long = min(weighted(s, _SIDES, _SIDE_CUM), MAX_LONG_SIDE[fmt])
        short = max(MIN_CLEAN_SIDE, round(long * min(a, b) / max(a, b)))
        long = max(long, round(short * max(a, b) / min(a, b)))
        return (long, short) if a >= b else (short, long)

    def add_image(self, fmt: str, size: tuple[int, int], *, ext: str | None = None, status: int = 200,
                  body: str = BODY_IMAGE, content_type: str | None = None, planted: str | None = None,
                  quality: int | None = None) -> ImageSpec:
        picture = self.n_pictures
        self.n_pictures += 1
        q = quality if quality is not None else self.sizes.randint(82, 94)
        rendition = Rendition(picture, size[0], size[1], fmt, quality=q)
        return self._register(rendition, ext or EXT_OF_FORMAT[fmt], status=status, body=body,
                              content_type=content_type or FORMAT_MIME[fmt], planted=planted)

    def _register(self, rendition: Rendition, ext: str, **kw: object) -> ImageSpec:
        spec = ImageSpec(self._ids[len(self.images)], ext, rendition, **kw)  # type: ignore[arg-type]
        self.images.append(spec)
        return spec

    def clean_image(self) -> ImageSpec:
        fmt = self._format()
        return self.add_image(fmt, self._clean_size(fmt))

    # --- occurrences ------------------------------------------------------------------------
    def _site(self) -> str:
        return weighted(self.r, SITES, _SITE_CUM)

    def add_occ(self, image: ImageSpec, caption: str, planted: str | None, *, site: str | None = None,
                person_name: str | None = None, prefix: str | None = None, disallowed: bool = False) -> Occurrence:
        site = site or self._site()
        if prefix is None:
            prefix = self.r.choice(("/img/", "/forum/img/")) if site == FORUM else "/img/"
        occ = Occurrence(len(self.occs), site, image.id, caption, planted, person_name,
                         url_path=prefix + image.name, disallowed=disallowed)
        self.occs.append(occ)
        return occ

    def plan(self) -> None:
        counts = planned_counts(self.pairs)
        c = self.captions
        fixed = sum(counts.values())
        clean = [self.add_occ(self.clean_image(), c.natural(), None) for _ in range(max(0, self.pairs - fixed))]

        for _ in range(counts["person_name"]):
            caption, name = c.person()
            self.add_occ(self.clean_image(), caption, "person_name", person_name=name)
        for label, make in (("english", c.english), ("japanese", c.japanese), ("placeholder", c.placeholder),
                            ("empty_caption", lambda: ""), ("too_long", c.long)):
            for _ in range(counts[label]):
                self.add_occ(self.clean_image(), make(), label)
        for _ in range(counts["sensitive"]):
            self.add_occ(self.clean_image(), c.sensitive()[0], "sensitive")
        for i in range(counts["boilerplate"]):
            self.add_occ(self.clean_image(), c.boilerplate(i), "boilerplate")
        for label, times in REPEATS.items():
            caption = c.natural()
            for _ in range(times):
                self.add_occ(self.clean_image(), caption, label)
        for i in range(counts["gbk_only"]):
            self.add_occ(self.clean_image(), c.gbk_only(i), "gbk_only", site=FORUM)
        for _ in range(counts["traditional"]):
            self.add_occ(self.clean_image(), c.traditional(), "traditional", site=GALLERY)
        for _ in range(counts["disallowed"]):
            self.add_occ(self.clean_image(), c.natural(), "disallowed", site=FORUM, disallowed=True)

        for i in range(counts["too_small"]):
            self.add_occ(self.add_image(self._format(), TOO_SMALL_SIZES[i % len(TOO_SMALL_SIZES)],
                                        planted="too_small"), c.natural(), "too_small")
        for label, sizes in (("bad_aspect", BAD_ASPECT_SIZES), ("size_boundary", SIZE_BOUNDARY_SIZES),
                             ("aspect_boundary", ASPECT_BOUNDARY_SIZES)):
            for i in range(counts[label]):
                fmt = "JPEG" if i % 3 else self._format()
                self.add_occ(self.add_image(fmt, sizes[i % len(sizes)], planted=label), c.natural(), label)
        for i in range(counts["truncated"]):
            fmt = ("JPEG", "PNG")[i % 2]
            self.add_occ(self.add_image(fmt, self._clean_size(fmt), body=BODY_TRUNCATED, planted="truncated"),
                         c.natural(), "truncated")
        for i in range(counts["wrong_content_type"]):
            fmt, ext, ctype = WRONG_TYPES[i % len(WRONG_TYPES)]
            self.add_occ(self.add_image(fmt, self._clean_size(fmt), ext=ext, content_type=ctype,
                                        planted="wrong_content_type"), c.natural(), "wrong_content_type")
        for label, status, body in (("html_body", 200, BODY_HTML), ("http_404", 404, BODY_ERROR),
                                    ("http_500", 500, BODY_ERROR)):
            for _ in range(counts[label]):
                image = self.add_image("JPEG", self._clean_size("JPEG"), status=status, body=body,
                                       content_type="image/jpeg", planted=label)
                self.add_occ(image, c.natural(), label)
        self._plan_copies(clean, counts)

    def _plan_copies(self, clean: list[Occurrence], counts: dict[str, int]) -> None:
        """Exact duplicates, near duplicates and repeated URLs, each of a different clean pair."""
        by_id = {im.id: im for im in self.images}
        pool = [o for o in clean if by_id[o.image_id].rendition.fmt == "JPEG"]
        need = counts["exact_duplicate"] + counts["near_duplicate"] + counts["duplicate_url"]
        originals = self.r.sample(pool, min(need, len(pool)))
        c = self.captions
        for k, orig in enumerate(originals[: counts["exact_duplicate"]]):
            src = by_id[orig.image_id]
            copy = self._register(src.rendition, src.ext, content_type=src.content_type, planted="exact_duplicate",
                                  original=src.id)
            self.add_occ(copy, c.natural(), "exact_duplicate", site=SITES[k % 3])
        start = counts["exact_duplicate"]
        for k, orig in enumerate(originals[start: start + counts["near_duplicate"]]):
            src = by_id[orig.image_id]
            rendition, ext = _near_variant(src.rendition, NEAR_VARIANTS[k % len(NEAR_VARIANTS)])
            copy = self._register(rendition, ext, content_type=FORMAT_MIME[rendition.fmt], planted="near_duplicate",
                                  original=src.id)
            self.add_occ(copy, c.natural(), "near_duplicate")
        start += counts["near_duplicate"]
        for orig in originals[start:]:
            site = FORUM if orig.url_path.startswith("/forum/") else self._site()
            prefix = orig.url_path.rsplit("/", 1)[0] + "/"
            self.add_occ(by_id[orig.image_id], c.natural(), "duplicate_url", site=site, prefix=prefix)


def _near_variant(r: Rendition, kind: str) -> tuple[Rendition, str]:
    """A lightly changed copy of `r`: re-encoded, resized, cropped by 1.2% a side, or WebP."""
    w, h = r.size
    if kind == "resize_down" and min(w, h) * 0.7 < MIN_CLEAN_SIDE:
        kind = "crop"
    if kind == "quality":
        return Rendition(r.picture, r.base_width, r.base_height, "JPEG", quality=55), "jpg"
    if kind == "resize_down":
        return Rendition(r.picture, r.base_width, r.base_height, "JPEG", 85, 0, round(w * 0.7), round(h * 0.7)), "jpg"
    if kind == "resize_up":
        return Rendition(r.picture, r.base_width, r.base_height, "JPEG", 85, 0, round(w * 1.3), round(h * 1.3)), "jpg"
    if kind == "crop":
        return Rendition(r.picture, r.base_width, r.base_height, "JPEG", r.quality, 12), "jpg"
    return Rendition(r.picture, r.base_width, r.base_height, "WEBP", 80), "webp"


def build_web(pairs: int = 3000, seed: int = 7) -> DemoWeb:
    """The demo web with about `pairs` image-caption pairs, the same for the same (pairs, seed)."""
    if pairs < MIN_PAIRS:
        raise ValueError(f"pairs must be at least {MIN_PAIRS}, got {pairs}")
    planner = _Planner(pairs, seed)
    planner.plan()
    occs = planner.occs
    r = rng(seed, "layout")
    by_site: dict[str, list[Occurrence]] = {site: [] for site in SITES}
    gbk_only, traditional, private = [], [], []
    for occ in occs:
        if occ.planted == "gbk_only":
            gbk_only.append(occ)
        elif occ.planted == "traditional":
            traditional.append(occ)
        elif occ.disallowed:
            private.append(occ)
        else:
            by_site[occ.site].append(occ)
    for items in by_site.values():
        r.shuffle(items)
    pages = [*news.layout(by_site[NEWS], r), *forum.layout(by_site[FORUM], gbk_only, private, r),
             *gallery.layout(by_site[GALLERY], traditional, r)]
    codes = pictures.codewords(planner.n_pictures, seed)
    return DemoWeb(pairs, seed, planner.images, occs, pages, codes)
