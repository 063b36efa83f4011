"""jieba's POS tagger for the name masker, with the HMM (Viterbi) cut of each run of characters that
jieba's dictionary does not hold remembered.

The Viterbi search is pure Python and was half of the name masker's time, while captions repeat the
same few runs (`实拍`, `组图`, `旁的`: 1,249 distinct runs in 9,417 searches of the 50,000-pair demo
web's kept captions). The cut is a function of the run alone (the HMM tables are fixed), so a
remembered cut is the cut jieba would make again: the tokens are identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from manifests.jieba_dict import load_posseg

posseg = load_posseg()  # with the cached word-tag table (a plain `import jieba.posseg` parses dict.txt)

MAX_REMEMBERED = 100_000  # runs; the memory is emptied when full (a run is a few characters)


class MemoPOSTokenizer(posseg.POSTokenizer):  # type: ignore[misc,name-defined]
    """`posseg.POSTokenizer` sharing `base`'s dictionary and tag table, its HMM cuts remembered."""

    def __init__(self, base: Any, limit: int = MAX_REMEMBERED) -> None:
        # Not POSTokenizer.__init__: that reads dict.txt again for the tag table `base` already holds.
        self.tokenizer = base.tokenizer
        self.word_tag_tab = base.word_tag_tab
        self._cuts: dict[str, tuple[Any, ...]] = {}
        self._limit = limit

    def _POSTokenizer__cut(self, sentence: str) -> Iterator[Any]:  # jieba's private HMM cut of one run
        cut = self._cuts.get(sentence)
        if cut is None:
            if len(self._cuts) >= self._limit:
                self._cuts.clear()
            cut = self._cuts[sentence] = tuple(super()._POSTokenizer__cut(sentence))  # type: ignore[misc]
        yield from cut
