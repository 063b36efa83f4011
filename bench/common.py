"""What every benchmark shares: the machine description, CPU time from /proc (the machine's, one process's),
paths without this machine in them, and appending a dated section to BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import sysconfig
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "BENCHMARKS.md"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    return f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, {platform.system()}"


def busy_seconds() -> float:
    """The machine's busy CPU seconds since boot (/proc/stat): user, nice, system, irq, softirq, steal. Over a
    span it counts every process, daemonised ones (Ray's workers) included."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(v) for v in fh.readline().split()[1:9]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")


def process_start_and_cpu(pid: int | str) -> tuple[str, float]:
    """(start time in clock ticks after boot, user + system CPU seconds so far) of one live process
    (/proc/PID/stat); OSError once it is gone."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return fields[19], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process so far (/proc/PID/stat)."""
    return process_start_and_cpu(pid)[1]


def load_average() -> str:
    return "load average {:.1f} {:.1f} {:.1f} at the end".format(*os.getloadavg())


def relative_paths(text: str) -> str:
    """`text` (a profile, a log) with no path of this machine in it: the project's files relative to the
    project, installed packages' as `site-packages/...`, the standard library's as `stdlib/...`."""
    paths = sysconfig.get_paths()
    prefixes = {paths["purelib"]: "site-packages/", paths["platlib"]: "site-packages/", paths["stdlib"]: "stdlib/",
                str(REPO): ""}
    for prefix in sorted(prefixes, key=len, reverse=True):  # a venv inside the project: its packages first
        text = text.replace(prefix.rstrip("/") + "/", prefixes[prefix])
    return text


def append_benchmarks(title: str, body: str) -> None:
    """Appends one dated section to BENCHMARKS.md (created with `# Benchmarks` when absent); never rewrites."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "" if BENCHMARKS.exists() else "# Benchmarks\n"
    text += f"\n## {title} ({stamp})\n\n{body.rstrip()}\n"
    with open(BENCHMARKS, "a", encoding="utf-8") as fh:
        fh.write(text)
