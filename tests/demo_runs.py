"""Runs the code behind `make demo` (`python -m wukong.demo_pipeline`) for tests: the smallest demo web,
on a given port, in a subprocess exactly as `make demo` runs it."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from wukong.demo_pipeline import port_is_free

# The smallest demo web (wukong.demoweb.generator.MIN_PAIRS): about 160 kept pairs, a few pairs of every
# rejection reason and 6 near-duplicate groups, in about a minute.
DEMO_PAIRS = 200


def free_low_port() -> int:
    """A free port on 127.0.0.1 below Linux's ephemeral range (32768+): no client socket takes it between
    two demo runs, so both can serve the demo web on it."""
    rng = random.Random()
    for _ in range(500):
        port = rng.randrange(20_000, 32_000)
        if port_is_free(port):
            return port
    raise RuntimeError("no free port in 20000..31999 on 127.0.0.1")


def run_demo(root: Path, port: int) -> str:
    """Runs the demo pipeline into `root` with the demo web on `port`; returns its output."""
    proc = subprocess.run([sys.executable, "-m", "wukong.demo_pipeline", "--data-dir", str(root), "--pairs",
                           str(DEMO_PAIRS), "--port", str(port)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "is taken" not in proc.stdout, f"port {port} was taken by another process between the runs"
    return proc.stdout
