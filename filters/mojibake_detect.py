"""Mojibake detection and repair for one caption: UTF-8 text that was decoded with the wrong charset.

The wrong decode is undone by encoding the caption back with the charset that misread it and
decoding those bytes as UTF-8. Charsets tried: cp1252 the sloppy way browsers read it (bytes it
leaves undefined are C1 controls, so this covers Latin-1 too), GBK, GB18030 (only where GBK cannot
write the caption: GB18030 maps GBK's gaps to private-use characters) and Big5.

- The bytes decode as UTF-8 (itself the strong evidence) and the result is plausible text by
  `mojibake_model` (`Detector._accept` compares it with the caption): a lossless repair,
  `Finding(kind, repaired)`. `鐢ㄥ績涓撴敞` -> `用心专注` (gbk),
  `ç”¨å¿ƒä¸“æ³¨` -> `用心专注` (cp1252), `98a8e084f2bc4be1.jpg (781Ã—451)` -> `... (781×451)`.
- The bytes do not decode, but what does decode is mostly valid Chinese, or every byte of the
  caption's characters is one UTF-8 writes for Chinese (a CJK lead, a continuation) while the caption
  reads as noise: mojibake whose wrong decode dropped bytes (errors='ignore'), `Finding(kind, None)`.
  Or the caption is what such a decode left of a caption, however short (`mojibake_leftover`:
  `东坡肉` -> `銝∟`): `Finding(kind, None, FRAGMENT)`, detail `big5->utf8 fragment`.
  Big5 mojibake is always rejected, never repaired (see NEVER_REPAIRED).
- U+FFFD anywhere: the wrong decode replaced what it could not read; never repairable (kind named
  when the rest of the caption is identifiably one charset's mojibake, else `replacement_char`).
Correct text is left alone: rare characters, traditional and Cantonese captions re-encode to bytes
that are not UTF-8, and where a short one does decode by chance, the result is not more plausible
(the model rates `臉` as `脸`, so `臉` is never "repaired" into `Ę`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from filters.mojibake_leftover import SHAPED_MIN_CHARS, is_leftover, utf8_shape
from filters.mojibake_model import HanModel, Plausibility

REPLACEMENT_CHAR = "replacement_char"
LOSSY = "lossy"
FRAGMENT = "fragment"
LATIN = "cp1252"
# Lossless repairs: the result must be more plausible than the caption (`mojibake_model`, which rates a
# traditional character as its simplified form, so `臉` is as plausible as `脸`). Latin family: the
# result holds Han characters, or scores LATIN_REPAIR_MARGIN better. GBK family: the result holds at
# least two Han characters and no noise-class character and scores CJK_REPAIR_MARGIN better; otherwise
# it must score REPAIR_MARGIN better, and a result whose characters are all ASCII or two-byte UTF-8
# (Latin letters, Greek, symbols) needs ASCII letters or digits in the caption (`1920脳1080` ->
# `1920×1080`): a caption that re-encodes to such characters alone is a real character (`臉` -> `Ę`,
# `簞` -> `°`: GBK writes many rare and traditional characters with the bytes UTF-8 writes Latin-1
# with). Emoji and Hangul are three and four bytes (`馃榾` -> `😀`). Valid UTF-8 is itself strong
# evidence: of jieba's 349,041 dictionary words, one re-encodes through GBK to UTF-8 holding two Han
# characters, `涓滴归公` -> `丵ι鹫`, with a Greek letter.
LATIN_REPAIR_MARGIN = 0.25
CJK_REPAIR_MARGIN = 0.25
REPAIR_MARGIN = 1.0
# A partial decode that is mostly valid Chinese, or a Big5 re-encoding that is valid UTF-8 (never repaired:
# evidence of a lossy decode), may score up to CJK_TOLERANCE worse than the caption.
CJK_TOLERANCE = 1.0
# Dropped bytes (errors='ignore'). Latin family: what does decode holds a Han character. GBK family:
# it holds at least LOSSY_MIN_HAN Han characters, no more U+FFFD than Han characters, and scores
# LOSSY_MARGIN better than the caption; or it is mostly valid (at least MOSTLY_VALID_HAN Han
# characters, twice as many as U+FFFD, no noise-class character) and scores no worse than
# CJK_TOLERANCE. Correct text re-encoded decodes to far more U+FFFD than Han characters.
LOSSY_MARGIN = 1.5
LOSSY_MIN_HAN = 2
MOSTLY_VALID_HAN = 3
# Third test, for longer leftovers: the caption is UTF-8-shaped (at least SHAPED_MIN_CHARS characters)
# and reads as noise (score at least NOISE_SCORE). Fourth, the caption is a `mojibake_leftover`,
# however short (FRAGMENT, unless U+FFFD shows the decode replaced rather than dropped bytes).
NOISE_SCORE = 4.3



def _c1_of_1252() -> dict[int, int]:
    """cp1252's characters for the bytes 80-9F (code point -> byte). 81 8D 8F 90 9D are undefined in
    cp1252; browsers read them as the C1 controls, which Latin-1 encodes to the same bytes."""
    out = {}
    for byte in range(0x80, 0xA0):
        try:
            out[ord(bytes([byte]).decode("cp1252"))] = byte
        except UnicodeDecodeError:
            pass
    return out


C1_OF_1252 = _c1_of_1252()
_TO_LATIN1 = str.maketrans({cp: chr(byte) for cp, byte in C1_OF_1252.items()})


def encode_sloppy_cp1252(text: str) -> bytes:
    """The bytes a browser's windows-1252 decode (or a Latin-1 decode) turned into `text`."""
    return text.translate(_TO_LATIN1).encode("latin-1")


