"""Scaling of the filter stage with the number of CPUs Ray may use (issue 5 benchmark 4, issue 8).

    python -m bench.bench_scaling [--pairs 3000] [--cpus 1,2,4,8,16] [--repeats 1]

A fixed candidate set: every pair of an N-pair demo web (127.0.0.1), as in bench/bench_vs_img2dataset.py,
its answers snapshotted once and served from memory by `bench.static_mirror` in its own process.
The same `wukong filter` command (a fresh process, embedded Ray) runs with `--set ray.num_cpus=C`
for each C not above this machine's cores (default 1, 2, 4, 8, 16), alternating over the repeats.
Reports wall time, the command's own phase times, pairs/s over the wall time and over the wall time
without Ray's start-up, pairs/s per core, and the speed-up over one CPU; appends a dated section to
BENCHMARKS.md. The mirror shares the machine's cores with the filter stage.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.bench_vs_img2dataset import CONFIG, write_candidates
from bench.common import append_benchmarks, machine

PHASE_LINE = re.compile(r"time per phase: (.*)")
PHASE = re.compile(r"(\w+) ([0-9.]+)s")


def run_filter(candidates: Path, out: Path, cpus: int) -> tuple[float, dict[str, float], int]:
    """Wall seconds, the command's phase seconds and the kept count of one `wukong filter` run."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "wukong.cli", "-q", "filter", "--in", str(candidates), "--out", str(out),
           "--config", str(CONFIG), "--set", f"ray.num_cpus={cpus}",
           "--set", "ray.local_max_rows=0"]  # Ray's scaling, whatever the size (never the local executor)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"wukong filter failed ({r.returncode}): {r.stderr[-2000:]}")
    match = PHASE_LINE.search(r.stdout)
    phases = {k: float(v) for k, v in PHASE.findall(match.group(1))} if match else {}
    kept = sum(pq.read_metadata(p).num_rows for p in (out / "kept").glob("*.parquet"))
    return seconds, phases, kept


def sizes(candidates: Path, out: Path) -> dict[str, float]:
    """Rows and bytes per stage of one filter output, for the capacity plan (SCALING.md)."""

    def total(paths: list[Path]) -> tuple[int, int]:
        return sum(pq.read_metadata(p).num_rows for p in paths), sum(p.stat().st_size for p in paths)

    cand_rows, cand_bytes = total(sorted(candidates.glob("*.parquet")))
    image_rows, image_bytes = total(sorted((out / "_work" / "image").glob("*.parquet")))
    text_rows, text_bytes = total(sorted((out / "_work" / "text").glob("*.parquet")))
    kept_rows, kept_bytes = total(sorted((out / "kept").glob("*.parquet")))
    rej_rows, rej_bytes = total(sorted((out / "rejected").glob("*.parquet")))
    image_col = sum(pa.compute.sum(pa.compute.binary_length(pq.read_table(p, columns=["image"]).column("image")))
                    .as_py() or 0 for p in sorted((out / "kept").glob("*.parquet")))
    return {"candidates": cand_rows, "candidate B/row": cand_bytes / max(cand_rows, 1),
            "downloaded": image_rows, "image work B/row": image_bytes / max(image_rows, 1),
            "text work B/row": text_bytes / max(text_rows, 1), "kept": kept_rows,
            "kept B/row": kept_bytes / max(kept_rows, 1), "image B/kept": image_col / max(kept_rows, 1),
            "rejected B/row": rej_bytes / max(rej_rows, 1)}


