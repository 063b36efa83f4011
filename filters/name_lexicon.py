"""The person-name masker's word lists (filters/data) and the shape test of a Chinese name.

- surnames.txt: single surnames, `compound:` surnames (欧阳, 上官), `compound-word:` compound
  surnames that are also everyday words (东方, 西门), `rare:` surnames that are everyday characters (路,
  解, 满), only in three-character names of common given-name characters;
- given_name_chars.txt: common given-name characters, `middle:` characters that may stand inside a
  three-character name but never last, `strong:` characters that end names and hardly any ordinary
  word, `never:` characters that no given name holds (food, places, things, function words);
- not_names.txt: brands, products, dishes, food words and places shaped like names (王老吉, 周大福);
  fictional_names.txt: characters of novels, legends, dramas and games (林黛玉, 萧炎); foreign_names.txt:
  transliterated foreign names (霍金, 罗丹); everyday_words.txt: solar terms, calendar and weather
  words jieba tags as names (谷雨, 白露, 雷阵雨): none of them is ever masked, nor a span they cover or
  cut across (郭靖 of 郭靖黄), nor one that a thing of not_names.txt starts (陈皮 of 陈皮红);
- fiction_works.txt: titles of well-known novels, dramas, films and games (平凡的世界, 三体): the names
  beside one are its characters unless people stand beside them (filters.name_sources decides that);
- known_people.txt: well-known real people, public and historical (姚明, 屈原, 易烊千玺), masked
  wherever they stand as a word (filters.privacy decides that); those of its `brand:` lines are also
  brands (李宁) and masked only with people beside them.

Two shape tests: `split(word)` (strict: every given-name character from the common list) for spans
the masker composes itself, and `split(word, loose=True)` (any Han character but the `never:` ones)
for spans that jieba itself tags as a name (its dictionary of people, or its HMM on unknown words:
杨幂, 彭于晏, 张一山), whose given names use characters far beyond the common list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_lines(name: str) -> list[str]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _words(name: str) -> frozenset[str]:
    return frozenset(w for line in read_lines(name) for w in line.split())


def _index(words: frozenset[str]) -> dict[str, tuple[int, ...]]:
    """First character -> the lengths of the words starting with it, longest first."""
    out: dict[str, set[int]] = {}
    for w in words:
        out.setdefault(w[0], set()).add(len(w))
    return {ch: tuple(sorted(lengths, reverse=True)) for ch, lengths in out.items()}


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@dataclass(frozen=True, slots=True)
class NameLexicon:
    """Surnames, given-name characters and the not-a-name list from filters/data."""

    surnames: frozenset[str]
    rare_surnames: frozenset[str]
    compound_surnames: frozenset[str]
    compound_words: frozenset[str]
    given: frozenset[str]
    middle: frozenset[str]
    given_middle: frozenset[str]
    strong: frozenset[str]
    never: frozenset[str]
    never_last: frozenset[str]
    never_alone: frozenset[str]
    not_names: frozenset[str]
    things: frozenset[str]
    fictional: frozenset[str]
    known: frozenset[str]
    brand_people: frozenset[str]
    works: re.Pattern[str]
    not_index: dict[str, tuple[int, ...]]
    known_index: dict[str, tuple[int, ...]]

    @classmethod
    def load(cls) -> NameLexicon:
        sections: dict[str, set[str]] = {}
        for name, default in (("surnames.txt", "surname"), ("given_name_chars.txt", "given")):
            for line in read_lines(name):
                kind, _, rest = line.partition(":") if ":" in line.split()[0] else (default, "", line)
                sections.setdefault(kind.strip(), set()).update(rest.split())
        given = sections.get("given", set())
        things = frozenset(read_lines("not_names.txt"))
        fictional = _words("fictional_names.txt")
        not_names = things | fictional | _words("foreign_names.txt") | _words("everyday_words.txt")
        brand_people = frozenset(w for line in read_lines("known_people.txt") if line.startswith("brand:")
                                 for w in line.removeprefix("brand:").split())
        known = frozenset(w.removeprefix("brand:") for w in _words("known_people.txt")) - {""}
        titles = {"always": [], "quoted": []}
        for line in read_lines("fiction_works.txt"):
            kind, _, rest = line.partition(":") if line.startswith("quoted:") else ("always", "", line)
            titles[kind].extend(rest.split())
        works = re.compile("|".join(sorted(titles["always"], key=len, reverse=True))
                           + "|《(?:" + "|".join(sorted(titles["quoted"], key=len, reverse=True)) + ")》")
        return cls(frozenset(sections.get("surname", set())), frozenset(sections.get("rare", set())),
                   frozenset(sections.get("compound", set()) | sections.get("compound-word", set())),
                   frozenset(sections.get("compound-word", set())),
                   frozenset(given), frozenset(sections.get("middle", set())),
                   frozenset(sections.get("middle", set()) | given),
                   frozenset(sections.get("strong", set()) & given), frozenset(sections.get("never", set())),
                   frozenset(sections.get("never-last", set())), frozenset(sections.get("never-alone", set())),
                   not_names, things, fictional, known, brand_people, works, _index(not_names), _index(known))

    def split(self, word: str, loose: bool = False) -> tuple[str, str] | None:
        """(surname, given name) when `word` has the shape of a Chinese name, else None."""
        if len(word) in (3, 4) and word[:2] in self.compound_surnames:
            surname, given = word[:2], word[2:]
        elif len(word) in (2, 3) and word[0] in self.surnames:
            surname, given = word[0], word[1:]
        elif len(word) == 3 and word[0] in self.rare_surnames:  # 路小雨, 解晓东: common given names only
            surname, given, loose = word[0], word[1:], False
        else:
            return None
        if loose:
            if any(not _is_han(ch) or ch in self.never for ch in given) or given[-1] in self.never_last:
                return None
            if len(given) == 1 and given in self.never_alone:  # 范儿, 王哥, 张总: a nickname or a title
                return None
        elif given[-1] not in self.given or any(ch not in self.given_middle for ch in given[:-1]):
            return None
        return surname, given

    def not_a_name_at(self, text: str, start: int, end: int) -> bool:
        """Whether a not-a-name entry covers the span [start, end) (王老吉 of 王老吉凉茶, 汤达人 when
        jieba proposed 汤达, 钟薛高 when it proposed 薛高), or cuts across one of its ends (郭靖 of 郭靖黄),
        or, a thing of not_names.txt, starts it and stops inside it (陈皮 of 陈皮红; but the character 孟浩
        does not stop 孟浩然); an entry inside the given name is fine (桂花 of 韩桂花)."""
        index, entries = self.not_index, self.not_names
        for at in range(max(0, start - 8), end):
            for length in index.get(text[at], ()):
                stop = at + length
                if stop > len(text) or text[at:stop] not in entries:
                    continue
                if (at <= start and stop >= end) or (at < start < stop) or (at < end < stop) \
                        or (at == start and text[at:stop] in self.things):
                    return True
        return False

    def fictional_spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) of the fictional characters in `text` (any, overlapping ones too)."""
        index, fictional = self.not_index, self.fictional
        return [(at, at + length) for at, ch in enumerate(text) for length in index.get(ch, ())
                if text[at:at + length] in fictional]

    def known_spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) of the listed well-known people in `text`, longest first at each start, left to right."""
        spans: list[tuple[int, int]] = []
        index, known, end = self.known_index, self.known, 0
        for at, ch in enumerate(text):
            if at < end or ch not in index:
                continue
            for length in index[ch]:
                if at + length <= len(text) and text[at:at + length] in known:
                    spans.append((at, at + length))
                    end = at + length
                    break
        return spans
