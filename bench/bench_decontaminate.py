"""Decontamination cost at 100k references (`dedup.exclude`, issue 15 point 3).

    python -m bench.bench_decontaminate [--files 3000] [--references 100000] [--candidates 1000000]

Two costs. Hashing: `--files` small reference JPEGs (photo-like demo web pictures, 320..640 px, as
evaluation sets hold them) written to a temporary folder, listed and hashed by
`filters.references` on one core (the filter runs these chunks as Ray tasks, one per core), and the
cached hashes read back as a resumed run does; the per-core figure is scaled to `--references`.
Search: `decide_duplicates` over `--candidates` random pHashes (5% near copies, 1% exact) without
and with `--references` reference hashes (1% of them within 0..4 bits of a candidate), in one
process, side by side: the difference is what decontamination adds to the dedup step.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import append_benchmarks, load_average, machine


def write_references(folder: Path, count: int, seed: int) -> int:
    from wukong.demoweb.pictures import codewords, colourise, ramp, render_luma

    rng = np.random.default_rng(seed)
    codes = codewords(count, seed)
    total = 0
    for i in range(count):
        w = int(rng.integers(320, 641))
        h = int(w * rng.uniform(0.6, 1.0))
        img = colourise(render_luma(int(codes[i]), seed * 1_000_003 + i, w, h), ramp(i), "RGB")
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        (folder / f"{i:06d}.jpg").write_bytes(buf.getvalue())
        total += len(buf.getvalue())
    return total


def hashing(count: int, seed: int) -> dict[str, Any]:
    from filters.references import list_references, load_reference_hashes
    from manifests.config import Config

    cfg = Config()
    with tempfile.TemporaryDirectory(prefix="wukong-refs-") as tmp:
        folder = Path(tmp) / "refs"
        folder.mkdir()
        size = write_references(folder, count, seed)
        t0 = time.perf_counter()
        refs = list_references([str(folder)], cfg.storage)
        listed = time.perf_counter() - t0
        cache = Path(tmp) / "cache.parquet"
        c0, t0 = time.process_time(), time.perf_counter()
        hashes = load_reference_hashes(refs, cache, cfg)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        t0 = time.perf_counter()
        again = load_reference_hashes(refs, cache, cfg)
        cached = time.perf_counter() - t0
        assert again.hashes.tolist() == hashes.hashes.tolist() and not hashes.unreadable
    return {"files": count, "mean_kb": size / count / 1024, "list_s": listed, "hash_wall_s": wall,
            "hash_cpu_s": cpu, "cached_s": cached}


def search(n: int, r: int, seed: int) -> dict[str, Any]:
    from bench.bench_dedup import make_rows
    from filters.dedup import decide_duplicates

    rows = make_rows(n, 4, 0.05, 0.01, seed)
    rng = np.random.default_rng(seed + 1)
    refs = rng.integers(0, 2**64 - 1, r, dtype=np.uint64, endpoint=True)
    planted = rng.choice(n, r // 100, replace=False)
    flips = rng.integers(0, 5, len(planted))
    copies = rows["phash"][planted].copy()
    for i, f in enumerate(flips):
        for b in rng.choice(64, int(f), replace=False):
            copies[i] ^= np.uint64(1) << np.uint64(b)
    refs[: len(planted)] = copies
    args = (rows["keys"], rows["sha256"], rows["phash"], rows["area"], 4)
    out: dict[str, Any] = {"candidates": n, "references": r, "planted": len(planted)}
    for label, extra in (("without", {}), ("with", {"references": refs})):
        c0, t0 = time.process_time(), time.perf_counter()
        res = decide_duplicates(*args, **extra)
        out[f"{label}_cpu_s"], out[f"{label}_wall_s"] = time.process_time() - c0, time.perf_counter() - t0
    hit = res.contaminated_rows
    group = res.survivor_index()
    caught = np.isin(group[planted], hit)  # each planted copy's group lost its kept member
    out["recall"] = float(caught.mean())
    out["contaminated"] = len(hit)
    return out


def report(h: dict[str, Any], s: dict[str, Any], refs: int, command: str) -> str:
    per_core = h["files"] / h["hash_cpu_s"]
    lines = [
        "| step | figure |", "|---|---:|",
        f"| reference JPEGs hashed on one core ({h['files']:,} files, mean {h['mean_kb']:.0f} KB) | "
        f"{per_core:,.0f} images/s per core ({h['hash_cpu_s']:.1f} s CPU, {h['hash_wall_s']:.1f} s wall) |",
        f"| {refs:,} references at that rate | {refs / per_core:,.0f} core-seconds: "
        f"{refs / per_core / 16:,.1f} s on 16 cores, {refs / per_core / 2:,.0f} s on 2 |",
        f"| listing {h['files']:,} files (`list_references`) | {h['list_s']:.2f} s |",
        f"| resumed run: cached hashes read back | {h['cached_s'] * 1000:.0f} ms |",
        f"| dedup of {s['candidates']:,} candidates, no references | {s['without_cpu_s']:.2f} s CPU |",
        f"| the same with {s['references']:,} reference hashes (one pooled search) | {s['with_cpu_s']:.2f} s CPU "
        f"(+{s['with_cpu_s'] - s['without_cpu_s']:.2f} s) |",
        f"| planted references (0..4 bits from a candidate) caught | {s['recall']:.2%} of {s['planted']:,} "
        f"({s['contaminated']:,} rows contaminated) |",
    ]
    notes = [f"Command: `{command}`. Machine: {machine()}; {load_average()} (shared: CPU seconds are the steadier "
             "figure). Hashing is `filters.references.hash_chunk` (Pillow decode in draft mode, as the image pass "
             "decodes) serially in one process; the filter runs the same chunks as Ray tasks, so the wall time "
             "divides by the cores. The search pools the reference hashes with the candidates' in the near "
             "stage's one multi-index search."]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=3000, help="reference JPEGs to write and hash")
    ap.add_argument("--references", type=int, default=100_000)
    ap.add_argument("--candidates", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-append", action="store_true")
    a = ap.parse_args(argv)
    h = hashing(a.files, a.seed)
    print(h, flush=True)
    s = search(a.candidates, a.references, a.seed)
    print(s, flush=True)
    command = "python -m bench.bench_decontaminate " + " ".join(sys.argv[1:] if argv is None else argv)
    text = report(h, s, a.references, command.strip())
    print(text)
    if not a.no_append:
        append_benchmarks("Decontamination at 100k references: bench/bench_decontaminate.py", text)


if __name__ == "__main__":
    main()
