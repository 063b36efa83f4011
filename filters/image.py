"""The image filter: full decode (truncated -> corrupt_image), pixel cap (-> decompression_bomb),
`image.min_side` (-> too_small), aspect within [1/max, max] (-> bad_aspect). An image whose header
already fails the size checks is not decoded (`image_inspect.inspect_image`): too_small or bad_aspect,
even when its body is also truncated.

Stats: width, height (after EXIF rotation), mime, sha256, phash (16 hex chars), the edit-robust view
hashes (`views`, 32 bytes: image_views.py) that near dedup compares, the tone word that confirms
its cropped-view matches (`tone`, uint64: image_tone.py), plus the decode verdict, all
computed by one decode per image (`image_inspect`).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from filters.base import Filter, Verdict
from filters.image_inspect import inspect_image, size_reason
from manifests import reasons

IMAGE_COLUMN = "image"


class ImageFilter(Filter):
    name: ClassVar[str] = "image"

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        cfg = self.cfg.image
        infos = [
            inspect_image(data, cfg.max_pixels, cfg.min_side, cfg.max_aspect_ratio) if data is not None else None
            for data in batch.column(IMAGE_COLUMN).to_pylist()
        ]
        return {
            "width": pa.array([i.width if i else None for i in infos], pa.int32()),
            "height": pa.array([i.height if i else None for i in infos], pa.int32()),
            "mime": pa.array([i.mime if i else None for i in infos], pa.string()),
            "sha256": pa.array([i.sha256 if i else None for i in infos], pa.string()),
            "phash": pa.array([i.phash if i else None for i in infos], pa.string()),
            "views": pa.array([i.views if i else None for i in infos], pa.binary()),
            "tone": pa.array([i.tone if i else None for i in infos], pa.uint64()),
            "decode_error": pa.array([i.reason if i else reasons.EMPTY_BODY for i in infos], pa.string()),
            "decode_detail": pa.array([i.detail if i else None for i in infos], pa.string()),
        }

    def decide(self, batch: pa.Table) -> Verdict:
        min_side = self.cfg.image.min_side
        max_ratio = self.cfg.image.max_aspect_ratio
        out_reason: list[str | None] = []
        out_detail: list[str | None] = []
        for err, detail, w, h in zip(
            batch.column("decode_error").to_pylist(),
            batch.column("decode_detail").to_pylist(),
            batch.column("width").to_pylist(),
            batch.column("height").to_pylist(),
            strict=True,
        ):
            if err is not None:
                out_reason.append(err)
                out_detail.append(detail)
            elif (why := size_reason(w, h, min_side, max_ratio)) is not None:
                out_reason.append(why)
                out_detail.append(f"{w}x{h}")
            else:
                out_reason.append(None)
                out_detail.append(None)
        return Verdict(pa.array(out_reason, pa.string()), pa.array(out_detail, pa.string()))
