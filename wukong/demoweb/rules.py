"""The per-row text rules the ground truth applies, in the filter stage's order.

normalise (NFKC, HTML entities, whitespace) -> empty_caption -> placeholder -> too_short / too_long
(jieba words, punctuation not counted) -> not_chinese (no Han character, or any kana) -> sensitive
(a lexicon word; detail = the first one in the caption). The filter stage's first text filter,
mojibake, has no rule here: the demo web's pages are decoded with their declared charsets, and none
of its captions is mojibake (a generated web of 20,000 pairs was checked).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Sequence

from manifests import reasons

PLACEHOLDER_WORDS = frozenset({
    "图片", "照片", "图像", "配图", "插图", "无标题", "未命名", "点击查看大图",
    "image", "img", "photo", "picture", "pic", "untitled",
})
_FILE_NAME = re.compile(r"^[\w\-. ()]+\.(jpe?g|png|gif|webp|bmp|tiff?|heic)$", re.IGNORECASE)
_CAMERA_NAME = re.compile(r"^(img|dsc|dscn|dcim|pxl|mvimg|photo|screenshot)[_\- ]?\d[\d_\-]*$", re.IGNORECASE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")


def normalize_caption(text: str) -> str:
    return " ".join(html.unescape(unicodedata.normalize("NFKC", text)).split())


def is_placeholder(norm: str) -> bool:
    return (norm.lower() in PLACEHOLDER_WORDS or bool(_FILE_NAME.match(norm))
            or bool(_CAMERA_NAME.match(norm)))


def _is_word(token: str) -> bool:
    return any(not unicodedata.category(ch).startswith(("P", "S", "Z", "C")) for ch in token)


@functools.cache
def _tokenizer():  # -> jieba.Tokenizer (jieba ships no type hints)
    """jieba's tokenizer, its dictionary loaded once (manifests.jieba_dict: from the cache, quietly)."""
    from manifests.jieba_dict import load_tokenizer

    return load_tokenizer()


def jieba_words(norm: str) -> list[str]:
    """jieba's tokens of the caption, without whitespace and punctuation."""
    return [t for t in _tokenizer().lcut(norm) if _is_word(t)]


def is_chinese(norm: str) -> bool:
    """Chinese = has Han characters and no kana (Latin brand and model words are fine)."""
    return bool(_HAN.search(norm)) and not _KANA.search(norm)


class TextRules:
    """Decides one caption: (reason, detail) or None (kept by the text filters)."""

    def __init__(self, lexicon: Sequence[str], min_words: int, max_words: int) -> None:
        self.lexicon = frozenset(w for w in lexicon if w)
        self.longest = max(map(len, self.lexicon), default=0)
        self.min_words = min_words
        self.max_words = max_words

    def first_sensitive(self, norm: str) -> str | None:
        """The lexicon word that starts first in the caption; of those starting there, the longest. Each
        substring up to the longest word's length is looked up (not each word searched for: 4,000 of them)."""
        for start in range(len(norm)):
            for end in range(min(len(norm), start + self.longest), start, -1):
                if norm[start:end] in self.lexicon:
                    return norm[start:end]
        return None

    def verdict(self, norm: str) -> tuple[str, str | None] | None:
        if not norm:
            return reasons.EMPTY_CAPTION, None
        if is_placeholder(norm):
            return reasons.PLACEHOLDER, norm
        n = len(jieba_words(norm))
        if n < self.min_words:
            return reasons.TOO_SHORT, f"{n} words"
        if n > self.max_words:
            return reasons.TOO_LONG, f"{n} words"
        if not is_chinese(norm):
            return reasons.NOT_CHINESE, "kana" if _KANA.search(norm) else "no Han characters"
        word = self.first_sensitive(norm)
        if word is not None:
            return reasons.SENSITIVE, word
        return None
