"""Shared pytest fixtures. One local Ray per test session; servers bind 127.0.0.1 only.

Shared file: add fixtures by appending, never rewrite others' fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A local Ray for the whole test session (2 CPUs); stage code run in-process reuses it."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
