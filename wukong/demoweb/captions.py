"""Caption factory: natural Chinese captions from many templates, and every kind of bad caption.

Each method returns one caption string (plus what the ground truth records: a person's name, the
sensitive word). Natural Chinese captions are unique after NFKC, so none of them becomes frequent by
accident: frequency is planted on purpose (boilerplate, the repeat-5/repeat-6 captions).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import re
import string
import unicodedata
from collections.abc import Callable, Sequence

from filters.lexicon import default_categories, education_words, packaged_terms
from wukong.demoweb import vocab

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}
_FULLWIDTH[" "] = "\u3000"
_LATIN_OR_DIGIT = re.compile(r"[0-9A-Za-z]")


@functools.cache
def load_lexicon() -> tuple[str, ...]:
    """Every term of the packaged lexicon's default categories, rules' terms included (natural captions
    hold none of them)."""
    return tuple(dict.fromkeys(t.word for t in packaged_terms(default_categories())))


@functools.cache
def plantable_words() -> tuple[str, ...]:
    """The terms a planted `sensitive` caption may carry: the filter rejects them wherever they stand.

    Plain terms only (a rule's term needs a context word), simplified Chinese (GB2312: the forum is
    served in GBK), no Latin letters or digits (a short caption with them may read as not Chinese),
    and none that holds an education word (which would clear it).
    """
    education = education_words()
    words = []
    for term in packaged_terms(default_categories()):
        word = term.word
        try:
            word.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if not term.context and not _LATIN_OR_DIGIT.search(word) and not any(e in word for e in education):
            words.append(word)
    return tuple(dict.fromkeys(words))


def _pick(r: random.Random, items: Sequence[str]) -> str:
    return items[int(r.random() * len(items))]


# Template field -> the word list it draws from. `model` also sets `brand` and `mitem` (an accessory
# of its kind), `landmark` sets `lcity`, `festival` sets `thing`.
POOLS: dict[str, Sequence[str]] = {
    "item": vocab.PRODUCTS, "attr": vocab.PRODUCT_ATTRS, "attr2": vocab.PRODUCT_ATTRS, "other": vocab.BRANDS,
    "dish": vocab.DISHES, "city": vocab.CITIES, "meal": vocab.MEALS, "scene": vocab.SCENES,
    "season": vocab.SEASONS, "time": vocab.TIMES, "adj": vocab.ADJS,
    "animal": vocab.ANIMALS, "animal2": vocab.ANIMALS, "color": vocab.COLORS, "spot": vocab.SPOTS,
    "style": vocab.STYLES, "room": vocab.ROOMS, "tip": vocab.TIPS, "furniture": vocab.FURNITURE,
    "car_brand": vocab.CAR_BRANDS, "car_model": vocab.CAR_MODELS, "flower": vocab.FLOWERS, "plant": vocab.PLANTS,
    "event": vocab.EVENTS, "pspot": vocab.PERSON_SPOTS,
    "place": vocab.TW_PLACES, "tw_scene": vocab.TW_SCENES, "food": vocab.TW_FOODS,
}
# (weight, templates) of the natural Chinese caption families.
FAMILIES: tuple[tuple[int, Sequence[str]], ...] = (
    (25, vocab.PRODUCT_TEMPLATES), (20, vocab.DISH_TEMPLATES), (25, vocab.PLACE_TEMPLATES),
    (10, vocab.ANIMAL_TEMPLATES), (7, vocab.HOME_TEMPLATES), (5, vocab.CAR_TEMPLATES),
    (5, vocab.PLANT_TEMPLATES), (3, vocab.EVENT_TEMPLATES),
)
_FAMILY_CUM = tuple(itertools.accumulate(w for w, _ in FAMILIES))


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name))


class CaptionFactory:
    """Draws captions from one seeded `random.Random`; remembers natural captions to keep them unique."""

    def __init__(self, r: random.Random, lexicon: Sequence[str] | None = None) -> None:
        self.r = r
        self.lexicon = tuple(lexicon) if lexicon is not None else load_lexicon()
        self.plantable = tuple(lexicon) if lexicon is not None else plantable_words()
        self._used: set[str] = set()
        self._sensitive = re.compile("|".join(re.escape(w) for w in self.lexicon)) if self.lexicon else None

    def fill(self, template: str, **given: str) -> str:
        """`template` with each field drawn from its pool (only the fields it uses)."""
        r = self.r
        values: dict[str, object] = dict(given)
        for name in _fields(template):
            if name in values:
                continue
            if name in ("model", "brand", "mitem"):
                values["brand"], values["model"], kind = vocab.MODELS[int(r.random() * len(vocab.MODELS))]
                values["mitem"] = _pick(r, vocab.MODEL_ITEMS[kind])
            elif name in ("landmark", "lcity"):
                values["lcity"], values["landmark"] = vocab.LANDMARKS[int(r.random() * len(vocab.LANDMARKS))]
            elif name in ("festival", "thing"):
                values["festival"], values["thing"] = vocab.FESTIVALS[int(r.random() * len(vocab.FESTIVALS))]
            elif name == "year":
                values[name] = r.randrange(2015, 2025)
            elif name in ("n", "step"):
                values[name] = r.randrange(2, 9)
            else:
                values[name] = _pick(r, POOLS[name])
        return template.format(**values)

    # --- unique Chinese captions -------------------------------------------------------------
    def _unique(self, draw: Callable[[], str], traditional: bool = False) -> str:
        """A fresh caption: a second draw gets a prefix or suffix, the sixth also a number, until unused.

        Traditional captions (Big5 pages) are only ever numbered in traditional characters: the
        simplified prefixes and suffixes cannot be encoded in Big5.
        """
        r = self.r
        for attempt in range(1000):
            text = draw()
            if traditional:
                if attempt >= 1:
                    text = f"{text} 第{r.randrange(2, 100_000)}張"
            elif attempt >= 1 and r.random() < 0.5:
                text = self.fill(_pick(r, vocab.PREFIXES)) + text
            elif attempt >= 1:
                text += _pick(r, vocab.SUFFIXES)
            if attempt >= 5 and not traditional:
                text = f"{text} 图{r.randrange(2, 10_000)}"
            key = unicodedata.normalize("NFKC", text)
            if key not in self._used and not self._has_sensitive(key):
                self._used.add(key)
                return text
        raise RuntimeError("caption space exhausted")  # pragma: no cover - numbered captions never run out

    def _has_sensitive(self, text: str) -> bool:
        return self._sensitive is not None and self._sensitive.search(text) is not None

    def _natural_draw(self) -> str:
        r = self.r
        k = bisect.bisect_right(_FAMILY_CUM, r.random() * _FAMILY_CUM[-1])
        templates = FAMILIES[k][1]
        text = self.fill(_pick(r, templates))
        if templates is vocab.PRODUCT_TEMPLATES and r.random() < 0.03:
            text = "".join(_FULLWIDTH.get(c, c) for c in text)  # full-width Latin, as some shops type it
        return text

    def natural(self) -> str:
        """A natural Chinese caption (2..12 jieba words), unique after NFKC."""
        return self._unique(self._natural_draw)

    def person(self) -> tuple[str, str]:
        """A caption naming a person with a common Chinese name, and that name."""
        name = _pick(self.r, vocab.SURNAMES) + _pick(self.r, vocab.GIVEN_NAMES)
        return self._unique(lambda: self.fill(_pick(self.r, vocab.PERSON_TEMPLATES), name=name)), name

    def traditional(self) -> str:
        """A traditional-Chinese caption (Big5-encodable), unique."""
        return self._unique(lambda: self.fill(_pick(self.r, vocab.TW_TEMPLATES)), traditional=True)

    def gbk_only(self, index: int) -> str:
        """A caption with a GBK-only character (not in GB2312)."""
        base = vocab.GBK_ONLY_CAPTIONS[index % len(vocab.GBK_ONLY_CAPTIONS)]
        return self._unique(lambda: base if index < len(vocab.GBK_ONLY_CAPTIONS) else f"{base} 第{index}份")

    # --- captions the filters must reject ----------------------------------------------------
    def english(self) -> str:
        r = self.r
        return f"{_pick(r, vocab.EN_ADJS)} {_pick(r, vocab.EN_NOUNS)} {_pick(r, vocab.EN_PLACES)}"

    def japanese(self) -> str:
        r = self.r
        return _pick(r, vocab.JA_TEMPLATES).format(
            place=_pick(r, vocab.JA_PLACES), thing=_pick(r, vocab.JA_THINGS), thing2=_pick(r, vocab.JA_THINGS),
            spot=_pick(r, vocab.JA_SPOTS), food=_pick(r, vocab.JA_FOODS))

    def placeholder(self) -> str:
        r = self.r
        n = r.randrange(1, 9999)
        return _pick(r, (
            _pick(r, vocab.PLACEHOLDER_WORDS), f"IMG_{n:04d}.jpg", f"DSC{n:05d}", f"{n % 1000:03d}.jpg",
            f"IMG_2023{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}_{r.randrange(0, 240000):06d}.jpg",
            f"DSC_{n:04d}.JPG",
        ))

    def sensitive(self) -> tuple[str, str]:
        """A caption with exactly one lexicon word, and that word."""
        r = self.r
        for _ in range(50):
            word = _pick(r, self.plantable)
            text = _pick(r, vocab.SENSITIVE_TEMPLATES).format(w=word)
            if [w for w in self.lexicon if w in text] == [word]:
                return text, word
        raise RuntimeError("no sensitive caption with a single lexicon word")  # pragma: no cover

    def long(self) -> str:
        """A paragraph far over 32 jieba words (over 50, by construction about 80)."""
        r = self.r
        parts: list[str] = []
        while sum(len(p) for p in parts) < 160:
            parts.append(self.fill(_pick(r, vocab.LONG_CLAUSES)))
        return "，".join(parts) + "。"

    def boilerplate(self, index: int) -> str:
        return vocab.BOILERPLATE[index % len(vocab.BOILERPLATE)]
