"""`wukong download` fetches a release back from a loopback image server (some images gone: 404):
every pair whose image is served comes back once with its caption and original bytes; a re-run resumes."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webdataset as wds

from manifests.config import Config
from sharding.release import build_release
from sharding.synthetic import LoopbackImageServer, make_rows, write_filtered
from wukong.cli import main

SERVED = 20


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackImageServer]:
    with LoopbackImageServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def rows(server: LoopbackImageServer) -> list[dict[str, Any]]:
    rows = make_rows(26, server.base_url + "/img", seed=7)
    server.serve_rows(rows[:SERVED])  # the last 6 images are gone: 404
    return rows


@pytest.fixture(scope="module")
def release(ray_local: None, rows: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("download")
    write_filtered(rows, base / "filtered", parts=2)
    cfg = Config()
    cfg.shard.samples_per_shard = 10
    cfg.shard.manifest_rows_per_file = 15
    cfg.shard.csv = True
    build_release(base / "filtered", base / "release", cfg, progress=False)
    return base / "release"


@pytest.fixture(autouse=True)
def loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def download(manifests: str, out: Path) -> int:
    return main(["download", "--manifests", manifests, "--out", str(out), "--processes", "1", "--threads", "8",
                 "--samples-per-shard", "12", "--set", "download.retries=0", "--set", "download.read_timeout=5"])


def read_back(out: Path) -> dict[str, dict[str, Any]]:
    samples: dict[str, dict[str, Any]] = {}
    for sample in wds.WebDataset(sorted(str(p) for p in out.glob("*.tar")), shardshuffle=False):
        meta = json.loads(sample["json"])
        assert meta["url"] not in samples, "a pair came back twice"
        samples[meta["url"]] = {"meta": meta, "image": sample["jpg"], "txt": sample["txt"].decode("utf-8")}
    return samples


def test_download_parquet_manifests_and_resume(release: Path, rows: list[dict[str, Any]], tmp_path: Path,
                                               server: LoopbackImageServer, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    out = tmp_path / "dl"
    assert download(str(release / "manifests" / "*.parquet"), out) == 0
    printed = capsys.readouterr().out
    assert "26 pairs tried, 20 images saved (76.9%)" in printed
    assert "HTTP Error 404" in printed
    assert any(line.startswith("127.0.0.1") and line.endswith("76.9%") for line in printed.splitlines())
    got = read_back(out)
    served = {r["url"]: r for r in rows[:SERVED]}
    assert set(got) == set(served)
    for url, sample in got.items():
        row = served[url]
        assert sample["txt"] == row["caption"]
        assert sample["image"] == row["image"]  # --resize is off: the original bytes
        assert sample["meta"]["release_key"] == row["key"]
        assert sample["meta"]["release_sha256"] == row["sha256"] == sample["meta"]["sha256"]
    requests = server.requests
    assert download(str(release / "manifests" / "*.parquet"), out) == 0  # every shard done: nothing fetched
    assert server.requests == requests
    assert set(read_back(out)) == set(served)


def test_download_wukong_style_csv(release: Path, rows: list[dict[str, Any]], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A Wukong-style `url,caption` CSV comes back whole, and the run leaves nothing in the temporary folder
    (img2dataset's workers import wandb, which makes two folders there at import that a worker never removes)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # this process reads TMPDIR again too
    out = tmp_path / "dl"
    assert download(str(release / "manifests" / "*.csv"), out) == 0
    got = read_back(out)
    assert {url: s["txt"] for url, s in got.items()} == {r["url"]: r["caption"] for r in rows[:SERVED]}
    assert sorted(p.name for p in temp.iterdir()) == []


def test_download_input_errors(release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert download(str(tmp_path / "nothing-*.parquet"), tmp_path / "dl") == 2
    err = capsys.readouterr().err.strip()
    assert err == f"wukong: error: no manifest matches {tmp_path / 'nothing-*.parquet'}"
    assert download(str(release / "manifests" / "part-*"), tmp_path / "dl") == 2
    assert "both parquet and CSV" in capsys.readouterr().err
    (tmp_path / "urls.csv").write_text("link,text\nhttp://127.0.0.1:9/a.jpg,x\n")
    assert download(str(tmp_path / "urls.csv"), tmp_path / "dl") == 2
    assert "no url column" in capsys.readouterr().err
    other = tmp_path / "other"
    (other / "_wukong").mkdir(parents=True)
    (other / "_wukong" / "plan.json").write_text('{"manifests": []}')
    assert download(str(release / "manifests" / "*.parquet"), other) == 2
    assert "holds a download of other manifests" in capsys.readouterr().err


def test_download_from_and_to_s3(release: Path, rows: list[dict[str, Any]], tmp_path: Path, s3_server,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Manifests read from object storage, shards written there (moto's S3 server on 127.0.0.1)."""
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket()
    fs.put(str(release / "manifests") + "/", f"{bucket}/release/manifests/", recursive=True)
    args = ["download", "--manifests", f"s3://{bucket}/release/manifests/*.parquet", "--out", f"s3://{bucket}/dl",
            "--processes", "1", "--threads", "8", "--samples-per-shard", "12", "--set", "download.retries=0"]
    for s in s3_server.config_overrides():
        args += ["--set", s]
    assert main(args) == 0
    assert "26 pairs tried, 20 images saved (76.9%)" in capsys.readouterr().out
    fs.get(f"{bucket}/dl/", str(tmp_path / "dl") + "/", recursive=True)
    got = read_back(tmp_path / "dl")
    assert set(got) == {r["url"] for r in rows[:SERVED]}
