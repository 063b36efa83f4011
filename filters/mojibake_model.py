"""How plausible a string is as Chinese caption text: the model the mojibake detector compares with.

Two signals, both from jieba's bundled dictionary (nothing is downloaded):
- a character unigram cost, -log10 of the character's share of all Han characters in jieba's
  dictionary words weighted by the words' frequencies (shipped as data/han_char_freq.txt, derived by
  `python -m filters.mojibake_model --write-table`; a test holds the file equal to the derivation);
  characters of other scripts cost by class (CJK punctuation and emoji little, kana and accented
  Latin more, bopomofo, box drawing, Cyrillic, private-use and control characters most);
- the share of adjacent Han pairs that begin a jieba dictionary word (jieba's prefix dictionary).
Traditional characters are rated as their simplified counterparts (`filters.lexicon.t2s_table`, the
table the sensitive filter folds with): `臉` costs what `脸` costs, and `靚妞` is a known pair because
`靓妞` is; a traditional caption is as plausible as its simplified form. A simplified dictionary counts
traditional characters as unseen, which made correct traditional text read as noise.
Real captions score low (common characters, known pairs: `用心专注` 3.2, pairs 2/3); mojibake scores
high (`鐢ㄥ績涓撴敞`: rare characters, bopomofo, no known pair). ASCII is not scored: it survives
every wrong decode unchanged.
"""

from __future__ import annotations

import math
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from filters.length import load_jieba
from filters.lexicon import t2s_table
from filters.placeholder import DATA_DIR
from manifests.jieba_dict import dict_file as jieba_dict_path

TABLE = DATA_DIR / "han_char_freq.txt"
MIN_COUNT = 10  # characters rarer than this in jieba's dictionary are left out of the table
UNSEEN_COST = 7.5  # a Han character not in the table
# Costs of non-Han characters by class (a common Han character costs about 3, a rare one 6 to 7).
PUNCT_COST = 4.0  # CJK and general punctuation, full-width forms, common symbols (· × ° ©)
EMOJI_COST = 4.5
KANA_COST = 4.0  # kana and hangul: the text of Japanese and Korean captions, not noise
LETTER_COST = 6.0  # accented Latin: legitimate in brands, unusual in Chinese captions
OTHER_COST = 8.0  # bopomofo, Greek, Cyrillic, box drawing, private use, controls, U+FFFD ...
BIGRAM_WEIGHT = 2.0  # a score is mean cost - BIGRAM_WEIGHT * share of known Han pairs
# Rarity of a Han character (`HanModel.rarity`), by its cost (a traditional character's is its simplified
# counterpart's): RARE when the cost is at least RARE_COST (fewer than 1 in 100,000 of the dictionary's
# weighted characters), UNSEEN when it is not in the table; TRADITIONAL for a character that simplified
# Chinese does not write (outside GB2312), that the t2s table does not map, but that Big5 counts among its
# 5,401 common characters (level 1, A440-C67E): the table, made from a simplified dictionary, cannot say
# how common it is, so it is evidence of neither kind.
RARE_COST = 5.0
COMMON, RARE, UNSEEN, TRADITIONAL = "common", "rare", "unseen", "traditional"
_BIG5_LEVEL1 = range(0xA4, 0xC7)

_PUNCT_RANGES = ((0x2010, 0x205E), (0x3000, 0x303F), (0xFF01, 0xFF65), (0xFE30, 0xFE4F), (0x2460, 0x24FF),
                 (0x2150, 0x218F), (0x2600, 0x27BF), (0x2190, 0x21FF))
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0xFE0F, 0xFE0F), (0x200D, 0x200D))
_COMMON_SYMBOLS = frozenset("·×÷°©®™€£¥§¶±²³¹½¼¾µ«»¿¡")


def is_han(cp: int) -> bool:
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF


def _class_cost(ch: str) -> float:
    """Cost of a non-ASCII, non-Han character by its class."""
    cp = ord(ch)
    if ch in _COMMON_SYMBOLS or any(lo <= cp <= hi for lo, hi in _PUNCT_RANGES):
        return PUNCT_COST
    if any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES):
        return EMOJI_COST
    if 0x3040 <= cp <= 0x30FF or 0xAC00 <= cp <= 0xD7AF:
        return KANA_COST
    if (0xC0 <= cp <= 0x24F or 0x1E00 <= cp <= 0x1EFF) and unicodedata.category(ch).startswith("L"):
        return LETTER_COST
    return OTHER_COST