def _encode_gb18030(text: str) -> bytes:
    """GB18030 bytes where GBK has none (its user-defined areas), but no four-byte sequences: a UTF-8
    stream seldom holds the digit bytes they need, so a caption that needs them was never GB18030
    mojibake (Korean, Vietnamese, Arabic text)."""
    raw = text.encode("gb18030")
    if len(raw) != 2 * len(text) - len(text.encode("ascii", "ignore")):
        raise UnicodeEncodeError("gb18030", text, 0, len(text), "four-byte sequence")
    return raw


def _encoder(codec: str) -> Callable[[str], bytes]:
    return lambda text: text.encode(codec)


ENCODERS: tuple[tuple[str, Callable[[str], bytes]], ...] = (
    (LATIN, encode_sloppy_cp1252),
    ("gbk", _encoder("gbk")),
    ("gb18030", _encode_gb18030),
    ("big5", _encoder("big5")),
)
# Big5 mojibake is recognised, never repaired: Big5 reads so few UTF-8 byte pairs that a result that
# decodes cleanly is more often bytes dropped in whole pairs (errors='ignore') than a lossless decode.
NEVER_REPAIRED = frozenset({"big5"})
# Codecs that drop UTF-8 bytes anywhere in a caption (Big5 pairs only a few of them); GBK pairs nearly
# all, so its short leftovers come only from a sequence cut at the end of the caption.
DROPS_ANYWHERE = frozenset({"big5"})
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


@dataclass(frozen=True, slots=True)
class Finding:
    """Mojibake found in a caption: `kind` names the charset that misread it (`gbk`, `gb18030`,
    `big5`, `cp1252`, `latin1`) or `replacement_char`; `repaired` is the original text when it was
    recovered without loss, else None."""

    kind: str
    repaired: str | None
    how: str = LOSSY  # unrecoverable: LOSSY (bytes missing) or FRAGMENT (all that is left is a leftover)

    @property
    def label(self) -> str:
        """`repaired:gbk->utf8`, `gbk->utf8 lossy`, `big5->utf8 fragment` or `replacement_char` (stat
        column and detail)."""
        if self.repaired is not None:
            return f"repaired:{self.kind}->utf8"
        if self.kind == REPLACEMENT_CHAR:
            return REPLACEMENT_CHAR
        return f"{self.kind}->utf8 {self.how}"


def _kind(name: str, text: str) -> str:
    if name == LATIN:
        try:
            text.encode("latin-1")
            return "latin1"
        except UnicodeEncodeError:
            return LATIN
    return name


