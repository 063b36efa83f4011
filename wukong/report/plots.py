"""The report's PNG plots, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display).

Each function draws one figure from numbers it is given and writes it to `path`. Labels are only
drawn in Chinese when a CJK font is available (`Style.cjk_family`); otherwise a label that the
font cannot draw is replaced by a rank (`#3`) and the HTML table beside the plot gives the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import StrMethodFormatter

from wukong.report.funnel import STEPS, FunnelRow, ReasonRow

STEP_COLORS: dict[str, str] = {
    "text": "#4e79a7", "frequent_caption": "#76b7b2", "url": "#59a14f", "download": "#e15759",
    "image": "#f28e2b", "duplicate_image": "#b07aa1", "near_duplicate": "#ff9da7",
    "opt_out": "#edc948", "contaminated": "#bab0ac", "other": "#9c755f",
}
_STEP_LABELS = {s.name: s.label for s in STEPS}
KEPT, INPUT, RELEASED, MUTED = "#2e7d32", "#8c8c8c", "#1b5e20", "#e0e0e0"
DPI = 110


@dataclass(frozen=True, slots=True)
class Style:
    """How to draw text: `cjk_family` is a font family that draws Chinese, or None."""

    cjk_family: str | None = None

    def label(self, text: str, fallback: str) -> str:
        """`text` when it can be drawn, else `fallback` (the HTML table has the text)."""
        return text if self.cjk_family is not None or text.isascii() else fallback

    @contextmanager
    def rc(self) -> Iterator[None]:
        family = [self.cjk_family, "DejaVu Sans"] if self.cjk_family else ["DejaVu Sans"]
        params = {
            "font.family": "sans-serif", "font.sans-serif": family, "font.size": 9,
            "axes.titlesize": 11.5, "axes.titleweight": "normal", "axes.spines.top": False,
            "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True,
            "axes.unicode_minus": False,
        }
        with matplotlib.rc_context(params):
            yield


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


COUNT = StrMethodFormatter("{x:,.0f}")


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def _annotate_bars(ax, values: Sequence[float], labels: Sequence[str], maximum: float) -> None:
    for y, (value, text) in enumerate(zip(values, labels, strict=True)):
        ax.text(value + maximum * 0.01, y, text, va="center", fontsize=8)
    ax.set_xlim(0, maximum * 1.28 if maximum else 1)


def funnel(rows: Sequence[FunnelRow], path: Path, style: Style) -> Path:
    """Pairs left after each step: a bar per step, the pairs that step removed in a light extension."""
    with style.rc():
        fig = _figure(9, 0.45 * len(rows) + 1.3)
        ax = fig.add_subplot()
        ys = np.arange(len(rows))
        colors = [INPUT if r.name == "input" else KEPT if r.name == "kept" else RELEASED if r.name == "released"
                  else STEP_COLORS.get(r.name, "#4e79a7") for r in rows]
        ax.barh(ys, [r.remaining for r in rows], color=colors)
        ax.barh(ys, [r.removed for r in rows], left=[r.remaining for r in rows], color=MUTED,
                label="removed by the step")
        ax.set_yticks(ys, [r.label for r in rows])
        ax.invert_yaxis()
        top = max((r.remaining + r.removed for r in rows), default=0)
        _annotate_bars(ax, [r.remaining + r.removed for r in rows],
                       [f"{r.remaining:,}  ({r.percent_of_input:.1f}%)" for r in rows], top)
        ax.xaxis.set_major_formatter(COUNT)
        ax.set_xlabel("pairs")
        ax.set_title("Filter funnel: pairs left after each step")
        ax.legend(loc="lower right", fontsize=8)
        return _save(fig, path)


def rejections(rows: Sequence[ReasonRow], path: Path, style: Style) -> Path:
    """Pairs rejected per reason in pipeline order, coloured by filter step, with % of the input."""
    with style.rc():
        fig = _figure(9, 0.32 * len(rows) + 1.9)
        ax = fig.add_subplot()
        ys = np.arange(len(rows))
        ax.barh(ys, [r.count for r in rows], color=[STEP_COLORS[r.step] for r in rows])
        ax.set_yticks(ys, [r.reason for r in rows])
        ax.invert_yaxis()
        top = max((r.count for r in rows), default=0)
        _annotate_bars(ax, [r.count for r in rows], [f"{r.count:,}  ({r.percent_of_input:.1f}%)" for r in rows], top)
        seen = dict.fromkeys(r.step for r in rows)
        handles = [Patch(color=STEP_COLORS[s], label=_STEP_LABELS[s]) for s in seen]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8)
        ax.xaxis.set_major_formatter(COUNT)
        ax.set_xlabel("pairs rejected")
        ax.set_title("Rejections per reason (pipeline order)")
        return _save(fig, path)


def _median_line(ax, values: np.ndarray, fmt: str = "{:.0f}") -> None:
    if len(values):
        median = float(np.median(values))
        ax.axvline(median, color="#333333", linestyle="--", linewidth=1)
        ax.text(median, ax.get_ylim()[1] * 0.95, " median " + fmt.format(median), fontsize=8, va="top")


def caption_words(counts: np.ndarray, path: Path, style: Style, title: str) -> Path:
    """Histogram of caption lengths in jieba words (one bar per length; the last bar is 48 and over)."""
    with style.rc():
        fig = _figure(9, 3.4)
        ax = fig.add_subplot()
        clipped = np.minimum(counts, 48)
        ax.hist(clipped, bins=np.arange(0, 50) - 0.5, color="#4e79a7")
        ax.set_xlim(-0.5, max(int(clipped.max(initial=0)) + 1.5, 10))
        _median_line(ax, counts)
        ax.set_xlabel("jieba words per caption")
        ax.set_ylabel("captions")
        ax.set_title(title)
        return _save(fig, path)


def image_sizes(widths: np.ndarray, heights: np.ndarray, path: Path, style: Style, title: str) -> Path:
    """Width and height histograms side by side (the x axis stops at the 99.5th percentile)."""
    with style.rc():
        fig = _figure(9, 3.4)
        for i, (values, name, color) in enumerate(((widths, "width", "#4e79a7"), (heights, "height", "#f28e2b"))):
            ax = fig.add_subplot(1, 2, i + 1)
            top = float(np.percentile(values, 99.5)) if len(values) else 1.0
            ax.hist(np.minimum(values, top), bins=50, color=color)
            _median_line(ax, values)
            ax.set_xlabel(f"{name} (px)")
            ax.set_ylabel("images")
            ax.set_title(f"{title}: {name}")
        return _save(fig, path)


def aspect_ratios(widths: np.ndarray, heights: np.ndarray, path: Path, style: Style, title: str) -> Path:
    """Histogram of width/height on a log scale, with Wukong's bounds 1/3 and 3 marked."""
    with style.rc():
        fig = _figure(9, 3.4)
        ax = fig.add_subplot()
        ok = (widths > 0) & (heights > 0)
        ratios = np.log2(widths[ok] / heights[ok])
        ax.hist(np.clip(ratios, -3, 3), bins=np.linspace(-3, 3, 61), color="#59a14f")
        ticks = [1 / 8, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 8]
        ax.set_xticks(np.log2(ticks), ["1/8", "1/4", "1/3", "1/2", "1", "2", "3", "4", "8"])
        for bound in (1 / 3, 3):
            ax.axvline(np.log2(bound), color="#e15759", linestyle=":", linewidth=1.2)
        ax.text(np.log2(3), ax.get_ylim()[1] * 0.95, " Wukong bound", color="#e15759", fontsize=8, va="top")
        ax.set_xlabel("aspect ratio width / height (log scale; clipped at 1/8 and 8)")
        ax.set_ylabel("images")
        ax.set_title(title)
        return _save(fig, path)


