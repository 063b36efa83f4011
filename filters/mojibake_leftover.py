"""What a lossy wrong decode leaves of a Chinese caption, recognised from the caption alone.

Read as Big5 (or GBK) with errors='ignore', the UTF-8 bytes of a Chinese caption lose every byte the
codec cannot pair; what is left is made of characters each of which is two adjacent bytes of the UTF-8
stream: a lead byte (E2-E9, EF) and a continuation byte (80-BF) in either order, or two
continuations. `东坡肉` -> `銝∟` (E4 B8, A1 E8), `扬州炒饭` -> `砍擖` (AC E5, E9 A5), `皮蛋瘦肉粥` ->
`株西蝎`. Such a leftover is often one or two characters: too short for the plausibility score, and a
real caption can be that short. It is told from correct text by what correct text seldom is at once:

- every non-ASCII character is UTF-8-shaped for the codec (`utf8_shape`), at least one byte a lead,
  and a lead is followed by a continuation (`乒` A5 E2 can be two bytes of UTF-8, `儰` E4 E8 and `噦` E9 41 cannot);
- no two adjacent Han characters (spaces between them do not count) begin a dictionary word, folded
  to simplified characters (`靚妞` is `靓妞`, a jieba word);
- its RARE or UNSEEN characters (`HanModel.rarity`, which rates a traditional character as its
  simplified form: `銝`, `擖`, `貉`) outnumber its TRADITIONAL ones (Big5's common characters that
  the t2s table does not map and the simplified dictionary cannot rate: `啣`, `芣`); with one or two
  characters an UNSEEN one is enough. Or the leftover gives back common characters of the original
  (`recovered`: `望硃` of 葱油拌面 holds the bytes of `油`), or it is LONG_SHAPED characters long;
- a caption of one character alone (`_lone_leftover`) is a leftover only when it is rare and is no
  jieba word or is one of Big5's less common characters (level 2: `銝`); `乒`, `唳`, `冽` alone are
  correct captions, though Big5 also leaves them of some captions. A common character alone (`瑞`,
  `日`) is never a leftover.
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
SHAPED_MIN_CHARS = 3  # below this, a leftover needs a RARE character (or characters `recovered`)
RECOVERED_COST = 4.0  # a character given back by a leftover is evidence when it is this common
# From this many UTF-8-shaped characters with no dictionary pair, a caption is a leftover whatever its
# characters (`梁怎抒文` of 焱火烧烤店): about one Big5 character in five is shaped, and real text of that
# length holds a pair that begins a word.
LONG_SHAPED = 4


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
    without counting; an ASCII trail byte only on the last character before ASCII or at the end (a
    letter the wrong decode swallowed). Else None. The two bytes of a character are two adjacent bytes
    of UTF-8, so a lead is followed by a continuation, never by a lead or an ASCII byte (`乒` is Big5
    A5 E2, a continuation then a lead, but `噦` is Big5 E9 41: no UTF-8 stream holds that, with or
    without bytes dropped). `two_byte_leads`: a lead of a two-byte sequence (C2-DF: `·` `×` `é`)
    counts as a lead too."""
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
        for j, byte in enumerate(raw):
            if byte in LEADS or (two_byte_leads and 0xC2 <= byte <= 0xDF):
                if j + 1 < len(raw) and raw[j + 1] not in CONTINUATIONS:
                    return None
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
    strict = shape is not None
    if shape is None and pairs_all:  # `·` `×` of the caption left their lead byte in a character
        shape = utf8_shape(text, encode, two_byte_leads=True)
        shape_needed = SHAPED_MIN_CHARS
    if shape is None or shape.leads == 0 or shape.chars < shape_needed:
        return False
    rare = unseen = traditional = 0
    prev = ""
    for ch in text:
        if ch.isspace():  # `冰 毒`: spaced-out words are still words
            continue
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
    if shape.chars == 1 and not any(ch.isascii() and ch.isalnum() for ch in text):
        return _lone_leftover(text, encode, model, rare > traditional or unseen > 0)
    given_back = recovered(text, encode, model)
    if shape.chars < SHAPED_MIN_CHARS:  # `剛摮` of 韭菜盒子
        return rare > traditional or unseen > 0 or given_back
    if shape.leads > shape.continuations:
        return False
    return rare > traditional or given_back or (strict and shape.chars >= LONG_SHAPED)


def _lone_leftover(text: str, encode: Callable[[str], bytes], model: HanModel, rare: bool) -> bool:
    """A caption of one character alone: a leftover when it is rare, unless jieba lists it as a word
    and Big5 counts it among its common characters (level 1, whose bytes begin with a continuation:
    `乒` A5 E2, `冽` A8 E6). Such a caption says nothing more about itself, and a real one-character
    caption (`乒`, `唳`) is correct text. Level 2 (`銝` E4 B8, but also the Cantonese `靚` E8 B0) stays
    a leftover: the labelled set's Big5 rate (>= 0.97) cannot spare those rows."""
    ch = next(c for c in text if c >= "\x80")
    if not rare:
        return False
    return not (model.is_word(ch) and encode(ch)[0] in CONTINUATIONS)


def recovered(text: str, encode: Callable[[str], bytes], model: HanModel) -> bool:
    """True when the leftover gives back whole characters of the caption it was made from, and they are
    common ones (cost below RECOVERED_COST). Two adjacent characters of a leftover can be adjacent
    bytes of the UTF-8 stream: a continuation and a lead then two continuations, or a lead and a
    continuation then a continuation (and anything): the lead and its two continuations are one
    character of the original. `望硃` (葱油拌面 read as Big5) is B1 E6, B2 B9: E6 B2 B9 is `油`;
    correct text gives back a character as random as its bytes, mostly a rare one."""
    got: list[str] = []
    prev = b""
    for ch in text:
        raw = b"" if ch < "\x80" else encode(ch)
        if len(prev) == 2 and len(raw) == 2 and raw[0] in CONTINUATIONS:
            if prev[0] in CONTINUATIONS and prev[1] in LEADS and raw[1] in CONTINUATIONS:
                got.append(bytes((prev[1], raw[0], raw[1])).decode("utf-8", "replace"))
            elif prev[0] in LEADS and prev[1] in CONTINUATIONS:
                got.append(bytes((prev[0], prev[1], raw[0])).decode("utf-8", "replace"))
        prev = raw
    return bool(got) and all(len(c) == 1 and is_han(ord(c)) and model.cost(c) < RECOVERED_COST for c in got)
