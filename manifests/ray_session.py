"""Joining Ray: an existing cluster (RAY_ADDRESS or ray.address), an already running session, or a
local one started here and shut down on exit (the embedded default).

The local one is a head node without the three Python daemons that `ray.init` always adds and a
single machine's stages never use: the autoscaler's monitor (there is nothing to scale), the log
monitor (it forwards worker logs to the driver, and `log_to_driver` is off) and the dashboard's API
server (started even with `include_dashboard=False`, for the job and state APIs; the stages submit
plain tasks). Each imports Ray in a process of its own at start-up; on two cores leaving the first two
out took about 2 s off every command that starts Ray (start plus stop, 3 runs each side by side:
7.3-8.2 s -> 5.4-6.5 s), and the API server another 0.9 s of the start (2.8 -> 1.85 s, 3.2 -> 2.2
CPU-s). Ray's public `init` cannot leave them out, so the node is built with Ray's own `Node` class (Ray is pinned in
pyproject.toml, and tests start it); where that class is missing or refuses the parameters, `ray.init`
starts Ray as before and the log says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from manifests.config import Config

log = logging.getLogger(__name__)

# Ray starts its workers at nice 15 (`worker_niceness`), so on a machine shared with other jobs they
# yield to everything else; the stages' workers are the work, so they run at nice 0.
SYSTEM_CONFIG = {"worker_niceness": 0}


def cluster_address(cfg: Config) -> str | None:
    return cfg.ray.address or os.environ.get("RAY_ADDRESS") or None


def start_local_node(num_cpus: int | None) -> Any | None:
    """A local head node (Ray's `Node`) without the autoscaler's monitor and the log monitor, or None
    when this Ray does not offer that (then `ray.init` starts its own). Its processes end with
    `stop_local_node`, or with the reaper Ray spawns beside them if this process dies first."""
    try:
        from ray._private.node import Node
        from ray._private.parameter import RayParams

        params = RayParams(num_cpus=num_cpus, include_dashboard=False, include_log_monitor=False,
                           no_monitor=True, _system_config=SYSTEM_CONFIG)
        if not callable(getattr(Node, "start_api_server", None)):
            raise TypeError("Node.start_api_server is missing")
    except (ImportError, TypeError) as exc:
        log.info("Ray started by ray.init (its Node class is not usable here: %s)", exc)
        return None

    class LeanNode(Node):  # type: ignore[misc,valid-type]
        def start_api_server(self, **_: Any) -> None:
            """No dashboard API server: nothing here uses the job or state APIs it serves."""

    return LeanNode(params, head=True, shutdown_at_exit=False, spawn_reaper=True, ray_init_cluster=True)


def stop_local_node(node: Any) -> None:
    node.kill_all_processes(check_alive=False, allow_graceful=True, wait=True)


@contextmanager
def ray_session(cfg: Config) -> Iterator[None]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized():
        yield
        return
    address = cluster_address(cfg)
    node = None
    if address:
        log.info("joining Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False)
    else:
        node = start_local_node(cfg.ray.num_cpus)
        if node is not None:
            try:
                ray.init(address=node.address, log_to_driver=False, configure_logging=False)
            except BaseException:
                stop_local_node(node)
                raise
        else:
            ray.init(num_cpus=cfg.ray.num_cpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, _system_config=SYSTEM_CONFIG)
    try:
        yield
    finally:
        ray.shutdown()
        if node is not None:
            stop_local_node(node)
