"""jieba's tokens of a caption for the person-name masker (filters.privacy), with the cuts jieba gets
wrong around names mended: a conjunction or a verb glued to a name is split off (`陈/nr 平和/a` ->
陈平 和, `周婷织/nr 的` -> 周婷 织, `许/m 强开/v 的` -> 许强 开), so is the first character of a word
glued to an unknown name (`何穗街/nr 拍` -> 何穗 街拍), a role glued to a surname (`主播林/n 小雨` ->
主播 林 小雨), and a wish glued to the name after it (`祝张伟/nr` -> 祝 张伟: the rest of the caption is
cut again)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filters.name_context import Token
from filters.name_lexicon import NameLexicon
from filters.name_rules import (
    COMMON_PREFIX_FREQ,
    CONJUNCTIONS,
    NAME_TAGS,
    ROLES_BEFORE,
    SEGMENT_BREAKS,
    UNKNOWN_NAME_TAGS,
    VERBS_AFTER_A_NAME,
    WISH_HEADS,
    WISHES,
    ZI_ENDINGS,
)

if TYPE_CHECKING:
    import jieba.posseg


class NameTokenizer:
    """Cuts captions with jieba's POS tagger (`pos`) and its dictionary (`freq`, `tags`)."""

    def __init__(self, lex: NameLexicon, pos: jieba.posseg.POSTokenizer, freq: dict[str, int],
                 tags: dict[str, str]) -> None:
        self.lex = lex
        self._pos = pos
        self._freq = freq
        self._tags = tags
        # verbs that end no given name of the list (not 学 of 王志学)
        self._verbs = VERBS_AFTER_A_NAME - lex.given

    def tokens(self, text: str, offset: int = 0) -> list[Token]:
        """The tokens of `text`, their starts counted from `offset`."""
        tokens: list[Token] = []
        start = offset
        lex = self.lex
        for pair in self._pos.cut(text):
            word, flag = pair.word, pair.flag
            prev = tokens[-1] if tokens else None
            at_segment_start = start == offset or text[start - offset - 1] in SEGMENT_BREAKS
            lone_surname = prev is not None and (
                (len(prev.word) == 1 and prev.word in lex.surnames) or prev.word in lex.compound_surnames)
            after_surname = lone_surname and prev is not None and (
                prev.flag in NAME_TAGS or prev.start == offset or text[prev.start - offset - 1] in SEGMENT_BREAKS)
            unknown_name = flag in UNKNOWN_NAME_TAGS and not self._freq.get(word)
            name_and = len(word) == 3 and flag in NAME_TAGS and not self._freq.get(word)  # 陈平和/nr
            given_and = len(word) == 2 and after_surname  # 陈/nr 平和/a
            swallowed = word[-1:] in CONJUNCTIONS and (name_and or given_and)
            if word.startswith(WISH_HEADS) and len(word) >= 2 and at_segment_start and unknown_name and (
                    word[1] in lex.surnames or word[1:3] in lex.compound_surnames
                    or text.startswith(WISHES, start - offset + len(word))):
                # 祝张伟/nr 新婚快乐, 祝徐子/nr 涵/v, 祝小明/nr 生日快乐: the wish, then the rest cut again
                head = len(next(h for h in WISH_HEADS if word.startswith(h)))
                tokens.append(Token(word[:head], "v", start))
                return tokens + self.tokens(text[start - offset + head:], start + head)
            if swallowed and word[-2] in lex.given:
                if given_and and prev is not None:
                    prev.flag = "nr"
                tokens.append(Token(word[:-1], "nr", start))
                tokens.append(Token(word[-1], "c", start + len(word) - 1))
            elif (len(word) == 3 and unknown_name and word[2] in self._verbs and word[0] in lex.surnames
                  and word[1] in lex.given):
                # 周婷织/nr 的, 孙浩养/nr 的: a two-character name and the verb after it
                tokens.append(Token(word[:2], "nr", start))
                tokens.append(Token(word[2], "v", start + 2))
            elif (len(word) == 2 and prev is not None and len(prev.word) == 1 and prev.word in lex.surnames
                  and (prev.start == offset or text[prev.start - offset - 1] in SEGMENT_BREAKS)
                  and word[0] in lex.given and word[1] in self._verbs
                  and text.startswith("的", start - offset + 2)):
                # 许/m 强开/v 的, 曾/d 强开/v 的: a surname, a given-name character, then the verb of `X开的`
                tokens[-1] = Token(prev.word + word[0], "nr", prev.start)
                tokens.append(Token(word[1], "v", start + 1))
            elif (len(word) >= 3 and not self._freq.get(word) and word[-1] in lex.surnames
                  and word[:-1] in ROLES_BEFORE):
                # 主播林/n 小雨/nr: a role and the surname of the name after it
                tokens.append(Token(word[:-1], "n", start))
                tokens.append(Token(word[-1], "nr", start + len(word) - 1))
            elif (prev is not None and len(prev.word) == 2 and prev.word[1] == "子" and prev.word[0] in lex.surnames
                  and word[0] in ZI_ENDINGS and len(word) <= 2 and not (len(word) == 2 and self._freq.get(word))
                  and (self._tags.get(prev.word) in NAME_TAGS or self._freq.get(prev.word, 0) < COMMON_PREFIX_FREQ)):
                # 王子/nr 涵/vg, 李子/nr 涵说/v: a given name 子涵 that jieba cut as a word and a character
                tokens[-1] = Token(prev.word + word[0], "nr", prev.start)
                if len(word) == 2:
                    tokens.append(Token(word[1], self._tags.get(word[1], "v"), start + 1))
            elif (prev is not None and len(prev.word) == 3 and prev.flag in NAME_TAGS and not self._freq.get(prev.word)
                  and self._freq.get(prev.word[2] + word, 0) >= COMMON_PREFIX_FREQ):
                # 何穗街/nr 拍/v: jieba glued the first character of a word to an unknown name (何穗 街拍)
                tokens[-1] = Token(prev.word[:2], "nr", prev.start)
                tokens.append(Token(prev.word[2] + word, self._tags.get(prev.word[2] + word, "n"), prev.start + 2))
            else:
                tokens.append(Token(word, flag, start))
            start += len(word)
        return tokens
