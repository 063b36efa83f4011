"""What surrounds a proposed person name in jieba's tokens (filters.privacy): titles, roles, verbs
and works of people beside it, dishes and products glued to it, breaks around it, and the characters
that show jieba cut it out of a longer word. Pure functions over one caption's tokens."""

from __future__ import annotations

from dataclasses import dataclass

from filters.name_rules import (
    ACTIVITY_INITIALS,
    FAMOUS_PLACE_WORDS,
    LONE_AFTER_OK,
    LONE_BEFORE_OK,
    NOT_PLACES,
    NOT_PRODUCTS,
    PEOPLE_AFTER,
    PEOPLE_VERBS,
    PLACE_SUFFIXES,
    PLACE_WORDS,
    PLAYED_BEFORE,
    PRODUCT_FINALS,
    PRODUCT_INITIALS,
    PRODUCT_WORDS,
    PRODUCTS_AFTER_BREAK,
    ROLE_ENDINGS,
    ROLES_BEFORE,
    SEGMENT_BREAKS,
    TITLES_AFTER,
)


@dataclass(slots=True)
class Token:
    word: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


PLAYED = frozenset(PLAYED_BEFORE) | {"演"}


def word_after(tokens: list[Token], last: int) -> str:
    """The first word after the span, spaces skipped."""
    return next((t.word for t in tokens[last + 1:] if not t.word.isspace()), "")


def word_before(tokens: list[Token], first: int) -> str:
    return next((t.word for t in reversed(tokens[:first]) if not t.word.isspace()), "")


def next_word(tokens: list[Token], last: int) -> str:
    """The first word after the span and the breaks that follow it (`篮球` of `姚明 篮球`)."""
    return next((t.word for t in tokens[last + 1:] if not all(ch in SEGMENT_BREAKS for ch in t.word)), "")


def role_before(tokens: list[Token], first: int) -> bool:
    """A role word before the span (spaces between are skipped): `记者王菲`, `钢琴家 郎朗`."""
    before = word_before(tokens, first)
    return before in ROLES_BEFORE or (len(before) >= 3 and before.endswith(ROLE_ENDINGS))


def title_beside(tokens: list[Token], first: int, last: int) -> bool:
    """A title, kinship or role word beside the span (spaces between are skipped): `王平老师`, `记者王菲`."""
    return word_after(tokens, last) in TITLES_AFTER or role_before(tokens, first)


def people_after(tokens: list[Token], last: int, only_people: bool = False) -> bool:
    """A verb, work or event of people right after the span (`莫言获…`, `林海洋 摄`, `杜甫诗意画`);
    `only_people`: one that things never do (not 在, 画, 作品)."""
    return word_after(tokens, last) in (PEOPLE_VERBS if only_people else PEOPLE_AFTER)


def people_beside(tokens: list[Token], start: int, end: int) -> bool:
    """A verb, title or role of people beside the characters [start, end) (`王雷饰演…`, `雷佳音主演…`,
    `演员 王雷`); a span that starts or ends inside a token has none."""
    first = next((i for i, tok in enumerate(tokens) if tok.start == start), None)
    last = next((i for i, tok in enumerate(tokens) if tok.end == end), None)
    if first is None or last is None:
        return False
    return title_beside(tokens, first, last) or people_after(tokens, last) or word_after(tokens, last) in PLAYED


def segment_of_its_own(tokens: list[Token], first: int, last: int) -> bool:
    """The span stands alone: at the start or after a break, and followed by a break and more text."""
    before = tokens[first - 1].word[-1] if first > 0 else " "
    after = tokens[last + 1].word[0] if last + 1 < len(tokens) else ""
    return before in SEGMENT_BREAKS and after in SEGMENT_BREAKS and last + 2 < len(tokens)


def _lone_han(tokens: list[Token], i: int) -> str:
    word = tokens[i].word if 0 <= i < len(tokens) else ""
    return word if len(word) == 1 and "\u4e00" <= word <= "\u9fff" else ""


def cut_on_the_left(tokens: list[Token], first: int) -> bool:
    """A lone Han character glued before the span (九/毛九, 今/麦郎), other than the usual ones (和, 的, 给)."""
    before = _lone_han(tokens, first - 1)
    return bool(before and before not in LONE_BEFORE_OK)


def cut_from_a_word(tokens: list[Token], first: int, last: int) -> bool:
    """A lone Han character glued before (九/毛九) or after (曾厝/垵) the span, other than the usual ones."""
    after = _lone_han(tokens, last + 1)
    return cut_on_the_left(tokens, first) or bool(after and after not in LONE_AFTER_OK)


def glued_to_a_product(tokens: list[Token], last: int, is_noun: dict[str, str]) -> bool:
    """A dish or a product right after the span (左宗棠鸡, 张亮麻辣烫, 马子禄牛肉面), or a product after a
    break (`李宁 运动鞋`); `is_noun` is jieba's word -> tag table."""
    nxt = tokens[last + 1].word if last + 1 < len(tokens) else ""
    if nxt[:1] in PRODUCT_INITIALS or nxt in PRODUCT_WORDS or _product_after_break(tokens, last):
        return True
    if is_noun.get(nxt, "")[:1] != "n" or nxt in NOT_PRODUCTS or nxt[:1] in ACTIVITY_INITIALS:
        return False
    # 马子禄/牛肉面, 李子柒/螺蛳/粉: a noun that ends like a product, or a noun and a one-character product
    after = tokens[last + 2].word if last + 2 < len(tokens) else ""
    return (len(nxt) >= 2 and nxt[-1] in PRODUCT_FINALS) or (len(after) == 1 and after in PRODUCT_FINALS)


def _product_after_break(tokens: list[Token], last: int) -> bool:
    """The words after the span and its breaks start with a product category, whole tokens of it
    (`李宁 运动鞋`; `李子柒 螺蛳/粉`)."""
    words = [t.word for t in tokens[last + 1:] if not all(ch in SEGMENT_BREAKS for ch in t.word)][:3]
    return any("".join(words[:n]) in PRODUCTS_AFTER_BREAK for n in range(1, len(words) + 1))


def place_after(text: str, tokens: list[Token], end: int, tags: dict[str, str], famous: bool = True) -> bool:
    """A place named after the person follows the span ending at `end`: a place suffix standing alone
    (岳飞/庙, 张自忠/路) or inside the token that holds the name (屈原祠/nr), a place word (鲁迅故居,
    杜甫草堂; 黄兴广场 when the name is `famous`), a word that starts and ends like a place (山庄) or a
    place of jieba's starting like one; not a word that only starts with such a character (`张伟/路过`,
    `陈明/门口`, `王秀英/广场舞`, `宋威龙/街拍`). `tags` is jieba's word -> tag table."""
    if text.startswith(NOT_PLACES, end):
        return False
    if text.startswith(PLACE_WORDS, end) or (famous and text.startswith(FAMOUS_PLACE_WORDS, end)):
        return True
    if text.startswith(tuple(TITLES_AFTER), end):
        return False
    nxt = next((tok for tok in tokens if tok.start == end), None)
    if nxt is None:  # the name ends inside a token (屈原祠/nr)
        return text[end:end + 1] in PLACE_SUFFIXES
    if len(nxt.word) == 1:
        return nxt.word in PLACE_SUFFIXES
    ends_like_a_place = nxt.word[-1] in PLACE_SUFFIXES or tags.get(nxt.word, nxt.flag) == "ns"
    return nxt.word[0] in PLACE_SUFFIXES and ends_like_a_place
