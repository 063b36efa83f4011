"""Sensitive words: Aho-Corasick (pyahocorasick) over the default lexicon plus the user's files.

Lexicon files: UTF-8, one word per line, blank lines and `#` comments ignored; a missing or
unreadable file is a `UserError` naming it. Words and captions are compared as *skeletons*: the
normalised text (NFKC, lowercase, no zero-width characters) with whitespace, punctuation and symbols
removed, so `赌 博`, `赌.博`, `赌★博`, `ＢＯＴ` and `b o t` all match. The automaton is built once
per filter (per Ray actor); a batch is scanned in one pass over its skeletons joined by newlines.
Stat column `sensitive_match` (the lexicon word as written in its file, null when clean); rows with
a match -> `sensitive` with the word as detail. A match does not count when it lies inside an
ordinary phrase of data/sensitive_allow.txt (`空调外挂机` holds `外挂`, `明星私服` holds `私服`),
or when it crosses words of the caption (see `BoundaryCheck`: `配色 情侣款` holds `色情`).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import ClassVar

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from filters.length import load_jieba
from filters.placeholder import DATA_DIR
from filters.text_normalize import CAPTION_NORM, normalize_array
from manifests import reasons
from manifests.config import Config, StorageConfig
from manifests.errors import UserError
from manifests.storage import as_path

SENSITIVE_MATCH = "sensitive_match"
DEFAULT_LEXICON = "sensitive_words.txt"
ALLOWED_PHRASES = "sensitive_allow.txt"

# Removed from both sides before matching: separators an evader puts between characters.
_SEPARATORS = r"[\s\p{P}\p{S}\p{Cc}\p{Cf}]+"
_ROW_BREAK = "\n"  # never part of a skeleton, so no match spans two rows


def skeleton(texts: pa.Array) -> pa.Array:
    """Normalised text without whitespace, punctuation and symbols."""
    return pc.replace_substring_regex(texts, _SEPARATORS, "")


def parse_lexicon(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def read_lexicon(path: str | Path, storage: StorageConfig | None = None) -> list[str]:
    """Words of one user lexicon file (a local path or an object-storage URL, which every node of a
    cluster can read); a missing or non-UTF-8 file is a UserError."""
    p = as_path(str(path), storage)
    if not p.is_file():
        raise UserError(f"sensitive-word lexicon not found: {p}")
    try:
        return parse_lexicon(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"sensitive-word lexicon is not UTF-8: {p}") from None


def packaged_list(name: str) -> list[str]:
    return parse_lexicon((DATA_DIR / name).read_text(encoding="utf-8"))


def build_automaton(words: list[str], allowed: list[str] = ()) -> ahocorasick.Automaton | None:
    """Automaton over the skeletons of `words` and `allowed` phrases.

    Each key's value is `(word as written, key length, is_allowed)`.
    """
    if not words:
        return None
    entries = [(w, False) for w in words] + [(a, True) for a in allowed]
    keys = skeleton(normalize_array(pa.array([e[0] for e in entries], pa.string()))).to_pylist()
    automaton = ahocorasick.Automaton()
    for key, (word, is_allowed) in zip(keys, entries, strict=True):
        if key and (is_allowed or key not in automaton):
            automaton.add_word(key, (word, len(key), is_allowed))
    automaton.make_automaton()
    return automaton


Match = tuple[int, tuple[str, int, bool]]  # (end offset in the skeleton, automaton value)


def _is_separator(ch: str) -> bool:
    """Python twin of `_SEPARATORS` (whitespace, punctuation, symbols, control and format)."""
    return ch.isspace() or unicodedata.category(ch)[0] in "PS" or unicodedata.category(ch) in ("Cc", "Cf")


class BoundaryCheck:
    """Whether a skeleton match starts or ends on a jieba word boundary of the caption.

    Removing separators lets `赌 博` match, but also joins words: `配色 情侣款` becomes `配色情侣款`,
    which holds `色情`, and `窗外挂着` holds `外挂`. A match that both starts and ends inside words
    of the caption's segmentation (配色|情侣, 窗外|挂着) crosses words and does not count; one that
    starts or ends on a boundary (`网上|赌博`, `赌| |博`, `赌博机`) does. Only rows with a match
    are segmented.
    """

    def __init__(self) -> None:
        self._tokenizer = load_jieba()

    def __call__(self, text: str, skel_start: int, skel_end: int) -> bool:
        kept = [i for i, ch in enumerate(text) if not _is_separator(ch)]
        if skel_end >= len(kept):  # the two skeletons disagree: keep the match rather than guess
            return True
        start, end = kept[skel_start], kept[skel_end] + 1
        starts, ends, pos = set(), set(), 0
        for token in self._tokenizer.cut(text):
            starts.add(pos)
            pos += len(token)
            ends.add(pos)
        return start in starts or end in ends


def _first_valid(matches: list[Match], text: str, boundary: BoundaryCheck) -> str | None:
    """The first lexicon word of a row's matches that no allowed phrase covers and crosses no word."""
    allowed = [(end - length + 1, end) for end, (_, length, ok) in matches if ok]
    for end, (word, length, ok) in matches:
        start = end - length + 1
        if ok or any(a <= start and end <= b for a, b in allowed):
            continue
        if boundary(text, start, end):
            return word
    return None


def first_matches(automaton: ahocorasick.Automaton, texts: pa.Array, boundary: BoundaryCheck) -> pa.Array:
    """Per row, the lexicon word of the first valid match (by end position), or null.

    One automaton scan over the whole batch's skeletons joined by newlines.
    """
    n = len(texts)
    if n == 0:
        return pa.array([], pa.string())
    values = skeleton(texts).cast(pa.large_string())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, n], pa.int64()), values),
                            pa.scalar(_ROW_BREAK, pa.large_string()))[0]
    starts = np.concatenate(([0], np.cumsum(pc.utf8_length(values).to_numpy(zero_copy_only=False) + 1)[:-1]))
    by_row: dict[int, list[Match]] = {}
    for end, value in automaton.iter(joined.as_py()):
        row = int(np.searchsorted(starts, end, side="right")) - 1
        by_row.setdefault(row, []).append((end - int(starts[row]), value))
    found: list[str | None] = [None] * n
    for row, matches in by_row.items():
        found[row] = _first_valid(matches, texts[row].as_py(), boundary)
    return pa.array(found, pa.string())


class SensitiveFilter(Filter):
    """`sensitive` on any lexicon word in the caption's skeleton."""

    name: ClassVar[str] = "sensitive"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        words = packaged_list(DEFAULT_LEXICON) if cfg.text.use_default_lexicon else []
        for path in cfg.text.sensitive_words:
            words.extend(read_lexicon(path, cfg.storage))
        self.automaton = build_automaton(words, packaged_list(ALLOWED_PHRASES))
        self.boundary = BoundaryCheck()

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        texts = pc.fill_null(batch.column(CAPTION_NORM).combine_chunks(), "")
        if self.automaton is None:
            return {SENSITIVE_MATCH: pa.nulls(len(texts), pa.string())}
        return {SENSITIVE_MATCH: first_matches(self.automaton, texts, self.boundary)}

    def decide(self, batch: pa.Table) -> Verdict:
        match = batch.column(SENSITIVE_MATCH).combine_chunks()
        reason = pc.if_else(pc.is_valid(match), pa.scalar(reasons.SENSITIVE), pa.scalar(None, pa.string()))
        return Verdict(reason, match)
