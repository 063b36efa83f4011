"""The plain records a demo web is made of: image specs, image occurrences on pages, pages, responses.

A spec says everything that decides what a URL serves; bytes are rendered only on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NEWS, FORUM, GALLERY = "news", "forum", "gallery"
SITES = (NEWS, FORUM, GALLERY)

# How an image URL answers (ImageSpec.body).
BODY_IMAGE = "image"          # valid image bytes
BODY_TRUNCATED = "truncated"  # the first 60% of valid bytes
BODY_HTML = "html"            # an HTML page served as image/jpeg with status 200
BODY_ERROR = "error"          # an HTML error page with status 404 or 500

EXT_FORMAT = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
FORMAT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True, slots=True)
class Rendition:
    """What decides an image's bytes: two specs with equal renditions serve identical bytes."""

    picture: int
    base_width: int
    base_height: int
    fmt: str                 # JPEG | PNG | WEBP | GIF
    quality: int = 88
    crop_permille: int = 0   # cut from each side of the base picture, in 1/1000 of its size
    width: int = 0           # final size after crop and resize; 0 = no resize
    height: int = 0

    @property
    def size(self) -> tuple[int, int]:
        if self.width:
            return self.width, self.height
        dx = self.base_width * self.crop_permille // 1000
        dy = self.base_height * self.crop_permille // 1000
        return self.base_width - 2 * dx, self.base_height - 2 * dy


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One image URL `/img/<id>.<ext>` (also served under `/forum/img/`)."""

    id: int
    ext: str
    rendition: Rendition
    status: int = 200
    body: str = BODY_IMAGE
    content_type: str = "image/jpeg"
    planted: str | None = None
    original: int | None = None  # the image id this one copies (exact or near duplicate)

    @property
    def name(self) -> str:
        return f"{self.id}.{self.ext}"

    @property
    def valid(self) -> bool:
        return self.status == 200 and self.body == BODY_IMAGE


@dataclass(slots=True)
class Occurrence:
    """One `<img>` on one page: an image-caption pair as the site spider should extract it."""

    index: int
    site: str
    image_id: int
    caption: str
    planted: str | None = None
    person_name: str | None = None
    url_path: str = ""                 # the absolute path the src resolves to: /img/<name> or /forum/img/<name>
    disallowed: bool = False
    page_path: str = ""
    position: int = 0
    markup: str = "alt"                # alt | title | figcaption | alt+figcaption | title+figcaption | lazy
    caption_source: str = "alt"        # alt | title | figcaption
    lazy_attr: str | None = None       # the attribute holding the real URL on lazy-loaded images
    src: str = ""                      # the attribute value as written in the page


@dataclass(slots=True)
class Page:
    """One HTML page of a site. `declaration` says where its charset is declared."""

    path: str
    site: str
    kind: str
    title: str
    encoding: str = "utf-8"            # the codec the body is really encoded with
    declaration: str = "header+meta"   # header | meta | meta_late | header+meta | gb2312 | none
    disallowed: bool = False
    occurrences: list[int] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)   # (href, text)
    pagination: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer as the server sends it (headers other than Content-Type in `headers`)."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
