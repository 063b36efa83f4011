"""Sensitive words: Aho-Corasick (pyahocorasick) over the packaged lexicon's categories plus the user's files.

Words and captions are compared as *skeletons*: the normalised text (NFKC, lowercase, no zero-width
characters) with whitespace, punctuation and symbols removed, traditional characters folded to
simplified ones (filters/data/t2s_chars.txt) and tone-marked Latin letters to plain ones, so `赌 博`, `赌.博`,
`赌★博`, `賭博`, `ＢＯＴ`, `b o t` and `sè情` all match, in every category; the horse emoji stands for 马
(`你🐴死了`), the dog and pig ones for 狗 and 猪, `×` for x (`傻×`), the pistol for 枪, the pill for 药,
the snowflake and the ice cube for 冰 (`仿真🔫`, `迷💊`, `溜❄`), the old man for 爷 (`👴是你爹`). The
lexicon (filters/lexicon.py) has one file per category, rules that need a context word (`刻章 + @selling`),
allowed phrases (a match inside `大麻哈鱼` or `空调外挂机` does not count) and education words that clear
some categories (`洗钱 防范 宣传`; not one inside the term itself, `您涉嫌洗钱`, nor inside a longer context
word, `查处` in `不查处方`). A match that crosses words of the caption does not count either (see
`BoundaryCheck`: `配色 情侣款` holds `色情`). An insult quoted from a work's line or aimed at the writer does not
count (filters/sensitive_guards.py).

One automaton over the terms and allowed phrases scans a whole batch in one pass (skeletons joined
by newlines); a second one, over the context and education words, scans only the rows with a term.
Both are built once per filter (per Ray actor). Stat column `sensitive_match`: `category:term` of the
leftmost match that counts (`gambling:百家乐`, `user:禁词` for a user's word), null when clean; rows with
one -> `sensitive` with the same `category:term` as detail. Rows the lexicon keeps then go, in one pass per batch,
through the learned second stage (filters/sensitive_model.py, `text.sensitive_model`), which writes
`category:model:0.97` when its best enabled category reaches `text.sensitive_model_threshold`.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import ClassVar

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict, scatter_positions
from filters.length import load_jieba
from filters.lexicon import (
    EDUCATION_CLEARS,
    Term,
    allowed_phrases,
    categories,
    check_categories,
    education_words,
    packaged_terms,
    parse_lexicon,
    t2s_table,
    user_terms,
)
from filters.sensitive_guards import INSULTS, quoted_line, quotes_a_title, self_deprecating, self_directed
from filters.sensitive_model import MODEL_TAG, SensitiveModel
from filters.text_normalize import CAPTION_NORM, normalize_array
from manifests import reasons
from manifests.config import Config, StorageConfig
from manifests.storage import as_path
from manifests.text_files import read_text_file

SENSITIVE_MATCH = "sensitive_match"
MODEL_MIN_CHARS = 3

# Symbols that stand for a character in abuse (`你🐴死了`, `草你🐎`: 马 for 妈; `🐶东西`, `傻×`) and in the street
# trade (`仿真🔫`, `迷💊`, `溜❄`): kept in the skeleton and folded to it.
SYMBOL_WORDS = {
    "\N{HORSE FACE}": "马",
    "\N{HORSE}": "马",
    "\N{DOG FACE}": "狗",
    "\N{DOG}": "狗",
    "\N{PIG FACE}": "猪",
    "\N{PIG}": "猪",
    "\N{MULTIPLICATION SIGN}": "x",
    "\N{HEAVY MULTIPLICATION X}": "x",
    "\N{PISTOL}": "枪",  # 仿真🔫, 手🔫
    "\N{PILL}": "药",  # 迷💊, 春💊
    "\N{SNOWFLAKE}": "冰",  # 溜❄, ❄毒
    "\N{ICE CUBE}": "冰",
    "\N{OLDER MAN}": "爷",  # 👴是你爹
}
# Variant characters folded like traditional ones: 帐 (the t2s form of 帳, but 账 in 账户, 走账, 对公账户: 帳戶
# folds to 帐户, and simplified writers use 帐户 too). No lexicon word holds 帐 in its own sense (帐篷). Then the
# variant and look-alike characters that spam writes for a lexicon word's own (蔴古, 氷毒, 冰毐, 楼鳯, 鎗支): each is
# rare in its own right (毐 is the name of one man of the Qin court), so folding it costs no everyday text.
VARIANTS = {"帐": "账", "蔴": "麻", "氷": "冰", "毐": "毒", "鳯": "凤", "鎗": "枪"}
# Removed from both sides before matching: separators an evader puts between characters (every symbol but those),
# and the variation selectors that follow an emoji (U+FE0F after ❄ or ❤ is a mark, not a format character: left in,
# it split `❤️约❤️全城` and `❄️💊`).
_VARIATION_SELECTORS = "\uFE00-\uFE0F"
_SEPARATORS = r"(?:[\s\p{P}\p{Cc}\p{Cf}" + _VARIATION_SELECTORS + r"]|[^\P{S}" + "".join(SYMBOL_WORDS) + "])+"
_ROW_BREAK = "\n"  # never part of a skeleton, so no match spans two rows


def skeleton(texts: pa.Array) -> pa.Array:
    """Normalised text without whitespace, punctuation and symbols."""
    return pc.replace_substring_regex(texts, _SEPARATORS, "")


def _plain_latin(ch: str) -> str | None:
    """The ASCII letter under a Latin letter with tone marks or accents (è, ǎ, ü -> e, a, u), else None."""
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base != ch and base.isascii() and base.isalpha() else None


@functools.cache
def fold_table() -> dict[int, str]:
    """What `fold` maps, one character for one: traditional -> simplified (t2s_chars.txt), Latin letters with
    tone marks or accents -> plain ones (`sè情` is `se情`, pinyin written with its tones), SYMBOL_WORDS, VARIANTS."""
    table = dict(t2s_table())
    for cp in range(0xC0, 0x250):
        plain = _plain_latin(chr(cp))
        if plain:
            table[cp] = plain.lower()
    table.update({ord(k): v for k, v in SYMBOL_WORDS.items()})
    table.update({ord(k): v for k, v in VARIANTS.items()})
    table.update({trad: VARIANTS.get(simp, simp) for trad, simp in table.items()})
    return table


@functools.cache
def _fold_lookup() -> np.ndarray:
    """Code point -> folded code point, for every code point up to the table's highest."""
    table = fold_table()
    lookup = np.arange(max(table) + 1, dtype=np.uint32)
    for trad, simp in table.items():
        lookup[trad] = ord(simp)
    return lookup


