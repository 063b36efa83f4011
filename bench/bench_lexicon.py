"""The sensitive-word filter on a labelled TSV, both directions, per category.

    python -m bench.bench_lexicon --labelled tests/data/labelled/sensitive_dev.tsv [--misses]
                                  [--config FILE] [--set text.sensitive_categories=[...]]

The TSV: `caption<TAB>label<TAB>category`, label `unsafe` (must be rejected as `sensitive`) or `safe`
(must be kept); for an unsafe caption the category is the one it belongs to, for a safe one the
category whose trap it holds (`none` for a plain caption). Blank lines and `#` comments are ignored.
Prints, per category, unsafe captions rejected and safe captions kept, with their rates; `--misses`
lists every caption the filter got wrong (and unsafe ones rejected under another category). The
captions run through the same normalisation and filter as in the pipeline, with the config given
(default: the packaged categories that are on by default).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from filters.base import DETAIL, REASON, apply_filter
from filters.sensitive import SensitiveFilter
from filters.sensitive_train import UNSAFE, labelled_rows
from filters.text_chain import normalize_captions
from manifests import reasons
from manifests.config import Config, load_config
from manifests.errors import UserError


@dataclass(frozen=True, slots=True)
class Labelled:
    caption: str
    label: str
    category: str


@dataclass(slots=True)
class CategoryScore:
    unsafe: int = 0
    rejected: int = 0
    safe: int = 0
    kept: int = 0
    other_category: int = 0  # unsafe captions rejected, but under another category
    misses: list[str] = field(default_factory=list)

    @property
    def rejected_rate(self) -> float | None:
        return self.rejected / self.unsafe if self.unsafe else None

    @property
    def kept_rate(self) -> float | None:
        return self.kept / self.safe if self.safe else None


def read_labelled(path: str | Path) -> list[Labelled]:
    """The rows of a labelled TSV; a malformed line is a UserError naming it."""
    return [Labelled(*row) for row in labelled_rows(path)]


def verdicts(captions: list[str], cfg: Config) -> list[str | None]:
    """The filter's detail (`category:term`) per caption, None where kept."""
    table = apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})),
                         SensitiveFilter(cfg))
    return [d if r == reasons.SENSITIVE else None
            for r, d in zip(table.column(REASON).to_pylist(), table.column(DETAIL).to_pylist(), strict=True)]


def measure(rows: list[Labelled], cfg: Config) -> dict[str, CategoryScore]:
    """Per category (and `all`), how many unsafe captions were rejected and safe ones kept."""
    scores: dict[str, CategoryScore] = defaultdict(CategoryScore)
    for row, detail in zip(rows, verdicts([r.caption for r in rows], cfg), strict=True):
        for s in (scores[row.category], scores["all"]):
            if row.label == UNSAFE:
                s.unsafe += 1
                s.rejected += detail is not None
                if detail is not None and detail.split(":", 1)[0] != row.category:
                    s.other_category += 1
                    if s is scores["all"]:
                        s.misses.append(f"rejected as {detail}: {row.caption}")
            else:
                s.safe += 1
                s.kept += detail is None
        if (row.label == UNSAFE) == (detail is None):
            scores["all"].misses.append(f"{row.label} {row.category}: {row.caption} -> {detail or 'kept'}")
    return dict(scores)


def _rate(n: int, rate: float | None) -> str:
    return "-" if rate is None else f"{n} ({rate:.3f})"


def format_table(scores: dict[str, CategoryScore]) -> str:
    lines = ["| category | unsafe | rejected | safe | kept | rejected under another category |",
             "|---|---:|---:|---:|---:|---:|"]
    names = [*sorted(c for c in scores if c != "all"), "all"]
    for name in names:
        s = scores[name]
        lines.append(f"| {name} | {s.unsafe} | {_rate(s.rejected, s.rejected_rate)} | {s.safe} | "
                     f"{_rate(s.kept, s.kept_rate)} | {s.other_category} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labelled", required=True, help="caption<TAB>unsafe|safe<TAB>category")
    ap.add_argument("--config", help="a wukong config file (default: the built-in defaults)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override")
    ap.add_argument("--misses", action="store_true", help="list the captions the filter got wrong")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config, args.set)
        rows = read_labelled(args.labelled)
        scores = measure(rows, cfg)
    except UserError as exc:
        print(f"error: {exc}")
        return 2
    print(f"{args.labelled}: {len(rows)} captions; categories {', '.join(cfg.text.sensitive_categories)}\n")
    print(format_table(scores))
    if args.misses:
        print("\n" + "\n".join(scores["all"].misses or ["(no misses)"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
