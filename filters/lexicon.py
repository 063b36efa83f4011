"""The packaged sensitive-word lexicon: one file per category, rules with context, allowed phrases.

`data/sensitive/<category>.txt` (UTF-8, `#` comments) holds one entry a line:
  `百家乐`                      a term: a caption that holds it is rejected;
  `刻章 + @selling | 篆刻章`     a rule: the term counts only when the caption also holds one of the
                                context words after `+` (`|` between them, `@name` for a named set of
                                `data/sensitive_context.txt`);
  `狙击枪 + @selling - @toy`   a rule with a veto: it does not count when the caption also holds one
                                of the words after `-` (a toy gun's caption);
  `sb - nike | dunk`           a term with a veto and no context word needed;
  `~卖淫`                       a term that an education context clears even in a category it does
                                not clear (the crime words of pornography, which news reports use);
  `!安全账户 + 请将 - 骗局`     a term that no education context clears, even in a category that is
                                cleared (a scam's own script names the police: `我是民警，你涉嫌洗钱`);
                                its vetoes are the way to keep warnings about it.
`data/sensitive_context.txt` holds the named context sets (`[selling]`, then one word a line) and the
`[education]` set: words that mark a caption as prevention, education or law-enforcement news
(防范, 禁毒, 反诈, 警示教育 ...). In the categories of `EDUCATION_CLEARS` such a word in the caption
clears the match (`洗钱 防范 宣传`, `传销 警示教育 展板` are kept); insults and pornography are
never cleared. `data/sensitive_allow.txt` lists ordinary phrases that contain a term (`大麻哈鱼`,
`空调外挂机`): a match inside one of them does not count. Categories in `OPTIONAL` (political) are
off unless `text.sensitive_categories` names them. User lexicon files are plain words, category `user`.
`data/t2s_chars.txt` maps traditional characters to simplified ones (derived from OpenCC's
TSCharacters): captions and words are folded with it before matching, so the files hold simplified
words only and `百家樂`, `汽槍`, `澀情` match `百家乐`, `汽枪`, `涩情`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from manifests.errors import UserError

DATA_DIR = Path(__file__).resolve().parent / "data"
LEXICON_DIR = DATA_DIR / "sensitive"
CONTEXT_FILE = DATA_DIR / "sensitive_context.txt"
ALLOW_FILE = DATA_DIR / "sensitive_allow.txt"
T2S_FILE = DATA_DIR / "t2s_chars.txt"
USER = "user"
EDUCATION = "education"
OPTIONAL = frozenset({"political"})
# Categories whose matches an education or prevention context clears. Spam for these never calls itself
# 禁毒, 反诈 or 警示; captions of posters, exhibitions and news about them do. Pornography and insults stay
# rejected whatever surrounds them (a guarded phrase such as 抵制色情 is in the allow list instead).
EDUCATION_CLEARS = frozenset({"gambling", "drugs", "weapons", "fake_documents", "fraud"})


@dataclass(frozen=True, slots=True)
class Term:
    """One lexicon entry: the word as written, its category, the context words it needs (none = always)."""

    word: str
    category: str
    context: tuple[str, ...] = ()
    clearable: bool = False
    veto: tuple[str, ...] = ()  # context words that stop a rule (玩具, 软弹 for a gun's name)

    @property
    def label(self) -> str:
        """What a rejection's detail says: `category:word`."""
        return f"{self.category}:{self.word}"


