"""`wukong verify` on intact and damaged releases, and input the release stage must refuse
(keys that could name paths, unknown formats, duplicates, wrong folders) with one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from manifests.config import Config
from manifests.errors import UserError
from manifests.layout import part_name
from manifests.parquet_io import write_parquet_atomic
from manifests.schemas import SAMPLE
from sharding.checksums import verify
from sharding.release import build_release
from sharding.synthetic import make_rows, write_filtered
from wukong.cli import main


def small_cfg() -> Config:
    cfg = Config()
    cfg.shard.samples_per_shard = 8
    return cfg


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return make_rows(20, "http://127.0.0.1:9/img", seed=5)


@pytest.fixture(scope="module")
def release(ray_local: None, rows: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("verify")
    write_filtered(rows, base / "filtered", parts=2)
    build_release(base / "filtered", base / "release", small_cfg(), progress=False)
    return base / "release"


@pytest.fixture()
def copy(release: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(release, tmp_path / "release"))


def test_verify_ok(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(release)]) == 0
    assert "all 11 files OK" in capsys.readouterr().out


def test_verify_flipped_byte_fails(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tar = copy / "shards" / "00001.tar"
    data = bytearray(tar.read_bytes())
    data[len(data) // 3] ^= 0x01
    tar.write_bytes(bytes(data))
    (copy / "manifests" / "part-00000.parquet").unlink()
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["manifests/part-00000.parquet: MISSING", "shards/00001.tar: FAILED checksum"]


def test_verify_bad_release_folders(copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip().startswith("wukong: error: release folder not found")
    sums = copy / "SHA256SUMS"
    sums.write_text(sums.read_text() + f"{'0' * 64}  ../../etc/passwd\n")
    assert main(["verify", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert "relative path" in err and "\n" not in err
    sums.unlink()
    assert main(["verify", str(copy)]) == 2


def test_verify_notes_unlisted_files(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / "shards" / "notes.txt").write_text("x")
    assert verify(copy)[1] == []
    assert main(["verify", str(copy)]) == 0
    assert "shards/notes.txt is not listed" in capsys.readouterr().err


def write_parts(root: Path, parts: list[list[dict[str, Any]]]) -> Path:
    for n, chunk in enumerate(parts):
        write_parquet_atomic(pa.Table.from_pylist(chunk, schema=SAMPLE), root / "kept" / part_name(n))
    return root


@pytest.mark.parametrize("bad_key", ["../../etc/passwd", "/tmp/x", "123.456", "１２３", "12 3", "", "9" * 65,
                                     "12\n34", "00000000000000000001/../x"])
def test_keys_that_are_not_digits_are_refused(rows: list[dict[str, Any]], tmp_path: Path, bad_key: str,
                                              ray_local: None) -> None:
    bad = [dict(r) for r in rows]
    bad[3]["key"] = bad_key
    filtered = write_parts(tmp_path / "filtered", [bad[:10], bad[10:]])
    with pytest.raises(UserError, match="ASCII digits"):
        build_release(filtered, tmp_path / "release", small_cfg(), progress=False)
    assert not [p for p in (tmp_path / "release").rglob("*") if p.is_file()]
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(("column", "value", "message"), [
    ("mime", "image/../../x", "unsupported mime"),
    ("mime", "image/svg+xml", "unsupported mime"),
    ("sha256", "../x", "sha256"),
    ("caption", None, "caption is null"),
])
def test_bad_rows_are_refused(rows: list[dict[str, Any]], tmp_path: Path, column: str, value: Any, message: str,
                              ray_local: None) -> None:
    bad = [dict(r) for r in rows]
    bad[0][column] = value
    filtered = write_parts(tmp_path / "filtered", [bad])
    with pytest.raises(UserError, match=message):
        build_release(filtered, tmp_path / "release", small_cfg(), progress=False)


def test_image_bytes_must_match_their_sha256(rows: list[dict[str, Any]], tmp_path: Path, ray_local: None) -> None:
    bad = [dict(r) for r in rows]
    bad[7]["image"] = bad[7]["image"] + b"x"
    filtered = write_parts(tmp_path / "filtered", [bad])
    with pytest.raises(UserError, match="do not match its sha256"):
        build_release(filtered, tmp_path / "release", small_cfg(), progress=False)
    assert not list((tmp_path / "release" / "shards").glob(".*.tmp"))


def test_duplicate_keys_across_parts(rows: list[dict[str, Any]], tmp_path: Path, ray_local: None) -> None:
    filtered = write_parts(tmp_path / "filtered", [rows[:12], rows[10:]])
    with pytest.raises(UserError, match="more than once"):
        build_release(filtered, tmp_path / "release", small_cfg(), progress=False)


def test_cli_errors_are_one_line(rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 ray_local: None) -> None:
    assert main(["shard", "--in", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.strip() == f"wukong: error: input folder not found: {tmp_path / 'missing'}"
    (tmp_path / "filtered" / "kept").mkdir(parents=True)
    assert main(["shard", "--in", str(tmp_path / "filtered"), "--out", str(tmp_path / "r")]) == 2
    assert "no kept parts" in capsys.readouterr().err
    write_filtered(rows, tmp_path / "filtered", parts=1)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("precious")
    assert main(["shard", "--in", str(tmp_path / "filtered"), "--out", str(tmp_path / "home")]) == 2
    assert "not a release" in capsys.readouterr().err
    assert main(["shard", "--in", str(tmp_path / "filtered"), "--out", str(tmp_path / "filtered" / "r")]) == 2
    assert main(["shard", "--in", str(tmp_path / "filtered"), "--out", str(tmp_path / "r"),
                 "--set", "shard.samples_per_shard=0"]) == 2
    (tmp_path / "filtered" / "kept" / "part-00009.parquet").write_bytes(b"not parquet")
    assert main(["shard", "--in", str(tmp_path / "filtered"), "--out", str(tmp_path / "r")]) == 2
    assert "not a readable parquet file" in capsys.readouterr().err
