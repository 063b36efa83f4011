"""Crawl jobs as Ray tasks, for `wukong crawl` on a cluster (RAY_ADDRESS or `ray.address`).

Each job (a search partition, or the site crawl) becomes one Ray task that needs one CPU; the task
starts the same child process as a local crawl (`python -m crawler.runner JOB_DIR`, see
`crawler.jobs.launch`) on whatever node it lands on and returns the child's exit code. Tasks are
spread over the nodes; each job folder records where its job ran (`ray_task.json`). Everything a
job needs travels in its `job.json` (the storage settings included); a local output folder must be
an absolute path on a filesystem every node shares. With an output folder on object storage
(`s3://...`) no shared disk is needed: parts, journals and stats go there, and each job folder
(lock, logs, progress) is a local folder of the node that runs the job (`JobSpec.on_this_machine`).

The driver watches the tasks through `RayJob`, which looks like the `Popen` of a local crawl
(`poll()`, `returncode`, `send_signal()`, plus `progress()`). Progress and Ctrl-C travel through a
small Ray actor of the driver's session (`JobControl`), never through files: each task reports its
child's `progress.json` to it and learns the number of Ctrl-C presses for its job, and forwards one
SIGINT to the child per press (the first stops gracefully, the second forces). If the driver dies,
Ray ends its tasks' worker processes and their children stop gracefully (they get SIGTERM when
their parent dies, as locally).
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

from crawler.jobs import JobSpec, launch, read_progress
from manifests.config import Config
from manifests.parquet_io import write_json_atomic
from manifests.ray_session import ray_session

log = logging.getLogger(__name__)

TASK_FILE = "ray_task.json"  # where the job ran: node, task, pids
POLL_SECONDS = 0.25
# The driver's environment does not reach Ray workers (they inherit their raylet's): these do.
FORWARDED_ENV_PREFIX = "WUKONG_"
LOCAL_ONLY_ENV = ("WUKONG_PARENT_PID",)


def forwarded_env() -> dict[str, str]:
    """The driver's `WUKONG_*` variables (e.g. WUKONG_LOOPBACK_ONLY) that the crawler child must see."""
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIX) and k not in LOCAL_ONLY_ENV}


class JobControl:
    """The channel between the driver and its crawl tasks (a Ray actor): Ctrl-C presses one way,
    progress the other, per job name."""

    def __init__(self) -> None:
        self.interrupts: dict[str, int] = {}
        self.reports: dict[str, dict[str, Any]] = {}

    def interrupt(self, job: str) -> int:
        self.interrupts[job] = self.interrupts.get(job, 0) + 1
        return self.interrupts[job]

    def report(self, job: str, progress: dict[str, Any]) -> int:
        """A task's progress in, the number of Ctrl-C presses for its job out."""
        if progress:
            self.reports[job] = progress
        return self.interrupts.get(job, 0)

    def progress(self) -> dict[str, dict[str, Any]]:
        return self.reports


def _where(spec: JobSpec, child_pid: int) -> dict[str, Any]:
    import ray

    ctx = ray.get_runtime_context()
    return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(), "hostname": socket.gethostname(),
            "task_id": ctx.get_task_id(), "worker_pid": os.getpid(), "crawler_pid": child_pid,
            "job_dir": spec.job_dir}


def _launch_interruptible(spec: JobSpec) -> Any:
    """`launch` with SIGINT unblocked in the child: a Ray worker blocks SIGINT in its threads, and a
    child inherits the signal mask of the thread that starts it (Ctrl-C would never reach Scrapy)."""
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        return launch(spec)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def run_job_process(spec_fields: dict[str, Any], env: dict[str, str], control: Any) -> dict[str, Any]:
    """The body of one Ray task: runs the crawler child for this job to its end; returns its exit
    code and where it ran (`returncode`, then `_where`'s fields)."""
    import ray

    os.environ.update(env)
    spec = JobSpec(**spec_fields).on_this_machine()
    job_dir = Path(spec.job_dir)
    proc = _launch_interruptible(spec)
    where = _where(spec, proc.pid)
    write_json_atomic(where, job_dir / TASK_FILE)
    forwarded = 0
    try:
        while proc.poll() is None:
            wanted = int(ray.get(control.report.remote(spec.name, read_progress(job_dir))))
            while forwarded < wanted:
                proc.send_signal(signal.SIGINT)
                forwarded += 1
            time.sleep(POLL_SECONDS)
        control.report.remote(spec.name, read_progress(job_dir))
    finally:
        if proc.poll() is None:  # the task itself was cancelled or is being torn down: stop gracefully
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except Exception:
                proc.kill()
                proc.wait()
    return {"returncode": int(proc.returncode), **where}


