"""Hashes that survive the edits the web makes to a photo: borders and frames, crops, watermarks.

One image gets `VIEW_COUNT` 64-bit hashes, its "views": the pHash construction (the signs of the
8x8 lowest DCT coefficients of a 32x32 grey thumbnail, thresholded at their median) applied to
centred crops of 100%, 96%, 88% and 80% of the image after its uniform borders are trimmed. Two
images are near duplicates when any view of one is within `dedup.phash_max_distance` bits of any
view of the other: a copy cropped by c per side shows the original's central 1-2c, which one of
the original's views meets within about 2% of scale (the scale ratios of two view sets,
1, .96, .92, .91, .88, .83, .80, are never more than 5% apart), and a frame or border is trimmed
away before any view is taken.

Cheap by construction: the views are computed from the same 32x32 thumbnail as the pHash (one
matrix product each: resampling a centred window and the DCT folded into one 8x32 matrix), so the
100% view of an image without borders is its pHash, bit for bit; only an image with borders is
thumbnailed a second time, from its trimmed box.

Trimming: on the grey image (about 64 px a side, as pHash sees it), when all four sides start with
rows or columns of one grey level (within `TRIM_TOLERANCE`), those are cut, twice (a frame with an
inner line is two bands); a flat band on fewer sides (a sky) is content, and when trimming would
leave less than half the width or height nothing is trimmed (a blank or nearly blank image).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SCALES = (1.0, 0.96, 0.88, 0.80)
VIEW_COUNT = len(SCALES)
VIEW_BYTES = 8 * VIEW_COUNT
TRIM_TOLERANCE = 6  # grey levels a trimmed row or column may span (JPEG noise on a flat border)
_THUMB, _BITS_SIDE = 32, 8


def _dct_rows(n: int, keep: int) -> np.ndarray:
    """The first `keep` rows of the unnormalised DCT-II matrix of size n (scipy.fftpack.dct's type 2)."""
    k = np.arange(keep, dtype=np.float64)[:, None]
    i = np.arange(n, dtype=np.float64)[None, :]
    return 2.0 * np.cos(np.pi * k * (2.0 * i + 1.0) / (2.0 * n))


def _window(n: int, scale: float) -> np.ndarray:
    """(n x n) linear interpolation weights that resample the centred window of relative size
    `scale` of an n-sample axis back to n samples (the identity at scale 1)."""
    start = n * (1.0 - scale) / 2.0
    x = np.clip(start + (np.arange(n) + 0.5) * scale - 0.5, 0.0, n - 1.0)
    i0 = np.floor(x).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    frac = x - i0
    w = np.zeros((n, n))
    np.add.at(w, (np.arange(n), i0), 1.0 - frac)
    np.add.at(w, (np.arange(n), i1), frac)
    return w


DCT = _dct_rows(_THUMB, _BITS_SIDE)
# (8 * VIEW_COUNT) x 32: per view, the 8 DCT rows of its resampled centred window
VIEW_ROWS = np.concatenate([DCT @ _window(_THUMB, s) for s in SCALES])
_DIAGONAL = np.arange(VIEW_COUNT)


def bits_of(low: np.ndarray) -> np.ndarray:
    """(k, 8, 8) DCT blocks -> k uint64 hashes: each coefficient above its block's median is a 1."""
    flat = low.reshape(len(low), 64)
    srt = np.sort(flat, axis=1)
    med = (srt[:, 31:32] + srt[:, 32:33]) / 2.0  # np.median, without its overhead
    return np.packbits(flat > med, axis=1).view(">u8").reshape(-1).astype(np.uint64)


def view_hashes(thumb: np.ndarray) -> np.ndarray:
    """The VIEW_COUNT hashes of a 32x32 grey thumbnail (float64), as uint64."""
    full = (VIEW_ROWS @ thumb @ VIEW_ROWS.T).reshape(VIEW_COUNT, 8, VIEW_COUNT, 8)
    return bits_of(full[_DIAGONAL, :, _DIAGONAL, :])


def _lead(spans: np.ndarray) -> int:
    """How many leading entries of `spans` are flat (<= TRIM_TOLERANCE)."""
    over = spans > TRIM_TOLERANCE
    return int(over.argmax()) if over.any() else len(spans)


def trim_box(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of `grey` (a uint8 matrix) without its flat borders, or None when
    there are none (or trimming would leave less than half a side)."""
    h, w = grey.shape
    if h == 0 or w == 0 or any(int(e.max()) - int(e.min()) > TRIM_TOLERANCE
                               for e in (grey[0], grey[-1], grey[:, 0], grey[:, -1])):
        return None  # an outer row or column is not flat: no border (most images; the loop's first test)
    left, top, right, bottom = 0, 0, w, h
    for _ in range(2):
        sub = grey[top:bottom, left:right]
        if sub.size == 0:
            return None
        rows = sub.max(axis=1) - sub.min(axis=1)  # uint8: max >= min, no wrap
        cols = sub.max(axis=0) - sub.min(axis=0)
        t, b = _lead(rows), _lead(rows[::-1])
        lf, rt = _lead(cols), _lead(cols[::-1])
        if not (t and b and lf and rt):  # a border or frame runs round all four sides (a sky does not)
            break
        edge = (int(sub[0].mean()), int(sub[-1].mean()), int(sub[:, 0].mean()), int(sub[:, -1].mean()))
        if max(edge) - min(edge) > 2 * TRIM_TOLERANCE:  # ... in one colour
            break
        left, top, right, bottom = left + lf, top + t, right - rt, bottom - b
        if right - left < w / 2 or bottom - top < h / 2:
            return None
    if (left, top, right, bottom) == (0, 0, w, h):
        return None
    return left, top, right, bottom


def thumbnail(grey: Image.Image) -> np.ndarray:
    """pHash's 32x32 thumbnail (LANCZOS) of a mode-L image, as float64."""
    return np.asarray(grey.resize((_THUMB, _THUMB), Image.Resampling.LANCZOS), dtype=np.float64)


def image_views(grey: Image.Image, thumb: np.ndarray) -> np.ndarray:
    """The view hashes of a mode-L image whose pHash thumbnail is `thumb` (uint64, VIEW_COUNT)."""
    box = trim_box(np.asarray(grey))
    if box is not None:
        thumb = thumbnail(grey.crop(box))
    return view_hashes(thumb)


def views_to_bytes(views: np.ndarray) -> bytes:
    return np.asarray(views, dtype=np.uint64).astype(">u8").tobytes()


def views_from_bytes(data: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """(count, VIEW_COUNT) uint64 from `count` concatenated VIEW_BYTES records."""
    return np.frombuffer(data, dtype=">u8", count=count * VIEW_COUNT).astype(np.uint64).reshape(count, VIEW_COUNT)
