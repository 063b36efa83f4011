"""Joining Ray: an existing cluster (RAY_ADDRESS or ray.address), an already running session, or a
local one started here and shut down on exit (the embedded default)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from manifests.config import Config

log = logging.getLogger(__name__)


def cluster_address(cfg: Config) -> str | None:
    return cfg.ray.address or os.environ.get("RAY_ADDRESS") or None


@contextmanager
def ray_session(cfg: Config) -> Iterator[None]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized():
        yield
        return
    address = cluster_address(cfg)
    if address:
        log.info("joining Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False)
    else:
        # Ray starts its workers at nice 15 (`worker_niceness`), so on a machine shared with other jobs
        # they yield to everything else; the stages' workers are the work, so they run at nice 0.
        ray.init(num_cpus=cfg.ray.num_cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, _system_config={"worker_niceness": 0})
    try:
        yield
    finally:
        ray.shutdown()
