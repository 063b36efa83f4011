"""bench/process_cpu.py: each process's CPU over a span, by the kind its command line names."""

from __future__ import annotations

import subprocess
import sys

from bench.process_cpu import ProcessCpu, kind_of

# Burns `first` CPU-s, says so, burns `then` more, then idles so that a sample sees its last CPU time.
BURNER = """
import sys, time
def burn(s):
    t = time.process_time()
    while time.process_time() - t < s:
        pass
burn(float(sys.argv[1])); print("ready", flush=True); burn(float(sys.argv[2])); time.sleep(0.5)
"""


def test_kinds_of_the_pipelines_processes() -> None:
    site = "/venv/lib/python3.11/site-packages/ray"
    assert kind_of(f"/venv/bin/python {site}/_private/workers/default_worker.py --node-ip-address=127.0.0.1") \
        == kind_of("ray::IDLE") == kind_of("ray::run_pass_task") == "Ray worker"
    assert kind_of("ray::DashboardAgent") == kind_of(f"/venv/bin/python {site}/dashboard/agent.py --node-id=1") \
        == "Ray agents (dashboard, runtime env)"
    assert kind_of(f"{site}/core/src/ray/gcs/gcs_server --log_dir=/tmp/x") == "Ray daemons (GCS, raylet)"
    assert kind_of("/venv/bin/python -m wukong.cli -q filter --in c --out f") == "wukong CLI: filter"
    assert kind_of("/venv/bin/python -m wukong.cli shard --in f --out r") == "wukong CLI: shard"
    assert kind_of("/venv/bin/python -m crawler.runner /tmp/job") == "crawl job (crawler.runner, Scrapy)"
    assert kind_of("/venv/bin/python -B -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=9)") \
        == "local pool worker (spawned)"
    assert kind_of("") == "kernel threads"
    assert kind_of("/usr/bin/make test") == "other programs"


def test_a_process_counts_only_the_cpu_it_used_during_the_span() -> None:
    proc = subprocess.Popen([sys.executable, "-c", BURNER, "0.4", "0.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"  # 0.4 CPU-s before the span
        with ProcessCpu(interval=0.05) as sampled:
            assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
    mine = [p for p in sampled.procs.values() if p.cmdline.endswith("0.4 0.5")]
    assert len(mine) == 1
    assert 0.35 <= mine[0].last - mine[0].base <= 0.65  # the 0.5 CPU-s of the span, not the 0.4 before it
    n, seconds = sampled.by_kind()["other Python"]
    assert n >= 1 and seconds >= mine[0].last - mine[0].base
    table = sampled.table(busy=seconds + 1.0)
    assert "| other Python |" in table and table.splitlines()[-1].startswith("| not seen")
