"""The filter driver's global decisions at a release's size: time and peak memory on synthetic rows.

    python -m bench.bench_driver [--rows 10000000]       # make bench's modest size
    python -m bench.bench_driver --rows 10000000,30000000,100000000   # a release's size (~1 h on 2 CPUs)

The decisions that need the whole input run on the driver (filters/runner.py): caption frequency and
URL dedup (`filters.global_text.decide_global_text`), then exact and near image dedup
(`filters.dedup.decide_duplicates`). Each gets, per row, the compact columns the runner builds from
the task work files (global text: caption and URL hashes, alive flag, task and row ids, 25 B/row;
dedup: uint64 key, 32-byte sha256, VIEW_COUNT uint64 view hashes, uint64 tone word, int64 area, task
and row ids, 96 B/row), generated here in chunks of 5M rows, so that no Python object per row ever
exists. Each stage runs in a fresh
process per size: its peak RSS (`ru_maxrss`) is the inputs plus what the decision allocates, and
tracemalloc's peak during the call (numpy buffers and Python objects) is what the decision adds.

Data: half as many distinct captions as rows (a caption appears twice on average, a few hundred
times at most), 1% of URLs repeated, 10% of rows rejected earlier; random sha256 with 1% byte copies,
random 64-bit view hashes with 5% near copies (one view, 0..4 bits flipped, at any position: a match
the tone words confirm), max_distance 4.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

from bench.common import append_benchmarks, load_average, machine
from filters.image_views import VIEW_COUNT

CHUNK = 5_000_000


def _global_text_inputs(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    caps = rng.integers(1, 2**63, max(n // 2, 1), dtype=np.uint64)
    cap_h, url_h = np.empty(n, np.uint64), np.empty(n, np.uint64)
    alive = np.empty(n, bool)
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        cap_h[a:b] = caps[rng.integers(0, len(caps), b - a)]
        url_h[a:b] = rng.integers(1, 2**63, b - a, dtype=np.uint64)
        alive[a:b] = rng.random(b - a) > 0.1
    dup = n // 100
    url_h[:dup] = url_h[dup:2 * dup]
    rows = (np.arange(n) % 2000).astype(np.int32)
    tasks = (np.arange(n) // 2000).astype(np.int32)
    return {"cap_h": cap_h, "url_h": url_h, "alive": alive, "rows": rows, "tasks": tasks}


def _dedup_inputs(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The runner's image columns (filters.global_inputs.ImageColumns): a near copy holds one of its
    source's views, 0..4 bits apart, at a random position (the others random), and its tone word."""
    keys = (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(1)  # distinct
    sha = np.empty((n, 32), np.uint8)
    views, tone, area = np.empty((n, VIEW_COUNT), np.uint64), np.empty(n, np.uint64), np.empty(n, np.int64)
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        sha[a:b] = rng.integers(0, 256, (b - a, 32), dtype=np.uint8)
        views[a:b] = rng.integers(0, 2**63, (b - a, VIEW_COUNT), dtype=np.uint64)
        tone[a:b] = rng.integers(0, 2**40, b - a, dtype=np.uint64)
        area[a:b] = rng.integers(200, 2000, b - a) * rng.integers(200, 2000, b - a)
    exact, near = n // 100, n // 20
    src = rng.integers(0, n, exact + near)
    dst = rng.permutation(n)[: exact + near]
    sha[dst[:exact]] = sha[src[:exact]]
    flips = np.zeros(near, np.uint64)
    for _ in range(4):
        bit = rng.integers(0, 64, near).astype(np.uint64)
        flips |= np.where(rng.random(near) < 0.8, np.uint64(1) << bit, np.uint64(0))
    nsrc, ndst = src[exact:], dst[exact:]
    views[ndst, rng.integers(0, VIEW_COUNT, near)] = views[nsrc, rng.integers(0, VIEW_COUNT, near)] ^ flips
    tone[ndst] = tone[nsrc]
    tasks = (np.arange(n) // 2000).astype(np.int32)
    rows = (np.arange(n) % 2000).astype(np.int32)
    return {"keys": keys, "sha": sha, "views": views, "tone": tone, "area": area, "tasks": tasks, "rows": rows}


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB -> GB


def child(stage: str, n: int) -> dict[str, float]:
    """One stage on `n` rows in this (fresh) process."""
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    if stage == "global_text":
        data = _global_text_inputs(n, rng)
    else:
        data = _dedup_inputs(n, rng)
    gen_s = time.perf_counter() - t0
    inputs = sum(a.nbytes for a in data.values())
    base_gb = _peak_gb()
    tracemalloc.start()
    c0, t0 = time.process_time(), time.perf_counter()
    if stage == "global_text":
        from filters.global_text import decide_global_text

        out = decide_global_text(data["cap_h"], data["url_h"], data["alive"], 5,
                                 lambda pos: [("page", "caption")] * len(pos))
        decided = len(out.rows)
    else:
        from filters.dedup import decide_duplicates

        result = decide_duplicates(keys=data["keys"], sha256=data["sha"], phash=data["views"], area=data["area"],
                                   tone=data["tone"], max_distance=4)
        decided = int((~result.keep_mask).sum())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    traced = tracemalloc.get_traced_memory()[1]
    return {"rows": n, "seconds": seconds, "cpu": cpu, "gen_s": gen_s, "traced": traced,
            "input_bytes": inputs, "peak_gb": _peak_gb(), "inputs_peak_gb": base_gb, "decided": decided}


def run_stage(stage: str, n: int) -> dict[str, float] | str:
    r = subprocess.run([sys.executable, "-m", "bench.bench_driver", "--child", stage, str(n)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return f"failed (exit {r.returncode}): {(r.stderr.strip().splitlines() or ['killed'])[-1][:200]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="10000000", help="row counts, comma-separated")
    ap.add_argument("--child", nargs=2, metavar=("STAGE", "ROWS"), help=argparse.SUPPRESS)
    ap.add_argument("--no-append", action="store_true", help="print only, do not append to BENCHMARKS.md")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    lines = ["| rows | stage | wall s | CPU s | µs/row CPU | inputs B/row | peak RSS GB (inputs) | "
             "peak RSS GB (all) | B/row beyond inputs (traced) | rejected |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in [int(x) for x in args.rows.split(",")]:
        for stage in ("global_text", "dedup"):
            got = run_stage(stage, n)
            if isinstance(got, str):
                lines.append(f"| {n:,} | {stage} | {got} | | | | | | | |")
            else:
                beyond = got["traced"] / n  # tracemalloc's peak during the call: numpy buffers and objects
                lines.append(f"| {n:,} | {stage} | {got['seconds']:.1f} | {got['cpu']:.1f} | "
                             f"{got['cpu'] / n * 1e6:.2f} | {got['input_bytes'] / n:.0f} | "
                             f"{got['inputs_peak_gb']:.2f} | "
                             f"{got['peak_gb']:.2f} | {beyond:.0f} | {got['decided']:,} |")
            print(lines[-1], flush=True)
    body = "\n".join([
        f"Command: `python -m bench.bench_driver --rows {args.rows}`. Machine: {machine()}, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GiB RAM; {load_average()} "
        "(other engineers' jobs share the 2 cores: CPU seconds are the steadier figure).",
        "",
        *lines,
    ])
    print(body)
    if not args.no_append:
        append_benchmarks("Filter driver at a release's size: global decisions on synthetic rows "
                          "(bench/bench_driver.py)", body)


if __name__ == "__main__":
    main()
