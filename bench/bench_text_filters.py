"""Cost of the text filters in microseconds per pair per core, each alone and all together.

    python -m bench.bench_text_filters [--pairs 200000 | --full] [--batch 2000] [--profile]

Generates Wukong-like captions (seeded): short Chinese captions composed from jieba's dictionary
(median about 8 characters, some spaced), 7% with Latin brands and models, English, Japanese and
Korean captions, placeholders and file names, sensitive words, person names and over-long captions.
Runs in one process on batches of `--batch` rows (the Ray task size), as one Ray worker would:
the figures are per core. "alone" = the filter on every row; "together" = normalise, then the
chain, each filter on the rows still alive (what the runner does); privacy = the masker on the kept
rows. Prints a table and appends a dated section to BENCHMARKS.md (with `--profile`, the top of a
cProfile of the chain).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import math
import pstats
import random
import time
from collections import Counter
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from bench.common import append_benchmarks, machine, relative_paths
from filters.base import Filter, apply_filters
from filters.length import load_jieba
from filters.privacy import NameMasker
from filters.text_chain import normalize_captions, text_filters
from manifests.config import Config

BRANDS = ["iPhone 15", "iPhone 14 Pro", "Nike", "adidas", "MacBook Pro", "Switch", "小米 13", "华为 Mate60",
          "Dior 999", "YSL", "Kindle", "ins风", "DIY", "KTV", "PPT", "4K", "NBA", "LEGO", "USB", "WiFi", "SUV", "T恤"]
ENGLISH = ("beautiful sunset over the ocean cat sitting on a windowsill wedding dress modern living room "
           "interior design close up of red rose city skyline at night fresh fruit salad vintage car mountain "
           "landscape with snow portrait of young woman abstract background cute puppy coffee cup").split()
JAPANESE = ["東京タワーの夜景", "美味しいラーメン", "京都の紅葉", "かわいい猫", "桜の花", "お弁当", "ポケモン",
            "新作のワンピース"]
KOREAN = ["서울 야경", "김치찌개", "맛있는 음식", "귀여운 강아지", "제주도 여행", "카페 인테리어"]
PLACEHOLDERS = ["图片", "照片", "image", "IMG_0001.jpg", "DSC00012", "000.jpg", "微信图片_20230101", "untitled",
                "12345", "😀😀", "", None, "   ", "图片1"]
SENSITIVE = ["赌博", "赌 博", "代开发票", "冰毒", "裸聊"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志文晓红燕玲"
NAME_CONTEXT = ["{}的生日蛋糕", "记者{}摄", "{}老师在上课", "{}和妈妈在海边", "新娘{}", "{} 毕业照"]


def vocabulary() -> tuple[list[str], list[float]]:
    """Content words of jieba's dictionary with their cumulative weights (frequency ** 0.5)."""
    import jieba.posseg

    load_jieba()
    tags = jieba.posseg.dt.word_tag_tab
    freq = jieba.dt.FREQ
    words = [w for w, t in tags.items() if t in {"n", "ns", "nz", "a", "v", "vn", "an", "t", "s"}
             and 1 < len(w) <= 4 and freq.get(w, 0) >= 5]
    words.sort()
    return words, list(itertools.accumulate(math.sqrt(freq[w]) for w in words))


def make_captions(n: int, seed: int = 7) -> list[str | None]:
    rng = random.Random(seed)
    words, cumulative = vocabulary()

    def chinese(k: int) -> str:
        parts = rng.choices(words, cum_weights=cumulative, k=k)
        return (" " if rng.random() < 0.2 else "").join(parts)

    out: list[str | None] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.76:
            out.append(chinese(rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6))))
        elif r < 0.83:
            out.append(f"{rng.choice(BRANDS)} {chinese(rng.choice((1, 2, 3)))}")
        elif r < 0.87:
            out.append(" ".join(rng.choices(ENGLISH, k=rng.randint(2, 6))))
        elif r < 0.88:
            out.append(rng.choice(JAPANESE))
        elif r < 0.89:
            out.append(rng.choice(KOREAN))
        elif r < 0.92:
            out.append(rng.choice(PLACEHOLDERS))
        elif r < 0.93:
            out.append(chinese(2) + rng.choice(SENSITIVE))
        elif r < 0.95:
            out.append(chinese(rng.randint(34, 60)))
        else:
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            out.append(rng.choice(NAME_CONTEXT).format(name))
    return out


