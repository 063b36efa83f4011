"""`wukong download` against plain img2dataset on the same local URL list, in one run.

    python -m bench.bench_download [--images 2000] [--processes 2] [--threads 32]

A loopback aiohttp server (127.0.0.1 only) serves N generated images, 5% of them 404. The same
parquet manifest goes through (1) `wukong download` with its defaults, (2) img2dataset called with
the same settings (original bytes, no resize), (3) img2dataset with its own defaults (resize to 256
px and re-encode). Prints a table and appends a dated section to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from bench.common import append_benchmarks, machine
from manifests.config import Config
from manifests.download import DownloadOptions, download_release, worker_environment
from manifests.parquet_io import write_parquet_atomic
from manifests.schemas import MANIFEST, conform
from sharding.synthetic import LoopbackImageServer, make_rows


def successes(out: Path) -> int:
    return sum(json.loads(p.read_text())["successes"] for p in out.glob("*_stats.json"))


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--per-shard", type=int, default=500)
    args = ap.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    os.environ["no_proxy"] = "127.0.0.1,localhost"
    from img2dataset import download as img2dataset_download

    scratch = Path(tempfile.mkdtemp(prefix="bench_download_"))
    try:
        with LoopbackImageServer() as server:
            rows = make_rows(args.images, server.base_url + "/img", seed=11, size=(320, 280), distinct_images=200)
            gone = {i for i in range(len(rows)) if i % 20 == 7}
            server.serve_rows([r for i, r in enumerate(rows) if i not in gone])
            table = pa.Table.from_pylist([{**r, "shard": "00000"} for r in rows])
            manifest = scratch / "manifests" / "part-00000.parquet"
            write_parquet_atomic(conform(table, MANIFEST), manifest)
            image_mb = sum(len(r["image"]) for r in rows) / 1e6
            del rows, table

            def wukong() -> None:
                opts = DownloadOptions(processes=args.processes, threads=args.threads,
                                       samples_per_shard=args.per_shard)
                download_release(str(manifest), scratch / "wukong", Config(), opts)

            def plain(out: str, **kw: object) -> Callable[[], None]:
                def run() -> None:
                    with worker_environment():  # as `wukong download`: its workers' temporary folders go
                        img2dataset_download(
                            url_list=str(manifest), input_format="parquet", url_col="url", caption_col="caption",
                            output_format="webdataset", output_folder=str(scratch / out),
                            processes_count=args.processes, thread_count=args.threads,
                            number_sample_per_shard=args.per_shard, **kw)
                return run

            runs = [
                ("`wukong download` (defaults: original bytes, timeout 20 s, 2 retries, per-host stats)",
                 "wukong", wukong),
                ("plain img2dataset, same settings (resize_mode=no, disable_all_reencoding)", "plain_same",
                 plain("plain_same", resize_mode="no", disable_all_reencoding=True)),
                ("plain img2dataset, its defaults (resize 256 px border, re-encode JPEG)", "plain_default",
                 plain("plain_default")),
            ]
            results = []
            for label, out, fn in runs:
                requests = server.requests
                seconds = timed(fn)
                results.append((label, seconds, successes(scratch / out), server.requests - requests))
        n = args.images
        lines = [
            f"Machine: {machine()}. {n:,} URLs on a loopback aiohttp server (one Python thread), "
            f"{len(gone):,} of them 404; {image_mb:,.1f} MB of images (~{1000 * image_mb / n:,.0f} kB each); "
            f"{args.processes} processes x {args.threads} threads, {args.per_shard} pairs per shard; wall time "
            "includes img2dataset's process start-up.",
            "",
            "| run | seconds | pairs/s | images saved | HTTP requests |",
            "|---|---:|---:|---:|---:|",
            *[f"| {label} | {s:.1f} | {n / s:,.0f} | {ok:,} | {req:,} |" for label, s, ok, req in results],
            "",
            "`wukong download` retries failed URLs twice (Chinese hosts time out), so the 404s cost 3 requests "
            "each; plain img2dataset does not retry by default.",
        ]
        body = "\n".join(lines)
        print(body)
        append_benchmarks("wukong download vs plain img2dataset (bench/bench_download.py)", body)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
