"""Mojibake: captions decoded with the wrong charset upstream are repaired, or rejected as `mojibake`.

The first text filter: a repair changes what every later filter reads (`å›¾ç‰‡` is the placeholder
`图片`; word counts and language are judged on the repaired caption), and rejecting broken text early
spares jieba and fastText. It reads the raw `caption` (normalisation would destroy the evidence:
lowercasing turns `Ã` into `ã`, NFKC and control-character removal drop bytes), and:

- a cheap pre-check (one compiled regular expression) picks the suspicious rows: U+FFFD, private-use
  characters, a Latin-1 letter followed by a character that stands for a UTF-8 continuation byte
  (`å¿`, `Ã—`), a character that GBK or Big5 makes of a UTF-8 lead byte and a continuation byte
  (every wrong-decoded run of Chinese starts with one: `鐢` of `用`), a Han character outside GB2312
  (traditional and rare characters), CJK extension B and beyond, a Han character between Latin
  letters (`Pok茅mon`), a caption made only of ASCII and characters GBK or Big5 make of two bytes of
  UTF-8 (a lossy decode's leftover, `KFC 舐`).
  Plain simplified Chinese goes no further (98.5% of the benchmark's Wukong-like captions);
- `mojibake_detect.Detector` examines the suspicious rows one by one.

Stat column `mojibake`: null (clean), `repaired:<charset>->utf8` (the caption was recovered without
loss: `caption_norm` is rewritten from the repaired text, so the released `caption` is the repaired
one while `caption_raw` keeps what the page said), or the kind of unrecoverable mojibake
(`gbk->utf8 lossy`, `big5->utf8 fragment`, `replacement_char`, ...) -> reason `mojibake` with that
kind as detail. A repaired row that a later step rejects gets `; repaired:<charset>->utf8` appended
to its detail (`note_repairs`, run when the filter stage writes its rejected rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from filters.base import DETAIL, REASON, Filter, Verdict
from filters.mojibake_detect import C1_OF_1252, Detector
from filters.mojibake_model import is_han
from filters.text_normalize import CAPTION, CAPTION_NORM, cut_raw, normalize_array
from manifests import reasons
from manifests.config import Config

MOJIBAKE = "mojibake"
REPAIRED_PREFIX = "repaired:"
# Lead bytes UTF-8 writes Chinese captions with (punctuation, CJK, full-width forms, emoji) and the
# continuation bytes that follow them.
_UTF8_LEADS = (0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEF, 0xF0)
_CONTINUATIONS = range(0x80, 0xC0)


def _char_class(code_points: Iterable[int]) -> str:
    """A regular-expression character class of the code points, consecutive ones merged into ranges."""
    points = sorted(set(code_points))
    parts: list[str] = []
    start = prev = points[0]
    for cp in [*points[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        first, last = re.escape(chr(start)), re.escape(chr(prev))
        parts.append(first if start == prev else f"{first}-{last}")
        start = prev = cp
    return "[" + "".join(parts) + "]"


def _gbk_big5_chars(pairs: Iterable[tuple[int, int]]) -> set[int]:
    """The characters GBK or Big5 make of each two-byte pair (pairs neither codec reads are skipped)."""
    out: set[int] = set()
    for first, second in pairs:
        for codec in ("gbk", "big5"):
            try:
                out.add(ord(bytes([first, second]).decode(codec)))
            except UnicodeDecodeError:
                pass
    return out


def _wrong_decoded_leads() -> set[int]:
    """Characters GBK or Big5 make of a UTF-8 lead byte followed by a continuation byte."""
    return _gbk_big5_chars((lead, trail) for lead in _UTF8_LEADS for trail in _CONTINUATIONS)


def _utf8_shaped_chars() -> set[int]:
    """Characters GBK or Big5 make of two bytes of a UTF-8 stream of Chinese: lead and continuation in
    either order, or two continuations (what a lossy wrong decode leaves: `梁怎抒文` of 焱火烧烤店)."""
    either = (*_UTF8_LEADS, *_CONTINUATIONS)
    return _gbk_big5_chars((a, b) for a in either for b in either if not (a in _UTF8_LEADS and b in _UTF8_LEADS))


def _outside_gb2312() -> set[int]:
    """Han characters of the BMP that GB2312 (the common simplified set) cannot write."""
    out: set[int] = set()
    for cp in (*range(0x3400, 0xA000), *range(0xF900, 0xFB00)):
        if not is_han(cp):
            continue
        try:
            chr(cp).encode("gb2312")
        except UnicodeEncodeError:
            out.add(cp)
    return out


def suspicious_pattern() -> re.Pattern[str]:
    """The pre-check: alternatives any of which sends a caption to the detector. Python's `re`, whose
    classes are bitmaps, compiled once per filter: RE2 through pyarrow recompiles for every batch, and
    the class of 2,000 ranges costs 4.5 ms to compile, 2.3 µs per row of a 2,000-row batch."""
    han = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
    return re.compile("|".join((
        "\ufffd",
        "[\ue000-\uf8ff\U000f0000-\U0010ffff]",  # private use
        "[\u00c2-\u00f4]" + _char_class([*range(0x80, 0xC0), *C1_OF_1252]),
        _char_class(_wrong_decoded_leads() | _outside_gb2312()),
        "[\U00020000-\U0003ffff]",
        f"[A-Za-z][{han}][A-Za-z]",
        "^(?:[\x00-\x7f]|" + _char_class(_utf8_shaped_chars()) + ")+$",  # the caption is all such
    )))


class MojibakeFilter(Filter):
    """Repairs lossless mojibake (rewriting `caption_norm`), rejects the rest as `mojibake`."""

    name: ClassVar[str] = "mojibake"
    rewrites: ClassVar[tuple[str, ...]] = (CAPTION_NORM,)

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.max_chars = cfg.text.max_chars
        self.detector = Detector()
        self.pattern = suspicious_pattern()

    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        raw = cut_raw(batch.column(CAPTION), self.max_chars)
        norm = batch.column(CAPTION_NORM).combine_chunks()
        labels = pa.nulls(len(raw), pa.string())
        search = self.pattern.search
        rows = [(i, text) for i, text in enumerate(raw.to_pylist()) if not text.isascii() and search(text)]
        if not rows:
            return {MOJIBAKE: labels, CAPTION_NORM: norm}
        found = [self.detector.examine(text) for _, text in rows]
        hit = [i for (i, _), f in zip(rows, found, strict=True) if f is not None]
        if not hit:
            return {MOJIBAKE: labels, CAPTION_NORM: norm}
        findings = [f for f in found if f is not None]
        mask = _mask(len(raw), hit)
        labels = pc.replace_with_mask(labels, mask, pa.array([f.label for f in findings], pa.string()))
        fixed = [(i, f.repaired) for i, f in zip(hit, findings, strict=True) if f.repaired is not None]
        if fixed:
            repaired = normalize_array(pa.array([text for _, text in fixed], pa.string()), self.max_chars)
            norm = pc.replace_with_mask(norm, _mask(len(raw), [i for i, _ in fixed]), repaired)
        return {MOJIBAKE: labels, CAPTION_NORM: norm}

    def decide(self, batch: pa.Table) -> Verdict:
        label = batch.column(MOJIBAKE).combine_chunks()
        bad = pc.fill_null(pc.invert(pc.starts_with(label, REPAIRED_PREFIX)), False)
        none = pa.scalar(None, pa.string())
        return Verdict(pc.if_else(bad, pa.scalar(reasons.MOJIBAKE), none), pc.if_else(bad, label, none))


def _mask(n: int, rows: list[int]) -> pa.Array:
    flags = [False] * n
    for i in rows:
        flags[i] = True
    return pa.array(flags, pa.bool_())


def note_repairs(table: pa.Table) -> pa.Table:
    """Appends `; repaired:<charset>->utf8` to the detail of rejected rows whose caption was repaired
    (or sets it, where the rejection has no detail)."""
    if MOJIBAKE not in table.column_names or table.num_rows == 0:
        return table
    label = table.column(MOJIBAKE).combine_chunks()
    repaired = pc.fill_null(pc.starts_with(label, REPAIRED_PREFIX), False)
    rows = pc.and_(repaired, pc.is_valid(table.column(REASON).combine_chunks()))
    if not pc.any(rows).as_py():
        return table
    detail = table.column(DETAIL).combine_chunks()
    joined = pc.if_else(pc.is_null(detail), label, pc.binary_join_element_wise(detail, label, "; "))
    return table.set_column(table.schema.get_field_index(DETAIL), DETAIL, pc.if_else(rows, joined, detail))
