"""What a lossy wrong decode leaves of a Chinese caption, recognised from the caption alone.

Read as Big5 (or GBK) with errors='ignore', the UTF-8 bytes of a Chinese caption lose every byte the
codec cannot pair; what is left is made of characters each of which is two adjacent bytes of the UTF-8
stream: a lead byte (E2-E9, EF) and a continuation byte (80-BF) in either order, or two
continuations. `东坡肉` -> `銝∟` (E4 B8, A1 E8), `扬州炒饭` -> `砍擖` (AC E5, E9 A5), `皮蛋瘦肉粥` ->
`株西蝎`. Such a leftover is often one or two characters: too short for the plausibility score, and a
real caption can be that short. It is told from correct text by what correct text seldom is at once:

- every non-ASCII character is UTF-8-shaped for the codec (`utf8_shape`), at least one byte a lead;
- no two adjacent Han characters begin a dictionary word;
- its RARE or UNSEEN characters (`HanModel.rarity`: `銝`, `擖`, `貉`) outnumber its common traditional
  ones (TRADITIONAL: `賊`, `剛`; a simplified dictionary cannot tell how common they are, and traditional
  text is as often shaped as mojibake); with one or two characters an UNSEEN one is enough. A common
  character alone (`瑞`, `日`, also what Big5 leaves of some captions) is never a leftover: it may be
  the whole caption.
Big5 drops bytes anywhere; GBK pairs nearly all UTF-8 bytes and drops only a sequence cut at the end
of the caption, so its one- and two-character leftovers need ASCII beside them (`2024娆` of 2024款).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from filters.mojibake_model import RARE, TRADITIONAL, UNSEEN, HanModel, is_han

# UTF-8 leads of the text Chinese captions hold: general punctuation (E2), CJK symbols and
# ideographs (E3-E9), full-width forms (EF), emoji and CJK extension B (F0). Hangul (EA-ED) and
# private use (EE) are left out: correct Big5 and GBK text often has such trail bytes.
LEADS = frozenset((0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEF, 0xF0))
CONTINUATIONS = frozenset(range(0x80, 0xC0))
SHAPED_MIN_CHARS = 3  # below this, a leftover needs a RARE character


@dataclass(frozen=True, slots=True)
class Shape:
    """Counts over the non-ASCII characters of a UTF-8-shaped caption."""

    chars: int  # characters counted (whole two-byte UTF-8 sequences are not)
    leads: int
    continuations: int


def utf8_shape(text: str, encode: Callable[[str], bytes], two_byte_leads: bool = False) -> Shape | None:
    """The shape of `text` when every byte of its non-ASCII characters, re-encoded, is a UTF-8 byte of
    Chinese text: a lead of punctuation, CJK, full-width forms or emoji, or a continuation; a character
    that is a whole two-byte sequence next to an ASCII letter (`é` of `Café` read as Big5 `矇`) passes
    without counting; an ASCII trail
    byte only on the last character before ASCII (a letter the wrong decode swallowed). Else None.
    `two_byte_leads`: a lead of a two-byte sequence (C2-DF: `·` `×` `é`) counts as a lead too."""
    leads = continuations = chars = 0
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch < "\x80":
            continue
        try:
            raw = encode(ch)
        except UnicodeEncodeError:
            return None
        if (len(raw) == 2 and 0xC2 <= raw[0] <= 0xDF and raw[1] in CONTINUATIONS
                and ((i > 0 and text[i - 1].isascii() and text[i - 1].isalpha())
                     or (i < last and text[i + 1].isascii() and text[i + 1].isalpha()))):
            continue
        chars += 1
        for byte in raw:
            if byte in LEADS or (two_byte_leads and 0xC2 <= byte <= 0xDF):
                leads += 1
            elif byte in CONTINUATIONS:
                continuations += 1
            elif byte >= 0x80 or (i < last and text[i + 1] >= "\x80"):
                return None
    return Shape(chars, leads, continuations)


def is_leftover(text: str, encode: Callable[[str], bytes], model: HanModel, pairs_all: bool) -> bool:
    """True when `text` reads as what a lossy wrong decode (the codec of `encode`) left of Chinese.
    `pairs_all`: the codec drops bytes anywhere (Big5, which cannot pair most UTF-8 bytes); else
    (GBK, which pairs nearly all of them and drops only a sequence cut at the end) a leftover of one
    or two characters needs ASCII beside it (`Tesla Model Y 2024娆` of 2024款)."""
    if not pairs_all and not any(ch.isascii() and ch.isalnum() for ch in text):
        shape_needed = SHAPED_MIN_CHARS
    else:
        shape_needed = 1
    shape = utf8_shape(text, encode)
    if shape is None and pairs_all:  # `·` `×` of the caption left their lead byte in a character
        shape = utf8_shape(text, encode, two_byte_leads=True)
        shape_needed = SHAPED_MIN_CHARS
    if shape is None or shape.leads == 0 or shape.chars < shape_needed:
        return False
    rare = unseen = traditional = 0
    prev = ""
    for ch in text:
        if ch < "\x80" or not is_han(ord(ch)):
            prev = ""
            continue
        if prev and model.begins_word(prev + ch):
            return False
        prev = ch
        kind = model.rarity(ch)
        unseen += kind == UNSEEN
        rare += kind in (RARE, UNSEEN)
        traditional += kind == TRADITIONAL
    if shape.chars < SHAPED_MIN_CHARS:  # `剛摮` of 韭菜盒子
        return rare > traditional or unseen > 0
    return shape.leads <= shape.continuations and rare > traditional
