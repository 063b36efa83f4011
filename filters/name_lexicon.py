"""The person-name masker's word lists (filters/data) and the shape test of a Chinese name.

- surnames.txt: single surnames, `compound:` surnames (欧阳, 上官), `compound-word:` compound
  surnames that are also everyday words (东方, 西门);
- given_name_chars.txt: common given-name characters, `middle:` characters that may stand inside a
  three-character name but never last, `strong:` characters that end names and hardly any ordinary
  word, `never:` characters that no given name holds (food, places, things, function words);
- not_names.txt: brands, products, places and fictional beings shaped like names (王老吉, 周大福).

Two shape tests: `split(word)` (strict: every given-name character from the common list) for spans
the masker composes itself, and `split(word, loose=True)` (any Han character but the `never:` ones)
for spans that jieba itself tags as a name (its dictionary of people, or its HMM on unknown words:
杨幂, 彭于晏, 张一山), whose given names use characters far beyond the common list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_lines(name: str) -> list[str]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@dataclass(frozen=True, slots=True)
class NameLexicon:
    """Surnames, given-name characters and the not-a-name list from filters/data."""

    surnames: frozenset[str]
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

    @classmethod
    def load(cls) -> NameLexicon:
        sections: dict[str, set[str]] = {}
        for name, default in (("surnames.txt", "surname"), ("given_name_chars.txt", "given")):
            for line in read_lines(name):
                kind, _, rest = line.partition(":") if ":" in line.split()[0] else (default, "", line)
                sections.setdefault(kind.strip(), set()).update(rest.split())
        given = sections.get("given", set())
        return cls(frozenset(sections.get("surname", set())),
                   frozenset(sections.get("compound", set()) | sections.get("compound-word", set())),
                   frozenset(sections.get("compound-word", set())),
                   frozenset(given), frozenset(sections.get("middle", set())),
                   frozenset(sections.get("middle", set()) | given),
                   frozenset(sections.get("strong", set()) & given), frozenset(sections.get("never", set())),
                   frozenset(sections.get("never-last", set())), frozenset(sections.get("never-alone", set())),
                   frozenset(read_lines("not_names.txt")))

    def split(self, word: str, loose: bool = False) -> tuple[str, str] | None:
        """(surname, given name) when `word` has the shape of a Chinese name, else None."""
        if len(word) in (3, 4) and word[:2] in self.compound_surnames:
            surname, given = word[:2], word[2:]
        elif len(word) in (2, 3) and word[0] in self.surnames:
            surname, given = word[0], word[1:]
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
        jieba proposed 汤达, 钟薛高 when it proposed 薛高)."""
        for entry in self.not_names:
            if len(entry) < end - start:
                continue
            at = text.find(entry, max(0, end - len(entry)))
            if at != -1 and at <= start:
                return True
        return False
