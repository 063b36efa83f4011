"""The shard stage's write speed against the raw disk write speed of the same bytes.

    python -m bench.bench_shard [--rows 4000] [--per-shard 500] [--distinct 400] [--dir DIR]

Generates kept parts of incompressible JPEGs (Pillow), runs `build_release` (local worker processes,
as `wukong shard` on one machine), then writes the same number of bytes in as many files with plain
buffered writes and fsync (the ceiling). Prints a table and appends a dated section to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import append_benchmarks, machine
from manifests.config import Config
from sharding.release import build_release
from sharding.synthetic import make_rows, write_filtered

MB = 1_000_000


def raw_write(directory: Path, total: int, files: int, block: int = 4 << 20) -> float:
    """Seconds to write `total` bytes into `files` files with buffered writes, fsync each (no tar, no hash)."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(block)
    per_file = -(-total // files)
    t0 = time.perf_counter()
    for i in range(files):
        left = min(per_file, total - i * per_file)
        with open(directory / f"{i:05d}.bin", "wb") as fh:
            while left > 0:
                n = min(left, block)
                fh.write(payload[:n])
                left -= n
            fh.flush()
            os.fsync(fh.fileno())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--per-shard", type=int, default=500)
    ap.add_argument("--parts", type=int, default=8)
    ap.add_argument("--distinct", type=int, default=400, help="distinct images (reused across rows)")
    ap.add_argument("--side", type=int, default=300, help="image side in pixels (noise JPEG, ~q90)")
    ap.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temp folder)")
    args = ap.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    scratch = Path(tempfile.mkdtemp(prefix="bench_shard_", dir=args.dir))
    try:
        t0 = time.perf_counter()
        rows = make_rows(args.rows, "http://127.0.0.1:9/img", noise=True, size=(args.side, args.side),
                         distinct_images=args.distinct)
        write_filtered(rows, scratch / "filtered", parts=args.parts)
        gen = time.perf_counter() - t0
        image_bytes = sum(len(r["image"]) for r in rows)
        del rows
        cfg = Config()
        cfg.shard.samples_per_shard = args.per_shard
        first = build_release(scratch / "filtered", scratch / "release", cfg, progress=False)
        again = build_release(scratch / "filtered", scratch / "release", cfg, progress=False)
        raw = raw_write(scratch / "raw", first.tar_bytes, first.shards)
        raw_mbs = first.tar_bytes / MB / raw
        shard_mbs = first.written_bytes / MB / first.write_seconds
        total_mbs = first.tar_bytes / MB / first.total_seconds
        lines = [
            f"Machine: {machine()}. {args.rows:,} pairs of noise JPEGs ({image_bytes / MB:,.1f} MB of images, "
            f"{image_bytes / args.rows / 1000:,.0f} kB each), {args.parts} kept parts, {first.shards} shards of "
            f"{args.per_shard}; {first.tar_bytes / MB:,.1f} MB of tars; test data generated in {gen:.1f} s.",
            "",
            "| what | seconds | MB/s | vs raw disk |",
            "|---|---:|---:|---:|",
            f"| raw disk write of the same bytes ({first.shards} files, fsync) | {raw:.2f} | {raw_mbs:,.0f} | 100% |",
            f"| shard stage: bucket + write shards (local worker processes) | {first.write_seconds:.2f} | "
            f"{shard_mbs:,.0f} | "
            f"{100 * shard_mbs / raw_mbs:.0f}% |",
            f"| `build_release` end to end (worker start, index, shards, manifests, card, sums) | "
            f"{first.total_seconds:.2f} | {total_mbs:,.0f} | {100 * total_mbs / raw_mbs:.0f}% |",
            f"| re-run, every shard complete (skipped) | {again.total_seconds:.2f} | | |",
            "",
            "Phases of the first run: " + ", ".join(f"{k} {v:.2f} s" for k, v in first.phases.items()) + ".",
        ]
        body = "\n".join(lines)
        print(body)
        append_benchmarks("Shard stage vs raw disk write (bench/bench_shard.py)", body)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
