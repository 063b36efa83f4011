"""Empty captions, placeholders and file names: captions that say nothing about their image.

Stat column `placeholder_kind` (null = a real caption): `empty`, `no_letters` (digits, punctuation,
emoji only), `file_name` (`000.jpg`, `西湖.png`), `camera_name` (`IMG_0001`, `DSC00012`,
`微信图片_20230101`), `hash_name` (hex digests, UUIDs), `placeholder_word` (`图片`, `照片 2`,
`image`, `untitled`, listed in data/placeholders.txt). `empty` -> `empty_caption`, the others ->
`placeholder` with the kind as detail. Vectorised: a few RE2 matches over the batch, no Python per row.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from filters.text_normalize import CAPTION_NORM
from manifests import reasons
from manifests.config import Config

PLACEHOLDER_KIND = "placeholder_kind"
DATA_DIR = Path(__file__).resolve().parent / "data"

EMPTY = "empty"
NO_LETTERS = "no_letters"
FILE_NAME = "file_name"
CAMERA_NAME = "camera_name"
HASH_NAME = "hash_name"
PLACEHOLDER_WORD = "placeholder_word"

_IMAGE_EXTENSIONS = "jpe?g|jfif|jpe|png|gif|webp|bmp|tiff?|heic|heif|avif|svg|ico|psd|raw|dng|cr2|nef"
_FILE_NAME = rf"^[^/\\]{{0,255}}\.(?:{_IMAGE_EXTENSIONS})$"
# Names cameras, phones and chat apps give files: a prefix, then digits (dates, counters).
_CAMERA_PREFIXES = (
    "img", "dsc", "dscn", "dscf", "dcim", "pxl", "mvimg", "vid", "pano", "gopr",
    "imag", "wp", "sam", "p", "screenshot", "screen shot", "mmexport", "wechatimg", "qq图片", "qq截图",
    "微信图片", "微信截图", "屏幕截图", "屏幕快照", "截图", "截屏",
)
_HASH_NAME = r"^(?:[0-9a-f]{16,}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$"
_TRAILING_NUMBER = r"[\s\d_\-.#()]*"


def _re2_alternation(words: list[str]) -> str:
    """Words as one RE2 alternation, longest first (RE2 rejects Python's escaped spaces)."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join(re.escape(w).replace("\\ ", " ") for w in ordered)


def load_word_list(name: str) -> list[str]:
    """A packaged word list from filters/data (UTF-8, one per line, blank lines and # comments skipped)."""
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class PlaceholderFilter(Filter):
    """`empty_caption` and `placeholder`: the cheapest text filter, run first."""

    name: ClassVar[str] = "placeholder"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        words = [w.lower() for w in load_word_list("placeholders.txt")]
        self._word_pattern = rf"^(?:{_re2_alternation(words)}){_TRAILING_NUMBER}$"
        self._camera_pattern = rf"^(?:{_re2_alternation(list(_CAMERA_PREFIXES))})[\s_\-]*[0-9][0-9\s_\-.:()]*$"

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        text = batch.column(CAPTION_NORM).combine_chunks()
        text = pc.fill_null(text, "")
        # Lowest priority first: each later test overrides the earlier ones.
        checks = (
            (pc.match_substring_regex(text, self._word_pattern), PLACEHOLDER_WORD),
            (pc.match_substring_regex(text, _HASH_NAME), HASH_NAME),
            (pc.match_substring_regex(text, self._camera_pattern), CAMERA_NAME),
            (pc.match_substring_regex(text, _FILE_NAME), FILE_NAME),
            (pc.invert(pc.match_substring_regex(text, r"\p{L}")), NO_LETTERS),
            (pc.equal(pc.utf8_length(text), 0), EMPTY),
        )
        kind = pa.nulls(len(text), pa.string())
        for mask, label in checks:
            kind = pc.if_else(mask, pa.scalar(label, pa.string()), kind)
        return {PLACEHOLDER_KIND: kind}

    def decide(self, batch: pa.Table) -> Verdict:
        kind = batch.column(PLACEHOLDER_KIND).combine_chunks()
        is_empty = pc.equal(kind, EMPTY)
        reason = pc.if_else(
            pc.is_null(kind),
            pa.scalar(None, pa.string()),
            pc.if_else(is_empty, pa.scalar(reasons.EMPTY_CAPTION), pa.scalar(reasons.PLACEHOLDER)),
        )
        detail = pc.if_else(pc.fill_null(is_empty, False), pa.scalar(None, pa.string()), kind)
        return Verdict(reason, detail)
