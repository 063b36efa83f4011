"""The release stage and `wukong verify` with FILTERED and/or RELEASE on S3 (moto's server on 127.0.0.1):
the release equals a local run's byte for byte, no work files stay behind, and a re-run completes a
damaged remote release, rewriting only the shards that were not complete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manifests.config import Config, load_config
from manifests.parquet_io import list_parts
from manifests.storage import data_path
from sharding.plan import index_part, make_plan
from sharding.release import build_release
from sharding.scatter import Range, scatter_part
from sharding.shard_writer import write_shard
from sharding.synthetic import make_rows, write_filtered
from wukong.cli import main

N_ROWS = 200
PER_SHARD = 25
SHARDS = N_ROWS // PER_SHARD
MANIFEST_ROWS = 60
SHARD_ARGS = ["--samples-per-shard", str(PER_SHARD), "--csv", "--set", f"shard.manifest_rows_per_file={MANIFEST_ROWS}"]


def local_config() -> Config:
    cfg = Config()
    cfg.shard.samples_per_shard = PER_SHARD
    cfg.shard.manifest_rows_per_file = MANIFEST_ROWS
    cfg.shard.csv = True
    return cfg


def storage_args(s3_server: Any) -> list[str]:
    return [arg for override in s3_server.config_overrides() for arg in ("--set", override)]


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def remote_files(s3_server: Any, prefix: str, into: Path) -> dict[str, bytes]:
    """Downloads every object under `prefix` (bucket/key prefix) into `into` and reads them back."""
    s3_server.filesystem().get(f"{prefix}/", f"{into}/", recursive=True)
    return local_files(into)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """WUKONG_CACHE for this module: the local log and lock folders of remote releases go there."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WUKONG_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def local_run(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A filtered folder and its release written locally: the reference for every remote run."""
    base = tmp_path_factory.mktemp("shard_s3")
    write_filtered(make_rows(N_ROWS, "http://127.0.0.1:9/img", seed=11), base / "filtered", parts=4, seed=2)
    (base / "filtered" / "config.yaml").write_text("text:\n  max_words: 40  # 中文\n", encoding="utf-8")
    summary = build_release(base / "filtered", base / "reference", local_config(), progress=False)
    assert (summary.shards, summary.written) == (SHARDS, SHARDS)
    card = (base / "reference" / "README.md").read_text(encoding="utf-8")
    assert "max_words: 40  # 中文" in card and "`too_small` | 7" in card  # filter config and funnel read remotely too
    return base / "filtered", base / "reference"


