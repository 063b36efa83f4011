"""Sensitive words: Aho-Corasick (pyahocorasick) over the default lexicon plus the user's files.

Lexicon files: UTF-8, one word per line, blank lines and `#` comments ignored; a missing or
unreadable file is a `UserError` naming it. Words and captions are compared as *skeletons*: the
normalised text (NFKC, lowercase, no zero-width characters) with whitespace, punctuation and symbols
removed, so `赌 博`, `赌.博`, `赌★博`, `ＢＯＴ` and `b o t` all match. The automaton is built once
per filter (per Ray actor); a batch is scanned in one pass over its skeletons joined by newlines.
Stat column `sensitive_match` (the lexicon word as written in its file, null when clean); rows with
a match -> `sensitive` with the word as detail. A match that lies inside an ordinary phrase of
data/sensitive_allow.txt (`窗外挂` holds `外挂`, `明星私服` holds `私服`) does not count.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from filters.placeholder import DATA_DIR
from filters.text_normalize import CAPTION_NORM, normalize_array
from manifests import reasons
from manifests.config import Config
from manifests.errors import UserError

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


def read_lexicon(path: str | Path) -> list[str]:
    """Words of one user lexicon file; a missing or non-UTF-8 file is a UserError."""
    p = Path(path)
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


def _first_unallowed(matches: list[tuple[int, tuple[str, int, bool]]]) -> str | None:
    """The first lexicon word of a row's matches that no allowed phrase covers."""
    allowed = [(end - length + 1, end) for end, (_, length, ok) in matches if ok]
    for end, (word, length, ok) in matches:
        start = end - length + 1
        if not ok and not any(a <= start and end <= b for a, b in allowed):
            return word
    return None


def first_matches(automaton: ahocorasick.Automaton, skeletons: pa.Array) -> pa.Array:
    """Per row, the lexicon word of the first match (by end position), or null; one scan per batch."""
    n = len(skeletons)
    if n == 0:
        return pa.array([], pa.string())
    values = skeletons.cast(pa.large_string())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, n], pa.int64()), values),
                            pa.scalar(_ROW_BREAK, pa.large_string()))[0]
    starts = np.concatenate(([0], np.cumsum(pc.utf8_length(values).to_numpy(zero_copy_only=False) + 1)[:-1]))
    by_row: dict[int, list[tuple[int, tuple[str, int, bool]]]] = {}
    for end, value in automaton.iter(joined.as_py()):
        row = int(np.searchsorted(starts, end, side="right")) - 1
        by_row.setdefault(row, []).append((end, value))
    found: list[str | None] = [None] * n
    for row, matches in by_row.items():
        found[row] = _first_unallowed(matches)
    return pa.array(found, pa.string())


class SensitiveFilter(Filter):
    """`sensitive` on any lexicon word in the caption's skeleton."""

    name: ClassVar[str] = "sensitive"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        words = packaged_list(DEFAULT_LEXICON) if cfg.text.use_default_lexicon else []
        for path in cfg.text.sensitive_words:
            words.extend(read_lexicon(path))
        self.automaton = build_automaton(words, packaged_list(ALLOWED_PHRASES))

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        texts = pc.fill_null(batch.column(CAPTION_NORM).combine_chunks(), "")
        if self.automaton is None:
            return {SENSITIVE_MATCH: pa.nulls(len(texts), pa.string())}
        return {SENSITIVE_MATCH: first_matches(self.automaton, skeleton(texts))}

    def decide(self, batch: pa.Table) -> Verdict:
        match = batch.column(SENSITIVE_MATCH).combine_chunks()
        reason = pc.if_else(pc.is_valid(match), pa.scalar(reasons.SENSITIVE), pa.scalar(None, pa.string()))
        return Verdict(reason, match)
