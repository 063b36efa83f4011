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
    """A local Ray for the whole test session (2 CPUs); stage code run in-process reuses it. Started as
    the stages start theirs (manifests.ray_session: no autoscaler monitor, no log monitor)."""
    from manifests.config import Config, RayConfig
    from manifests.ray_session import ray_session

    with ray_session(Config(ray=RayConfig(num_cpus=2))):
        yield


@pytest.fixture(scope="session")
def demo_web() -> Iterator[object]:
    """The bundled demo web (1,500 pairs, seed 7) served on a free 127.0.0.1 port for the session.

    `.base_url` is `http://127.0.0.1:PORT` (no trailing slash), `.url(path)` joins a path, `.web` is
    the `DemoWeb` (`ground_truth(base_url, measure=False)`, `search_ground_truth(base_url)`, ...).
    """
    from wukong.demoweb.server import DemoWebServer

    with DemoWebServer(pairs=1500, seed=7) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[object]:
    """moto's S3 server on 127.0.0.1 (tests/s3local.py); use `.new_bucket()` per test."""
    from s3local import local_s3

    with local_s3() as server:
        yield server


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    """`wukong.cli.main` configures logging; leave the root logger's handlers and level as they were."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, int]:
    """`make demo`'s pipeline (python -m wukong.demo_pipeline) run once on the smallest demo web (200 pairs)
    into a temporary data dir, on a free port below the ephemeral range: (data dir, port). Read only:
    a test that runs the demo again copies the folder first (tests/demo_runs.py)."""
    from demo_runs import free_low_port, run_demo

    root = tmp_path_factory.mktemp("demo-run") / "demo"
    port = free_low_port()
    run_demo(root, port)
    return root, port
