"""False positives of the mojibake filter on correct text: how many captions it repairs or rejects.

Every input here is correct text, so every flagged caption is an error; a repair into text without a
Han character (`臉` -> `Ę`) is the worst kind, counted apart. Sets measured:
- every caption (first column) of tests/data/labelled/*.tsv;
- jieba's dictionary words (2+ characters) and single characters, as jieba writes them (simplified);
- each FILE given with --extra (one caption a line): traditional forms of the above, for instance,
  made outside the project with OpenCC (`opencc -c s2t`, or opencc-purepy's `OpenCC("s2t").convert`);
  the project itself never depends on OpenCC.

    python -m bench.bench_mojibake_fp [--extra FILE ...]   # prints a markdown table
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa

from filters.base import apply_filter
from filters.mojibake import MOJIBAKE, MojibakeFilter
from filters.mojibake_model import jieba_dict_path
from filters.text_normalize import normalize_captions
from manifests.config import Config

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled"
_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


def labelled_captions() -> list[str]:
    return [line.split("\t")[0] for path in sorted(LABELLED.glob("*.tsv"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def jieba_words() -> list[str]:
    lines = jieba_dict_path().read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(line.split()[0] for line in lines if line.strip()))


def measure(flt: MojibakeFilter, texts: list[str]) -> tuple[int, int, int, Counter[str]]:
    """(flagged, repaired, repaired into text without Han, labels) over `texts`."""
    labels: list[str | None] = []
    for i in range(0, len(texts), 5000):
        table = normalize_captions(pa.table({"caption": pa.array(texts[i:i + 5000], pa.string())}))
        labels.extend(apply_filter(table, flt).column(MOJIBAKE).to_pylist())
    hits = [(t, label) for t, label in zip(texts, labels, strict=True) if label is not None]
    repaired = [t for t, label in hits if label.startswith("repaired:")]
    junk = 0
    for t in repaired:
        finding = flt.detector.examine(t)
        junk += finding is not None and finding.repaired is not None and not _HAN.search(finding.repaired)
    return len(hits), len(repaired), junk, Counter(label for _, label in hits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extra", nargs="*", default=[], help="files of correct captions, one a line")
    args = ap.parse_args()
    words = jieba_words()
    sets = {
        "tests/data/labelled/*.tsv": labelled_captions(),
        "jieba words, 2+ characters": [w for w in words if len(w) > 1],
        "jieba single characters": [w for w in words if len(w) == 1],
    }
    for name in args.extra:
        sets[Path(name).name] = [line for line in Path(name).read_text(encoding="utf-8").splitlines() if line]
    flt = MojibakeFilter(Config())
    print("| correct text | captions | flagged | repaired | repaired into no Han | labels |")
    print("|---|---:|---:|---:|---:|---|")
    for name, texts in sets.items():
        flagged, repaired, junk, labels = measure(flt, texts)
        top = ", ".join(f"{label} {n:,}" for label, n in labels.most_common(4))
        print(f"| {name} | {len(texts):,} | {flagged:,} | {repaired:,} | {junk:,} | {top} |")


if __name__ == "__main__":
    main()
