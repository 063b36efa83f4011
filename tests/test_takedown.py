"""`wukong takedown`: pairs named by URL, key or sha256 leave every file of the release; untouched
shards and manifest parts are byte-identical copies; `wukong verify` passes on the new release; the
card records the count and date; bad input gets one-line errors; S3 works like a local folder."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from manifests.config import Config
from sharding.release import build_release
from sharding.synthetic import make_rows, write_filtered
from sharding.tarwriter import FIXED_MTIME
from wukong.cli import main

N_ROWS = 40
PER_SHARD = 10
DATE = "2024-05-01"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def members(tar: bytes) -> list[tuple[str, bytes, int]]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        return [(m.name, tf.extractfile(m).read(), m.mtime) for m in tf.getmembers()]  # type: ignore[union-attr]


def manifest_keys(root: Path) -> list[str]:
    parts = sorted((root / "manifests").glob("*.parquet"))
    return sorted(k for p in parts for k in pq.read_table(p)["key"].to_pylist())


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return sorted(make_rows(N_ROWS, "http://127.0.0.1:9/img", seed=7), key=lambda r: r["key"])


@pytest.fixture(scope="module")
def release(ray_local: None, rows: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("takedown")
    write_filtered(rows, base / "filtered", parts=2)
    cfg = Config()
    cfg.shard.samples_per_shard = PER_SHARD
    cfg.shard.manifest_rows_per_file = 15
    cfg.shard.csv = True
    cfg.shard.removal_contact = "takedown@example.org"
    build_release(base / "filtered", base / "release", cfg, progress=False)
    return base / "release"


def removal_file(path: Path, rows: list[dict[str, Any]]) -> tuple[Path, set[str]]:
    """Two keys of shard 0, a URL (written differently) and a sha256 of shard 2, two unknown entries."""
    url = rows[21]["url"].replace("http://", "HTTP://")  # matched through its normalised form
    path.write_text(
        f"\ufeff# takedown requests of May\n\n{rows[0]['key']}\n{rows[3]['key']}   # asked by e-mail\n"
        f"{url}\nsha256:{rows[25]['sha256'].upper()}\n99999999999999999999\nhttps://nowhere.test/gone.jpg\n",
        encoding="utf-8")
    return path, {rows[i]["key"] for i in (0, 3, 21, 25)}


def test_takedown_removes_exactly_the_named_pairs(release: Path, rows: list[dict[str, Any]], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  restore_root_logger: None) -> None:
    remove, removed = removal_file(tmp_path / "remove.txt", rows)
    new = tmp_path / "new"
    assert main(["takedown", str(release), "--remove", str(remove), "--out", str(new), "--date", DATE]) == 0
    out = capsys.readouterr().out
    assert "removed 4 pairs (36 left)" in out and "2 shards rewritten, 2 copied byte for byte" in out
    assert "2 of 6 entries matched no pair: 99999999999999999999, https://nowhere.test/gone.jpg" in out

    old, got = files(release), files(new)
    assert set(got) == set(old)
    for name in ("00001.tar", "00001.parquet", "00001_stats.json", "00003.tar", "00003.parquet",
                 "00003_stats.json"):
        assert got[f"shards/{name}"] == old[f"shards/{name}"], name  # untouched shards: byte for byte
    for shard in ("00000", "00002"):
        before, after = members(old[f"shards/{shard}.tar"]), members(got[f"shards/{shard}.tar"])
        assert after == [m for m in before if m[0].split(".")[0] not in removed]  # same members, same order
        assert len(before) - len(after) == 3 * 2 and {m[2] for m in after} == {FIXED_MTIME}
        sidecar = pq.read_table(new / "shards" / f"{shard}.parquet")["key"].to_pylist()
        original = pq.read_table(release / "shards" / f"{shard}.parquet")["key"].to_pylist()
        assert sidecar == [k for k in original if k not in removed] and len(sidecar) == 8
        stats = json.loads(got[f"shards/{shard}_stats.json"])
        assert stats["count"] == 8 and stats["tar_bytes"] == len(got[f"shards/{shard}.tar"])
    assert manifest_keys(new) == sorted(r["key"] for r in rows if r["key"] not in removed)
    csv_keys = {row["url"] for p in sorted((new / "manifests").glob("*.csv"))
                for row in csv.DictReader(io.StringIO(p.read_text(encoding="utf-8")))}
    assert csv_keys == {r["url"] for r in rows if r["key"] not in removed}
    assert got["manifests/part-00002.parquet"] == old["manifests/part-00002.parquet"]  # rows 30-39: untouched
    card = got["README.md"].decode("utf-8")
    assert "| image-text pairs | 36 |" in card and f"| {DATE} | 4 | 36 |" in card
    assert "`too_small` | 7" in card  # the build's funnel stays
    assert "takedown@example.org" in card and "X-Robots-Tag" in card and "tdm-reservation: 1" in card
    assert main(["verify", str(new)]) == 0


def test_takedown_is_deterministic_and_accumulates(release: Path, rows: list[dict[str, Any]], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   restore_root_logger: None) -> None:
    remove, _ = removal_file(tmp_path / "remove.txt", rows)
    for name in ("a", "b"):
        assert main(["takedown", str(release), "--remove", str(remove), "--out", str(tmp_path / name),
                     "--date", DATE]) == 0
    assert files(tmp_path / "a") == files(tmp_path / "b")
    # a second takedown empties shard 3 entirely: the shard stays, as an empty tar
    last = tmp_path / "last.txt"
    last.write_text("".join(f"{r['key']}\n" for r in rows[30:]), encoding="utf-8")
    assert main(["takedown", str(tmp_path / "a"), "--remove", str(last), "--out", str(tmp_path / "c"),
                 "--date", "2024-06-02"]) == 0
    capsys.readouterr()
    c = tmp_path / "c"
    assert members((c / "shards" / "00003.tar").read_bytes()) == []
    assert json.loads((c / "shards" / "00003_stats.json").read_text())["count"] == 0
    card = (c / "README.md").read_text(encoding="utf-8")
    assert f"| {DATE} | 4 | 36 |\n| 2024-06-02 | 10 | 26 |" in card and "| image-text pairs | 26 |" in card
    assert main(["verify", str(c)]) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("# nothing\n", "remove.txt: no URL, key or sha256 to remove"),
        ("12345\nnot an entry\n", "remove.txt:2: not an http(s) URL, a key or a sha256: not an entry"),
        ("ftp://example.com/a.jpg\n", "remove.txt:1: not an http(s) URL, a key or a sha256"),
        (None, "takedown file not found"),
    ],
)
def test_bad_takedown_files(release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            restore_root_logger: None, content: str | None, message: str) -> None:
    remove = tmp_path / "remove.txt"
    if content is not None:
        remove.write_text(content, encoding="utf-8")
    assert main(["takedown", str(release), "--remove", str(remove), "--out", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wukong: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "new").exists()


def test_bad_folders(release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     restore_root_logger: None) -> None:
    remove = tmp_path / "remove.txt"
    remove.write_text("12345\n", encoding="utf-8")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("x")
    cases = {
        str(release): "--out must be a new folder outside RELEASE",
        str(release / "inside"): "--out must be a new folder outside RELEASE",
        str(busy): "exists and is not an empty folder",
    }
    for out, message in cases.items():
        assert main(["takedown", str(release), "--remove", str(remove), "--out", out]) == 2
        assert message in capsys.readouterr().err
    assert main(["takedown", str(busy), "--remove", str(remove), "--out", str(tmp_path / "n")]) == 2
    assert "is not a release: SHA256SUMS or shards/ not found" in capsys.readouterr().err
    assert main(["takedown", str(tmp_path / "nowhere"), "--remove", str(remove), "--out", str(tmp_path / "n")]) == 2
    assert "release folder not found" in capsys.readouterr().err
    assert main(["takedown", str(release), "--remove", str(remove), "--out", str(tmp_path / "n"),
                 "--date", "2024-13-01"]) == 2
    assert "--date '2024-13-01' is not a calendar date" in capsys.readouterr().err


def test_a_damaged_release_is_not_copied_silently(release: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  restore_root_logger: None) -> None:
    import shutil

    damaged = Path(shutil.copytree(release, tmp_path / "damaged"))
    tar = damaged / "shards" / "00003.tar"
    data = bytearray(tar.read_bytes())
    data[700] ^= 1
    tar.write_bytes(bytes(data))
    remove = tmp_path / "remove.txt"
    remove.write_text("12345\n", encoding="utf-8")
    assert main(["takedown", str(damaged), "--remove", str(remove), "--out", str(tmp_path / "new")]) == 2
    assert "00003.tar does not match the release's SHA256SUMS" in capsys.readouterr().err


def test_takedown_on_object_storage(release: Path, rows: list[dict[str, Any]], tmp_path: Path, s3_server: Any,
                                    capsys: pytest.CaptureFixture[str], restore_root_logger: None,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WUKONG_CACHE", str(tmp_path / "cache"))
    bucket = s3_server.new_bucket()
    fs = s3_server.filesystem()
    fs.put(f"{release}/", f"{bucket}/release/", recursive=True)
    remove, _ = removal_file(tmp_path / "remove.txt", rows)
    fs.put(str(remove), f"{bucket}/remove.txt")
    args = [a for o in s3_server.config_overrides() for a in ("--set", o)]
    assert main(["takedown", f"s3://{bucket}/release", "--remove", f"s3://{bucket}/remove.txt",
                 "--out", f"s3://{bucket}/new", "--date", DATE, *args]) == 0
    assert main(["verify", f"s3://{bucket}/new", *args]) == 0
    capsys.readouterr()
    local = tmp_path / "local"
    assert main(["takedown", str(release), "--remove", str(remove), "--out", str(local), "--date", DATE]) == 0
    fs.get(f"{bucket}/new/", f"{tmp_path / 'fetched'}/", recursive=True)
    assert files(tmp_path / "fetched") == files(local)  # the same bytes as a local takedown
