"""The archive crawl's driver: the units of a run, the finished ones skipped, the rest run as Ray tasks.

On one machine a local Ray with `--partitions` CPUs runs one unit per CPU; with `RAY_ADDRESS` (or
`ray.address`) the same tasks spread over a cluster, where every node must reach the output folder
(object storage, or one shared filesystem) and the archive files. The driver never reads an archive
itself: each task commits its unit's parts and state (crawler.archive.unit_run), so a killed driver
or worker loses only what its units had not committed, and a re-run picks up exactly there. The
driver sums the units' counters into `OUT/crawl_stats-<spider>.json`, with every failure named.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.archive.units import PARTS_SPIDER, Progress, Unit, load_progress, state_root
from crawler.jobs import jobs_root, stats_file
from crawler.parts import existing_parts
from crawler.stats import add_counters
from manifests.config import Config
from manifests.parquet_io import write_json_atomic
from manifests.ray_session import cluster_address, ray_session
from manifests.storage import DataPath

log = logging.getLogger(__name__)
FORWARDED_ENV_PREFIX = "WUKONG_"
MAX_FAILURES_IN_STATS = 10_000
TaskFn = Callable[..., dict[str, Any]]


@dataclass(slots=True)
class RunResult:
    """Every unit's progress after the run, what this run added, and the run's own failures."""

    units: list[Unit]
    progress: dict[str, Progress]
    ran: int = 0
    finished_before: int = 0
    new_rows: int = 0
    new_counters: dict[str, int] = field(default_factory=dict)
    new_failures: list[dict[str, str]] = field(default_factory=list)
    interrupted: bool = False


def forwarded_env() -> dict[str, str]:
    """The driver's `WUKONG_*` variables (e.g. WUKONG_LOOPBACK_ONLY), which Ray workers on other nodes
    would not otherwise see."""
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIX)}


def _session_config(cfg: Config, partitions: int) -> Config:
    """On one machine, a local Ray with one CPU per partition."""
    if cluster_address(cfg):
        return cfg
    return dataclasses.replace(cfg, ray=dataclasses.replace(cfg.ray, num_cpus=max(1, partitions)))


def run_units(units: list[Unit], task: TaskFn, out: DataPath, cfg: Config, partitions: int,
              bar: Any = None) -> RunResult:
    """Runs every unfinished unit as a 1-CPU Ray task (`task(unit, progress, out, crawl, storage, env)`)."""
    spider = units[0].spider if units else "warc"
    root = state_root(out, spider)
    progress = load_progress(out, root, units)
    result = RunResult(units, progress)
    todo = [u for u in units if not progress[u.id].done]
    result.finished_before = len(units) - len(todo)
    if bar is not None:
        bar.reset(total=len(todo))
    if not todo:
        return result
    storage = asdict(cfg.storage)  # the output, the sources or the index may be on object storage
    crawl, env = asdict(cfg.crawl), forwarded_env()
    with ray_session(_session_config(cfg, partitions)):
        import ray

        remote = ray.remote(num_cpus=1, max_retries=0)(task).options(scheduling_strategy="SPREAD")
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = list(todo)
        running: dict[Any, Unit] = {}
        try:
            while queue or running:
                while queue and len(running) < window:
                    unit = queue.pop(0)
                    ref = remote.remote(asdict(unit), asdict(progress[unit.id]), str(out), crawl, storage, env)
                    running[ref] = unit
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    unit = running.pop(ref)
                    _collect(ray, ref, unit, result)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(pairs=f"{result.new_rows:,}", refresh=False)
        except KeyboardInterrupt:
            result.interrupted = True
            for ref in running:
                ray.cancel(ref)
    return result


def _collect(ray: Any, ref: Any, unit: Unit, result: RunResult) -> None:
    """One finished task's report into the run's result; a crashed task is a named failure of its unit."""
    try:
        report = ray.get(ref)
    except Exception as exc:  # the task died (worker killed, node lost) or raised: its unit is not done
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        log.warning("%s: task_failed: %s", unit.label, detail)
        result.new_failures.append({"where": unit.label, "kind": "task_failed", "detail": detail})
        result.new_counters = add_counters(result.new_counters, {"failed/task_failed": 1})
        return
    result.ran += 1
    result.progress[unit.id] = Progress.from_dict(report["progress"])
    result.new_rows += int(report["new_rows"])
    result.new_counters = add_counters(result.new_counters, report["new_counters"])
    result.new_failures.extend(report["new_failures"])


def files_read(result: RunResult) -> int:
    """Units from which at least one record (or index row) was read, in all runs."""
    return sum(1 for u in result.units
               if any(k.startswith("records/") and v for k, v in result.progress[u.id].counters.items()))


def _under(counters: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in sorted(counters.items()) if k.startswith(prefix)}


def write_archive_stats(out: DataPath, spider: str, result: RunResult, unreadable: list[dict[str, str]],
                        **extra: Any) -> dict[str, Any]:
    """`OUT/crawl_stats-<spider>.json`: the counters of every unit (all runs), files read and done,
    and every failure named (unreadable sources first). Returns the summary."""
    totals = add_counters(*(result.progress[u.id].counters for u in result.units))
    failures = list(unreadable)
    for unit in result.units:
        failures.extend(result.progress[unit.id].failures)
    failures.extend(f for f in result.new_failures if f["kind"] == "task_failed")
    summary = {
        "spider": spider,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {"listed": len(result.units), "done": sum(1 for u in result.units if result.progress[u.id].done),
                  "read": files_read(result), "unreadable_sources": len(unreadable)},
        "pages": totals.get("pages", 0),
        "pairs": totals.get("pairs", 0),
        "parts_on_disk": len(existing_parts(out, PARTS_SPIDER)),
        "records": _under(totals, "records/"),
        "skipped_language": totals.get("skipped_language", 0),
        "opt_out_pages": totals.get("opt_out_pages", 0),
        "dropped": _under(totals, "dropped/"),
        "failed": _under(totals, "failed/"),
        **extra,
        "failures": failures[:MAX_FAILURES_IN_STATS],
        "counters": totals,
    }
    write_json_atomic(summary, stats_file(out, spider))
    return summary


def lock_dir(out: DataPath, spider: str) -> Path:
    """The local folder whose lock keeps two crawls of one OUT on one machine apart."""
    return jobs_root(out) / spider
