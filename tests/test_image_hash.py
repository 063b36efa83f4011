"""The perceptual hash: our matrix-product DCT pHash gives imagehash's hashes bit for bit."""

from __future__ import annotations

import imagehash
import numpy as np
import pytest
from PIL import Image

from filters.image_inspect import dct_phash_hex, phash_hex
from wukong.demoweb.pictures import render_luma


def _pictures() -> list[Image.Image]:
    rng = np.random.default_rng(5)
    out = []
    for i in range(120):
        w, h = int(rng.integers(40, 400)), int(rng.integers(40, 400))
        out.append(render_luma(int(rng.integers(0, 2**32)), i, w, h, noise=bool(i % 2)))
    for _ in range(40):  # colour noise, and smooth colour gradients
        out.append(Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8), "RGB"))
        x = np.linspace(0, 255, 90)
        grad = np.stack([np.add.outer(x, x * rng.random()) % 256] * 3, axis=-1).astype(np.uint8)
        out.append(Image.fromarray(grad, "RGB"))
    return out


def test_equal_to_imagehash_phash_on_pictures_noise_and_gradients() -> None:
    pictures = _pictures()
    ours = [dct_phash_hex(p) for p in pictures]
    theirs = [str(imagehash.phash(p)) for p in pictures]
    assert ours == theirs
    assert len(set(ours)) > 150  # distinct pictures, distinct hashes: the test compares real bits


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "LA", "I;16"])
def test_every_mode_hashes_to_16_hex_chars(mode: str) -> None:
    base = render_luma(7, 3, 300, 200)
    img = base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base, np.uint16) * 256)
    h = phash_hex(img)
    assert len(h) == 16 and int(h, 16) >= 0
    assert imagehash.hex_to_hash(h) - imagehash.hex_to_hash(phash_hex(base)) <= 4