class _ProgressBoard:
    """Every job's progress from the control actor, fetched at most once per poll interval."""

    def __init__(self, control: Any) -> None:
        self.control = control
        self.fetched_at = float("-inf")
        self.reports: dict[str, dict[str, Any]] = {}

    def get(self, job: str) -> dict[str, Any]:
        if time.monotonic() - self.fetched_at >= POLL_SECONDS / 2:
            import ray

            try:
                self.reports = dict(ray.get(self.control.progress.remote(), timeout=10))
            except Exception as exc:  # progress is cosmetic: keep the last known
                log.debug("crawl: no progress from the control actor: %s", exc)
            self.fetched_at = time.monotonic()
        return self.reports.get(job, {})


class RayJob:
    """A crawl job running as a Ray task, watched like a local `Popen`."""

    def __init__(self, spec: JobSpec, remote_fn: Any, env: dict[str, str], control: Any,
                 board: _ProgressBoard | None = None) -> None:
        self.spec = spec
        self.job_dir = Path(spec.job_dir)  # as the driver would name it; `ran_in` once the task has reported
        self.control = control
        self.board = board or _ProgressBoard(control)
        self.ref = remote_fn.remote(dataclasses.asdict(spec), env, control)
        self.returncode: int | None = None
        self.ran_in: str | None = None
        self.node: str | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            import ray

            ready, _ = ray.wait([self.ref], timeout=0)
            if ready:
                try:
                    result = ray.get(ready[0])
                    self.returncode = int(result["returncode"])
                    self.ran_in, self.node = str(result["job_dir"]), str(result["hostname"])
                except Exception as exc:  # the task failed (node lost, worker killed): the job failed
                    log.error("crawl job %s: Ray task failed: %s", self.spec.name, exc)
                    self.returncode = 1
        return self.returncode

    def progress(self) -> dict[str, Any]:
        return self.board.get(self.spec.name)

    def send_signal(self, sig: int) -> None:
        """SIGINT only (Ctrl-C): counted by the control actor, forwarded to the child by its task."""
        if sig != signal.SIGINT:
            raise ValueError(f"only SIGINT can reach a crawl job on a cluster, got {sig}")
        import ray

        ray.get(self.control.interrupt.remote(self.spec.name))


def run_on_cluster(specs: list[JobSpec], cfg: Config, supervise: Callable[[list[RayJob]], list[int]]) -> list[int]:
    """Runs every job as a Ray task on the cluster `cfg` names; `supervise` watches them; exit codes in order."""
    for spec in specs:
        paths = (spec.out_dir, spec.job_dir) if not spec.remote else ()
        for path in paths:
            if not Path(path).is_absolute():
                raise ValueError(f"crawl jobs on a cluster need absolute paths, got {path}")
    with ray_session(cfg):
        import ray

        control = ray.remote(num_cpus=0)(JobControl).remote()
        board = _ProgressBoard(control)
        remote_fn = ray.remote(num_cpus=1, max_retries=0)(run_job_process).options(scheduling_strategy="SPREAD")
        env = forwarded_env()
        log.info("crawl: %d job(s) as Ray tasks on a cluster of %d CPU(s)", len(specs),
                 int(ray.cluster_resources().get("CPU", 0)))
        return supervise([RayJob(spec, remote_fn, env, control, board) for spec in specs])