def batches(captions: list[str | None], size: int) -> list[pa.Table]:
    return [pa.table({"caption": pa.array(captions[i:i + size], pa.string())}) for i in range(0, len(captions), size)]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds)."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def run_alone(flt: Filter, normalised: list[pa.Table]) -> None:
    for batch in normalised:
        flt(batch)


def run_chain(parts: list[pa.Table], filters: list[Filter], max_chars: int, out: list[pa.Table]) -> None:
    for batch in parts:
        out.append(apply_filters(normalize_captions(batch, max_chars), filters))


def profile_chain(parts: list[pa.Table], filters: list[Filter], max_chars: int, top: int = 14) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_chain(parts, filters, max_chars, [])
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in relative_paths(buffer.getvalue()).splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:start + top + 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--full", action="store_true", help="1,000,000 pairs")
    ap.add_argument("--batch", type=int, default=Config().ray.rows_per_task)
    ap.add_argument("--profile", action="store_true", help="cProfile the chain (run on a 1/5 sample)")
    ap.add_argument("--no-append", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()
    n = 1_000_000 if args.full else args.pairs
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)

    cfg = Config()
    load = {}  # cold loads first: the caption generator below also uses jieba's dictionary
    c0 = time.perf_counter()
    filters = text_filters(cfg)
    load["filters"] = time.perf_counter() - c0
    c0 = time.perf_counter()
    masker = NameMasker(cfg)
    load["masker"] = time.perf_counter() - c0

    t0 = time.perf_counter()
    captions = make_captions(n)
    distinct = len(set(captions))
    parts = batches(captions, args.batch)
    print(f"{n:,} captions generated in {time.perf_counter() - t0:.1f}s ({distinct / n:.1%} distinct)")

    rows: list[tuple[str, int, float, float]] = []
    normalised: list[pa.Table] = []
    cpu, wall = timed(lambda: normalised.extend(normalize_captions(b, cfg.text.max_chars) for b in parts))
    rows.append(("normalise (alone)", n, cpu, wall))
    for flt in filters:
        cpu, wall = timed(lambda flt=flt: run_alone(flt, normalised))
        rows.append((f"{flt.name} (alone)", n, cpu, wall))
    done: list[pa.Table] = []
    filters = text_filters(cfg)  # fresh instances: nothing cached by the runs above
    cpu, wall = timed(lambda: run_chain(parts, filters, cfg.text.max_chars, done))
    rows.append(("all text filters together", n, cpu, wall))
    result = pa.concat_tables(done)
    kept = result.filter(pc.is_null(result.column("reason")))
    cpu, wall = timed(lambda: masker.mask(kept.column("caption_norm")))
    rows.append(("privacy masker (kept rows)", kept.num_rows, cpu, wall))
    reasons = Counter(result.column("reason").to_pylist())

    header = "| stage | rows | µs/pair CPU | µs/pair wall | pairs/s per core |\n|---|---:|---:|---:|---:|"
    body = [header]
    for name, count, cpu, wall in rows:
        body.append(f"| {name} | {count:,} | {cpu / count * 1e6:.1f} | {wall / count * 1e6:.1f} | {count / cpu:,.0f} |")
    chain_cpu = rows[-2][2] / n * 1e6
    funnel = ", ".join(f"{k or 'kept'} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    text = "\n".join(body)
    notes = (
        f"\n\n{n:,} generated captions ({distinct / n:.1%} distinct), batches of {args.batch}, one process, "
        f"pyarrow on 1 thread; {machine()}. Loading: filters {load['filters']:.2f}s (jieba, fastText, "
        f"automaton), masker {load['masker']:.2f}s. Per-filter rows are the filter alone on every row; "
        f"the chain runs each filter only on the rows still alive. Goal <= 60 µs/pair for the chain: "
        f"{chain_cpu:.1f} µs ({'met' if chain_cpu <= 60 else 'NOT met'}).\n\nFunnel: {funnel}."
    )
    if args.profile:
        sample = parts[: max(1, len(parts) // 5)]
        top = profile_chain(sample, text_filters(cfg), cfg.text.max_chars)
        pairs = len(sample) * args.batch
        notes += f"\n\ncProfile of the chain on {pairs:,} pairs (top by own time):\n\n```\n{top}\n```"
    print(text + notes)
    if not args.no_append:
        append_benchmarks(f"Text filters: bench/bench_text_filters.py, {n:,} pairs", text + notes)


if __name__ == "__main__":
    main()
