"""Caption length in jieba words, the unit of Wukong's length filter (1..32 words).

jieba's dictionary takes about a second to load, so one tokenizer is built per process and reused.
A word is a jieba token that is not only whitespace (punctuation counts, as in the text filter's
budget of words a caption may use).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np


@functools.cache
def tokenizer():  # -> jieba.Tokenizer (jieba ships no type hints)
    """The process's one jieba tokenizer, its dictionary loaded once (manifests.jieba_dict)."""
    from manifests.jieba_dict import load_tokenizer

    return load_tokenizer()


def word_count(caption: str) -> int:
    return sum(1 for token in tokenizer().cut(caption) if token.strip())


def word_counts(captions: Iterable[str]) -> np.ndarray:
    """Jieba word counts of `captions`, as an int64 array."""
    return np.fromiter((word_count(c) for c in captions), dtype=np.int64)
