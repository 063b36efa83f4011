"""The tone word: a second, different signature of an image that confirms near pairs found through
cropped views only.

The view hashes (image_views.py) compare the low-frequency layout of a grey image, and with four
views per image two distinct images get sixteen chances to meet; photos that share a layout (a sky
over a ridge, a dark frame round a flat patch) then meet at some scale within a few bits (bench:
7 false merges on 10,000 distinct images, all through a cropped view). The tone word records what
those hashes throw away: the brightness, the contrast and the colour of the centre of the image
(the central half of each side of the trimmed box, which every view and every crop up to 10% a side
still shows). A pair found through the 100% views (the pHash rule) needs nothing more; a pair found
only through a cropped view is linked when the two tone words agree (`tones_agree`).

Packed in a uint64, one byte each, low to high: mean luma (0-255), luma standard deviation x2
(capped at 255), and the share of red, green and blue in the mean colour x255; the top three bytes
are zero. Tolerances: a luma ratio within e^0.4 (brightness +-20% moves it by e^0.18), a standard
deviation ratio within e^0.45 (contrast +-20%: e^0.18), each colour share within 15/255; 99% of the
true copies of bench/bench_edits.py's images are within 0.23, 0.24 and 8/255. Tighter (e^0.3, e^0.35,
10/255) lets 15 instead of 39 of the 206 distinct pairs that meet within 8 bits at a cropped view
pass, but a 10% crop moves the centre's tone: crop recall 0.960 instead of 0.975 on the bench, and
0.82 instead of >= 0.9 on tests/test_near_edits.py's photographs and scenes; not taken.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

LUMA_LOG_TOLERANCE = 0.4
STD_LOG_TOLERANCE = 0.45
SHARE_TOLERANCE = 15  # of 255
_COLOUR_MODES = ("RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def tone_word(img: Image.Image, grey: Image.Image, box: tuple[int, int, int, int] | None, thumb: np.ndarray) -> int:
    """The tone word of `img`: `grey` is the hashes' grey image, `box` its trimmed box (or None) and
    `thumb` the 32x32 thumbnail of that box (image_views.thumbnail), whose central 16x16 pixels, in
    2x2 cells, give the luma; the colour is the mean of the same region of `img` (one BOX
    reduction to a pixel)."""
    cells = thumb[8:24, 8:24].reshape(8, 2, 8, 2).sum(axis=(1, 3)).ravel()  # 4x the 2x2 cell means
    mean_luma = float(cells.sum()) / 256.0
    std_luma = max(0.0, float(cells @ cells) / 1024.0 - mean_luma * mean_luma) ** 0.5
    y, sd = min(255, round(mean_luma)), min(255, round(2 * std_luma))
    if img.mode not in _COLOUR_MODES:
        return y | sd << 8 | 85 << 16 | 85 << 24 | 85 << 32  # grey: a third each
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    left, top, right, bottom = box if box is not None else (0, 0, grey.width, grey.height)
    sx, sy = rgb.width / grey.width, rgb.height / grey.height
    w, h = right - left, bottom - top
    centre = ((left + w / 4) * sx, (top + h / 4) * sy, (right - w / 4) * sx, (bottom - h / 4) * sy)
    r, g, b = rgb.resize((1, 1), Image.Resampling.BOX, box=centre).getpixel((0, 0))  # type: ignore[misc]
    total = max(r + g + b, 1)
    return y | sd << 8 | round(255 * r / total) << 16 | round(255 * g / total) << 24 | round(255 * b / total) << 32


def _fields(words: np.ndarray) -> np.ndarray:
    """(n, 5) int64 fields of n tone words."""
    w = np.asarray(words, dtype=np.uint64)
    return np.stack([((w >> np.uint64(8 * i)) & np.uint64(255)).astype(np.int64) for i in range(5)], axis=-1)


def tones_agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether tone words `a` and `b` (uint64 arrays of one shape) may be the same picture."""
    fa, fb = _fields(a), _fields(b)
    luma = np.abs(np.log((fa[..., 0] + 1.0) / (fb[..., 0] + 1.0))) <= LUMA_LOG_TOLERANCE
    std = np.abs(np.log((fa[..., 1] / 2.0 + 1.0) / (fb[..., 1] / 2.0 + 1.0))) <= STD_LOG_TOLERANCE
    share = np.abs(fa[..., 2:] - fb[..., 2:]).max(axis=-1) <= SHARE_TOLERANCE
    return luma & std & share