def fold(text: str) -> str:
    """Traditional characters as simplified ones, tone-marked Latin letters as plain ones, one for one (offsets
    are kept; see `fold_table`). A long text (a batch's
    joined skeletons) goes through numpy on its UTF-32 code points: str.translate with a table of 3,000
    characters costs about 1 µs per caption, this 0.1 µs."""
    if len(text) < 512:
        return text.translate(fold_table())
    lookup = _fold_lookup()
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    folded = np.where(points < len(lookup), lookup[np.minimum(points, len(lookup) - 1)], points)
    return folded.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")


def folded_skeletons(texts: pa.Array) -> list[str]:
    """The folded skeleton of each (normalised) caption of a batch: one regex pass and one fold of the whole batch,
    what the lexicon's automaton and the model both read."""
    if len(texts) == 0:
        return []
    values = skeleton(texts).cast(pa.large_string())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values),
                            pa.scalar(_ROW_BREAK, pa.large_string()))[0].as_py()
    return fold(joined).split(_ROW_BREAK)


def skeletons(words: list[str]) -> list[str]:
    """The skeleton of each word as the captions' skeletons are made (normalised and folded)."""
    return [fold(w) for w in skeleton(normalize_array(pa.array(words, pa.string()))).to_pylist()]


def read_lexicon(path: str | Path, storage: StorageConfig | None = None) -> list[str]:
    """Words of one user lexicon file (a local path or an object-storage URL, which every node of a
    cluster can read); a missing or non-UTF-8 file is a UserError."""
    text, _ = read_text_file(as_path(str(path), storage), "sensitive-word lexicon")
    return parse_lexicon(text)


