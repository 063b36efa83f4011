"""Load: the whole pipeline (crawl -> filter -> shard) on a demo web of N pairs, for growing N.

Each stage is the real `wukong` command in its own session, watched from outside through /proc: the
peak memory of its whole process tree (the command, its Scrapy children, or its embedded Ray: GCS,
raylet and every worker), summed as RSS and as PSS (shared pages split between processes, so Ray's
object store is not counted once per worker), peak processes and open file descriptors, and
afterwards: processes of the tree still alive (orphans), file descriptors of this process and of the
demo web before and after (a connection or file leaked by a stage stays open on the server's side),
and the exit lag (from the stage's last output file, written last, to the process's exit: the hang at
the end of a run that img2dataset users report). Every stage runs under a hard timeout; a stage that
passes it is killed (the whole tree, by PID) and reported as TIMEOUT.

    python -m bench.bench_load [--sizes 20000,50000] [--seed 7] [--stage-timeout 2400] [--no-append]

The demo web runs in its own process on 127.0.0.1 and renders images on request, on the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BENCHMARKS, cpu_model, load_average

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"
SAMPLE_S = 0.25
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# --- /proc --------------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return children


def tree(pid: int) -> list[int]:
    """`pid` and its live descendants."""
    children = _children_map()
    out, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def rss_pss_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; zeros when it is gone."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0, 0
    pss = rss
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
                break
    except (OSError, ValueError):
        pass
    return rss, pss


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def kill_tree(pid: int) -> None:
    """Freezes then SIGKILLs `pid` (started in its own session by this benchmark) and its descendants."""
    pids = tree(pid)
    for p in pids:
        try:
            os.kill(p, signal.SIGSTOP)
        except ProcessLookupError:
            pass
    for p in reversed(pids):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- one stage ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StageRun:
    pairs: int
    stage: str
    status: str = "ok"
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    peak_procs: int = 0
    peak_fds: int = 0
    orphans: int = 0
    exit_lag_s: float | None = None
    own_fds: tuple[int, int] = (0, 0)
    web_fds: tuple[int, int] = (0, 0)
    rows_out: str = ""
    error: str = ""
    seen: set[int] = field(default_factory=set)

    def row(self) -> str:
        lag = f"{self.exit_lag_s:.1f}" if self.exit_lag_s is not None else "-"
        return (f"| {self.pairs:,} | {self.stage} | {self.status} | {self.wall_s:,.1f} | {self.rows_out} | "
                f"{self.peak_rss_mb:,.0f} | {self.peak_pss_mb:,.0f} | {self.peak_procs} | {self.peak_fds} | "
                f"{self.orphans} | {lag} | {self.own_fds[0]} -> {self.own_fds[1]} | "
                f"{self.web_fds[0]} -> {self.web_fds[1]} |")


HEADER = ("| pairs | stage | status | wall s | output | peak RSS MB (sum) | peak PSS MB (sum) | peak procs | "
          "peak fds | orphans | exit lag s | bench fds before -> after | demo-web fds before -> after |\n"
          "|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|")


def wait_fds_settle(pid: int, baseline: int, seconds: float = 5.0) -> int:
    """The demo web's descriptor count, given up to `seconds` to fall back to `baseline` (keep-alive
    connections the client closed at its exit are released by the server a moment later)."""
    deadline = time.monotonic() + seconds
    count = fd_count(pid)
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.2)
        count = fd_count(pid)
    return count


def run_stage(run: StageRun, cmd: list[str], env: dict[str, str], timeout: float, web_pid: int,
              last_output: Path) -> StageRun:
    own_before, web_before = fd_count(os.getpid()), fd_count(web_pid)
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                pids = tree(proc.pid)
                run.seen.update(pids)
                usage = [rss_pss_kb(p) for p in pids]
                run.peak_rss_mb = max(run.peak_rss_mb, sum(u[0] for u in usage) / 1024)
                run.peak_pss_mb = max(run.peak_pss_mb, sum(u[1] for u in usage) / 1024)
                run.peak_procs = max(run.peak_procs, len(pids))
                run.peak_fds = max(run.peak_fds, sum(fd_count(p) for p in pids))
                stop.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.status = "TIMEOUT"
            kill_tree(proc.pid)
            proc.wait(timeout=60)
        ended = time.time()
        run.wall_s = time.monotonic() - started
        stop.set()
        sampler.join(timeout=10)
        if run.status == "ok" and proc.returncode != 0:
            run.status = f"exit {proc.returncode}"
            err.seek(0)
            run.error = err.read().decode("utf-8", "replace").strip()[-400:]
    time.sleep(1.0)  # children that outlive their parent a moment (Ray's) are not counted as orphans
    left = [p for p in run.seen if p != proc.pid and alive(p)]
    run.orphans = len(left)
    for p in left:  # ours (descendants of the stage we started): stopped so the next stage starts clean
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if last_output.exists():
        run.exit_lag_s = max(0.0, ended - last_output.stat().st_mtime)
    run.own_fds = (own_before, fd_count(os.getpid()))
    run.web_fds = (web_before, wait_fds_settle(web_pid, web_before))
    return run


# --- the pipeline at one size -------------------------------------------------------------------


def pipeline(pairs: int, seed: int, work: Path, timeout: float) -> list[StageRun]:
    from wukong.demoweb.process import spawn_demo_web

    data = work / f"data-{pairs}"
    t0 = time.monotonic()
    web = spawn_demo_web(pairs=pairs, seed=seed, timeout=600)
    built = time.monotonic() - t0
    print(f"{pairs:,} pairs: demo web up in {built:.1f} s at {web.base_url} (pid {web.pid})", flush=True)
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1", "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)  # the filter and shard stages start their own Ray: measured with them
    wukong = [sys.executable, "-m", "wukong.cli", "-q"]
    stages = [
        ("crawl", [*wukong, "crawl", "--spider", "site", "--start-url", f"{web.base_url}/", "--config", str(CONFIG),
                   "--out", str(data / "candidates")], data / "candidates" / "crawl_stats-site.json"),
        ("filter", [*wukong, "filter", "--in", str(data / "candidates"), "--out", str(data / "filtered"),
                    "--config", str(CONFIG)], data / "filtered" / "stats.json"),
        ("shard", [*wukong, "shard", "--in", str(data / "filtered"), "--out", str(data / "release"), "--config",
                   str(CONFIG)], data / "release" / "SHA256SUMS"),
    ]
    runs: list[StageRun] = []
    print(HEADER, flush=True)
    try:
        for name, cmd, last in stages:
            run = run_stage(StageRun(pairs, name), cmd, env, timeout, web.pid, last)
            run.rows_out = describe(name, data)
            runs.append(run)
            print(run.row(), flush=True)
            if run.status != "ok":
                print(f"  {name} failed: {run.error}", file=sys.stderr)
                break
    finally:
        web.stop()
        shutil.rmtree(data, ignore_errors=True)
    return runs


def describe(stage: str, data: Path) -> str:
    try:
        if stage == "crawl":
            s = json.loads((data / "candidates" / "crawl_stats-site.json").read_text(encoding="utf-8"))
            return f"{s['pairs']:,} pairs, {s['counters'].get('wukong/pages', 0):,} pages"
        if stage == "filter":
            s = json.loads((data / "filtered" / "stats.json").read_text(encoding="utf-8"))
            return f"{s['input']:,} in, {s['kept']:,} kept"
        shards = list((data / "release" / "shards").glob("*.tar"))
        size = sum(p.stat().st_size for p in shards) / 1e6
        return f"{len(shards)} shards, {size:,.0f} MB"
    except (OSError, ValueError, KeyError):
        return "?"


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({cpu_model()}), {mem:.0f} GiB RAM, Python {platform.python_version()}, " \
        + load_average()


def flatness(runs: list[StageRun]) -> list[str]:
    lines = []
    for stage in ("crawl", "filter", "shard"):
        mine = sorted((r for r in runs if r.stage == stage and r.status == "ok"), key=lambda r: r.pairs)
        if len(mine) >= 2:
            a, b = mine[0], mine[-1]
            lines.append(f"{stage}: peak PSS {a.peak_pss_mb:,.0f} MB at {a.pairs:,} -> {b.peak_pss_mb:,.0f} MB at "
                         f"{b.pairs:,} pairs (x{b.peak_pss_mb / max(a.peak_pss_mb, 1):.2f} for "
                         f"x{b.pairs / a.pairs:.1f} input); wall x{b.wall_s / max(a.wall_s, 1e-9):.2f}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000,50000", help="comma-separated demo-web sizes in pairs")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--stage-timeout", type=float, default=2400.0, help="seconds before a stage counts as hung")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--no-append", action="store_true", help="do not append to BENCHMARKS.md")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    runs: list[StageRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-", dir=args.work) as work:
        for n in sizes:
            runs += pipeline(n, args.seed, Path(work), args.stage_timeout)
    table = "\n".join([HEADER, *(r.row() for r in runs)])
    notes = flatness(runs)
    print()
    print(table)
    for line in notes:
        print(line)
    if args.no_append:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        f"\n## Load: crawl -> filter -> shard at {', '.join(f'{n:,}' for n in sizes)} pairs "
        f"(bench/bench_load.py) ({stamp})\n",
        f"Command: `python -m bench.bench_load --sizes {args.sizes}`\n",
        f"Demo web of N pairs (seed {args.seed}) in its own process on 127.0.0.1, rendering images on request "
        "on the same cores; each stage the real `wukong -q` command with configs/demo.yaml (site spider; "
        "filter and shard with their own embedded Ray). Memory is the sum over the stage's whole process "
        f"tree (Scrapy children, Ray GCS, raylet and workers), sampled every {SAMPLE_S} s from /proc; PSS "
        "splits shared pages (Ray's object store) between processes, RSS counts them once per process. "
        "`orphans`: processes of the tree still alive 1 s after the command exited. `exit lag`: from the "
        "stage's last output file (crawl_stats, stats.json, SHA256SUMS) to the command's exit. File "
        "descriptors of the benchmark process and of the demo web server before and after each stage "
        f"(the server's settle for up to 5 s). Machine: {machine()}.\n",
        table + "\n",
        *(f"- {line}" for line in notes),
    ]
    with open(BENCHMARKS, "a", encoding="utf-8") as fh:  # append only: never rewrite others' sections
        fh.write("\n".join(section) + "\n")
    print(f"appended to {BENCHMARKS}")


if __name__ == "__main__":
    main()
