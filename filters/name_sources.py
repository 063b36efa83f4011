"""Two sources of person names besides jieba's proposals (filters.privacy): a surname and two characters
before kinship or a title, where jieba cut the name apart (`吴国/ns 强家/n 的`), and the listed
well-known people (data/known_people.txt), masked where the name stands as a word of its own."""

from __future__ import annotations

from filters.name_context import (
    Token,
    cut_on_the_left,
    glued_to_a_product,
    people_beside,
    place_after,
    role_before,
)
from filters.name_lexicon import NameLexicon
from filters.name_rules import (
    COMMON_PREFIX_FREQ,
    COMMON_SUFFIX_FREQ,
    HONORIFICS,
    KIN_AFTER,
    NAME_TAGS,
    PLACE_STEM_FREQ,
    PLACE_STEM_SUFFIXES,
    SEGMENT_BREAKS,
    TITLES_AFTER,
    VERBS_AFTER_A_NAME,
    WISH_HEADS,
)

# A head (surname and first given character) this frequent in jieba's dictionary is a word, not a name's
# start: before kinship only very common words count (黄金 of 黄金花老人 does not), before 的 fewer.
KIN_HEAD_FREQ = 5000
AFTER_A_NAME = SEGMENT_BREAKS | {"的"}
# What may stand between two characters of the same work (孙少安和贺秀莲, `楚云飞 赵刚`).
JOINERS = frozenset(" \t、,，/&和与跟及")
# jieba's tags of places, organisations and named things: a token of one of them that holds a listed
# name and one character more is that place or thing (陕甘宁/ns, 马龙县/ns).
PLACE_TAGS = frozenset({"ns", "nt", "nz", "s"})


