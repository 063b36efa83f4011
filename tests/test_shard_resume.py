"""A shard run that dies (simulated leftovers, then a real SIGKILL of `wukong shard`) and is run again
gives exactly the release of an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from manifests.config import Config
from manifests.layout import ReleaseDir
from sharding.release import build_release
from sharding.synthetic import make_rows, write_filtered


def cfg_with(per_shard: int) -> Config:
    cfg = Config()
    cfg.shard.samples_per_shard = per_shard
    cfg.shard.manifest_rows_per_file = 25
    return cfg


@pytest.fixture(scope="module")
def data(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A filtered folder and its uninterrupted release (shards of 10)."""
    base = tmp_path_factory.mktemp("resume")
    write_filtered(make_rows(50, "http://127.0.0.1:9/img", seed=3), base / "filtered", parts=4)
    build_release(base / "filtered", base / "reference", cfg_with(10), progress=False)
    return base / "filtered", base / "reference"


def assert_same_release(a: Path, b: Path) -> None:
    assert ReleaseDir(a).checksums.read_bytes() == ReleaseDir(b).checksums.read_bytes()
    files = lambda root: sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(a) == files(b)


def test_leftovers_of_a_killed_run_are_replaced(data: tuple[Path, Path], tmp_path: Path) -> None:
    filtered, reference = data
    out = tmp_path / "release"
    shutil.copytree(reference, out)
    shards = ReleaseDir(out).shards
    # shard 1 died after its tar was renamed, before its stats: a tar without a completion marker
    (shards / "00001_stats.json").unlink()
    with open(shards / "00001.tar", "r+b") as fh:
        fh.truncate(3000)
    # shard 2 died while writing its tar: a temporary tar and no stats
    (shards / "00002_stats.json").unlink()
    (shards / "00002.tar").unlink()
    (shards / ".00002.tar.0badc0de.tmp").write_bytes(b"\0" * 1024)
    # shard 3's stats belong to another plan (the input changed since)
    stats = json.loads((shards / "00003_stats.json").read_text())
    stats["plan"] = "0" * 64
    (shards / "00003_stats.json").write_text(json.dumps(stats))
    (out / "SHA256SUMS").unlink()
    (out / ".work" / "00004").mkdir(parents=True)  # buckets of the dead run
    (out / ".README.md.0123abcd.tmp").write_text("half a card")
    (out / "manifests" / ".part-00001.parquet.89abcdef.tmp").write_bytes(b"PAR1")
    summary = build_release(filtered, out, cfg_with(10), progress=False)
    assert (summary.shards, summary.written) == (5, 3)
    assert_same_release(reference, out)
    assert not list(out.rglob(".*"))


def test_sigkill_mid_run_then_rerun(data: tuple[Path, Path], tmp_path: Path) -> None:
    """A real `wukong shard` process (on this session's Ray), killed once shards start completing."""
    import ray

    filtered, _ = data
    reference = tmp_path / "reference"
    build_release(filtered, reference, cfg_with(2), progress=False)  # 25 shards: a wide window to kill in
    out = tmp_path / "release"
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address, "RAY_AUTH_MODE": "disabled"}
    cmd = [sys.executable, "-m", "wukong.cli", "-q", "shard", "--in", str(filtered), "--out", str(out),
           "--samples-per-shard", "2", "--set", "shard.manifest_rows_per_file=25"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = False
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and proc.poll() is None:
            if list((out / "shards").glob("*_stats.json")) if (out / "shards").is_dir() else []:
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None and not killed:
            proc.kill()
        proc.wait(timeout=30)
    assert killed, "the run finished before it could be killed"
    assert not (out / "SHA256SUMS").exists()  # a killed run is visibly incomplete
    for tar in (out / "shards").glob("*.tar"):  # whatever is under a final name is a complete tar
        assert tar.stat().st_size % 10240 == 0
    time.sleep(0.5)  # let Ray reap the dead driver's workers
    summary = build_release(filtered, out, cfg_with(2), progress=False)
    assert summary.shards == 25 and summary.written < 25
    assert_same_release(reference, out)


def test_complete_release_with_leftover_work_files(data: tuple[Path, Path], tmp_path: Path) -> None:
    filtered, reference = data
    out = Path(shutil.copytree(reference, tmp_path / "release"))
    (out / ".work" / "00001").mkdir(parents=True)
    (out / "shards" / ".00001.tar.fedcba98.tmp").write_bytes(b"x")
    summary = build_release(filtered, out, cfg_with(10), progress=False)
    assert summary.written == 0
    assert_same_release(reference, out)
    assert not list(out.rglob(".*"))
