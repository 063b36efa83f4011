"""Caption length in jieba words (Wukong: 1..32), not characters and not spaces.

Stat column `word_count`: jieba's accurate-mode tokens that contain a letter or a digit (spaces,
punctuation, symbols and emoji are not words). Rows outside `text.min_words`..`text.max_words` ->
`too_short` / `too_long` with the count as detail. jieba is loaded once per filter (per Ray actor);
each distinct caption of a batch is segmented once, and counts are remembered across batches (up to
`CACHE_SIZE` captions, then forgotten all at once): jieba's segmentation is this filter's whole cost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, ClassVar

import jieba
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from filters.text_normalize import CAPTION_NORM
from manifests import reasons
from manifests.config import Config

WORD_COUNT = "word_count"
CACHE_SIZE = 200_000

_WORDY = re.compile(r"[^\W_]").search  # a token counts when it holds a letter or a digit


def load_jieba() -> jieba.Tokenizer:
    """jieba's default tokenizer with its dictionary loaded (about 0.6 s, once per process)."""
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return jieba.dt


def count_words(tokenizer: jieba.Tokenizer, text: str) -> int:
    """Number of jieba words in `text` that are not whitespace, punctuation or symbols."""
    return sum(1 for token in tokenizer.cut(text) if _WORDY(token))


def per_distinct(column: pa.Array | pa.ChunkedArray, fn: Callable[[str], Any], out_type: pa.DataType) -> pa.Array:
    """`fn` applied once per distinct value of a string column, spread back to every row."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.fill_null(column, "").dictionary_encode()
    values = [fn(text) for text in encoded.dictionary.to_pylist()]
    return pa.array(values, out_type).take(encoded.indices)


class LengthFilter(Filter):
    """`too_short` / `too_long` on the number of jieba words."""

    name: ClassVar[str] = "length"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.min_words = cfg.text.min_words
        self.max_words = cfg.text.max_words
        self._tokenizer = load_jieba()
        self._cache: dict[str, int] = {}

    def _count(self, text: str) -> int:
        count = self._cache.get(text)
        if count is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            count = self._cache[text] = count_words(self._tokenizer, text)
        return count

    def word_counts(self, texts: pa.Array | pa.ChunkedArray) -> pa.Array:
        return per_distinct(texts, self._count, pa.int32())

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        return {WORD_COUNT: self.word_counts(batch.column(CAPTION_NORM))}

    def decide(self, batch: pa.Table) -> Verdict:
        count = batch.column(WORD_COUNT).combine_chunks()
        short = pc.less(count, self.min_words)
        long = pc.greater(count, self.max_words)
        none = pa.scalar(None, pa.string())
        reason = pc.if_else(
            short, pa.scalar(reasons.TOO_SHORT), pc.if_else(long, pa.scalar(reasons.TOO_LONG), none)
        )
        detail = pc.if_else(pc.is_null(reason), none, pc.cast(count, pa.string()))
        return Verdict(reason, detail)