def parse_lexicon(text: str) -> list[str]:
    """Lines of a lexicon file without blanks and `#` comments, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _read(path: Path) -> list[str]:
    return parse_lexicon(path.read_text(encoding="utf-8"))


def allowed_phrases() -> list[str]:
    return _read(ALLOW_FILE)


@functools.cache
def t2s_table() -> dict[int, str]:
    """t2s_chars.txt (`繁<TAB>简`, one character each) as a `str.translate` table."""
    table: dict[int, str] = {}
    for line in _read(T2S_FILE):
        trad, _, simp = line.partition("\t")
        if len(trad) != 1 or len(simp) != 1:
            raise ValueError(f"{T2S_FILE.name}: {line!r} is not one character, a tab and one character")
        table[ord(trad)] = simp
    return table


@functools.cache
def context_sets() -> dict[str, tuple[str, ...]]:
    """The named word sets of sensitive_context.txt (`[name]` headers, one word a line; `@name` in a set
    includes another set)."""
    sets: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _read(CONTEXT_FILE):
        if line.startswith("[") and line.endswith("]"):
            current = sets.setdefault(line[1:-1].strip(), [])
        elif current is None:
            raise ValueError(f"{CONTEXT_FILE.name}: {line!r} before the first [set] header")
        else:
            current.append(line)

    def expand(name: str, seen: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        for word in sets[name]:
            ref = word[1:]
            if word.startswith("@"):
                if ref not in sets or ref in seen:
                    raise ValueError(f"{CONTEXT_FILE.name}: [{name}] names {word!r}, an unknown or circular set")
                out.extend(expand(ref, (*seen, ref)))
            else:
                out.append(word)
        return out

    return {name: tuple(dict.fromkeys(expand(name, (name,)))) for name in sets}


def education_words() -> tuple[str, ...]:
    return context_sets()[EDUCATION]


def _words(alternatives: str, line: str, category: str) -> list[str]:
    """`a | @set | b` -> the words (sets expanded)."""
    words: list[str] = []
    for alt in (a.strip() for a in alternatives.split("|")):
        if alt.startswith("@"):
            if alt[1:] not in context_sets():
                raise ValueError(f"{category}.txt: unknown context set {alt!r} in {line!r}")
            words.extend(context_sets()[alt[1:]])
        elif alt:
            words.append(alt)
    if not words:
        raise ValueError(f"{category}.txt: {line!r} has an empty list of words")
    return list(dict.fromkeys(words))


def parse_entry(line: str, category: str) -> Term:
    """`term`, `~term`, `!term`, `term + ctx | @set`, `term + ctx | @set - veto | @set` or `term - veto | @set`
    -> Term (sets expanded)."""
    body, minus, unwanted = line.partition(" - ")
    head, plus, wanted = body.partition(" + ")
    mark = head.strip()[:1]
    clearable = mark != "!" and (category in EDUCATION_CLEARS or mark == "~")
    word = head.strip().removeprefix("~").removeprefix("!").strip()
    if not word or "+" in word:
        raise ValueError(f"{category}.txt: {line!r} has no term (write `term + context`, spaces around +)")
    context = tuple(_words(wanted, line, category)) if plus else ()
    veto = tuple(_words(unwanted, line, category)) if minus else ()
    return Term(word, category, context, clearable, veto)


def categories() -> list[str]:
    """Every packaged category (the file names of data/sensitive/), sorted."""
    return sorted(p.stem for p in LEXICON_DIR.glob("*.txt"))


def default_categories() -> list[str]:
    return [c for c in categories() if c not in OPTIONAL]


def check_categories(names: list[str]) -> None:
    """UserError naming the first category that has no lexicon file."""
    known = categories()
    for name in names:
        if name not in known:
            raise UserError(f"unknown sensitive-word category in text.sensitive_categories: {name!r} "
                            f"(known: {', '.join(known)})")


@functools.cache
def category_terms(category: str) -> tuple[Term, ...]:
    return tuple(parse_entry(line, category) for line in _read(LEXICON_DIR / f"{category}.txt"))


def packaged_terms(names: list[str]) -> list[Term]:
    """The terms of the named categories, in the order named (a UserError for an unknown name)."""
    check_categories(names)
    return [term for name in dict.fromkeys(names) for term in category_terms(name)]


def user_terms(words: list[str]) -> list[Term]:
    """A user's words: plain terms of category `user`, never cleared by context."""
    return [Term(w, USER) for w in words]
