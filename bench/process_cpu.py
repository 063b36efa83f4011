"""CPU seconds of every process that runs during a span, by kind: a thread samples /proc every 0.2 s.

    with ProcessCpu() as sampled:
        run_the_suite()
    print(sampled.table(busy_seconds_over_the_span))

Each process is told apart by pid and start time and counted by its own user + system time at its
last sample (processes that already ran when sampling began count from their time then). A process
that lives less than a sampling interval, or the last interval of one, goes unseen: the table's
"not seen" row is the machine's busy time less what the samples hold (that, the kernel's own threads
and the sampler's ~2% of a core). The kind comes from the command line seen first (a Ray worker's is
still `default_worker.py`, or already its title `ray::IDLE`).
"""

from __future__ import annotations

import os
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from types import TracebackType

from bench.common import process_start_and_cpu

# (pattern in the command line, kind), first match wins
KINDS: tuple[tuple[str, str], ...] = (
    (r"sys\.stdin\.readline", "pytest-xdist worker (the tests' own code, in-process stages)"),
    (r"-m pytest", "pytest"),
    (r"wukong\.cli", "wukong CLI: {stage}"),
    (r"wukong\.demo_pipeline", "demo pipeline (`make demo`)"),
    (r"crawler\.runner", "crawl job (crawler.runner, Scrapy)"),
    (r"multiprocessing\.resource_tracker", "multiprocessing resource tracker"),
    (r"multiprocessing\.spawn", "local pool worker (spawned)"),
    (r"default_worker\.py|^ray::(?!DashboardAgent|RuntimeEnvAgent)", "Ray worker"),
    (r"dashboard/agent\.py|runtime_env/agent|^ray::DashboardAgent|^ray::RuntimeEnvAgent",
     "Ray agents (dashboard, runtime env)"),
    (r"gcs_server|/raylet|log_monitor\.py|autoscaler/_private/monitor\.py", "Ray daemons (GCS, raylet)"),
    (r"bin/ray start|ray/scripts/scripts\.py", "`ray start` (test cluster)"),
    (r"chrom", "headless browser"),
    (r"bench\.static_mirror", "bench mirror"),
    (r"python", "other Python"),
)
STAGE = re.compile(r"wukong\.cli(?: -q)? (\w+)")


def kind_of(cmdline: str) -> str:
    """The kind of a process by its command line ('' for a kernel thread)."""
    if not cmdline:
        return "kernel threads"
    for pattern, kind in KINDS:
        if re.search(pattern, cmdline):
            if "{stage}" in kind:
                stage = STAGE.search(cmdline)
                return kind.format(stage=stage.group(1) if stage else "?")
            return kind
    return "other programs"


def _read(pid: str) -> tuple[str, float] | None:
    """(start time, user + system CPU seconds) of process `pid`, None once it is gone."""
    try:
        return process_start_and_cpu(pid)
    except OSError:
        return None


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


@dataclass
class _Seen:
    base: float  # CPU seconds when first sampled (0 for a process that started during the span)
    last: float  # CPU seconds at the last sample
    cmdline: str


class ProcessCpu:
    """Samples every process's CPU time while the `with` block runs (a daemon thread)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.procs: dict[tuple[str, str], _Seen] = {}  # by (pid, start time)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="process-cpu", daemon=True)

    def __enter__(self) -> ProcessCpu:
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        """`first`: processes running now count from their CPU time now; later ones from their start."""
        me = str(os.getpid())
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid == me:
                continue
            now = _read(pid)
            if now is None:
                continue
            start, cpu = now
            seen_before = self.procs.get((pid, start))
            if seen_before is None:
                self.procs[(pid, start)] = _Seen(cpu if first else 0.0, cpu, _cmdline(pid))
            else:
                seen_before.last = cpu
                if not seen_before.cmdline:  # read between fork and exec: no command line yet
                    seen_before.cmdline = _cmdline(pid)

    def by_kind(self) -> dict[str, tuple[int, float]]:
        """{kind: (processes that used CPU, CPU seconds)} over the span."""
        kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for proc in self.procs.values():
            if proc.last > proc.base:
                row = kinds[kind_of(proc.cmdline)]
                row[0] += 1
                row[1] += proc.last - proc.base
        return {k: (int(n), s) for k, (n, s) in kinds.items()}

    def table(self, busy: float) -> str:
        """A markdown table of the kinds, costliest first, with what the samples did not see."""
        kinds = sorted(self.by_kind().items(), key=lambda kv: -kv[1][1])
        seen = sum(s for _, (_, s) in kinds)
        lines = ["| process kind | processes | CPU-s | per process | share of busy |", "|---|---:|---:|---:|---:|"]
        for kind, (n, s) in kinds:
            if s >= 0.05:
                lines.append(f"| {kind} | {n} | {s:.1f} | {s / n:.2f} | {s / busy:.0%} |")
        lines.append(f"| not seen (the machine's busy time less the above) | | {busy - seen:.1f} | | "
                     f"{(busy - seen) / busy:.0%} |")
        return "\n".join(lines)
