"""Shared pytest fixtures. One local Ray per test session; servers bind 127.0.0.1 only.

`make test` runs the suite on two pytest-xdist workers, a whole file at a time each (`--dist loadfile`:
a file's module fixtures, such as the two-node test cluster, are built once); each worker is a test
session of its own (its own Ray, its own demo web), and `demo_run` is shared between them.

Shared file: add fixtures by appending, never rewrite others' fixtures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A local Ray for the whole test session (2 CPUs); stage code run in-process reuses it. Started as
    the stages start theirs (manifests.ray_session: no autoscaler monitor, log monitor or dashboard API server)."""
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
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder under xdist
    folder, done = shared / "demo-run", shared / "demo-run.port"
    with FileLock(str(shared / "demo-run.lock")):  # the first worker to ask runs it; the other waits
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            port = free_low_port()
            run_demo(folder / "demo", port)
            done.write_text(str(port), encoding="utf-8")
        return folder / "demo", int(done.read_text(encoding="utf-8"))


# Under xdist the files are handed out in collection order (`make test` passes --no-loadscope-reorder: by
# default xdist hands out the files with the most tests first, whatever this order says): the longest start
# first, so that the two workers end together instead of one running a long file alone at the end. The order
# is that of the files' measured times; test_report_samples and test_demo_pipeline, which both need `demo_run`,
# are kept apart so that one worker does not wait for the other's run of it at the start.
LONGEST_FILES = ("test_cluster.py", "test_reliability_crash.py", "test_crawl_s3.py", "test_report_samples.py",
                 "test_filter_demo_web.py", "test_crawl_warc.py", "test_download.py", "test_report.py",
                 "test_demo_pipeline.py", "test_shard_s3.py", "test_crawl_e2e_local.py", "test_reliability_faults.py",
                 "test_demo_web.py", "test_crawl_demo.py", "test_privacy.py", "test_reliability_security.py",
                 "test_sensitive_lexicon.py", "test_shard.py", "test_report_browser.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order
