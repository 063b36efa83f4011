"""What a downloader plus the image filter would see at each image URL: measured or planned.

`measure_all` renders every image and runs `filters.image_inspect.inspect_image` on the bytes
(threads: Pillow and numpy release the GIL). `planned` derives the same record from the spec alone:
planned size, a sha token per rendition, the picture's codeword as pHash.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from filters.image_inspect import inspect_image, sniff_mime
from manifests import reasons
from manifests.config import ImageConfig
from wukong.demoweb.images import HOTLINK_HTML, ImageRenderer
from wukong.demoweb.model import BODY_ERROR, BODY_HTML, BODY_TRUNCATED, FORMAT_MIME, ImageSpec


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
    views: bytes | None = None  # the image filter's view hashes (None when planned: the pHash stands in)
    tone: int | None = None  # the image filter's tone word (filters/image_tone.py; None when planned)

    def hashes(self) -> list[int]:
        """What near dedup compares: the view hashes, or the pHash alone when there are none."""
        if self.views:
            return [int.from_bytes(self.views[i:i + 8], "big") for i in range(0, len(self.views), 8)]
        return [int(self.phash or "0", 16)]


def measure(renderer: ImageRenderer, spec: ImageSpec, max_pixels: int = ImageConfig().max_pixels) -> Measurement:
    resp = renderer.response(spec)
    if resp.status != 200:
        return Measurement(resp.status, resp.content_type, reasons.http_status(resp.status), None, size=len(resp.body))
    info = inspect_image(resp.body, max_pixels)
    return Measurement(resp.status, resp.content_type, info.reason, info.detail, info.width, info.height,
                       info.mime or sniff_mime(resp.body), info.sha256, info.phash, len(resp.body), info.views,
                       info.tone)


def measure_all(renderer: ImageRenderer, images: Mapping[int, ImageSpec],
                workers: int | None = None) -> dict[int, Measurement]:
    """Every image (by id), measured. Renders bypass nothing: the renderer's caches stay bounded."""
    specs = sorted(images.values(), key=lambda s: s.id)
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demoweb-measure") as pool:
        results = list(pool.map(lambda s: measure(renderer, s), specs, chunksize=16))
    return {s.id: m for s, m in zip(specs, results, strict=True)}


def planned(renderer: ImageRenderer, spec: ImageSpec) -> Measurement:
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
    code = f"{renderer.code(spec.rendition.picture):016x}"
    return Measurement(spec.status, spec.content_type, None, None, w, h, FORMAT_MIME[spec.rendition.fmt], token, code)


def planned_all(renderer: ImageRenderer, images: Mapping[int, ImageSpec]) -> dict[int, Measurement]:
    return {i: planned(renderer, s) for i, s in images.items()}


def check_invariants(images: Mapping[int, ImageSpec], measurements: Mapping[int, Measurement], near_max: int = 4,
                     distinct_min: int = 11, pairwise_limit: int = 20_000) -> list[str]:
    """What the planted images promise, checked on measured bytes; returns the broken promises.

    Valid images decode at their planned size; exact duplicates share sha256; near duplicates are
    within `near_max` pHash bits of their original; images of distinct pictures are at least
    `distinct_min` bits apart (checked pairwise up to `pairwise_limit` pictures).
    """
    problems: list[str] = []
    first_of_picture: dict[int, int] = {}
    for spec in sorted(images.values(), key=lambda s: s.id):
        m = measurements[spec.id]
        if spec.valid:
            if m.reason is not None or (m.width, m.height) != spec.rendition.size:
                problems.append(f"image {spec.id}: {m.reason or (m.width, m.height)} instead of {spec.rendition.size}")
                continue
            first_of_picture.setdefault(spec.rendition.picture, spec.id)
        elif m.reason is None:
            problems.append(f"image {spec.id} ({spec.planted}) decodes, but should not")
        if spec.original is not None and m.reason is None:
            orig = measurements[spec.original]
            if spec.planted == "exact_duplicate" and m.sha256 != orig.sha256:
                problems.append(f"image {spec.id}: not byte-identical to {spec.original}")
            if spec.planted == "near_duplicate":
                d = (int(m.phash or "0", 16) ^ int(orig.phash or "0", 16)).bit_count()
                if d > near_max or m.sha256 == orig.sha256:
                    problems.append(f"image {spec.id}: {d} pHash bits from {spec.original} (at most {near_max})")
    ids = list(first_of_picture.values())
    if len(ids) <= pairwise_limit:
        hashes = np.array([int(measurements[i].phash or "0", 16) for i in ids], dtype=np.uint64)
        for start in range(0, len(ids), 512):
            block = np.bitwise_count(hashes[start:start + 512, None] ^ hashes[None, :])
            for a, b in zip(*np.nonzero(block < distinct_min), strict=True):
                if start + a < b:
                    problems.append(f"images {ids[start + a]} and {ids[b]}: distinct pictures only "
                                    f"{int(block[a, b])} pHash bits apart")
    return problems
