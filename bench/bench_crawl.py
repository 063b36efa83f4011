"""Crawl throughput on the demo web: pages/s and pairs/s of both spiders, throttling off.

Runs the real `wukong crawl` (child processes, Scrapy, parquet parts) against `DemoWebServer` on
127.0.0.1 with configs/demo.yaml (download_delay 0, AutoThrottle off), and reports two rates: over
Scrapy's own crawl time (engine open to close) and over the command's wall time (process start-up,
robots.txt, stats included). The demo server runs in this process, so it shares the CPUs with the
crawler: on a small machine the figures are a floor, not Scrapy's ceiling.

    python -m bench.bench_crawl [--pairs 20000] [--seed 7] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCHMARKS, append_benchmarks, cpu_model, load_average

REPO = Path(__file__).resolve().parents[1]


@dataclass(slots=True)
class Run:
    name: str
    processes: int
    pages: int
    pairs: int
    crawl_s: float
    wall_s: float
    errors: dict[str, int]

    def row(self) -> str:
        return (f"| {self.name} | {self.processes} | {self.pages:,} | {self.pairs:,} | {self.crawl_s:.2f} | "
                f"{self.pages / self.crawl_s:,.0f} | {self.pairs / self.crawl_s:,.0f} | {self.wall_s:.2f} | "
                f"{self.pages / self.wall_s:,.0f} | {self.pairs / self.wall_s:,.0f} |")


HEADER = ("| run | processes | pages | pairs | crawl s | pages/s | pairs/s | wall s | pages/s (wall) "
          "| pairs/s (wall) |\n|---|---|---|---|---|---|---|---|---|---|")


def machine() -> str:
    import scrapy

    return f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, Scrapy {scrapy.__version__}, " \
        + load_average()


def crawl(name: str, out: Path, *args: str) -> Run:
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    cmd = [sys.executable, "-m", "wukong.cli", "-q", "crawl", *args, "--config", "configs/demo.yaml",
           "--set", "crawl.autothrottle=false", "--set", "crawl.download_delay=0", "--out", str(out)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name}: crawl failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    spider = args[1]
    summary = json.loads((out / f"crawl_stats-{spider}.json").read_text(encoding="utf-8"))
    jobs = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "_jobs").glob("*/stats.json")]
    crawl_s = max(j.get("last_run_crawl_seconds", wall) for j in jobs)  # processes run side by side
    return Run(name, len(jobs), summary["pages"], summary["pairs"], crawl_s, wall, summary["errors"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20000, help="demo web size (image occurrences)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-append", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()
    from wukong.demoweb.search import QUERIES
    from wukong.demoweb.server import DemoWebServer

    runs: list[Run] = []
    t0 = time.perf_counter()
    with DemoWebServer(pairs=args.pairs, seed=args.seed) as srv, \
            tempfile.TemporaryDirectory(prefix="bench_crawl_") as tmp:
        build_s = time.perf_counter() - t0
        scratch = Path(tmp)
        runs.append(crawl("site", scratch / "site", "--spider", "site", "--start-url", srv.base_url + "/"))
        queries = scratch / "queries.txt"
        queries.write_text("\n".join(q for q, _ in QUERIES) + "\n", encoding="utf-8")
        results = sum(n for _, n in QUERIES)
        for partitions in (1, 2):
            runs.append(crawl(f"search (acjson, rn=10, max 1000/query, {partitions} partition(s))",
                              scratch / f"search{partitions}", "--spider", "search", "--queries", str(queries),
                              "--endpoint", srv.base_url + "/search/acjson", "--max-per-query", "1000",
                              "--partitions", str(partitions), "--set", "crawl.page_size=10"))
    table = "\n".join([HEADER, *(r.row() for r in runs)])
    notes = (f"Demo web: {args.pairs:,} pairs, seed {args.seed} (built in {build_s:.1f} s), served by "
             f"`DemoWebServer` in the benchmark process on 127.0.0.1; search corpus: {len(QUERIES)} queries, "
             f"{results:,} results. configs/demo.yaml with AutoThrottle off and no delay (32 concurrent "
             f"requests, 16 per host). `crawl s` is Scrapy's elapsed time (slowest process); `wall s` is the "
             f"whole `wukong crawl` command (Python and Scrapy start-up, robots.txt, stats). {machine()}.")
    errors = "; ".join(f"{r.name}: {r.errors}" for r in runs if r.errors)
    if errors:
        notes += f" Download errors (the demo web's, counted in the stats): {errors}."
    print(table)
    print()
    print(notes)
    if not args.no_append:
        append_benchmarks("Crawl: pages/s and pairs/s on the demo web (bench/bench_crawl.py)", f"{table}\n\n{notes}")
        print(f"\nappended to {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