class Detector:
    """`examine(text)` -> Finding or None (not mojibake). Pure; holds the plausibility model."""

    def __init__(self, model: HanModel | None = None) -> None:
        self.model = model or HanModel()

    def _accept(self, name: str, fixed: str, here: Callable[[], Plausibility]) -> bool:
        """Whether the valid UTF-8 `fixed` is the text the caption (plausibility `here()`) was made from."""
        if not _plain(fixed):
            return False
        there = self.model.judge(fixed)
        if name == LATIN:
            return there.han > 0 or there.score <= here().score - LATIN_REPAIR_MARGIN
        if there.han >= 2 and not self.model.has_noise(fixed):
            if name in NEVER_REPAIRED:  # evidence for a rejection, not a repair: `鈭單０` -> `亳梯` (元阳梯田)
                return there.score <= here().score + CJK_TOLERANCE
            return there.score <= here().score - CJK_REPAIR_MARGIN
        if max(fixed) < "\u0800" and not any(ch.isascii() and ch.isalnum() for ch in fixed):
            return False  # only Latin letters or symbols, and no Latin text around them: `臉` -> `Ę`
        return there.score <= here().score - REPAIR_MARGIN

    def _lossy(self, name: str, encode: Callable[[str], bytes], text: str, raw: bytes,
               here: Callable[[], Plausibility]) -> str | None:
        """LOSSY or FRAGMENT when `raw` (the caption re-encoded) is UTF-8 Chinese with bytes missing
        (FRAGMENT: the caption is what `mojibake_leftover` recognises), else None."""
        partial = raw.decode("utf-8", "replace")
        han = len(_HAN.findall(partial))
        if name == LATIN:  # Latin text never holds a three-byte UTF-8 sequence of a Han character
            return LOSSY if han >= 1 else None
        broken = partial.count("\ufffd")
        if han >= LOSSY_MIN_HAN and broken <= han:
            seen = self.model.judge(partial)
            if seen.score <= here().score - LOSSY_MARGIN:
                return LOSSY
            if (han >= MOSTLY_VALID_HAN and 2 * broken <= han and not self.model.has_noise(partial)
                    and seen.score <= here().score + CJK_TOLERANCE):
                return LOSSY
        shape = utf8_shape(text, encode)
        if (shape is not None and shape.chars >= SHAPED_MIN_CHARS and 1 <= shape.leads <= shape.continuations
                and here().score >= NOISE_SCORE):
            return LOSSY
        return FRAGMENT if is_leftover(text, encode, self.model, name in DROPS_ANYWHERE) else None

    def examine(self, text: str) -> Finding | None:
        """The first charset whose re-encoding repairs `text`; else the first that shows it lossy."""
        if text.isascii():
            return None
        damaged = "\ufffd" in text
        body = text.replace("\ufffd", "") if damaged else text
        judged: list[Plausibility] = []

        def here() -> Plausibility:  # the caption's own plausibility, computed when first needed
            if not judged:
                judged.append(self.model.judge(body))
            return judged[0]

        lossy: str | None = None
        how = LOSSY
        written: set[str] = set()
        for name, encode in ENCODERS:
            if name == "gb18030" and "gbk" in written:  # the same bytes
                continue
            try:
                raw = encode(body)
            except UnicodeEncodeError:
                continue
            written.add(name)
            if raw.isascii():
                continue
            kind = _kind(name, body)
            try:
                fixed = raw.decode("utf-8")
            except UnicodeDecodeError:
                if lossy is None and (found := self._lossy(name, encode, body, raw, here)) is not None:
                    lossy, how = kind, found
                continue
            if fixed == body or not self._accept(name, fixed, here):
                continue
            if damaged or name in NEVER_REPAIRED:
                lossy = lossy or kind
            else:
                return Finding(kind, fixed)
        if lossy is not None:
            return Finding(lossy, None, LOSSY if damaged else how)
        if damaged:
            return Finding(REPLACEMENT_CHAR, None)
        return None


def _plain(text: str) -> bool:
    """A repair result holds no controls (other than tab and newline), private-use or unassigned
    characters: those mean the bytes were not really UTF-8 text."""
    for ch in text:
        cp = ord(ch)
        if cp < 0x20 and ch not in "\t\n\r":
            return False
        if 0x7F <= cp < 0xA0 or 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000:
            return False
    return True