def _is_separator(ch: str) -> bool:
    """Python twin of `_SEPARATORS` (whitespace, punctuation, symbols but SYMBOL_WORDS, control and format,
    variation selectors)."""
    if ch in SYMBOL_WORDS:
        return False
    if "\uFE00" <= ch <= "\uFE0F" or ch.isspace():
        return True
    return unicodedata.category(ch)[0] in "PS" or unicodedata.category(ch) in ("Cc", "Cf")



class BoundaryCheck:
    """Whether a skeleton match starts or ends on a jieba word boundary of the caption.

    Removing separators lets `赌 博` match, but also joins words: `配色 情侣款` becomes `配色情侣款`,
    which holds `色情`, and `窗外挂着` holds `外挂`. A match that both starts and ends inside words
    of the caption's segmentation (配色|情侣, 窗外|挂着) crosses words and does not count; one that
    starts or ends on a boundary (`网上|赌博`, `赌| |博`, `赌博机`) does. Only rows with a match
    are segmented, once each. A match that begins or ends with a Latin letter (or a digit) glued to
    another one in the caption is inside a Latin word and never counts: `sb` in `usb`, `av` in
    `java`, `k粉` in `ok粉丝`.
    """

    def __init__(self) -> None:
        self._tokenizer = load_jieba()
        self._text: str | None = None
        self._kept: list[int] = []
        self._starts: set[int] = set()
        self._ends: set[int] = set()

    def _segment(self, text: str) -> None:
        self._text = text
        self._kept = [i for i, ch in enumerate(text) if not _is_separator(ch)]
        self._starts, self._ends, pos = set(), set(), 0
        for token in self._tokenizer.cut(text):
            self._starts.add(pos)
            pos += len(token)
            self._ends.add(pos)

    def __call__(self, text: str, skel_start: int, skel_end: int) -> bool:
        if text != self._text:
            self._segment(text)
        if skel_end >= len(self._kept):  # the two skeletons disagree: keep the match rather than guess
            return True
        first, last = self._kept[skel_start], self._kept[skel_end]
        if _glued(text, first - 1, first) or _glued(text, last + 1, last):
            return False
        return first in self._starts or last + 1 in self._ends

    def span(self, text: str, skel_start: int, skel_end: int) -> tuple[int, int]:
        """The caption offsets (first, last) of a skeleton match; (-1, -1) where the two skeletons disagree."""
        if text != self._text:
            self._segment(text)
        if skel_end >= len(self._kept):
            return -1, -1
        return self._kept[skel_start], self._kept[skel_end]


def _glued(text: str, outside: int, inside: int) -> bool:
    """Whether the character at `outside` continues the Latin word or number that `inside` is part of."""
    if not 0 <= outside < len(text):
        return False
    a, b = text[outside], text[inside]
    return a.isascii() and b.isascii() and ((a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit()))


Hit = tuple[int, tuple[int, tuple[Term, ...]]]  # (end offset in the row's skeleton, (key length, terms))


