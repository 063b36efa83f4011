"""Decode image bytes once and measure them: format, size after EXIF rotation, sha256, 64-bit pHash.

An image that fails the image filter's size checks (`size_reason`) is not decoded when its header
says its size and orientation: its hashes would only describe a rejected row. Its reason is then the
size check's even if its body is also truncated (a truncated body of a good size is still
`corrupt_image`).

JPEGs are decoded in draft mode (DCT scaling to about 64 px): the whole entropy-coded stream is
still read, so truncation is still caught, at a fraction of the cost of a full-size decode. The pHash
is imagehash's DCT pHash (`dct_phash_hex`) of the image box-reduced to about 64 px, the same method for every row;
the edit-robust view hashes (image_views.py) come from the same thumbnail.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from filters.image_tone import tone_word
from filters.image_views import DCT, thumbnail, trim_box, view_hashes, views_to_bytes
from manifests import reasons

# Magic-byte signatures of the formats we keep, and the MIME and extension they release as.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
)
# The Pillow plugin that opens each signature (JPEG's opens MPO files too): Image.open tries only it.
# Otherwise it tries the ~40 others first or after, several of which accept any header and read it
# (65 -> 20 µs per JPEG opened). A name must be one Pillow registers: an unknown one raises KeyError.
_PLUGINS = {"image/jpeg": ["JPEG"], "image/png": ["PNG"], "image/gif": ["GIF"], "image/webp": ["WEBP"],
            "image/bmp": ["BMP", "DIB"]}
_FORMAT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
                "BMP": "image/bmp", "MPO": "image/jpeg"}
MIME_EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
                  "image/bmp": "bmp"}
_ADDRESS = re.compile(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>")
_HASH_DRAFT_SIZE = (64, 64)
_HASH_MIN_SIDE = 64
_ROTATING_ORIENTATIONS = {5, 6, 7, 8}
_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def sniff_mime(data: bytes) -> str | None:
    """The image MIME type that the first bytes announce, or None (HTML, SVG, text, unknown)."""
    for magic, offset, mime in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            if mime == "image/webp" and data[:4] != b"RIFF":
                continue
            return mime
    return None


@dataclass(slots=True)
class ImageInfo:
    """What one decode tells: either `reason` (why it is unusable) or the measurements."""

    reason: str | None = None
    detail: str | None = None
    width: int = 0
    height: int = 0
    mime: str | None = None
    sha256: str | None = None
    phash: str | None = None
    views: bytes | None = None  # the edit-robust hashes (image_views.py), VIEW_BYTES
    tone: int | None = None  # the tone word that confirms cropped-view matches (image_tone.py)


def hash_grey(img: Image.Image) -> Image.Image:
    """The grey image the hashes see: 8-bit, box-reduced to a side of at least 64 px.

    The reduction changes nothing that a 32x32 pHash can see, and makes hashing a large PNG or
    WebP ~50x cheaper; JPEGs arrive already reduced by draft decoding. Every row takes this path.
    """
    if img.mode in _WIDE_GREY_MODES:  # 16/32-bit grey: scale to 8 bits (convert("L") would clip)
        arr = np.asarray(img, dtype=np.float64)
        span = float(arr.max() - arr.min()) or 1.0
        img = Image.fromarray(((arr - arr.min()) * (255.0 / span)).astype(np.uint8), "L")
    elif img.mode != "L":
        img = img.convert("RGBA").convert("L") if img.mode in ("P", "PA", "LA") else img.convert("L")
    factor = min(img.size) // _HASH_MIN_SIDE
    if factor > 1:
        img = img.reduce(factor)
    return img


def phash_hex(img: Image.Image) -> str:
    """imagehash's DCT pHash of the image in grey, first box-reduced to a side of at least 64 px."""
    return dct_phash_hex(hash_grey(img))


