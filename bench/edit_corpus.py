"""Images and edits for the edit-robustness bench and tests: real photographs that ship inside wheels,
photo-like rendered scenes (some sharing a layout or a background), the demo web's pictures, and
the edits the web makes to a photo (crops, borders and frames, watermark text, resize and
re-encode, brightness and contrast).

Every image is at least `MIN_SIDE` pixels a side: the image filter rejects smaller ones as
`too_small` before dedup ever sees them (a watermark at a fixed minimum font size covers much more of
a small image: measuring those would measure images the filter never compares).

Photographs: scikit-image's `data` folder and scikit-learn's sample images (dev extras) and
matplotlib's `sample_data` (grace_hopper.jpg); whatever is installed is used, nothing is fetched.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from manifests.config import ImageConfig

MIN_SIDE = ImageConfig().min_side  # the image filter's default: smaller images never reach dedup

SKIMAGE_PHOTOS = ("astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "coffee.png", "coins.png",
                  "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png",
                  "retina.jpg", "rocket.jpg", "clock_motion.png")
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")


def photographs() -> dict[str, Image.Image]:
    """name -> RGB photograph, from the wheels installed here (none missing is an error: fewer)."""
    out: dict[str, Image.Image] = {}
    sources: list[tuple[str, tuple[str, ...], str]] = [("skimage", SKIMAGE_PHOTOS, "data"),
                                                       ("sklearn", SKLEARN_PHOTOS, "datasets/images"),
                                                       ("matplotlib", ("grace_hopper.jpg",), "mpl-data/sample_data")]
    for module, names, sub in sources:
        try:
            root = Path(__import__(module).__file__).parent / sub
        except ImportError:
            continue
        for name in names:
            if (root / name).is_file():
                out[name] = Image.open(root / name).convert("RGB")
    return out


def windows(photos: dict[str, Image.Image], per_photo: int, seed: int) -> list[Image.Image]:
    """Distinct images cut from the photographs: windows of 35-60% of a side and at least MIN_SIDE
    pixels, each overlapping any other window of its photo by less than a quarter of its area (same
    textures and colours, different content); a photo too small for such windows gives none."""
    rng = np.random.default_rng(seed)
    out = []
    for photo in photos.values():
        w, h = photo.size
        boxes: list[tuple[float, float, float, float]] = []
        for _ in range(per_photo * 40):
            if len(boxes) == per_photo:
                break
            s = rng.uniform(0.35, 0.6)
            bw, bh = w * s, h * s * rng.uniform(0.75, 1.25)
            if bh > h or min(bw, bh) < MIN_SIDE:
                continue
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            box = (x, y, x + bw, y + bh)
            if all(_overlap(box, b) < 0.25 for b in boxes):
                boxes.append(box)
        out += [photo.crop(tuple(round(v) for v in b)) for b in boxes]
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def _noise(rng: np.random.Generator, h: int, w: int, beta: float = 2.0) -> np.ndarray:
    """1/f^beta noise (natural images' spectrum), scaled to [0, 1]."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spec[0, 0] = 0
    img = np.fft.irfft2(spec, s=(h, w))
    return (img - img.min()) / (np.ptp(img) or 1.0)


def scene(seed: int, w: int = 480, h: int = 360, layout: int | None = None) -> Image.Image:
    """A photo-like landscape: sky gradient, a ridge of hills, textured ground, a few objects.
    Scenes with the same `layout` share the sky, horizon and ridge: only ground and objects differ."""
    rng = np.random.default_rng(seed)
    lay = np.random.default_rng(layout if layout is not None else seed + 10**9)
    horizon = lay.uniform(0.35, 0.65)
    sky_top, sky_low = lay.uniform(40, 255, 3), lay.uniform(120, 255, 3)
    y = np.linspace(0, 1, h)[:, None, None]
    img = sky_top + (sky_low - sky_top) * np.clip(y / horizon, 0, 1)
    img = np.broadcast_to(img, (h, w, 3)).copy()
    ridge = horizon * h - np.cumsum(lay.normal(0, 2.5, w)) - lay.uniform(10, 60)
    ground_col = rng.uniform(20, 200, 3)
    tex = _noise(rng, h, w)[:, :, None]
    rows = np.arange(h)[:, None]
    hill = (rows >= ridge[None, :])[:, :, None]
    img = np.where(hill, ground_col * (0.55 + 0.9 * tex), img)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(out)
    for _ in range(int(rng.integers(2, 7))):
        cx, cy = rng.uniform(0, w), rng.uniform(horizon * h, h)
        r = rng.uniform(0.04, 0.16) * w
        colour = tuple(int(c) for c in rng.uniform(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r * rng.uniform(0.5, 1.5)), fill=colour)
        else:
            draw.rectangle((cx - r, cy - 2 * r, cx + r * rng.uniform(0.3, 1.0), cy), fill=colour)
    return out


def backdrop(seed: int, background: Image.Image) -> Image.Image:
    """A catalogue shot: another scene filling 55-80% of each side on a shared background (a smaller
    or featureless object leaves the background's pHash as it is: the same photo with a sticker)."""
    rng = np.random.default_rng(seed)
    img = background.copy()
    w, h = img.size
    ow, oh = round(w * rng.uniform(0.55, 0.8)), round(h * rng.uniform(0.55, 0.8))
    x, y = round(rng.uniform(0, w - ow)), round(rng.uniform(0, h - oh))
    img.paste(scene(seed + 7_000_001, ow, oh), (x, y))
    return img


def each_demo_picture(count: int, seed: int) -> Iterator[Image.Image]:
    """The demo web's pictures (distinct codewords), colourised, at demo web sizes, one at a time."""
    from wukong.demoweb.pictures import codewords, colourise, ramp, render_luma

    rng = np.random.default_rng(seed)
    for i, code in enumerate(codewords(count, seed)):
        w = int(rng.integers(300, 641))
        h = max(MIN_SIDE, int(w * rng.choice([0.5625, 0.75, 1.0, 1.333])))
        yield colourise(render_luma(int(code), seed * 100_003 + i, w, h), ramp(i), "RGB")


def demo_pictures(count: int, seed: int) -> list[Image.Image]:
    return list(each_demo_picture(count, seed))


def encode(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def _border(img: Image.Image, frac: float, colour: tuple[int, int, int]) -> Image.Image:
    return ImageOps.expand(img, max(1, round(max(img.size) * frac)), colour)


def _frame(img: Image.Image, frac: float) -> Image.Image:
    p = max(2, round(max(img.size) * frac))
    return ImageOps.expand(ImageOps.expand(img, max(1, p // 6), (40, 40, 40)), p, (200, 30, 30))


def _watermark(img: Image.Image, text: str, corner: bool) -> Image.Image:
    img = img.copy()
    w, h = img.size
    size = max(10, h // 16)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(img, "RGBA")
    width = draw.textlength(text, font=font)
    x, y = (w - width - w * 0.03, h - size * 1.6) if corner else ((w - width) / 2, (h - size) / 2)
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 190), stroke_width=1, stroke_fill=(0, 0, 0, 150))
    return img


def _resize(img: Image.Image, scale: float, quality: int) -> Image.Image:
    w, h = img.size
    small = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    return Image.open(io.BytesIO(encode(small, quality)))


Edit = Callable[[Image.Image, np.random.Generator], Image.Image]

# kind -> (goal recall, {edit name: edit}); crops per side, borders of the longer side
EDITS: dict[str, tuple[float, dict[str, Edit]]] = {
    "crop": (0.90, {
        "crop 2.5% a side": lambda im, r: _crop(im, 0.025, 0.025, 0.025, 0.025),
        "crop 5% a side": lambda im, r: _crop(im, 0.05, 0.05, 0.05, 0.05),
        "crop 7.5% a side": lambda im, r: _crop(im, 0.075, 0.075, 0.075, 0.075),
        "crop 10% a side": lambda im, r: _crop(im, 0.1, 0.1, 0.1, 0.1),
        "crop 0-10% a side (same cut)": lambda im, r: _crop(im, *[float(r.uniform(0, 0.1))] * 4),
    }),
    "border": (0.95, {
        "white border 2.5%": lambda im, r: _border(im, 0.025, (255, 255, 255)),
        "white border 5%": lambda im, r: _border(im, 0.05, (255, 255, 255)),
        "black border 3%": lambda im, r: _border(im, 0.03, (0, 0, 0)),
        "red frame with a dark line 4%": lambda im, r: _frame(im, 0.04),
    }),
    "watermark": (0.98, {
        "text in a corner": lambda im, r: _watermark(im, "weibo.com/u/5123456789", True),
        "text in the middle": lambda im, r: _watermark(im, "@sohu.com", False),
    }),
    "resize": (0.98, {
        "70% at JPEG quality 40": lambda im, r: _resize(im, 0.7, 40),
        "50% at JPEG quality 60": lambda im, r: _resize(im, 0.5, 60),
    }),
    "tone": (0.98, {
        "brightness +20%": lambda im, r: ImageEnhance.Brightness(im).enhance(1.2),
        "brightness -20%": lambda im, r: ImageEnhance.Brightness(im).enhance(0.8),
        "contrast +20%": lambda im, r: ImageEnhance.Contrast(im).enhance(1.2),
        "contrast -20%": lambda im, r: ImageEnhance.Contrast(im).enhance(0.8),
    }),
}
# measured and reported, not a goal: four different cuts (the centred views do not cover them)
EXTRA_EDITS: dict[str, Edit] = {
    "crop 0-10% each side (four cuts)": lambda im, r: _crop(im, *(float(v) for v in r.uniform(0, 0.1, 4))),
}