class Matcher:
    """The terms, allowed phrases, context and education words of one filter, as two automata."""

    def __init__(self, terms: list[Term], allowed: list[str], education: tuple[str, ...]) -> None:
        every = list(dict.fromkeys([t.word for t in terms] + [w for t in terms for w in (*t.context, *t.veto)]
                                   + list(allowed) + list(education)))
        skel = dict(zip(every, skeletons(every), strict=True))  # one normalisation pass for every word
        by_key: dict[str, list[Term]] = {}
        for term in terms:
            if skel[term.word]:
                by_key.setdefault(skel[term.word], []).append(term)
        self.terms = ahocorasick.Automaton()
        for key, found in by_key.items():
            self.terms.add_word(key, (len(key), tuple(found)))
        for key in (skel[a] for a in allowed):
            if key:
                self.terms.add_word(key, (len(key), ()))  # an allowed phrase: no terms
        self.terms.make_automaton()
        self._needs: dict[Term, frozenset[str]] = {}
        self._vetoes: dict[Term, frozenset[str]] = {}
        words: dict[str, bool] = {}
        for term in terms:
            if term.context or term.veto:
                # a term is never its own context (无码 is an adult word for 免费在线观看, not for itself,
                # and 黄色 is not a context of 黄色视频): context words inside the term do not count
                own = skel[term.word]
                self._needs[term] = frozenset(skel[w] for w in term.context if skel[w] and skel[w] not in own)
                self._vetoes[term] = frozenset(skel[w] for w in term.veto if skel[w])
                words.update(dict.fromkeys(self._needs[term] | self._vetoes[term], False))
        words.update(dict.fromkeys((skel[e] for e in education if skel[e]), True))
        self.context = ahocorasick.Automaton()
        for key, is_education in words.items():
            self.context.add_word(key, (key, is_education))
        if words:
            self.context.make_automaton()

    def context_of(self, skel: str) -> tuple[set[str], list[tuple[int, int]]]:
        """The context words in a row's skeleton, and the spans (first, last offset) of its education words (those
        not inside a longer context word)."""
        found: set[str] = set()
        education: list[tuple[int, int]] = []
        plain: list[tuple[int, int]] = []
        if len(self.context):
            for end, (key, is_education) in self.context.iter(skel):
                found.add(key)
                (education if is_education else plain).append((end - len(key) + 1, end))
        # an education word inside a longer context word is part of that word (查处 in 不查处方)
        education = [(a, b) for a, b in education
                     if not any(c <= a and b <= d and d - c > b - a for c, d in plain)]
        return found, education

    def first_label(self, hits: list[Hit], text: str, skel: str, boundary: BoundaryCheck) -> str | None:
        """`category:word` of the leftmost (then longest) hit that no allowed phrase covers, that crosses no
        word and has its context."""
        allowed = [(end - length + 1, end) for end, (length, terms) in hits if not terms]
        context: tuple[set[str], list[tuple[int, int]]] | None = None
        for end, (length, terms) in sorted(hits, key=lambda h: (h[0] - h[1][0], -h[1][0])):  # leftmost, longest
            start = end - length + 1
            if not terms or any(a <= start and end <= b for a, b in allowed):
                continue
            found = None
            for term in terms:  # the context first: one cheap scan, while the boundary check segments the row
                if term.context or term.veto or term.clearable:
                    if context is None:
                        context = self.context_of(skel)
                    if term.context and context[0].isdisjoint(self._needs[term]):
                        continue
                    if term.veto and not context[0].isdisjoint(self._vetoes[term]):
                        continue
                    # an education word inside the term is part of it (您涉嫌洗钱 is the scam's script, not news)
                    if term.clearable and any(not (start <= a and b <= end) for a, b in context[1]):
                        continue
                found = term
                break
            if found is not None and boundary(text, start, end):
                # an insult quoted from a film's line, or aimed at the writer (sensitive_guards), is safe
                if found.category == INSULTS and (self_directed(skel[:start])
                                                  or quoted_line(text, *boundary.span(text, start, end))):
                    continue
                return found.label
        return None

    def first_matches(self, texts: pa.Array, skels: list[str], boundary: BoundaryCheck) -> pa.Array:
        """Per row, `category:word` of the leftmost match that counts (the longest of those), or null.

        One automaton scan over the whole batch's folded skeletons (`folded_skeletons`) joined by newlines.
        """
        n = len(texts)
        if n == 0:
            return pa.array([], pa.string())
        joined = _ROW_BREAK.join(skels)
        lengths = np.fromiter(map(len, skels), dtype=np.int64, count=n)
        starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
        by_row: dict[int, list[Hit]] = {}
        for end, value in self.terms.iter(joined):
            row = int(np.searchsorted(starts, end, side="right")) - 1
            by_row.setdefault(row, []).append((end - int(starts[row]), value))
        found: list[str | None] = [None] * n
        for row, hits in by_row.items():
            if any(terms for _, (_, terms) in hits):
                found[row] = self.first_label(hits, fold(texts[row].as_py()), skels[row], boundary)
        return pa.array(found, pa.string())


