"""Crawl jobs as Ray tasks, for `wukong crawl` on a cluster (RAY_ADDRESS or `ray.address`).

Each job (a search partition, or the site crawl) becomes one Ray task that needs one CPU; the task
starts the same child process as a local crawl (`python -m crawler.runner JOB_DIR`, see
`crawler.jobs.launch`) on whatever node it lands on and returns the child's exit code. Tasks are
spread over the nodes; each job folder records where its job ran (`ray_task.json`). Everything a
job needs travels in its `job.json` or sits in its job folder, so the output folder must be an
absolute path on a filesystem every node shares.

The driver watches the tasks through `RayJob`, which looks like the `Popen` of a local crawl
(`poll()`, `returncode`, `send_signal()`): progress comes from the job folders' `progress.json` as
locally, and Ctrl-C reaches the remote child through the job folder (`interrupts`: one line per
press; the task forwards one SIGINT per line, so the first stops gracefully and the second forces).
If the driver dies, Ray ends its tasks' worker processes and their children stop gracefully
(they get SIGTERM when their parent dies, as locally).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.jobs import JobSpec, launch
from manifests.config import Config
from manifests.parquet_io import write_json_atomic
from manifests.ray_session import ray_session

log = logging.getLogger(__name__)

INTERRUPTS_FILE = "interrupts"
TASK_FILE = "ray_task.json"  # where the job ran: node, task, pids
POLL_SECONDS = 0.25
# The driver's environment does not reach Ray workers (they inherit their raylet's): these do.
FORWARDED_ENV_PREFIX = "WUKONG_"
LOCAL_ONLY_ENV = ("WUKONG_PARENT_PID",)


def forwarded_env() -> dict[str, str]:
    """The driver's `WUKONG_*` variables (e.g. WUKONG_LOOPBACK_ONLY) that the crawler child must see."""
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIX) and k not in LOCAL_ONLY_ENV}


def _interrupts(job_dir: Path) -> int:
    try:
        return len((job_dir / INTERRUPTS_FILE).read_text(encoding="utf-8").splitlines())
    except OSError:
        return 0


def _where(child_pid: int) -> dict[str, Any]:
    import ray

    ctx = ray.get_runtime_context()
    return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(), "hostname": socket.gethostname(),
            "task_id": ctx.get_task_id(), "worker_pid": os.getpid(), "crawler_pid": child_pid}


def _launch_interruptible(spec: JobSpec) -> Any:
    """`launch` with SIGINT unblocked in the child: a Ray worker blocks SIGINT in its threads, and a
    child inherits the signal mask of the thread that starts it (Ctrl-C would never reach Scrapy)."""
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        return launch(spec)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def run_job_process(spec_fields: dict[str, Any], env: dict[str, str]) -> int:
    """The body of one Ray task: runs the crawler child for this job to its end; returns its exit code."""
    os.environ.update(env)
    spec = JobSpec(**spec_fields)
    job_dir = Path(spec.job_dir)
    (job_dir / INTERRUPTS_FILE).unlink(missing_ok=True)
    proc = _launch_interruptible(spec)
    write_json_atomic(_where(proc.pid), job_dir / TASK_FILE)
    forwarded = 0
    try:
        while proc.poll() is None:
            wanted = _interrupts(job_dir)
            while forwarded < wanted:
                proc.send_signal(signal.SIGINT)
                forwarded += 1
            time.sleep(POLL_SECONDS)
    finally:
        if proc.poll() is None:  # the task itself was cancelled or is being torn down: stop gracefully
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except Exception:
                proc.kill()
                proc.wait()
    return int(proc.returncode)


class RayJob:
    """A crawl job running as a Ray task, watched like a local `Popen`."""

    def __init__(self, spec: JobSpec, remote_fn: Any, env: dict[str, str]) -> None:
        self.spec = spec
        self.job_dir = Path(spec.job_dir)
        self.job_dir.mkdir(parents=True, exist_ok=True)
        (self.job_dir / INTERRUPTS_FILE).unlink(missing_ok=True)
        (self.job_dir / "progress.json").unlink(missing_ok=True)  # no stale progress before the task starts
        self.ref = remote_fn.remote(dataclasses.asdict(spec), env)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            import ray

            ready, _ = ray.wait([self.ref], timeout=0)
            if ready:
                try:
                    self.returncode = int(ray.get(ready[0]))
                except Exception as exc:  # the task failed (node lost, worker killed): the job failed
                    log.error("crawl job %s: Ray task failed: %s", self.job_dir.name, exc)
                    self.returncode = 1
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """SIGINT only (Ctrl-C): recorded in the job folder, forwarded to the child by its task."""
        if sig != signal.SIGINT:
            raise ValueError(f"only SIGINT can reach a crawl job on a cluster, got {sig}")
        with open(self.job_dir / INTERRUPTS_FILE, "a", encoding="utf-8") as fh:
            fh.write(f"{time.time():.3f}\n")


def run_on_cluster(specs: list[JobSpec], cfg: Config, supervise: Callable[[list[RayJob]], list[int]]) -> list[int]:
    """Runs every job as a Ray task on the cluster `cfg` names; `supervise` watches them; exit codes in order."""
    for spec in specs:
        for path in (spec.out_dir, spec.job_dir):
            if not Path(path).is_absolute():
                raise ValueError(f"crawl jobs on a cluster need absolute paths, got {path}")
    with ray_session(cfg):
        import ray

        remote_fn = ray.remote(num_cpus=1, max_retries=0)(run_job_process).options(scheduling_strategy="SPREAD")
        env = forwarded_env()
        log.info("crawl: %d job(s) as Ray tasks on a cluster of %d CPU(s)", len(specs),
                 int(ray.cluster_resources().get("CPU", 0)))
        return supervise([RayJob(spec, remote_fn, env) for spec in specs])