def derive_table(dict_path: Path) -> list[tuple[str, int]]:
    """(character, weighted count) from jieba's dict.txt, most frequent first, count >= MIN_COUNT."""
    counts: Counter[str] = Counter()
    with open(dict_path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            for ch in word:
                if is_han(ord(ch)):
                    counts[ch] += freq
    return sorted(((ch, n) for ch, n in counts.items() if n >= MIN_COUNT), key=lambda kv: (-kv[1], kv[0]))


def write_table(path: Path = TABLE) -> None:
    from manifests.jieba_dict import jieba

    rows = derive_table(jieba_dict_path())
    header = (f"# Han character frequencies: each character's count in jieba {jieba.__version__}'s bundled\n"
              f"# dict.txt, summed over the dictionary words that contain it, weighted by the words' frequencies;\n"
              f"# count >= {MIN_COUNT}. Written by `python -m filters.mojibake_model --write-table`.\n"
              "# UTF-8, character<TAB>count.\n")
    path.write_text(header + "".join(f"{ch}\t{n}\n" for ch, n in rows), encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Plausibility:
    """`score` = mean cost of the scored characters - BIGRAM_WEIGHT * share of known Han pairs."""

    score: float
    scored: int  # characters scored (non-ASCII, U+FFFD excluded)
    han: int


class HanModel:
    """Character costs from the shipped table; known pairs from jieba's prefix dictionary; traditional
    characters folded to simplified ones for both."""

    def __init__(self, table: Path = TABLE) -> None:
        counts: dict[str, int] = {}
        for line in table.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                ch, n = line.split("\t")
                counts[ch] = int(n)
        total = sum(counts.values())
        cost = {ch: min(UNSEEN_COST, -math.log10(n / total)) for ch, n in counts.items()}
        self._fold = {chr(cp): simp for cp, simp in t2s_table().items()}
        for trad, simp in self._fold.items():  # as common as the simplified form (or its own count, if more)
            if simp in cost:
                cost[trad] = min(cost[simp], cost.get(trad, UNSEEN_COST))
        self._cost = cost
        self._words = load_jieba().FREQ
        self._chars: dict[str, tuple[float, bool, bool, str]] = {}
        self._rarity: dict[str, str] = {}

    def _char(self, ch: str) -> tuple[float, bool, bool, str]:
        """(cost, is Han, is noise, simplified form) of a non-ASCII character, remembered."""
        got = self._chars.get(ch)
        if got is None:
            han = is_han(ord(ch))
            cost = self._cost.get(ch, UNSEEN_COST) if han else _class_cost(ch)
            noise = not han and ch != "\ufffd" and cost >= OTHER_COST
            got = self._chars[ch] = (cost, han, noise, self._fold.get(ch, ch))
        return got

    def cost(self, ch: str) -> float:
        return self._char(ch)[0]

    def simplified(self, text: str) -> str:
        """`text` with its traditional characters folded to simplified ones."""
        return "".join(self._fold.get(ch, ch) for ch in text)

    def begins_word(self, text: str) -> bool:
        """True when `text` (or its simplified form) begins a jieba dictionary word (or is one)."""
        return text in self._words or self.simplified(text) in self._words

    def is_word(self, text: str) -> bool:
        """True when `text` (or its simplified form) is a jieba dictionary word itself, not only the
        beginning of one."""
        words = self._words
        return bool(words.get(text) or words.get(self.simplified(text)))

    def rarity(self, ch: str) -> str:
        """COMMON, RARE, UNSEEN or TRADITIONAL (see RARE_COST) of a Han character, remembered."""
        got = self._rarity.get(ch)
        if got is None:
            got = self._rarity[ch] = _rarity(ch, self._cost.get(ch), ch in self._fold)
        return got

    def has_noise(self, text: str) -> bool:
        """True when `text` holds a character of the noise class (bopomofo, box drawing, Cyrillic ...);
        U+FFFD does not count."""
        return any(ch >= "\x80" and self._char(ch)[2] for ch in text)

    def judge(self, text: str) -> Plausibility:
        """Plausibility of the non-ASCII characters of `text` (U+FFFD is skipped: it says nothing)."""
        total, scored, han, pairs, known = 0.0, 0, 0, 0, 0
        words, chars, learn = self._words, self._chars, self._char
        prev_han = prev_simp = ""
        for ch in text:
            if ch < "\x80" or ch == "\ufffd":
                prev_han = ""
                continue
            cost, is_han_char, _, simp = chars.get(ch) or learn(ch)
            scored += 1
            total += cost
            if is_han_char:
                han += 1
                if prev_han:
                    pairs += 1
                    known += (prev_han + ch) in words or (prev_simp + simp) in words
                prev_han, prev_simp = ch, simp
            else:
                prev_han = ""
        if not scored:
            return Plausibility(0.0, 0, 0)
        share = known / pairs if pairs else 0.0
        return Plausibility(total / scored - BIGRAM_WEIGHT * share, scored, han)


def _rarity(ch: str, cost: float | None, folded: bool) -> str:
    try:
        ch.encode("gb2312")
        simplified = True
    except UnicodeEncodeError:
        simplified = False
    if not simplified and not folded:
        try:
            if ch.encode("big5")[0] in _BIG5_LEVEL1:
                return TRADITIONAL
        except UnicodeEncodeError:
            pass
    if cost is None:
        return UNSEEN
    return RARE if cost >= RARE_COST else COMMON


def main(argv: list[str]) -> int:
    if argv != ["--write-table"]:
        print("usage: python -m filters.mojibake_model --write-table", file=sys.stderr)
        return 2
    write_table()
    print(f"wrote {TABLE.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