def hashes(img: Image.Image) -> tuple[str, bytes, int]:
    """The pHash (16 hex chars), the view hashes (image_views.py) of an image, from one thumbnail
    (a second one of the trimmed box when the image has borders), and its tone word (image_tone.py)."""
    grey = hash_grey(img)
    thumb = thumbnail(grey)
    box = trim_box(np.asarray(grey))
    trimmed = thumbnail(grey.crop(box)) if box is not None else thumb
    return _phash_of(thumb), views_to_bytes(view_hashes(trimmed)), tone_word(img, grey, box, trimmed)


def _phash_of(thumb: np.ndarray) -> str:
    low = (DCT @ thumb @ DCT.T).ravel()
    srt = np.sort(low)
    return np.packbits(low > (srt[31] + srt[32]) / 2.0).tobytes().hex()  # np.median, without its overhead


def dct_phash_hex(img: Image.Image) -> str:
    """imagehash.phash(img) as 16 hex chars, computed as two small matrix products instead of two
    full 32x32 FFT-based DCTs (the same coefficients up to rounding: equal hashes on real images,
    tested), and without importing scipy in every worker."""
    return _phash_of(thumbnail(img if img.mode == "L" else img.convert("L")))


def _error_detail(exc: BaseException) -> str:
    """The first line of a decode error, without an object's address (`<_io.BytesIO object at 0x...>`
    changes with every run: a rerun must write the same bytes)."""
    text = _ADDRESS.sub("", str(exc).splitlines()[0] if str(exc) else "").strip()
    return text[:200] or type(exc).__name__


def size_reason(width: int, height: int, min_side: int, max_aspect_ratio: float) -> str | None:
    """The image filter's size checks: too_small, bad_aspect, or None (both hold under EXIF rotation)."""
    if min(width, height) < min_side:
        return reasons.TOO_SMALL
    if max(width, height) > max_aspect_ratio * min(width, height):
        return reasons.BAD_ASPECT
    return None


def inspect_image(data: bytes, max_pixels: int, min_side: int = 0, max_aspect_ratio: float = 0.0) -> ImageInfo:
    """Decodes `data` completely and returns its measurements, or the reason it cannot be used. With
    `min_side` and `max_aspect_ratio` (the image filter's), an image its header shows failing them is
    measured from the header alone: size and format, no hashes."""
    if not data:
        return ImageInfo(reasons.EMPTY_BODY, "0 bytes")
    mime = sniff_mime(data)
    if mime is None:
        return ImageInfo(reasons.NOT_AN_IMAGE, f"magic bytes {data[:8].hex()}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=_PLUGINS[mime])
            width, height = img.size
            if width * height > max_pixels:
                return ImageInfo(reasons.DECOMPRESSION_BOMB, f"{width}x{height} pixels", width, height, mime)
            # A PNG's EXIF may follow its pixels: Pillow decodes the image to look for it.
            header_only = max_aspect_ratio > 0 and size_reason(width, height, min_side, max_aspect_ratio) is not None \
                and (img.format != "PNG" or "exif" in img.info)
            orientation = img.getexif().get(0x0112, 1) if img.format in ("JPEG", "MPO", "WEBP", "PNG") else 1
            if not header_only:
                if img.format in ("JPEG", "MPO"):
                    img.draft("RGB", _HASH_DRAFT_SIZE)
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return ImageInfo(reasons.DECOMPRESSION_BOMB, str(exc).split(".")[0])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        return ImageInfo(reasons.CORRUPT_IMAGE, _error_detail(exc))
    mime = _FORMAT_MIME.get(img.format or "", mime)
    if orientation in _ROTATING_ORIENTATIONS:
        width, height = height, width
    if header_only:
        return ImageInfo(width=width, height=height, mime=mime)
    if orientation != 1:
        img = ImageOps.exif_transpose(img)
    phash, views, tone = hashes(img)
    return ImageInfo(
        width=width,
        height=height,
        mime=mime,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash,
        views=views,
        tone=tone,
    )
