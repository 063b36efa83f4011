"""The mojibake labelled set, made deterministically from the committed correct captions.

tests/data/labelled/mojibake_correct.tsv holds correct captions written for this project. Each one
yields its mojibake the way it happens upstream: the caption's UTF-8 bytes decoded with the wrong
codec (GBK, GB18030, Big5, cp1252 with errors='replace' and errors='ignore', Latin-1), and the
reverse: its GBK bytes decoded as UTF-8 with replacement characters. A variant is `lossless` when the
wrong decode raised no error (the original can be recovered exactly). Within each category the
captions alternate between the `tune` half and the `holdout` half.

    python tests/mojibake_set.py     # prints the measured rates per kind for both halves (markdown)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from filters.base import apply_filter
from filters.mojibake import MOJIBAKE, MojibakeFilter
from filters.text_normalize import normalize_captions
from manifests.config import Config

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


# --- measuring the mojibake filter on the set --------------------------------------------------------

OUTCOMES = ("repaired", "rejected", "wrong_repair", "missed", "untouched", "altered")


def outcomes(rows: list[Labelled]) -> list[str]:
    """What the mojibake filter (pre-check and detector, as the pipeline runs it) did with each row:
    `repaired` (to the original exactly), `rejected`, `wrong_repair`, `missed` for mojibake;
    `untouched` or `altered` for correct captions."""
    flt = MojibakeFilter(Config())
    table = normalize_captions(pa.table({"caption": pa.array([r.text for r in rows], pa.string())}))
    out = apply_filter(table, flt)
    labels = out.column(MOJIBAKE).to_pylist()
    result = []
    for row, label in zip(rows, labels, strict=True):
        if row.kind == CORRECT:
            result.append("untouched" if label is None else "altered")
        elif label is None:
            result.append("missed")
        elif not label.startswith("repaired:"):
            result.append("rejected")
        else:
            finding = flt.detector.examine(row.text)
            exact = finding is not None and finding.repaired == row.original
            result.append("repaired" if exact else "wrong_repair")
    return result


def rates(rows: list[Labelled], results: list[str]) -> dict[str, tuple[int, float]]:
    """Per kind: (rows, share handled): correct untouched, mojibake repaired exactly or rejected. Every
    row counts, the short leftovers of errors='ignore' decodes (`东坡肉` -> `銝∟`) included."""
    tally: dict[str, list[int]] = {}
    for row, outcome in zip(rows, results, strict=True):
        good = outcome in ("untouched", "repaired", "rejected")
        counts = tally.setdefault(row.kind, [0, 0])
        counts[0] += 1
        counts[1] += good
    return {key: (n, ok / n) for key, (n, ok) in tally.items()}


SHORT_LEFTOVER = 3


def is_short_leftover(row: Labelled) -> bool:
    """An errors='ignore' decode that left fewer than SHORT_LEFTOVER non-ASCII characters (Big5 drops
    most of a UTF-8 caption: `东坡肉` -> `銝∟`, `Uniqlo 联名T恤` -> `Uniqlo T`). Counted in its kind like
    every row; `main` also prints them apart."""
    return row.errors == "ignore" and sum(1 for ch in row.text if ch >= "\x80") < SHORT_LEFTOVER


def is_nothing_left(row: Labelled) -> bool:
    """An errors='ignore' decode that left no non-ASCII character (`回锅肉` -> ``, `5G手机 8+256GB` ->
    `5G 8+256GB`): nothing is left to recognise, a miss for any detector."""
    return row.errors == "ignore" and row.text.isascii()


def main() -> None:
    """Prints the measured rates per kind for the tune and the held-out half (markdown)."""
    rows = labelled_set()
    results = outcomes(rows)
    per_split = {}
    for split in (TUNE, HOLDOUT):
        picked = [(r, o) for r, o in zip(rows, results, strict=True) if r.split == split]
        split_rows, split_results = [r for r, _ in picked], [o for _, o in picked]
        measured = rates(split_rows, split_results)
        for label, part in (("short leftovers", is_short_leftover), ("nothing left", is_nothing_left)):
            some = [(r, o) for r, o in picked if part(r)]
            measured.update({f"{k} ({label})": v for k, v in rates([r for r, _ in some], [o for _, o in some]).items()})
        lossless = [(r, o) for r, o in picked if r.kind != CORRECT and r.lossless]  # `big5`: never repaired
        for kind in KINDS:
            mine = [o for r, o in lossless if r.kind == kind]
            if mine:
                measured[f"{kind} lossless: repaired exactly"] = (len(mine), mine.count("repaired") / len(mine))
        per_split[split] = measured
    keys = sorted(set(per_split[TUNE]) | set(per_split[HOLDOUT]),
                  key=lambda k: ((CORRECT, *KINDS).index(k.split()[0]), k))
    print("| kind | tune rows | tune handled | held-out rows | held-out handled |\n|---|---:|---:|---:|---:|")
    for key in keys:
        cells = [per_split[s].get(key, (0, 0.0)) for s in (TUNE, HOLDOUT)]
        print(f"| {key} | " + " | ".join(f"{n:,} | {rate:.4f}" for n, rate in cells) + " |")
    print("\n(short leftovers): errors='ignore' decodes that left fewer than three non-ASCII characters;"
          " (nothing left): those that left none. Both are counted in their kind's row.")
    print(f"\n{len(rows):,} captions; outcomes: " + ", ".join(f"{o} {results.count(o):,}" for o in OUTCOMES))


if __name__ == "__main__":
    main()
