"""Caption length in jieba words (Wukong: 1..32), not characters and not spaces.

Stat column `word_count`: jieba's accurate-mode tokens (HMM on, as `jieba.cut` gives them) that
contain a letter or a digit (spaces, punctuation, symbols and emoji are not words). Rows outside
`text.min_words`..`text.max_words` -> `too_short` / `too_long` with the count as detail.

Segmentation is this filter's whole cost, so `WordCounter` counts without building tokens: jieba's
own algorithm (prefix-dictionary DAG, best route by log frequency, HMM on unknown runs of single
characters) with the DAG and the route computed in one backward pass. It gives exactly
`count_words`'s numbers (a test holds them equal) about 35% faster. jieba is loaded once per
filter (per Ray actor); each distinct caption of a batch is counted once, and counts are remembered
across batches (up to `CACHE_SIZE` captions, then forgotten all at once).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from filters.text_normalize import CAPTION_NORM
from manifests import reasons
from manifests.config import Config
from manifests.jieba_dict import jieba, load_tokenizer

WORD_COUNT = "word_count"
CACHE_SIZE = 200_000

_WORDY = re.compile(r"[^\W_]").search  # a token counts when it holds a letter or a digit


def load_jieba() -> jieba.Tokenizer:
    """jieba's default tokenizer with its dictionary loaded (about 0.25 CPU-s from wukong's cache,
    once per process: manifests.jieba_dict)."""
    return load_tokenizer()


def count_words(tokenizer: jieba.Tokenizer, text: str) -> int:
    """Number of jieba words in `text` that are not whitespace, punctuation or symbols (reference)."""
    return sum(1 for token in tokenizer.cut(text) if _WORDY(token))


class WordCounter:
    """`count_words` without materialising tokens: jieba 0.42's accurate mode, counted."""

    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        self._freq = tokenizer.FREQ
        self._logtotal = math.log(tokenizer.total)

    def __call__(self, text: str) -> int:
        total = 0
        for block in jieba.re_han_default.split(text):
            if not block:
                continue
            if jieba.re_han_default.match(block):
                total += self._block(block)
            else:  # jieba yields these characters one by one (whitespace runs as one token)
                total += sum(1 for ch in block if _WORDY(ch))
        return total

    def _block(self, s: str) -> int:
        get, logtotal, log = self._freq.get, self._logtotal, math.log
        n = len(s)
        nxt = [0] * (n + 1)
        acc = [0.0] * (n + 1)
        for idx in range(n - 1, -1, -1):
            # jieba.Tokenizer.get_DAG + calc for position idx: the best word starting here; ties go
            # to the longer word; a position that starts no dictionary word is a word of its own.
            best, best_end, found = log(1) - logtotal + acc[idx + 1], idx, False
            i, f = idx, get(s[idx])
            while f is not None:
                if f:
                    v = log(f) - logtotal + acc[i + 1]
                    if not found or v >= best:
                        best, best_end, found = v, i, True
                i += 1
                if i >= n:
                    break
                f = get(s[idx:i + 1])
            acc[idx], nxt[idx] = best, best_end
        # jieba.Tokenizer.__cut_DAG: runs of single characters go through the HMM when unknown
        count, x, buf = 0, 0, ""
        while x < n:
            y = nxt[x] + 1
            if y - x == 1:
                buf += s[x]
            else:
                if buf:
                    count += self._single_run(buf)
                    buf = ""
                count += 1 if _WORDY(s[x:y]) else 0
            x = y
        if buf:
            count += self._single_run(buf)
        return count

    def _single_run(self, buf: str) -> int:
        if len(buf) == 1:
            return 1 if _WORDY(buf) else 0
        if not self._freq.get(buf):
            return sum(1 for token in jieba.finalseg.cut(buf) if _WORDY(token))
        return sum(1 for ch in buf if _WORDY(ch))


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
        self._counter = WordCounter(load_jieba())
        self._cache: dict[str, int] = {}

    def _count(self, text: str) -> int:
        count = self._cache.get(text)
        if count is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            count = self._cache[text] = self._counter(text)
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
