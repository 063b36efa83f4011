"""Run the demo web as a separate process (for `make demo` and end-to-end tests) and stop it by PID."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

READY_PREFIX = "serving demo web on "


@dataclass
class DemoWebProcess:
    """A running `wukong demo-web`; `base_url` is `http://127.0.0.1:PORT` (no trailing slash)."""

    pid: int
    base_url: str
    popen: subprocess.Popen[str]

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        return stop_pid(self.pid, timeout, self.popen)

    def __enter__(self) -> DemoWebProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn_demo_web(pairs: int = 3000, seed: int = 7, port: int = 0, ground_truth: str | Path | None = None,
                   search_ground_truth: str | Path | None = None, planned: bool = False,
                   timeout: float = 120.0, python: str = sys.executable, prerender: bool = False) -> DemoWebProcess:
    """Starts `python -m wukong.cli demo-web` and waits for its "serving demo web on URL" line
    (printed once the ground-truth files, if asked for, are written)."""
    cmd = [python, "-m", "wukong.cli", "-q", "demo-web", "--port", str(port), "--pairs", str(pairs),
           "--seed", str(seed)]
    if ground_truth is not None:
        cmd += ["--ground-truth", str(ground_truth)]
    if search_ground_truth is not None:
        cmd += ["--search-ground-truth", str(search_ground_truth)]
    if planned:
        cmd.append("--planned")
    if prerender:
        cmd.append("--prerender")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:  # the process ended before it was ready
                break
            if line.startswith(READY_PREFIX):
                return DemoWebProcess(proc.pid, line[len(READY_PREFIX):].strip().rstrip("/"), proc)
    stop_pid(proc.pid, 5.0, proc)
    raise RuntimeError(f"demo web did not start within {timeout:.0f} s (exit code {proc.returncode})")


def stop_pid(pid: int, timeout: float = 10.0, popen: subprocess.Popen[str] | None = None) -> int:
    """Stops the demo web with this PID: SIGTERM, then SIGKILL. Returns its exit code (0 if unknown)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return popen.wait() if popen is not None else 0
    if popen is not None:
        try:
            return popen.wait(timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            return popen.wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return 0
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return -signal.SIGKILL
