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


def _tidy_ray_data() -> None:
    """The stages draw one tqdm bar per pass; Ray Data's own bars and banners stay quiet."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # its "bars disabled" warning
    ctx.print_on_execution_start = False
    ctx.enable_auto_log_stats = False
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("ray.data").setLevel(logging.WARNING)


@contextmanager
def ray_session(cfg: Config) -> Iterator[None]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    if ray.is_initialized():
        _tidy_ray_data()
        yield
        return
    address = cluster_address(cfg)
    if address:
        log.info("joining Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=cfg.ray.num_cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        _tidy_ray_data()
        yield
    finally:
        ray.shutdown()
