"""Where the test suite's CPU goes, file by file and by process kind: the whole suite in one process (no
xdist), each test's setup, call and teardown timed, with the machine's busy CPU seconds over the same
span (/proc/stat); and every process that ran meanwhile, by kind (bench/process_cpu.py: the pytest
workers, each CLI stage, crawl jobs, Ray's workers and daemons, local pool workers).

    python -m bench.bench_suite_cpu [--top 25] [--no-append] [--xdist] [-- PYTEST ARGS]

`--xdist` runs the suite as `make test` does (two workers, a file at a time each): the process kinds
are then those of `make test`, and the file table is left out (two workers' tests overlap in time, so
the machine's busy time of a test holds the other worker's too).

Machine-wide busy time is the only measure that sees what a test costs in processes that outlive it or
leave its tree (Ray's daemons and workers, a test cluster's nodes, a crawl's subprocesses): run it on a
quiet machine, where the busy time is the suite's. `make test` runs two xdist workers; their sum of
busy time is higher than this serial one (each worker has its own session fixtures: a local Ray, a
demo web), and the suite's wall time there is at least that sum over the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import REPO, append_benchmarks, busy_seconds, load_average, machine
from bench.process_cpu import ProcessCpu

XDIST = ["-n", "2", "--dist", "loadfile", "--no-loadscope-reorder"]  # as the Makefile's `test`


def run_suite(out: Path, pytest_args: list[str], sampled: ProcessCpu) -> tuple[float, float, str]:
    """Runs pytest with this module as a plugin writing JSON lines to `out`, every process sampled by
    `sampled`: (wall s, busy s, last line)."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "BENCH_SUITE_CPU_OUT": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "pytest", "-p", "bench.bench_suite_cpu", "-q", "-p", "no:cacheprovider",
           *pytest_args]
    t0, b0 = time.monotonic(), busy_seconds()
    with sampled:
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall, busy = time.monotonic() - t0, busy_seconds() - b0
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return wall, busy, lines[-1] if lines else f"pytest exited {done.returncode}"


def per_file(out: Path) -> tuple[dict[str, list[float]], list[tuple[float, float, str, str]]]:
    """{file: [wall s, busy s]} and (busy s, wall s, phase, test) per test phase."""
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    phases = []
    for line in out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        f = files[row["test"].split("::")[0]]
        f[0] += row["wall"]
        f[1] += row["busy"]
        phases.append((row["busy"], row["wall"], row["phase"], row["test"]))
    return files, phases


def report(wall: float, busy: float, last: str, files: dict[str, list[float]],
           phases: list[tuple[float, float, str, str]], top: int, kinds: str) -> str:
    lines = [f"`{last}`: {wall:.1f} s wall, {busy:.1f} CPU-s busy on the machine ({busy / wall:.2f} cores on "
             f"average); {machine()}; {load_average()}.", "", "Every process that ran, by kind:", "", kinds]
    if not files:  # under xdist: no file table
        return "\n".join(lines)
    lines += ["", "| file | busy CPU-s | wall s | cores |", "|---|---:|---:|---:|"]
    for name, (w, b) in sorted(files.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"| {name} | {b:.1f} | {w:.1f} | {b / max(w, 1e-9):.2f} |")
    rest = sorted(files.items(), key=lambda kv: -kv[1][1])[top:]
    rest_busy, rest_wall = sum(b for _, (_, b) in rest), sum(w for _, (w, _) in rest)
    lines.append(f"| {len(rest)} other files | {rest_busy:.1f} | {rest_wall:.1f} | |")
    lines += ["", "The costliest test phases:", "", "| test | phase | busy CPU-s | wall s |", "|---|---|---:|---:|"]
    for b, w, phase, test in sorted(phases, reverse=True)[:10]:
        lines.append(f"| {test} | {phase} | {b:.1f} | {w:.1f} |")
    return "\n".join(lines)


# --- the pytest plugin (this module, loaded with -p bench.bench_suite_cpu) -----------------------------

def _record(item: object, phase: str, t0: float, b0: float) -> None:
    path = os.environ.get("BENCH_SUITE_CPU_OUT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": getattr(item, "nodeid", "?"), "phase": phase,
                                 "wall": time.monotonic() - t0, "busy": busy_seconds() - b0}) + "\n")


def _timed(phase: str):  # type: ignore[no-untyped-def]
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def hook(item):  # type: ignore[no-untyped-def]
        t0, b0 = time.monotonic(), busy_seconds()
        yield
        _record(item, phase, t0, b0)
    return hook


pytest_runtest_setup = _timed("setup")
pytest_runtest_call = _timed("call")
pytest_runtest_teardown = _timed("teardown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=25, help="files listed one by one")
    parser.add_argument("--no-append", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--xdist", action="store_true", help="two xdist workers as `make test`; no file table")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest (default: the whole suite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="suite-cpu-") as tmp:
        out = Path(tmp) / "phases.jsonl"
        out.touch()
        sampled = ProcessCpu()
        wall, busy, last = run_suite(out, [*(XDIST if args.xdist else []), *args.pytest_args], sampled)
        files, phases = ({}, []) if args.xdist else per_file(out)
    body = report(wall, busy, last, files, phases, args.top, sampled.table(busy))
    print(body)
    if not args.no_append:
        flags = " --xdist" if args.xdist else ""
        title = "by process kind, as `make test` runs it" if args.xdist else "file by file and by process kind"
        append_benchmarks(f"The test suite's CPU, {title} (bench/bench_suite_cpu.py)",
                          f"Command: `python -m bench.bench_suite_cpu{flags}`\n\n" + body)


if __name__ == "__main__":
    main()
