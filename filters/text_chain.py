"""The per-row text filters in the order they run, cheapest first, and the normaliser they all read.

    table = normalize_captions(table, cfg.text.max_chars)   # adds caption_norm after caption
    table = apply_filters(table, text_filters(cfg))         # mojibake, placeholder, length, language, sensitive

Caption frequency (`frequent_caption`) needs a count over the whole input and is not a per-row
filter; privacy masking rewrites kept captions at the end (filters.privacy).
"""

from __future__ import annotations

import pyarrow as pa

from filters import text_normalize
from filters.base import Filter
from filters.language import LanguageFilter
from filters.length import LengthFilter
from filters.mojibake import MojibakeFilter
from filters.placeholder import PlaceholderFilter
from filters.sensitive import SensitiveFilter
from manifests.config import Config

# The order of DESIGN.md and manifests/reasons.py, which decides the reason a row gets (a long
# English caption is too_long, not not_chinese; the demo web's ground truth follows it). Mojibake
# runs first: its repair rewrites `caption_norm`, which every later filter must read repaired (the
# cp1252 mojibake of 图片 is a placeholder once repaired; words and language are counted on the real
# text), and broken text rejected there never costs jieba or fastText (no demo web caption is
# mojibake, so its ground truth is unchanged). Measured cost per pair (BENCHMARKS.md): mojibake
# about 1 µs (a regular-expression pre-check; the Python detector on the ~2% of rows it flags),
# placeholder 1.3 µs (RE2 only), length 20 µs (jieba), language 4 µs (RE2, fastText on about 1 row
# in 10), sensitive 5 µs (one Aho-Corasick pass over the category lexicon). Running language before
# length would save about 2 µs/pair but would change which reason rows get.
TEXT_FILTERS: tuple[type[Filter], ...] = (MojibakeFilter, PlaceholderFilter, LengthFilter, LanguageFilter,
                                         SensitiveFilter)


def text_filters(cfg: Config) -> list[Filter]:
    """One instance of each text filter (models, dictionaries and lexicons loaded here)."""
    return [cls(cfg) for cls in TEXT_FILTERS]


def normalize_captions(table: pa.Table, max_chars: int | None = None) -> pa.Table:
    """Adds the normalised `caption_norm` column right after the raw `caption`."""
    return text_normalize.normalize_captions(table, max_chars)
