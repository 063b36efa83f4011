"""Object storage: the filter and shard stages with every folder on S3 against the same run on local
disk, and the S3 requests each stage makes, counted by kind, per task and per shard.

The S3 server is moto's (server mode, in this process, 127.0.0.1): its latency is a loopback's, not a
cloud's, so the times show the pipeline's own overhead of going through fsspec/s3fs; the request
counts are what carries over to AWS S3, OSS or MinIO, where each request costs tens of milliseconds
and money. Images come from a static mirror of the demo web (bench/static_mirror.py).

    python -m bench.bench_s3 --pairs 4000
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from bench.bench_vs_img2dataset import write_candidates
from bench.common import append_benchmarks, load_average, machine

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"
ROWS_PER_TASK = 1000
SAMPLES_PER_SHARD = 500
_REQUEST = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours some status lines (206, 304, 404)


class RequestCounter(logging.Handler):
    """Counts the S3 requests moto's server logs (werkzeug's access log), by kind."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.counts_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        m = _REQUEST.search(_ANSI.sub("", record.getMessage()))
        if not m:
            return
        method, target = m.groups()
        kind = "LIST" if method == "GET" and ("list-type" in target or "delimiter" in target) else method
        if method == "POST" and "delete" in target:
            kind = "DELETE"
        with self.counts_lock:
            self.counts[kind] += 1

    def take(self) -> Counter[str]:
        with self.counts_lock:
            out, self.counts = self.counts, Counter()
        return out


def _wukong(args: list[str], extra: list[str]) -> float:
    sets = [a for s in extra for a in ("--set", s)]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wukong.cli", "-q", *args, "--config", str(CONFIG),
                    "--set", f"ray.rows_per_task={ROWS_PER_TASK}",
                    "--set", f"shard.samples_per_shard={SAMPLES_PER_SHARD}",
                    *sets], check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                   env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    from s3local import local_s3

    from bench.static_mirror import demo_mirror

    scratch = Path(tempfile.mkdtemp(prefix="bench_s3_"))
    counter = RequestCounter()
    try:
        with demo_mirror(args.pairs, args.seed, scratch) as (urls, _), local_s3() as s3:
            n = urls.num_rows
            write_candidates(urls, scratch / "candidates" / "part-bench-00000.parquet")
            fs = s3.filesystem()
            bucket = s3.new_bucket()
            fs.put(str(scratch / "candidates") + "/", f"{bucket}/candidates/", recursive=True)
            werkzeug = logging.getLogger("werkzeug")
            werkzeug.setLevel(logging.INFO)
            werkzeug.propagate = False
            werkzeug.handlers = [counter]  # counted, not printed
            counter.take()
            remote = f"s3://{bucket}"
            rows = []
            for stage, local_args, s3_args in (
                ("filter", ["filter", "--in", str(scratch / "candidates"), "--out", str(scratch / "filtered")],
                 ["filter", "--in", f"{remote}/candidates", "--out", f"{remote}/filtered"]),
                ("shard", ["shard", "--in", str(scratch / "filtered"), "--out", str(scratch / "release")],
                 ["shard", "--in", f"{remote}/filtered", "--out", f"{remote}/release"]),
            ):
                local_s = _wukong(local_args, [])
                s3_s = _wukong(s3_args, s3.config_overrides())
                rows.append((stage, local_s, s3_s, counter.take()))
                print(f"{stage}: local {local_s:.1f}s, s3 {s3_s:.1f}s, requests {dict(rows[-1][3])}", flush=True)
            tasks = -(-n // ROWS_PER_TASK)
            kept = sum(pq.read_metadata(p).num_rows for p in (scratch / "release" / "manifests").glob("*.parquet"))
            shards = len(list((scratch / "release" / "shards").glob("*.tar")))
            same = all(fs.cat(f"{bucket}/release/{p.relative_to(scratch / 'release').as_posix()}") == p.read_bytes()
                       for p in (scratch / "release").rglob("*") if p.is_file() and not p.name.startswith("."))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    kinds = ["GET", "LIST", "HEAD", "PUT", "POST", "DELETE"]
    lines = [f"Command: `python -m bench.bench_s3 --pairs {args.pairs}`", "",
             f"{n:,} candidate pairs from the demo web (static mirror) -> {kept:,} released in {shards} shards; "
             f"{tasks} filter tasks of {ROWS_PER_TASK} rows, {SAMPLES_PER_SHARD} pairs per shard; {machine()}; "
             f"{load_average()}. S3 = moto's server on 127.0.0.1. Release on S3 byte-identical to the "
             f"local one: {'yes' if same else 'NO'}.", "",
             "| stage | local s | S3 s | S3 / local | " + " | ".join(kinds) + " | requests per unit |",
             "|---|---:|---:|---:|" + "---:|" * len(kinds) + "---:|"]
    for stage, local_s, s3_s, counts in rows:
        total = sum(counts.values())
        per = f"{total / tasks:.1f} per filter task" if stage == "filter" else f"{total / max(1, shards):.1f} per shard"
        lines.append(f"| {stage} | {local_s:.1f} | {s3_s:.1f} | {s3_s / local_s:.2f}x | "
                     + " | ".join(f"{counts.get(k, 0):,}" for k in kinds) + f" | {per} |")
    table = "\n".join(lines)
    print(table)
    append_benchmarks(f"Object storage: filter and shard on S3 vs local disk (bench/bench_s3.py), "
                      f"{args.pairs:,} pairs", table)


if __name__ == "__main__":
    main()
