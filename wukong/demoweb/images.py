"""Image bytes on request: renditions encoded with Pillow, defects applied, bounded caches.

Rendering is deterministic: a rendition's bytes depend only on (codeword, style seed, rendition), so
two specs with one rendition serve identical bytes (the planted exact duplicates).
"""

from __future__ import annotations

import functools
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
from PIL import Image

from wukong.demoweb import pictures
from wukong.demoweb.model import (
    BODY_ERROR,
    BODY_HTML,
    BODY_TRUNCATED,
    ImageSpec,
    Rendition,
    Response,
)
from wukong.demoweb.render_cache import DiskRenders, rendition_key
from wukong.demoweb.seeds import derive

HOTLINK_HTML = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>403 禁止盗链</title></head>"
    "<body><h1>图片禁止外链</h1><p>请访问原网页查看图片。</p></body></html>"
).encode()
ERROR_HTML = {
    404: b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>",
    500: b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
         b"<body><h1>500 Internal Server Error</h1></body></html>",
}
TRUNCATE_FRACTION = 0.6
FLAT_FORMATS = ("PNG", "GIF")  # drawn without pixel noise, like the graphics these formats usually hold
THUMB_SIDE = 240


class BytesCache:
    """A thread-safe LRU cache of byte strings bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                return data
        data = make()  # outside the lock: two threads may render the same bytes once each
        with self._lock:
            if key not in self._items and len(data) <= self.max_bytes:
                self._items[key] = data
                self._size += len(data)
                while self._size > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._size -= len(old)
        return data

    @property
    def size(self) -> int:
        return self._size


class ImageRenderer:
    """Turns specs into bytes. Caches are per renderer and bounded (encoded bytes: `cache_bytes`)."""

    def __init__(self, codes: np.ndarray, seed: int, cache_bytes: int = 256 * 1024 * 1024) -> None:
        self.codes = codes
        self.seed = seed
        self._bytes = BytesCache(cache_bytes)
        self._luma = functools.lru_cache(maxsize=32)(self._render_luma)
        self.thumbnail = functools.lru_cache(maxsize=512)(self._thumbnail)
        self.disk: DiskRenders | None = None  # encoded renditions shared with other processes (render_cache.py)

    @property
    def cached_bytes(self) -> int:
        return self._bytes.size

    @property
    def cache_limit(self) -> int:
        return self._bytes.max_bytes

    def encode(self, r: Rendition) -> bytes:
        """The encoded image of a rendition (cached)."""
        return self._bytes.get_or_make(r, lambda: self._encode_or_load(r))

    def _encode_or_load(self, r: Rendition) -> bytes:
        if self.disk is None:
            return self._encode(r)
        key = rendition_key(self.code(r.picture), self.style(r.picture), r)
        data = self.disk.get(key)
        if data is None:
            data = self._encode(r)
            self.disk.put(key, data)
        return data

    def code(self, picture: int) -> int:
        return int(self.codes[picture])

    def style(self, picture: int) -> int:
        return derive(self.seed, "picture", picture)

    def _render_luma(self, picture: int, width: int, height: int, noise: bool = True) -> Image.Image:
        return pictures.render_luma(self.code(picture), self.style(picture), width, height, noise)

    def _luma_for(self, r: Rendition) -> Image.Image:
        img = self._luma(r.picture, r.base_width, r.base_height, r.fmt not in FLAT_FORMATS)
        if r.crop_permille:
            dx = r.base_width * r.crop_permille // 1000
            dy = r.base_height * r.crop_permille // 1000
            img = img.crop((dx, dy, r.base_width - dx, r.base_height - dy))
        if r.width and (r.width, r.height) != img.size:
            img = img.resize((r.width, r.height), Image.Resampling.LANCZOS)
        return img

    def _encode(self, r: Rendition) -> bytes:
        style = self.style(r.picture)
        luma = self._luma_for(r)
        palette = pictures.ramp(style)
        out = io.BytesIO()
        if r.fmt == "GIF":
            pictures.colourise(luma, palette, "P").save(out, "GIF")
        elif r.fmt == "PNG":
            mode = "P" if style % 2 else "RGB"  # palette PNGs (graphics) and truecolour PNGs
            pictures.colourise(luma, palette, mode).save(out, "PNG", compress_level=3)
        elif r.fmt == "WEBP":
            pictures.colourise(luma, palette, "RGB").save(out, "WEBP", quality=r.quality, method=1)
        else:
            pictures.colourise(luma, palette, "RGB").save(out, "JPEG", quality=r.quality)
        return out.getvalue()

    def _thumbnail(self, picture: int, width: int, height: int) -> bytes:
        """The search engines' thumbnail: the picture at most THUMB_SIDE wide or high, as JPEG."""
        scale = min(1.0, THUMB_SIDE / max(width, height))
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        img = pictures.colourise(self._luma(picture, width, height).resize((w, h)),
                                 pictures.ramp(self.style(picture)), "RGB")
        out = io.BytesIO()
        img.save(out, "JPEG", quality=75)
        return out.getvalue()

    def response(self, spec: ImageSpec) -> Response:
        """What `/img/<id>.<ext>` answers."""
        if spec.body == BODY_ERROR:
            return Response(spec.status, "text/html; charset=utf-8", ERROR_HTML.get(spec.status, b""))
        if spec.body == BODY_HTML:
            return Response(spec.status, spec.content_type, HOTLINK_HTML)
        data = self.encode(spec.rendition)
        if spec.body == BODY_TRUNCATED:
            data = data[: int(len(data) * TRUNCATE_FRACTION)]
        return Response(spec.status, spec.content_type, data)
