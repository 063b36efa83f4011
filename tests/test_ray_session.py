"""manifests.ray_session: the embedded local Ray is lean (no autoscaler monitor, no log monitor, no
dashboard API server), runs tasks, and leaves no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

PROBE = """
import json, os, ray
from pathlib import Path
from manifests.config import Config
from manifests.ray_session import ray_session

def descendants():
    parent = {}
    for d in Path("/proc").iterdir():
        try:
            stat = (d / "stat").read_text()
            parent[int(d.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (ValueError, OSError):
            continue
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found

def alive(pid):  # neither gone nor a zombie
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"

def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\\0", b" ").decode()
    except OSError:
        return ""

with ray_session(Config()):
    @ray.remote
    def square(x):
        return x * x
    results = ray.get([square.remote(i) for i in range(4)])
    pids = descendants()
    during = [cmdline(pid) for pid in pids]
print(json.dumps({"results": results, "during": during, "left": [p for p in pids if alive(p)]}))
"""


def test_local_ray_is_lean_and_stops_every_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_AUTH_MODE"] = "disabled"
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["results"] == [0, 1, 4, 9]
    during = got["during"]
    assert any("gcs_server" in c for c in during) and any("/raylet " in c for c in during), during
    assert not [c for c in during if "autoscaler/_private/monitor.py" in c or "log_monitor.py" in c
                or "dashboard/dashboard.py" in c]
    assert got["left"] == []