DRIVER_CODE = r"""
import sys, time, tracemalloc
import numpy as np, pyarrow as pa
from filters.global_text import decide_global_text
from filters.dedup import decide_duplicates, phash_from_hex

n = int(sys.argv[1])
rng = np.random.default_rng(7)
# Global text, with the arrays filters/runner.py::_global_text holds (hashes, alive, task and row ids).
cap_h = rng.integers(1, 2**63, max(n // 2, 1), dtype=np.uint64)[rng.integers(0, max(n // 2, 1), n)]
url_h = rng.integers(1, 2**63, n, dtype=np.uint64)
url_h[: n // 100] = url_h[n // 100: 2 * (n // 100)]
alive = rng.random(n) > 0.1
rows, task_ids = np.arange(n, dtype=np.int32), (np.arange(n) // 2000).astype(np.int32)
tracemalloc.start()
t0 = time.process_time()
decide_global_text(cap_h, url_h, alive, 5, lambda pos: [("p", "c")] * len(pos))
gt_cpu, gt_peak = time.process_time() - t0, tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
del cap_h, url_h, alive, rows, task_ids
# Image dedup, with the conversions filters/runner.py::_dedup makes from the image work rows
# (sha256 and phash hex strings, keys as a Python list), then the same call with arrow/numpy columns.
digests = rng.integers(0, 256, (n, 32), dtype=np.uint8)
sha = pa.array([bytes(r).hex() for r in digests]); del digests
ph = pa.array([format(int(v), "016x") for v in rng.integers(0, 2**63, n, dtype=np.uint64)])
keys_np = rng.integers(10**18, 2**63, n, dtype=np.uint64)
area = (rng.integers(200, 2000, n) * rng.integers(200, 2000, n)).astype(np.int64)
arrow_in = pa.total_allocated_bytes()
tracemalloc.start()
t0 = time.process_time()
keys_list = keys_np.tolist()
decide_duplicates(keys=np.array(keys_list, dtype=np.uint64), sha256=sha.to_pylist(),
                  phash=phash_from_hex(np.array(ph.to_pylist())), area=area, max_distance=4)
as_runner_cpu, as_runner_peak = time.process_time() - t0, tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
del keys_list
tracemalloc.start()
t0 = time.process_time()
decide_duplicates(keys=keys_np, sha256=sha, phash=phash_from_hex(ph), area=area, max_distance=4)
direct_cpu, direct_peak = time.process_time() - t0, tracemalloc.get_traced_memory()[1]
print(gt_cpu, gt_peak, as_runner_cpu, as_runner_peak, direct_cpu, direct_peak, arrow_in)
"""


def driver_memory(rows: int) -> str:
    """Peak memory (tracemalloc: numpy and Python objects) and CPU of the driver's global decisions."""
    r = subprocess.run([sys.executable, "-c", DRIVER_CODE, str(rows)], capture_output=True, text=True, check=True)
    gt_cpu, gt_peak, run_cpu, run_peak, dir_cpu, dir_peak, arrow = map(float, r.stdout.split())
    return (f"| {rows:,} | {gt_cpu / rows * 1e6:.2f} | {gt_peak / rows:.1f} | {run_cpu / rows * 1e6:.2f} | "
            f"{run_peak / rows:.0f} | {dir_cpu / rows * 1e6:.2f} | {dir_peak / rows:.0f} | {arrow / rows:.0f} |")


