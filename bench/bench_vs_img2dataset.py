"""Head to head with img2dataset on the same machine and the same URL list (issue 5, benchmark 1).

    python -m bench.bench_vs_img2dataset [--pairs 20000 | --pairs 2000,20000] [--repeats 3] [--jpeg-only]

The demo web (127.0.0.1 only) generates N pairs: JPEG/PNG/WebP/GIF of many sizes, 404s, 500s,
corrupt and non-image bodies, duplicates. Its answers are snapshotted once and served from memory by
`bench.static_mirror` in its own process (the demo web re-renders images on request, which would
make the server the bottleneck). Every pair of its pages goes, as one URL list, through
(a) img2dataset with `resize_mode=no`, output webdataset (download + write, no filtering), and
(b) this pipeline's `wukong filter` (text filters, URL dedup, download, full decode, size/aspect
filters, sha256 + pHash dedup, name masking) followed by `wukong shard` (webdataset + manifests).
Both run as the user would run them (fresh processes; `wukong filter` picks its executor: local worker
processes up to `ray.local_max_rows` input rows, else its own Ray; `wukong shard` its own process or
worker processes; the production task size of 2,000 rows); pairs/s is
input pairs over wall time. Each run's busy CPU seconds of the whole machine (/proc/stat: Ray's workers
included) and the mirror's share of them are recorded too. The mirror shares the machine's cores with
both sides alike; each side is run `repeats` times, alternating, and the medians are compared. With
several sizes, the medians are also fitted as seconds = fixed + pairs / rate for each side.
`--jpeg-only` keeps only the pairs whose image is a JPEG (from a web large enough to still give N), as the
issue's first measurement did with a list of JPEGs: the other formats cost both sides a full decode.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import append_benchmarks, busy_seconds, load_average, machine, process_cpu_seconds
from manifests.schemas import CANDIDATE

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"


def write_candidates(urls: pa.Table, path: Path) -> None:
    n = urls.num_rows
    cols = {
        "url": urls.column("url"), "caption": urls.column("caption"),
        "caption_source": pa.array(["alt"] * n), "page_url": urls.column("page_url"),
        "query": pa.nulls(n, pa.string()), "source": pa.array(["bench"] * n),
        "crawled_at": pa.array([datetime.now(UTC)] * n, pa.timestamp("ms", tz="UTC")),
        "width_hint": pa.nulls(n, pa.int32()), "height_hint": pa.nulls(n, pa.int32()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pydict(cols, schema=CANDIDATE), path)


# The production task size (configs/wukong.yaml); configs/demo.yaml's 1,000 suits its 2,000-pair web.
OURS_SETTINGS = ("--set", "ray.rows_per_task=2000")
GOALS = {2000: 1.0, 20000: 1.6, 50000: 2.0}  # issue 14: ratio wanted at these sizes (--pairs)
RUNNERS: dict[str, str] = {}  # where each command ran its work (from its summary), for the record
CPU_KEY = "CPU s"
THEIR_CPU: list[float] = []  # CPU seconds of each img2dataset run's process tree
VARIANT: list[tuple[float, int, dict[str, float]]] = []  # --variant runs: (seconds, pairs written, steps)
# per run and side: (the machine's busy CPU-s, the mirror's CPU-s), both over the run
MACHINE_CPU: dict[str, list[tuple[float, float]]] = {"img2dataset": [], "wukong": []}
INPUT_JPEG_ONLY = (" (--jpeg-only: its JPEG images alone, truncated ones included, as in the issue's list of JPEGs; "
                   "the rest of the demo web's mix is PNG, WebP, GIF and error answers)")


def children_cpu() -> float:
    """CPU seconds of this process's reaped descendants (a command's whole tree once it has exited:
    multiprocessing and local workers, and Ray's, which the raylet reaps before it is reaped)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ours(candidates: Path, work: Path, extra: tuple[str, ...] = ()) -> tuple[float, int, dict[str, float]]:
    """Both commands as a user runs them (`extra`: more arguments, e.g. `--set K=V`); returns (seconds, pairs
    released, seconds per step)."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    steps: dict[str, float] = {}
    cpu0 = children_cpu()
    for name, args in (("filter", ["filter", "--in", str(candidates), "--out", str(work / "filtered")]),
                       ("shard", ["shard", "--in", str(work / "filtered"), "--out", str(work / "release")])):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "wukong.cli", "-q", *args, "--config", str(CONFIG),
                               *OURS_SETTINGS, *extra], check=True, env=env, stdout=subprocess.PIPE, text=True)
        steps[name] = time.perf_counter() - t0
        # "start-up 1.2s (command 0.6s, ...)": the command's own start, apart from its work
        startup = re.search(r"start-up ([0-9.]+)s \(command ([0-9.]+)s, (.+?) [0-9.]+s\)", done.stdout)
        if startup:
            steps[f"{name} start-up"] = float(startup.group(1))
            if not extra:  # a --variant run may run elsewhere; the record names the default's runner
                RUNNERS[name] = startup.group(3)
    steps[CPU_KEY] = children_cpu() - cpu0
    log = (work / "logs" / "filter.log").read_text(encoding="utf-8")
    for phase, secs in re.findall(r"(\w+) ([0-9.]+)s", log[log.rindex("filter phases:"):].splitlines()[0]):
        steps[f"filter {phase}"] = float(secs)
    kept = sum(pq.read_metadata(p).num_rows for p in (work / "release" / "manifests").glob("*.parquet"))
    return steps["filter"] + steps["shard"], kept, steps


def run_img2dataset(urls_file: Path, work: Path, processes: int, threads: int) -> tuple[float, int]:
    code = (
        "import sys; from img2dataset import download; "
        f"download(url_list={str(urls_file)!r}, input_format='parquet', url_col='url', caption_col='caption', "
        f"output_folder={str(work / 'i2d')!r}, output_format='webdataset', resize_mode='no', "
        f"processes_count={processes}, thread_count={threads}, timeout=5, retries=1, number_sample_per_shard=500, "
        "enable_wandb=False, disallowed_header_directives=[], distributor='multiprocessing')"
    )
    # its own temporary folder, removed with `work`: each of its workers leaves wandb's two folders there
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "WANDB_MODE": "disabled", "NO_ALBUMENTATIONS_UPDATE": "1", "no_proxy": "127.0.0.1",
           "TMPDIR": str(work / "tmp")}
    t0, cpu0 = time.perf_counter(), children_cpu()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    THEIR_CPU.append(children_cpu() - cpu0)
    import json

    ok = sum(json.loads(p.read_text())["successes"] for p in (work / "i2d").glob("*_stats.json"))
    return seconds, ok


def run_size(pairs: int, args: argparse.Namespace) -> tuple[int, list[tuple[float, int]], list[tuple[float, int]],
                                                             list[dict[str, float]]]:
    """Both sides `args.repeats` times, alternating, on a `pairs`-pair demo web: (n, ours, theirs, our steps)."""
    from bench.static_mirror import demo_mirror

    scratch = Path(tempfile.mkdtemp(prefix="bench_vs_i2d_"))
    ours: list[tuple[float, int]] = []
    theirs: list[tuple[float, int]] = []
    our_steps: list[dict[str, float]] = []
    try:
        with demo_mirror(pairs, args.seed, scratch, args.jpeg_only) as (urls, mirror):
            n = urls.num_rows
            write_candidates(urls, scratch / "candidates" / "part-bench-00000.parquet")
            pq.write_table(urls, scratch / "urls.parquet")
            for i in range(args.repeats):
                for side, fn in (("img2dataset", lambda w: run_img2dataset(scratch / "urls.parquet", w,
                                                                         args.processes, args.threads)),
                                 ("wukong", lambda w: run_ours(scratch / "candidates", w))):
                    work = scratch / f"{side}-{i}"
                    busy0, mirror0 = busy_seconds(), process_cpu_seconds(mirror.popen.pid)
                    seconds, count, *steps = fn(work)
                    MACHINE_CPU[side].append((busy_seconds() - busy0, process_cpu_seconds(mirror.popen.pid) - mirror0))
                    if steps:
                        our_steps.append(steps[0])
                    (ours if side == "wukong" else theirs).append((seconds, count))
                    print(f"run {i} {side:<12} {seconds:7.1f} s  {n / seconds:7.1f} pairs/s  ({count} written)",
                          flush=True)
                    shutil.rmtree(work, ignore_errors=True)
                if args.variant:  # the same pipeline with one setting changed, in the same alternation
                    work = scratch / f"variant-{i}"
                    seconds, count, steps = run_ours(scratch / "candidates", work, ("--set", args.variant))
                    VARIANT.append((seconds, count, steps))
                    print(f"run {i} {'variant':<12} {seconds:7.1f} s  {n / seconds:7.1f} pairs/s  ({count} written; "
                          f"{args.variant}; CPU {steps[CPU_KEY]:.1f} s)", flush=True)
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return n, ours, theirs, our_steps


def report_size(pairs: int, n: int, ours: list[tuple[float, int]], theirs: list[tuple[float, int]],
                our_steps: list[dict[str, float]], repeats: int, jpeg_only: bool = False) -> str:
    med_ours = statistics.median(s for s, _ in ours)
    med_theirs = statistics.median(s for s, _ in theirs)
    cores = os.cpu_count() or 1
    rows = [
        ("img2dataset (download + write, resize_mode=no)", med_theirs, theirs[0][1]),
        ("wukong filter + shard (all filters, dedup, release)", med_ours, ours[0][1]),
    ]
    lines = [f"| {name} | {n / s:,.1f} | {n / s / cores:,.1f} | {s:,.1f} | {written:,} |" for name, s, written in rows]
    ratio = med_theirs / med_ours
    goal = f" (goal >= {GOALS[pairs]}x)" if pairs in GOALS else ""
    where = ", ".join(f"{k} on {v}" for k, v in RUNNERS.items())
    keys = list(our_steps[0])
    return "\n".join([
        f"{n:,} input pairs from the demo web{INPUT_JPEG_ONLY if jpeg_only else ''}, median of {repeats} "
        f"alternating runs; {machine()}; "
        f"{load_average()}.",
        "",
        "| pipeline | pairs/s | pairs/s/core | seconds | pairs written |",
        "|---|---:|---:|---:|---:|",
        *lines,
        "",
        f"Ratio wukong / img2dataset: **{ratio:.2f}x**{goal}. Ours ran the {where}.",
        "",
        f"Runs (seconds): img2dataset {', '.join(f'{s:.1f}' for s, _ in theirs)}; "
        f"wukong {', '.join(f'{s:.1f}' for s, _ in ours)}. CPU seconds of each run's process tree "
        f"(steadier than wall time on a shared machine): img2dataset "
        f"{', '.join(f'{c:.1f}' for c in THEIR_CPU[-len(theirs):])}; "
        f"wukong {', '.join(f'{s.get(CPU_KEY, 0.0):.1f}' for s in our_steps)} (ours: the commands and their "
        "local workers; Ray's workers are outside the tree). The machine's busy CPU seconds over each run, every "
        "process (/proc/stat), the mirror's share in brackets: img2dataset "
        f"{', '.join(f'{b:.1f} ({m:.1f})' for b, m in MACHINE_CPU['img2dataset'][-len(theirs):])}; "
        f"wukong {', '.join(f'{b:.1f} ({m:.1f})' for b, m in MACHINE_CPU['wukong'][-len(ours):])}.",
        "",
        "Where wukong's time goes (median of the runs, seconds; start-up is each command's own summary line, "
        "the filter's phases its log's):",
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---:|" * len(keys),
        "| " + " | ".join(f"{statistics.median(s.get(k, 0.0) for s in our_steps):.1f}" for k in keys) + " |",
    ])


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares of seconds = fixed + pairs / rate over (pairs, median seconds): (fixed s, pairs/s)."""
    xs, ys = [p for p, _ in points], [s for _, s in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, 1 / slope if slope > 0 else float("inf")


def command_line(pairs: str, args: argparse.Namespace) -> str:
    """The command that gives a record, for BENCHMARKS.md: `pairs` and the options that differ from the defaults."""
    command = f"python -m bench.bench_vs_img2dataset --pairs {pairs} --repeats {args.repeats}"
    if args.rows_per_task != 2000:
        command += f" --rows-per-task {args.rows_per_task}"
    if args.variant:
        command += f" --variant {args.variant}"
    if args.jpeg_only:
        command += " --jpeg-only"
    return command


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="20000", help="demo web size(s), comma-separated: 2000,20000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variant", metavar="KEY=VALUE", help="also run ours with this --set, in the same alternation")
    ap.add_argument("--rows-per-task", type=int, default=2000, help="ours: ray.rows_per_task (production: 2000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jpeg-only", action="store_true",
                    help="only the demo web's JPEG images (the issue's setting: a list of JPEGs), from a larger web")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads", type=int, default=64)
    args = ap.parse_args()
    global OURS_SETTINGS
    OURS_SETTINGS = ("--set", f"ray.rows_per_task={args.rows_per_task}")
    ours_at: list[tuple[int, float]] = []
    theirs_at: list[tuple[int, float]] = []
    for pairs in [int(p) for p in str(args.pairs).split(",")]:
        n, ours, theirs, our_steps = run_size(pairs, args)
        table = report_size(pairs, n, ours, theirs, our_steps, args.repeats, args.jpeg_only)
        if VARIANT:
            med = statistics.median(v[0] for v in VARIANT)
            table += (f"\n\nVariant `--set {args.variant}`: median {med:.1f} s ({n / med:,.1f} pairs/s, "
                      f"{statistics.median(s for s, _ in theirs) / med:.2f}x img2dataset); runs "
                      f"{', '.join(f'{v[0]:.1f}' for v in VARIANT)} s, CPU "
                      f"{', '.join(f'{v[2][CPU_KEY]:.1f}' for v in VARIANT)} s, "
                      f"{VARIANT[0][1]:,} pairs written.")
            VARIANT.clear()
        print(table)
        append_benchmarks("Head to head with img2dataset", f"Command: `{command_line(str(pairs), args)}`\n\n{table}")
        ours_at.append((n, statistics.median(s for s, _ in ours)))
        theirs_at.append((n, statistics.median(s for s, _ in theirs)))
    if len(ours_at) >= 2:
        (f_ours, r_ours), (f_theirs, r_theirs) = fit(ours_at), fit(theirs_at)
        body = "\n".join([
            f"Command: `{command_line(args.pairs, args)}`; "
            f"the medians above, fitted as seconds = fixed + pairs / rate; {load_average()}.",
            "",
            "| pipeline | fixed s | steady pairs/s | pairs/s/core |",
            "|---|---:|---:|---:|",
            f"| img2dataset | {f_theirs:.1f} | {r_theirs:,.0f} | {r_theirs / (os.cpu_count() or 1):,.0f} |",
            f"| wukong filter + shard | {f_ours:.1f} | {r_ours:,.0f} | {r_ours / (os.cpu_count() or 1):,.0f} |",
        ])
        print(body)
        append_benchmarks("Head to head with img2dataset: fixed cost and steady rate", body)


if __name__ == "__main__":
    main()