def sources(crawled: Counter[str], kept: Counter[str] | None, path: Path, style: Style) -> Path:
    """Pairs per source: crawled and (when filtered) kept, side by side."""
    names = sorted(set(crawled) | set(kept or {}), key=lambda s: (-(crawled[s] or (kept or {}).get(s, 0)), s))
    with style.rc():
        fig = _figure(9, 0.5 * len(names) + 1.4)
        ax = fig.add_subplot()
        ys = np.arange(len(names))
        height = 0.4 if kept is not None else 0.7
        ax.barh(ys - (height / 2 if kept is not None else 0), [crawled[n] for n in names], height, color=INPUT,
                label="crawled")
        if kept is not None:
            ax.barh(ys + height / 2, [kept[n] for n in names], height, color=KEPT, label="kept")
        ax.set_yticks(ys, [style.label(n, f"source #{i + 1}") for i, n in enumerate(names)])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(COUNT)
        ax.set_xlabel("pairs")
        ax.set_title("Pairs per source")
        ax.legend(loc="lower right", fontsize=8)
        return _save(fig, path)


def queries(counts: Counter[str], top: Sequence[tuple[str, int]], bottom: Sequence[tuple[str, int]],
            ranks: dict[str, int], path: Path, style: Style, what: str) -> Path:
    """Top and bottom queries by pairs, and how many queries have how many pairs (query balance)."""
    with style.rc():
        fig = _figure(10, max(3.6, 0.24 * max(len(top), len(bottom)) + 1.6))
        for i, (rows, title, color) in enumerate(((top, "top", KEPT), (bottom, "bottom", "#e15759"))):
            ax = fig.add_subplot(1, 3, i + 1)
            ys = np.arange(len(rows))
            ax.barh(ys, [n for _, n in rows], color=color)
            ax.set_yticks(ys, [style.label(q, f"#{ranks[q]}") for q, _ in rows], fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel(f"{what} pairs")
            ax.set_title(f"{len(rows)} {title} queries")
        ax = fig.add_subplot(1, 3, 3)
        values = np.fromiter(counts.values(), dtype=np.int64)
        ax.hist(values, bins=min(40, max(5, len(set(values.tolist())))), color="#4e79a7")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(f"{what} pairs per query")
        ax.set_ylabel("queries")
        ax.set_title(f"{len(values):,} queries")
        return _save(fig, path)


def group_sizes(near: Counter[int], exact: Counter[int], path: Path, style: Style) -> Path:
    """Number of duplicate groups per group size (kept member included; the last bar is 10 and over)."""
    sizes = list(range(2, 11))
    with style.rc():
        fig = _figure(9, 3.4)
        ax = fig.add_subplot()
        x = np.arange(len(sizes))

        def clipped(counter: Counter[int]) -> list[int]:
            return [counter.get(s, 0) if s < 10 else sum(n for k, n in counter.items() if k >= 10) for s in sizes]

        ax.bar(x - 0.2, clipped(near), 0.4, color=STEP_COLORS["near_duplicate"], label="near-duplicate groups (pHash)")
        ax.bar(x + 0.2, clipped(exact), 0.4, color=STEP_COLORS["duplicate_image"], label="exact groups (sha256)")
        ax.set_xticks(x, [str(s) if s < 10 else "10+" for s in sizes])
        ax.yaxis.set_major_formatter(COUNT)
        ax.set_xlabel("images in the group (one kept, the rest rejected)")
        ax.set_ylabel("groups")
        ax.set_title("Duplicate group sizes")
        ax.legend(fontsize=8)
        return _save(fig, path)


def failures_by_host(rows: Sequence[tuple[str, dict[str, int]]], reasons: Sequence[str], path: Path,
                     style: Style) -> Path:
    """Download failures of the hosts with most failures, stacked by reason."""
    palette = ["#e15759", "#f28e2b", "#edc948", "#b07aa1", "#76b7b2", "#4e79a7", "#9c755f", "#bab0ac", "#59a14f"]
    with style.rc():
        fig = _figure(9, 0.32 * len(rows) + 1.6)
        ax = fig.add_subplot()
        ys = np.arange(len(rows))
        left = np.zeros(len(rows))
        for i, reason in enumerate(reasons):
            values = np.array([by_reason.get(reason, 0) for _, by_reason in rows], dtype=float)
            ax.barh(ys, values, left=left, color=palette[i % len(palette)], label=reason)
            left += values
        ax.set_yticks(ys, [style.label(host, f"host #{i + 1}") for i, (host, _) in enumerate(rows)], fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(COUNT)
        ax.set_xlabel("failed downloads")
        ax.set_title("Download failures by host")
        ax.legend(fontsize=7, loc="lower right")
        return _save(fig, path)
