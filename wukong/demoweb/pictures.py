"""Pictures with planted perceptual hashes: distinct pictures are far apart, copies stay close.

pHash (imagehash's DCT hash) keeps the signs of the 8x8 lowest DCT coefficients of a 32x32 grey
thumbnail, thresholded at their median. A picture here is drawn from such a coefficient pattern:
its signs are a codeword of the Reed-Muller code RM(2,6) (64 bits, minimum distance 16) with 32 ones
and the DC bit set, so the median falls between the positive and the negative coefficients and the
picture's pHash is its codeword. On top go seeded shapes, lines and pixel noise (small enough not to
flip a sign) and a seeded colour ramp. Two distinct pictures are then >= 16 bits apart before
encoding noise, and re-encoded, resized or lightly cropped copies stay within a bit or two.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from wukong.demoweb.seeds import derive, np_rng

HASH_BITS = 64
NOISE_TILE = 2048  # pictures are at most this wide and high


def _generator_rows() -> np.ndarray:
    """The 21 non-constant generator rows of RM(2,6) as uint64 (hash bit b = u*8+v is int bit 63-b)."""
    points = np.arange(64)
    xs = [((points >> i) & 1).astype(bool) for i in range(6)]
    rows = [xs[i] for i in range(6)] + [xs[i] & xs[j] for i in range(6) for j in range(i + 1, 6)]
    out = []
    for row in rows:
        value = 0
        for b in np.flatnonzero(row):
            value |= 1 << (63 - int(b))
        out.append(value)
    return np.array(out, dtype=np.uint64)


_ROWS = _generator_rows()
_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def codewords(count: int, seed: int) -> np.ndarray:
    """`count` distinct balanced RM(2,6) codewords with bit 0 (the DC bit) set, in seeded order.

    The constant polynomial 1 is always included, which sets the DC bit; about 44% of the messages
    give a codeword of weight 32, so a few vectorised draws suffice even for a million pictures.
    """
    gen = np_rng(seed, "codewords")
    out = np.empty(0, dtype=np.uint64)
    while out.size < count:
        messages = gen.integers(0, 1 << 21, size=max(2 * (count - out.size), 1024), dtype=np.int64)
        words = np.full(messages.shape, _ALL_ONES, dtype=np.uint64)
        for k, row in enumerate(_ROWS):
            words[((messages >> k) & 1).astype(bool)] ^= row
        words = words[np.bitwise_count(words) == 32]
        merged = np.concatenate([out, words])
        _, first = np.unique(merged, return_index=True)
        out = merged[np.sort(first)]
    return out[:count]


def _coefficients(code: int, gen: np.random.Generator) -> np.ndarray:
    bits = np.array([(code >> (63 - b)) & 1 for b in range(HASH_BITS)], dtype=np.float32).reshape(8, 8)
    amps = (bits * 2 - 1) * gen.uniform(0.75, 1.25, size=(8, 8)).astype(np.float32)
    amps[0, 0] = 0.0
    return amps


@functools.cache
def _noise_tile() -> Image.Image:
    """A fixed tile of uniform noise in [0, 20]; pictures take windows of it at seeded offsets."""
    gen = np.random.default_rng(20240607)
    return Image.fromarray(gen.integers(0, 21, size=(NOISE_TILE, NOISE_TILE), dtype=np.uint8), "L")


def render_luma(code: int, style: int, width: int, height: int, noise: bool = True) -> Image.Image:
    """The grey picture for `code` at `width` x `height` (mode L), drawn from the seed `style`.

    `noise=False` leaves out the pixel noise (flat graphics, as PNG and GIF pictures usually are).
    """
    gen = np.random.default_rng(style)
    amps = _coefficients(code, gen)
    sw, sh = max(width // 2, 16), max(height // 2, 16)
    cy = np.cos(np.pi * np.outer(np.arange(8), (np.arange(sh) + 0.5) / sh)).astype(np.float32)
    cx = np.cos(np.pi * np.outer(np.arange(8), (np.arange(sw) + 0.5) / sw)).astype(np.float32)
    pattern = cy.T @ amps @ cx
    pattern *= 85.0 / float(np.abs(pattern).max())
    layer = Image.new("L", (sw, sh), 128)
    draw = ImageDraw.Draw(layer)
    for _ in range(int(gen.integers(6, 12))):
        x, y = gen.uniform(0, sw), gen.uniform(0, sh)
        r = gen.uniform(0.015, 0.06) * min(sw, sh)
        tone = 128 + int(gen.choice((-1, 1)) * gen.uniform(0.5, 1.0) * 40)
        kind = gen.random()
        if kind < 0.4:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tone)
        elif kind < 0.8:
            draw.rectangle((x - r, y - 0.6 * r, x + r, y + 0.6 * r), fill=tone)
        else:
            end = (float(gen.uniform(0, sw)), float(gen.uniform(0, sh)))
            draw.line(((x, y), end), fill=tone, width=max(1, int(r / 4)))
    pattern += np.asarray(layer, dtype=np.float32)
    small = Image.fromarray(np.clip(pattern, 0, 255).astype(np.uint8), "L")
    big = small.resize((width, height), Image.Resampling.BILINEAR)
    ox, oy = int(gen.integers(0, NOISE_TILE - width)), int(gen.integers(0, NOISE_TILE - height))
    if not noise:
        return big
    window = _noise_tile().crop((ox, oy, ox + width, oy + height))
    return ImageChops.add(big, window, 1.0, -10)


def ramp(style: int) -> list[int]:
    """A 256-entry RGB palette from a dark to a bright colour: luminance rises linearly, so the
    colourised picture keeps the grey picture's pHash."""
    gen = np.random.default_rng(derive(style, "ramp"))
    dark, bright = gen.uniform(0, 90, 3), gen.uniform(165, 255, 3)
    t = np.arange(256, dtype=np.float64)[:, None] / 255.0
    return [int(v) for v in np.rint(dark + t * (bright - dark)).astype(np.uint8).ravel()]


def colourise(luma: Image.Image, palette: list[int], mode: str) -> Image.Image:
    """`luma` through `palette`: mode "P" keeps the palette (GIF, some PNG), "RGB" expands it."""
    img = luma.copy()
    img.putpalette(palette)  # an L image becomes P
    return img if mode == "P" else img.convert("RGB")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
