"""Distributions for the dataset card: caption lengths and image sizes as quantile tables (text only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from manifests.jieba_dict import load_tokenizer

QUANTILES: tuple[tuple[str, float], ...] = (
    ("min", 0.0), ("p5", 0.05), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p95", 0.95), ("max", 1.0),
)
MAX_WORD_SAMPLE = 200_000  # jieba is ~1 µs per character: count words on at most this many captions


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def quantile_table(columns: dict[str, Sequence[float] | np.ndarray]) -> str:
    """A markdown table: one row per measure, columns min, p5 ... max and mean."""
    head = "| measure | " + " | ".join(name for name, _ in QUANTILES) + " | mean |"
    sep = "|---|" + "---:|" * (len(QUANTILES) + 1)
    lines = [head, sep]
    for label, values in columns.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.size == 0:
            continue
        qs = np.quantile(arr, [q for _, q in QUANTILES], method="lower")
        lines.append(f"| {label} | " + " | ".join(_fmt(q) for q in qs) + f" | {arr.mean():,.2f} |")
    return "\n".join(lines)


def word_counts(captions: list[str]) -> tuple[np.ndarray, int]:
    """jieba word counts (spaces not counted) of every caption, or of an evenly spaced sample of them."""
    tokenizer = load_tokenizer()
    step = max(1, -(-len(captions) // MAX_WORD_SAMPLE))
    sample = captions[::step]
    counts = np.fromiter((sum(1 for w in tokenizer.lcut(c) if w.strip()) for c in sample), dtype=np.int64,
                         count=len(sample))
    return counts, len(sample)


def histogram_table(counts: dict[str, int], total: int, label: str) -> str:
    lines = [f"| {label} | pairs | share |", "|---|---:|---:|"]
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {name} | {n:,} | {100.0 * n / total:.2f}% |")
    return "\n".join(lines)