class SensitiveFilter(Filter):
    """`sensitive` on any lexicon term (of the selected categories, or the user's) in the caption's skeleton."""

    name: ClassVar[str] = "sensitive"

    def __init__(self, cfg: Config, model: SensitiveModel | None = None) -> None:
        super().__init__(cfg)
        check_categories(cfg.text.sensitive_categories)
        terms = packaged_terms(cfg.text.sensitive_categories) if cfg.text.use_default_lexicon else []
        for path in cfg.text.sensitive_words:
            terms.extend(user_terms(read_lexicon(path, cfg.storage)))
        self.matcher = Matcher(terms, allowed_phrases(), education_words()) if terms else None
        self.boundary = BoundaryCheck()
        # the model's categories: the packaged ones selected (a category switched off is never the model's verdict)
        self.model_categories = frozenset(cfg.text.sensitive_categories) & frozenset(categories())
        # the model is part of the packaged lexicon's stage: off with it (`use_default_lexicon: false`)
        on = cfg.text.sensitive_model and cfg.text.use_default_lexicon and bool(self.model_categories)
        self.model = (model or SensitiveModel()) if on else None  # `model`: another file than the packaged one
        self.threshold = cfg.text.sensitive_model_threshold
        self.education = ahocorasick.Automaton()  # education words clear the model as they clear the lexicon
        for word in skeletons(list(education_words())):
            if word:
                self.education.add_word(word, word)
        self.education.make_automaton()

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        texts = pc.fill_null(batch.column(CAPTION_NORM).combine_chunks(), "")
        if self.matcher is None and self.model is None:
            return {SENSITIVE_MATCH: pa.nulls(len(texts), pa.string())}
        skels = folded_skeletons(texts)
        if self.matcher is None:
            match = pa.nulls(len(texts), pa.string())
        else:
            match = self.matcher.first_matches(texts, skels, self.boundary)
        if self.model is not None:
            match = self.model_verdicts(texts, skels, match)
        return {SENSITIVE_MATCH: match}

    def model_best(self, texts: pa.Array, skels: list[str], floor: float = 0.5) -> list[tuple[str, float]]:
        """The model's best enabled category and probability per (normalised) caption; 0.0 for a skeleton of fewer
        than MODEL_MIN_CHARS distinct characters (no offer: `一个`, `你们`, `长长长…` scored high alone), and where an
        education word clears a category the lexicon lets education clear and the probability reached `floor`; so
        does an insult where the caption insults its writer or quotes a work (sensitive_guards)."""
        assert self.model is not None
        best = self.model.best(skels, self.model_categories)
        out = []
        for i, ((c, p), s) in enumerate(zip(best, skels, strict=True)):
            cleared = len(set(s)) < MODEL_MIN_CHARS or (p >= floor and (
                (c in EDUCATION_CLEARS and next(self.education.iter(s), None) is not None)
                or (c == INSULTS and (self_deprecating(s) or quotes_a_title(texts[i].as_py() or "")))))
            out.append((c, 0.0) if cleared else (c, p))  # the caption itself only for an insult the model found
        return out

    def model_verdicts(self, texts: pa.Array, skels: list[str], match: pa.Array) -> pa.Array:
        """`match` with the model's details (`category:model:0.999`) filled in on the rows the lexicon kept."""
        kept = pc.indices_nonzero(pc.is_null(match))
        if len(kept) == 0:
            return match
        rows = kept.to_numpy()
        best = self.model_best(texts.take(kept), [skels[i] for i in rows], self.threshold)
        found = pa.array([f"{c}:{MODEL_TAG}:{p:.3f}" if p >= self.threshold else None for c, p in best], pa.string())
        return pc.coalesce(match, found.take(scatter_positions(rows, len(texts))))

    def decide(self, batch: pa.Table) -> Verdict:
        match = batch.column(SENSITIVE_MATCH).combine_chunks()
        reason = pc.if_else(pc.is_valid(match), pa.scalar(reasons.SENSITIVE), pa.scalar(None, pa.string()))
        return Verdict(reason, match)