def main_driver(sizes_: list[int]) -> None:
    rows = [driver_memory(n) for n in sizes_]
    body = "\n".join([
        f"Command: `python -m bench.bench_scaling --driver-rows {','.join(map(str, sizes_))}`. "
        f"Machine: {machine()}.",
        "",
        "Synthetic rows: caption hashes with half the captions repeated, 1% duplicate URLs, 10% rejected "
        "earlier; random sha256 and pHashes as 64- and 16-character hex strings (as the image work files "
        "hold them). Memory is tracemalloc's peak during the call (numpy buffers and Python objects), "
        "beyond the inputs; the arrow columns the driver reads (sha256, phash) are the last column.",
        "",
        "| rows | global text µs/row CPU | global text B/row | dedup as filters/runner.py calls it µs/row | "
        "B/row | dedup on arrow/numpy columns µs/row | B/row | arrow input B/row |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])
    print(body)
    append_benchmarks("Filter driver: memory and CPU of the global decisions (bench/bench_scaling.py)", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=3000, help="size of the demo web (all its pairs are candidates)")
    ap.add_argument("--cpus", default="1,2,4,8,16", help="Ray CPU counts to try (those above the cores are skipped)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--driver-rows", metavar="N[,N...]",
                    help="instead: memory and CPU of the driver's global decisions at these row counts")
    args = ap.parse_args()
    if args.driver_rows:
        main_driver([int(x) for x in args.driver_rows.split(",")])
        return
    cores = os.cpu_count() or 1
    counts = [c for c in (int(x) for x in args.cpus.split(",")) if c <= cores]
    from bench.static_mirror import demo_mirror

    scratch = Path(tempfile.mkdtemp(prefix="bench_scaling_"))
    runs: dict[int, list[tuple[float, dict[str, float], int]]] = {c: [] for c in counts}
    measured: dict[str, float] = {}
    try:
        with demo_mirror(args.pairs, args.seed, scratch) as (urls, _):
            n = urls.num_rows
            candidates = scratch / "candidates"
            write_candidates(urls, candidates / "part-bench-00000.parquet")
            for i in range(args.repeats):
                for c in counts:
                    out = scratch / f"filtered-{c}-{i}"
                    seconds, phases, kept = run_filter(candidates, out, c)
                    runs[c].append((seconds, phases, kept))
                    measured = measured or sizes(candidates, out)
                    print(f"run {i} cpus {c:>2}: {seconds:6.1f} s wall, {n / seconds:6.1f} pairs/s, {kept} kept; "
                          + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()), flush=True)
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    def median(c: int, key: str) -> float:
        return statistics.median(p.get(key, 0.0) for _, p, _ in runs[c])

    rows = []
    base_rate = 0.0
    for c in counts:
        wall = statistics.median(s for s, _, _ in runs[c])
        start = median(c, "startup") + median(c, "shutdown")
        work = max(wall - start, 1e-9)
        rate = n / work
        base_rate = base_rate or rate
        rows.append(f"| {c} | {wall:.1f} | {start:.1f} | {median(c, 'text'):.1f} | {median(c, 'global_text'):.2f} | "
                    f"{median(c, 'download_image'):.1f} | {median(c, 'dedup'):.2f} | {median(c, 'finalize'):.1f} | "
                    f"{n / wall:,.0f} | {rate:,.0f} | {rate / c:,.0f} | {rate / base_rate:.2f}x |")
    body = "\n".join([
        f"Command: `python -m bench.bench_scaling --pairs {args.pairs} --cpus {','.join(map(str, counts))} "
        f"--repeats {args.repeats}`",
        "",
        f"{n:,} candidate pairs (every pair of a {args.pairs:,}-pair demo web, seed {args.seed}, served from memory "
        f"by bench.static_mirror on 127.0.0.1), `wukong filter --config configs/demo.yaml --set ray.num_cpus=C --set "
        f"ray.local_max_rows=0` in a fresh process (embedded Ray), median of {args.repeats} run(s) per C; "
        f"{runs[counts[0]][0][2]:,} kept. "
        f"Machine: {machine()}; load average at the end {load}.",
        "",
        "| Ray CPUs | wall s | Ray start + stop s | text s | global text s | download + image s | dedup s | "
        "finalize s | pairs/s (wall) | pairs/s (without start) | pairs/s/core | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Phases are the command's own (`time per phase`); the speed-up compares pairs/s without Ray's start-up. "
        "The mirror server runs on the same cores.",
        "",
        f"Download + decode + hash (the image pass) on {counts[0]} Ray CPU(s): "
        f"{measured['downloaded'] / max(median(counts[0], 'download_image'), 1e-9) / counts[0]:,.0f} downloaded "
        f"pairs/s per core ({measured['downloaded']:,.0f} of the {n:,} pairs reached it).",
        "Sizes on disk per row: " + ", ".join(f"{k} {v:,.0f}" for k, v in measured.items()) + ".",
    ])
    print(body)
    append_benchmarks("Filter stage scaling with Ray CPUs: bench/bench_scaling.py", body)


if __name__ == "__main__":
    main()
