"""Thumbnails for the report's samples: JPEG, at most 256 px on the longer side, from image bytes that
the pipeline already holds (kept parts, shards, the filter's work files); nothing is downloaded.

A file is named after the pair's key (digits only), so a pair shown twice is written once and a
re-run writes the same bytes. Bytes that do not decode are a reason, never an exception.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_SIDE = 256
JPEG_QUALITY = 80
MAX_PIXELS = 200_000_000  # well above the filter's own cap: kept images passed it already
SAMPLES_DIR = "samples"  # under DIR/report/


@dataclass(frozen=True, slots=True)
class Thumb:
    """A written thumbnail: `src` relative to report.html, its size in pixels and bytes, and the original's
    size in pixels."""

    src: str
    width: int
    height: int
    size: int
    original: tuple[int, int]


def _rgb(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent pixels become white rather than black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def make_thumbnail(data: bytes) -> tuple[bytes, int, int, tuple[int, int]] | str:
    """(JPEG bytes, width, height, the original's size) of `data` shrunk to fit MAX_SIDE, or why it could not
    be made."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return f"{image.width}x{image.height} is too many pixels for a thumbnail"
                original = image.size
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at 1/2..1/8 scale, much faster
                shown = ImageOps.exif_transpose(image)
                shown.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                shown = _rgb(shown)
                out = io.BytesIO()
                shown.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
                return out.getvalue(), shown.width, shown.height, original
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        return f"not decodable ({exc.__class__.__name__})"


class ThumbWriter:
    """Writes thumbnails into `assets/samples/` (assets = DIR/report) and remembers what it wrote."""

    def __init__(self, assets: Path) -> None:
        self.folder = assets / SAMPLES_DIR
        self.prefix = f"{assets.name}/{SAMPLES_DIR}/"
        self.written: list[Path] = []
        self.failures: dict[str, str] = {}  # name -> reason
        self._done: dict[str, Thumb | None] = {}

    def clear(self) -> None:
        """Removes the thumbnails of an earlier report (this one writes its own)."""
        if self.folder.is_dir():
            for old in self.folder.glob("*.jpg"):
                old.unlink()

    def write(self, name: str, data: bytes | None) -> Thumb | None:
        """The thumbnail of `data` as `samples/<name>.jpg`; None when there are no bytes or they do not decode."""
        if name in self._done:
            return self._done[name]
        thumb: Thumb | None = None
        if data is not None:
            made = make_thumbnail(data)
            if isinstance(made, str):
                self.failures[name] = made
                log.debug("report: no thumbnail for %s: %s", name, made)
            else:
                jpeg, width, height, original = made
                self.folder.mkdir(parents=True, exist_ok=True)
                path = self.folder / f"{name}.jpg"
                path.write_bytes(jpeg)
                self.written.append(path)
                thumb = Thumb(self.prefix + path.name, width, height, len(jpeg), original)
        self._done[name] = thumb
        return thumb

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.written)
