"""What a downloader plus the image filter would see at each image URL: measured or planned.

`measure_all` renders every image and runs `filters.image_inspect.inspect_image` on the bytes
(threads: Pillow and numpy release the GIL). `planned` derives the same record from the spec alone:
planned size, a sha token per rendition, the picture's codeword as pHash.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from filters.image_inspect import inspect_image, sniff_mime
from manifests import reasons
from manifests.config import ImageConfig
from wukong.demoweb.images import HOTLINK_HTML
from wukong.demoweb.model import BODY_ERROR, BODY_HTML, BODY_TRUNCATED, FORMAT_MIME, ImageSpec

if TYPE_CHECKING:
    from wukong.demoweb.web import DemoWeb


@dataclass(frozen=True, slots=True)
class Measurement:
    """An image URL as the filter stage sees it. `reason` set = unusable (http_404, corrupt_image...)."""

    status: int
    content_type: str
    reason: str | None = None
    detail: str | None = None
    width: int = 0
    height: int = 0
    mime: str | None = None
    sha256: str | None = None
    phash: str | None = None
    size: int = 0


def measure(web: DemoWeb, spec: ImageSpec, max_pixels: int = ImageConfig().max_pixels) -> Measurement:
    resp = web.renderer.response(spec)
    if resp.status != 200:
        return Measurement(resp.status, resp.content_type, reasons.http_status(resp.status), None, size=len(resp.body))
    info = inspect_image(resp.body, max_pixels)
    return Measurement(resp.status, resp.content_type, info.reason, info.detail, info.width, info.height,
                       info.mime or sniff_mime(resp.body), info.sha256, info.phash, len(resp.body))


def measure_all(web: DemoWeb, workers: int | None = None) -> dict[int, Measurement]:
    """Every image of `web`, measured. Renders bypass nothing: the renderer's caches stay bounded."""
    specs = sorted(web.images.values(), key=lambda s: s.id)
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demoweb-measure") as pool:
        results = list(pool.map(lambda s: measure(web, s), specs, chunksize=16))
    return {s.id: m for s, m in zip(specs, results, strict=True)}


def planned(web: DemoWeb, spec: ImageSpec) -> Measurement:
    """The measurement the spec promises, without rendering anything."""
    if spec.body == BODY_ERROR:
        return Measurement(spec.status, "text/html; charset=utf-8", reasons.http_status(spec.status))
    if spec.body == BODY_HTML:
        magic = f"magic bytes {HOTLINK_HTML[:8].hex()}"  # what inspect_image says about it
        return Measurement(spec.status, spec.content_type, reasons.NOT_AN_IMAGE, magic)
    if spec.body == BODY_TRUNCATED:
        return Measurement(spec.status, spec.content_type, reasons.CORRUPT_IMAGE, None)
    w, h = spec.rendition.size
    token = hashlib.sha256(repr(spec.rendition).encode()).hexdigest()
    code = f"{web.renderer.code(spec.rendition.picture):016x}"
    return Measurement(spec.status, spec.content_type, None, None, w, h, FORMAT_MIME[spec.rendition.fmt], token, code)


def planned_all(web: DemoWeb) -> dict[int, Measurement]:
    return {i: planned(web, s) for i, s in web.images.items()}
