"""Guards of the insults category: swearing quoted from a film or TV line, and insults a writer aims at themself.

Both are safe by the labelling convention: `《让子弹飞》名场面："翻译翻译，什么TMD叫惊喜！"` quotes a film, and
`我这个猪脑子，又忘带伞了` is self-deprecation. The lexicon asks `quoted_line` of the caption and the match's span
and `self_directed` of the skeleton before the match; the model, which names no span, asks `self_deprecating` and
`quotes_a_title` of the whole caption.
"""

from __future__ import annotations

import re

INSULTS = "insults"
# A caption that quotes a work: a title in 《》, or a word that introduces a line from one.
_TITLE_WORDS = ("名场面", "台词", "经典台词", "名台词", "语录", "金句", "剧中", "片中", "影片中", "电影里", "剧里")
_QUOTES = {"“": "”", "「": "」", "『": "』", "‘": "’", '"': '"'}
# The writer as the target: 我 (or 本人, 俺) and a linking word right before the insult (`我这个猪脑子`, `我真是蠢`,
# `本人笨蛋一个`). A bare 我 is not enough (`我日你`).
_LINK = "这个|这种|这|真是个|真是|真的是|真的|简直是|简直就是个|简直|就是个|就是|是个|太|好|可真是个|可真是|也太"
_WRITER = rf"(?:(?:我|俺)(?:{_LINK})|本人(?:就是个|是个|真是|太)?)"
_SELF = re.compile(_WRITER + "$")
_SELF_INSULT = re.compile(_WRITER + "(?:猪|笨|蠢|傻|废|菜|憨|脑残|白痴|智障|呆)")
_SECOND_PERSON = ("你", "您", "妳", "尼玛", "泥马")


def has_title(text: str) -> bool:
    """Whether the caption names a work (《...》) or introduces a line from one (名场面, 台词 ...)."""
    return ("《" in text and "》" in text) or any(w in text for w in _TITLE_WORDS)


def quoted_line(text: str, first: int, last: int) -> bool:
    """Whether text[first..last] lies inside a pair of quotation marks of a caption that quotes a work."""
    if not has_title(text):
        return False
    open_at: tuple[int, str] | None = None
    for i, ch in enumerate(text):
        if open_at is not None and ch == _QUOTES[open_at[1]]:
            if open_at[0] < first and last < i:
                return True
            open_at = None
        elif open_at is None and ch in _QUOTES:
            open_at = (i, ch)
    return False


def self_directed(skel_before: str) -> bool:
    """Whether the skeleton right before an insult makes the writer its target (`我这个` before `猪脑子`)."""
    return bool(_SELF.search(skel_before[-8:]))


def self_deprecating(skel: str) -> bool:
    """Whether a skeleton insults its writer and addresses no one (`我这个猪脑子又忘带伞了`)."""
    return bool(_SELF_INSULT.search(skel)) and not any(w in skel for w in _SECOND_PERSON)


def quotes_a_title(text: str) -> bool:
    """Whether the caption names a work and quotes it (a line in quotation marks)."""
    return has_title(text) and any(o in text and c in text[text.index(o) + 1:] for o, c in _QUOTES.items())