@pytest.fixture(scope="module")
def bucket(s3_server: Any, local_run: tuple[Path, Path]) -> str:
    """A versioned bucket holding the filtered folder under `filtered/` (versions show rewrites)."""
    name = s3_server.new_bucket()
    fs = s3_server.filesystem()
    fs.call_s3("put_bucket_versioning", Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    fs.put(str(local_run[0]), f"{name}/filtered", recursive=True)
    assert sorted(fs.find(f"{name}/filtered")) == [f"{name}/filtered/config.yaml"] + [
        f"{name}/filtered/kept/part-0000{i}.parquet" for i in range(4)] + [f"{name}/filtered/stats.json"]
    return name


@pytest.mark.parametrize(("remote_in", "remote_out"), [(True, True), (False, True), (True, False)],
                         ids=["s3-to-s3", "local-to-s3", "s3-to-local"])
def test_release_on_s3_is_byte_identical(s3_server: Any, bucket: str, local_run: tuple[Path, Path],
                                         cache_dir: Path, tmp_path: Path, remote_in: bool, remote_out: bool,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    filtered, reference = local_run
    out_prefix = f"{bucket}/release-{tmp_path.name}"
    src = f"s3://{bucket}/filtered" if remote_in else str(filtered)
    dest = f"s3://{out_prefix}" if remote_out else str(tmp_path / "release")
    assert main(["-q", "shard", "--in", src, "--out", dest, *SHARD_ARGS, *storage_args(s3_server)]) == 0
    assert f"({SHARDS} written, 0 already complete and skipped)" in capsys.readouterr().out
    got = remote_files(s3_server, out_prefix, tmp_path / "got") if remote_out else local_files(tmp_path / "release")
    want = local_files(reference)
    assert sorted(got) == sorted(want)  # no .work buckets, temp or lock files either
    for rel, data in want.items():
        assert got[rel] == data, rel
    assert main(["verify", dest, *storage_args(s3_server)]) == 0
    assert f"all {len(want) - 1} files OK" in capsys.readouterr().out
    if remote_out:
        logs = list((cache_dir / "logs").glob("*/shard.log"))
        assert logs and any(dest in p.read_text(encoding="utf-8") for p in logs)


def test_buckets_travel_through_the_release_prefix(s3_server: Any, bucket: str,
                                                  local_run: tuple[Path, Path]) -> None:
    """Without Ray: scatter writes its buckets as objects under RELEASE/.work (no shared disk needed),
    the shard task reads them from there, writes the shard's objects and removes its buckets."""
    storage = load_config(None, s3_server.config_overrides()).storage
    fs = s3_server.filesystem()
    parts = list_parts(data_path(f"s3://{bucket}/filtered/kept", storage))
    plan = make_plan([index_part(p) for p in parts], PER_SHARD)
    release = data_path(f"s3://{bucket}/buckets", storage)
    work, shards = release / ".work", release / "shards"
    todo = plan.shards[:2]
    ranges = [Range(s.index, s.name, s.first_key, s.last_key) for s in todo]
    assert sum(scatter_part(p, i, ranges, work).rows for i, p in enumerate(parts)) == 2 * PER_SHARD
    objects = fs.find(f"{bucket}/buckets/.work")
    assert {o.rsplit("/", 2)[1] for o in objects} == {"00000", "00001"} and all(o.endswith(".arrow") for o in objects)
    result = write_shard(todo[0], work / todo[0].name, shards)
    assert result.error is None and result.count == PER_SHARD
    assert {o.rsplit("/", 2)[1] for o in fs.find(f"{bucket}/buckets/.work")} == {"00001"}
    for name in ("00000.tar", "00000.parquet", "00000_stats.json"):
        assert fs.cat_file(f"{bucket}/buckets/shards/{name}") == (local_run[1] / "shards" / name).read_bytes()


def test_resume_on_s3_rewrites_only_incomplete_shards(s3_server: Any, bucket: str, local_run: tuple[Path, Path],
                                                      cache_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The reference release uploaded as-is, damaged as killed runs leave it, then completed in place."""
    _, reference = local_run
    fs = s3_server.filesystem()
    prefix = f"{bucket}/resume"
    url = f"s3://{prefix}"
    fs.put(str(reference), prefix, recursive=True)
    version = lambda rel: fs.info(f"{prefix}/{rel}")["VersionId"]  # noqa: E731
    before = {rel: version(rel) for rel in local_files(reference)}
    assert all(before.values())
    fs.rm(f"{prefix}/shards/00001.tar")  # killed before its tar upload completed (stats deleted: below)
    fs.rm(f"{prefix}/shards/00001_stats.json")
    fs.rm(f"{prefix}/shards/00003_stats.json")  # killed after the tar and sidecar, before the marker
    fs.pipe(f"{prefix}/shards/00005.tar", b"\0" * 10240)  # a tar of another run: its size disagrees
    fs.pipe(f"{prefix}/.work/00001/00000.arrow", b"buckets of a dead run")
    fs.pipe(f"{prefix}/shards/00042.tar", b"a shard beyond this plan")

    assert main(["verify", url, *storage_args(s3_server)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "shards/00001.tar: MISSING", "shards/00001_stats.json: MISSING", "shards/00003_stats.json: MISSING",
        "shards/00005.tar: FAILED checksum"]

    assert main(["-q", "shard", "--in", f"s3://{bucket}/filtered", "--out", url, *SHARD_ARGS,
                 *storage_args(s3_server)]) == 0
    assert f"(3 written, {SHARDS - 3} already complete and skipped)" in capsys.readouterr().out
    got = remote_files(s3_server, prefix, tmp_path / "got")
    want = local_files(reference)
    assert sorted(got) == sorted(want)
    for rel, data in want.items():
        assert got[rel] == data, rel
    rewritten = {rel for rel in want if version(rel) != before[rel]}
    shard_files = {f"shards/{i:05d}{suffix}" for i in (1, 3, 5) for suffix in (".tar", ".parquet", "_stats.json")}
    # the complete shards' objects were not touched; manifests, card and SHA256SUMS are always rewritten
    assert {rel for rel in rewritten if rel.startswith("shards/")} == shard_files
    assert main(["verify", url, *storage_args(s3_server)]) == 0


def test_s3_errors_are_one_line(s3_server: Any, bucket: str, cache_dir: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    sets = storage_args(s3_server)
    assert main(["shard", "--in", f"s3://{bucket}/nothing", "--out", f"s3://{bucket}/r", *sets]) == 2
    assert capsys.readouterr().err.strip() == f"wukong: error: input folder not found: s3://{bucket}/nothing"
    assert main(["shard", "--in", f"s3://{bucket}/filtered", "--out", "s3://no-such-bucket-wukong/r", *sets]) == 2
    assert capsys.readouterr().err.strip() == "wukong: error: bucket not found: s3://no-such-bucket-wukong"
    assert main(["shard", "--in", f"s3://{bucket}/filtered", "--out", f"s3://{bucket}/filtered/r", *sets]) == 2
    assert "separate folders" in capsys.readouterr().err
    assert main(["verify", f"s3://{bucket}/nothing", *sets]) == 2
    assert capsys.readouterr().err.strip() == f"wukong: error: release folder not found: s3://{bucket}/nothing"