def _joined(text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Spans `a` and `b` are apart by one to three joining characters only (`和`, `、`, ` `, ` & `)."""
    gap = text[b[1]:a[0]] if b[1] <= a[0] else text[a[1]:b[0]] if a[1] <= b[0] else ""
    return 0 < len(gap) <= 3 and all(ch in JOINERS for ch in gap)


class OtherSources:
    """Kinship-marked names and listed people, judged with jieba's dictionary (`freq`, `tags`)."""

    def __init__(self, lex: NameLexicon, freq: dict[str, int], tags: dict[str, str]) -> None:
        self.lex = lex
        self._freq = freq
        self._tags = tags
        self._not_a_title = HONORIFICS | TITLES_AFTER | frozenset(KIN_AFTER)
        self._verbs = VERBS_AFTER_A_NAME - lex.given

    def kin_names(self, text: str, tokens: list[Token]) -> list[tuple[int, int]]:
        """A surname and two characters before kinship or a title (`吴国/ns 强家/n 的`, `曹/nr 金花/n 奶奶`),
        or before 的 at the start of a segment (`韩/j 桂花/nr 的`): jieba cut the name apart."""
        lex, spans = self.lex, []
        for i, tok in enumerate(tokens):
            start, end = tok.start, tok.start + 3
            if (tok.word[0] not in lex.surnames and tok.word[0] not in lex.rare_surnames) or end > len(text) \
                    or cut_on_the_left(tokens, i) or text[end - 1] in self._verbs \
                    or (tok.word in WISH_HEADS and tok.flag == "v"):  # 李梅开的: 李梅 开; 祝/v 刘芳 老师
                continue
            kin = text.startswith(KIN_AFTER, end)
            first_of_segment = start == 0 or text[start - 1] in SEGMENT_BREAKS or role_before(tokens, i)
            if not (kin or (text.startswith("的", end) and first_of_segment)):
                continue
            word, head, given = text[start:end], text[start:start + 2], text[start + 1:end]
            # a word of jieba's dictionary is jieba's own proposal, judged by the masker's rules (胡萝卜/nr)
            if (self._freq.get(word) or lex.split(word, loose=True) is None or given in self._not_a_title
                    or word[0] == word[1]  # 谢谢/孙 老师: no name repeats its surname
                    or given[0] in lex.never_last or lex.not_a_name_at(text, start, end)
                    or self._freq.get(head, 0) >= (KIN_HEAD_FREQ if kin else COMMON_PREFIX_FREQ)):
                continue
            # before 的 alone, a common thing after a character jieba reads as a verb or the like is that
            # thing (戴/v 口罩 的), where 刘/zg 建设 的 is a name
            if (not kin and tok.flag[:1] in "vpdcur" and self._freq.get(given, 0) >= COMMON_SUFFIX_FREQ
                    and self._tags.get(given) not in NAME_TAGS):
                continue
            spans.append((start, end))
        return spans

    def as_a_word(self, text: str, tokens: list[Token], start: int, end: int) -> tuple[int, int] | None:
        """The span to mask for a listed name, or None where it is not a word of its own in jieba's cut:
        a dictionary token cuts across one of its ends (`身高/适合` of 高适), or a token holds it with more
        than one character (车水马龙) other than a title, a work or another listed name (鲁迅故居,
        李白杜甫). A name token one given-name character longer is that longer name (赵云飞, 陈晓东); one
        character more is otherwise jieba's junk (姚明年, 孙权令)."""
        for tok in tokens:
            if tok.end <= start or tok.start >= end or (tok.start >= start and tok.end <= end):
                continue
            if tok.start <= start and tok.end >= end:
                rest = tok.word[:start - tok.start] + tok.word[end - tok.start:]
                if len(rest) == 1 and (tok.flag in PLACE_TAGS or self._tags.get(tok.word, "") in PLACE_TAGS):
                    return None  # 陕甘宁/ns: a place, not 甘宁
                if len(rest) == 1:
                    longer = (tok.start == start and rest in self.lex.given and tok.flag in NAME_TAGS
                              and not self.splits_a_word(text, tok.start, tok.end))
                    return (tok.start, tok.end) if longer else (start, end)
                return (start, end) if rest in self._not_a_title or rest in self.lex.known else None
            if self._freq.get(tok.word) and self._tags.get(tok.word) not in NAME_TAGS:
                return None
        return (start, end)

    def known_names(self, text: str, tokens: list[Token]) -> list[tuple[int, int]]:
        """The listed well-known people that stand as words, outside products, places and other lists."""
        spans = []
        for start, end in self.lex.known_spans(text):
            span = self.as_a_word(text, tokens, start, end)
            if span is None or self.lex.not_a_name_at(text, start, end) or self._cut_on_the_left(tokens, start, end):
                continue
            start, end = span
            if place_after(text, tokens, end, self._tags) or any(
                    self._freq.get(text[start:end] + suffix, 0) >= PLACE_STEM_FREQ for suffix in PLACE_STEM_SUFFIXES):
                continue
            last = next((i for i, tok in enumerate(tokens) if tok.end == end), None)
            if last is not None and glued_to_a_product(tokens, last, self._tags):
                continue
            # 赵云/nr 飞/v 的: a longer name, one given-name character more, before 的 or a break
            if last is not None and last + 1 < len(tokens) and tokens[last + 1].word in self.lex.given \
                    and end - start == 2 and (last + 2 == len(tokens) or tokens[last + 2].word in AFTER_A_NAME):
                end += 1
            spans.append((start, end))
        return spans

    def outside_characters(self, text: str, tokens: list[Token],
                           spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """`spans` less the characters of a work: those in a caption naming a listed work (`平凡的世界 孙少平`)
        with no verb, title or role of people beside them (not `王雷饰演孙少安`), and those joined to a
        fictional character by a coordinator or a break (孙少安和贺秀莲, `亮剑 楚云飞 赵刚`, 张无忌和赵敏).
        Listed people are not passed here."""
        work = self.lex.works.search(text) if spans else None
        if work is not None:
            spans = [(s, e) for s, e in spans if (s < work.end() and work.start() < e) or people_beside(tokens, s, e)]
        characters = self.lex.fictional_spans(text) if spans else []
        kept = list(spans)
        while characters:
            joined = [span for span in kept if any(_joined(text, span, other) for other in characters)]
            kept = [span for span in kept if span not in joined]
            characters = joined  # 楚云飞 赵刚 丁伟: the chain goes on
        return kept

    @staticmethod
    def _cut_on_the_left(tokens: list[Token], start: int, end: int) -> bool:
        """A two-character name after a lone character jieba cut off a word (陕/甘宁 of 陕甘宁)."""
        first = next((i for i, tok in enumerate(tokens) if tok.start == start), None)
        return end - start == 2 and first is not None and cut_on_the_left(tokens, first)

    def splits_a_word(self, text: str, start: int, end: int) -> bool:
        """The name jieba's HMM made of [start, end) took the first character of a common word (杨沫青/nr
        春之歌: 青春), where a name of its dictionary (王建军/nr 事迹) or 赵云飞/nr 的 is a name."""
        return (end < len(text) and not self._freq.get(text[start:end])  # 陈晓丽 at the end: 丽 alone is no word
                and self._freq.get(text[end - 1:end + 1], 0) >= COMMON_SUFFIX_FREQ)
