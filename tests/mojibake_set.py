"""The mojibake labelled set, made deterministically from the committed correct captions.

tests/data/labelled/mojibake_correct.tsv holds correct captions written for this project. Each one
yields its mojibake the way it happens upstream: the caption's UTF-8 bytes decoded with the wrong
codec (GBK, GB18030, Big5, cp1252 with errors='replace' and errors='ignore', Latin-1), and the
reverse: its GBK bytes decoded as UTF-8 with replacement characters. A variant is `lossless` when the
wrong decode raised no error (the original can be recovered exactly). Within each category the
captions alternate between the `tune` half and the `holdout` half.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORRECT_TSV = Path(__file__).resolve().parent / "data" / "labelled" / "mojibake_correct.tsv"
CORRECT = "correct"
KINDS = ("gbk", "gb18030", "big5", "cp1252", "latin1", "gbk_as_utf8")
TUNE = "tune"
HOLDOUT = "holdout"


@dataclass(frozen=True, slots=True)
class Labelled:
    """One caption of the set: `kind` is `correct` or the mojibake kind; `original` the correct caption."""

    text: str
    kind: str
    errors: str  # how the wrong decode handled bytes it could not decode: strict (none), replace, ignore
    lossless: bool
    original: str
    category: str
    split: str


def correct_captions() -> list[tuple[str, str, str]]:
    """(caption, category, split) of the committed correct captions."""
    seen: dict[str, int] = {}
    rows = []
    for line in CORRECT_TSV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        caption, category = line.split("\t")
        index = seen.get(category, 0)
        seen[category] = index + 1
        rows.append((caption, category, TUNE if index % 2 == 0 else HOLDOUT))
    return rows


def _wrong_decodes(caption: str) -> list[tuple[str, str, str, bool]]:
    """(text, kind, errors, lossless) for each mojibake of `caption`."""
    raw = caption.encode("utf-8")
    out: list[tuple[str, str, str, bool]] = []
    for kind, codec in (("gbk", "gbk"), ("gb18030", "gb18030"), ("big5", "big5"), ("cp1252", "cp1252")):
        try:
            out.append((raw.decode(codec), kind, "strict", True))
        except UnicodeDecodeError:
            out.extend((raw.decode(codec, errors), kind, errors, False) for errors in ("replace", "ignore"))
    out.append((raw.decode("latin-1"), "latin1", "strict", True))
    try:
        out.append((caption.encode("gbk").decode("utf-8", "replace"), "gbk_as_utf8", "replace", False))
    except UnicodeEncodeError:  # characters GBK cannot write (emoji, CJK extension B): no such page
        pass
    return out


def labelled_set() -> list[Labelled]:
    """Every correct caption, then each of its mojibake variants (distinct texts per kind, never the caption)."""
    rows: list[Labelled] = []
    for caption, category, split in correct_captions():
        rows.append(Labelled(caption, CORRECT, "strict", True, caption, category, split))
        seen: set[tuple[str, str]] = set()
        for text, kind, errors, lossless in _wrong_decodes(caption):
            if text == caption or (kind, text) in seen:
                continue
            seen.add((kind, text))
            rows.append(Labelled(text, kind, errors, lossless, caption, category, split))
    return rows
