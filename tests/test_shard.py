"""The release stage on generated kept data: shards read back with webdataset and tarfile, sidecars,
manifests, byte-identical re-runs and independence from how kept rows were split into parts."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds

from manifests.config import Config
from manifests.layout import ReleaseDir
from manifests.schemas import MANIFEST
from sharding import distributions as distributions_module
from sharding.card import distributions
from sharding.plan import CARD_COLUMNS
from sharding.release import build_release
from sharding.sample import MIME_EXTENSION
from sharding.synthetic import make_rows, write_filtered
from sharding.tarwriter import FIXED_MTIME

N_ROWS = 60
PER_SHARD = 25


def shard_config(per_shard: int = PER_SHARD, manifest_rows: int = 40, with_csv: bool = True) -> Config:
    cfg = Config()
    cfg.shard.samples_per_shard = per_shard
    cfg.shard.manifest_rows_per_file = manifest_rows
    cfg.shard.csv = with_csv
    return cfg


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return make_rows(N_ROWS, "http://127.0.0.1:9/img", seed=1)


@pytest.fixture(scope="module")
def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in rows}


@pytest.fixture(scope="module")
def release(ray_local: None, rows: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("release")
    write_filtered(rows, base / "filtered", parts=3, seed=0)
    summary = build_release(base / "filtered", base / "release", shard_config(), progress=False)
    assert (summary.pairs, summary.shards, summary.written) == (N_ROWS, 3, 3)
    return base / "release"


def tars(release: Path) -> list[Path]:
    return sorted(ReleaseDir(release).shards.glob("*.tar"))


def test_layout(release: Path) -> None:
    rd = ReleaseDir(release)
    names = sorted(p.name for p in rd.shards.iterdir())
    assert names == [f"{i:05d}{suffix}" for i in range(3) for suffix in (".parquet", ".tar", "_stats.json")]
    assert sorted(p.name for p in rd.manifests.iterdir()) == [
        "part-00000.csv", "part-00000.parquet", "part-00001.csv", "part-00001.parquet"]
    assert rd.card.is_file() and rd.checksums.is_file()
    assert not [p for p in release.rglob(".*")], "no temp, lock or work files are left behind"


def test_webdataset_reads_every_pair_once(release: Path, by_key: dict[str, dict[str, Any]]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for sample in wds.WebDataset([str(p) for p in tars(release)], shardshuffle=False):
        key = sample["__key__"]
        assert key not in seen
        seen[key] = sample
    assert set(seen) == set(by_key)
    for key, sample in seen.items():
        row = by_key[key]
        ext = MIME_EXTENSION[row["mime"]]
        assert set(sample) - {"__key__", "__url__", "__local_path__"} == {ext, "json", "txt"}
        assert sample[ext] == row["image"]
        assert sample["txt"].decode("utf-8") == row["caption"]
        raw = sample["json"].decode("utf-8")
        assert "\\u" not in raw  # readable Chinese, not ASCII-escaped
        assert json.dumps(row["caption"], ensure_ascii=False) in raw
        meta = json.loads(raw)
        for name in ("url", "caption", "key", "width", "height", "sha256", "phash",
                     "caption_raw", "page_url", "query", "source", "mime"):
            assert meta[name] == row[name], name
        assert meta["shard"] == Path(sample["__url__"]).stem


def test_tar_members_are_sorted_and_normalised(release: Path, by_key: dict[str, dict[str, Any]]) -> None:
    total = 0
    for path in tars(release):
        with tarfile.open(path) as tf:
            members = tf.getmembers()
            names = [m.name for m in members]
            assert names == sorted(names)
            for m in members:
                assert m.isfile() and "/" not in m.name
                assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (FIXED_MTIME, 0, 0, "", "", 0o644)
                key, ext = m.name.split(".")
                if ext not in ("json", "txt"):
                    assert tf.extractfile(m).read() == by_key[key]["image"]  # type: ignore[union-attr]
            total += len(members)
        assert path.stat().st_size % tarfile.RECORDSIZE == 0
    assert total == 3 * len(by_key)


def test_sidecars_and_stats(release: Path, by_key: dict[str, dict[str, Any]]) -> None:
    rd = ReleaseDir(release)
    keys: list[str] = []
    for i in range(3):
        side = pq.read_table(rd.shards / f"{i:05d}.parquet").to_pylist()
        stats = json.loads((rd.shards / f"{i:05d}_stats.json").read_text(encoding="utf-8"))
        assert stats["count"] == stats["successes"] == len(side) == (PER_SHARD if i < 2 else N_ROWS - 2 * PER_SHARD)
        assert stats["failed_to_download"] == stats["failed_to_resize"] == 0
        assert stats["tar_bytes"] == (rd.shards / f"{i:05d}.tar").stat().st_size
        assert "start_time" not in stats  # nothing from the clock: the release is reproducible
        for row in side:
            assert row["status"] == "success" and row["error_message"] is None
            src = by_key[row["key"]]
            assert (row["url"], row["caption"], row["width"], row["height"], row["sha256"]) == (
                src["url"], src["caption"], src["width"], src["height"], src["sha256"])
        keys += [r["key"] for r in side]
    assert keys == sorted(by_key)


def test_manifests(release: Path, by_key: dict[str, dict[str, Any]]) -> None:
    rd = ReleaseDir(release)
    tables = [pq.read_table(p) for p in sorted(rd.manifests.glob("*.parquet"))]
    assert [t.num_rows for t in tables] == [40, 20]
    assert all(t.schema.equals(MANIFEST) for t in tables)
    assert tables[0].column_names[:2] == ["url", "caption"]
    rows = [r for t in tables for r in t.to_pylist()]
    assert [r["key"] for r in rows] == sorted(by_key)
    for n, r in enumerate(rows):
        assert r["shard"] == f"{n // PER_SHARD:05d}"
        assert (r["url"], r["caption"], r["phash"]) == (by_key[r["key"]]["url"], by_key[r["key"]]["caption"],
                                                        by_key[r["key"]]["phash"])
    csv_rows = []
    for p in sorted(rd.manifests.glob("*.csv")):
        reader = csv.reader(io.StringIO(p.read_text(encoding="utf-8")))
        assert next(reader) == ["url", "caption"]
        csv_rows += list(reader)
    assert csv_rows == [[r["url"], r["caption"]] for r in rows]
    assert any('"' in r["caption"] for r in rows)  # quoting was exercised


def test_dataset_card(release: Path) -> None:
    card = ReleaseDir(release).card.read_text(encoding="utf-8")
    for text in ("| image-text pairs | 60 |", "`too_small` | 7 | 9.72%", "`frequent_caption` | 3 | 4.17%",
                 "`http_404` | 2 | 2.78%", "**60**", "jieba words", "characters", "shorter side",
                 "image/webp", "CC BY-SA 3.0", "lid.176", "belong to their owners", "samples_per_shard: 25"):
        assert text in card, text


def test_parts_in_key_order_give_the_same_release(release: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    """The filter writes its kept parts in key order, and bucketing does not sort those again: the
    same release, byte for byte, as from shuffled parts."""
    write_filtered(rows, tmp_path / "filtered", parts=3, seed=0)
    parts = sorted((tmp_path / "filtered" / "kept").glob("*.parquet"))
    assert parts
    for part in parts:
        table = pq.read_table(part)
        assert table.column("key").to_pylist() != sorted(table.column("key").to_pylist())
        pq.write_table(table.sort_by("key"), part)
    build_release(tmp_path / "filtered", tmp_path / "again", shard_config(), progress=False)
    assert ReleaseDir(tmp_path / "again").checksums.read_bytes() == ReleaseDir(release).checksums.read_bytes()


def test_card_measures_what_the_shards_hold(rows: list[dict[str, Any]], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The card's distributions are measured on the plan's rows while the shards are written: the same
    tables as the written sidecars give, the jieba word sample (here every 7th caption) in release order."""
    monkeypatch.setattr(distributions_module, "MAX_WORD_SAMPLE", 9)
    write_filtered(rows, tmp_path / "filtered", parts=4, seed=3)
    build_release(tmp_path / "filtered", tmp_path / "release", shard_config(), progress=False, backend="local")
    rd = ReleaseDir(tmp_path / "release")
    meta = pa.concat_tables([pq.read_table(p, columns=list(CARD_COLUMNS)) for p in sorted(rd.shards.glob("*.parquet"))])
    measured = distributions(meta)
    assert "sample of 9" in measured
    assert measured in rd.card.read_text(encoding="utf-8")
    shuffled = distributions(meta.take(pa.array([*range(1, N_ROWS), 0])))
    assert shuffled != measured  # the sample follows the order: the check above can fail


def test_rerun_skips_complete_shards(release: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    before = ReleaseDir(release).checksums.read_bytes()
    write_filtered(rows, tmp_path / "filtered", parts=3, seed=0)
    summary = build_release(tmp_path / "filtered", release, shard_config(), progress=False)
    assert (summary.shards, summary.written) == (3, 0)
    assert ReleaseDir(release).checksums.read_bytes() == before


def test_same_release_whatever_the_part_split(release: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    """Other parts (7, in another order) into a new folder: every file byte-identical (SHA256SUMS equal)."""
    write_filtered(rows, tmp_path / "filtered", parts=7, seed=42)
    summary = build_release(tmp_path / "filtered", tmp_path / "again", shard_config(), progress=False)
    assert summary.written == 3
    assert ReleaseDir(tmp_path / "again").checksums.read_bytes() == ReleaseDir(release).checksums.read_bytes()
    for p in tars(release):
        assert (tmp_path / "again" / "shards" / p.name).read_bytes() == p.read_bytes()


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_same_release_from_local_processes_and_from_ray(release: Path, rows: list[dict[str, Any]], tmp_path: Path,
                                                        backend: str) -> None:
    """On one machine the stage runs its tasks in local processes, on a cluster as Ray tasks: same bytes."""
    write_filtered(rows, tmp_path / "filtered", parts=3, seed=0)
    summary = build_release(tmp_path / "filtered", tmp_path / backend, shard_config(), progress=False,
                            backend=backend)
    assert (summary.pairs, summary.written) == (N_ROWS, 3)
    assert ReleaseDir(tmp_path / backend).checksums.read_bytes() == ReleaseDir(release).checksums.read_bytes()


def test_the_card_measured_in_a_helper_process_is_the_same(release: Path, rows: list[dict[str, Any]], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """This process writing the release on two CPUs: a helper process measures the card (loading jieba
    while the parts are indexed), and the release is the same, byte for byte; a helper killed before
    the card is asked for leaves it to this process, with one warning."""
    import os
    import signal

    from sharding import card_process
    from sharding import release as release_module

    monkeypatch.setattr(card_process, "HELPER_MIN_PAIRS", N_ROWS)  # the default wants 1,000 pairs
    cfg = shard_config()
    cfg.ray.num_cpus = 2
    write_filtered(rows, tmp_path / "filtered", parts=3, seed=0)
    caplog.set_level("INFO", logger="sharding")
    build_release(tmp_path / "filtered", tmp_path / "helped", cfg, progress=False, backend="inline")
    assert "the dataset card is measured in a helper process" in caplog.text
    assert ReleaseDir(tmp_path / "helped").checksums.read_bytes() == ReleaseDir(release).checksums.read_bytes()

    started: list[card_process.CardMeasure] = []
    init, make_plan = card_process.CardMeasure.__init__, release_module.make_plan

    def init_and_note(self: card_process.CardMeasure, helper: bool) -> None:
        init(self, helper)
        started.append(self)

    def kill_the_helper_first(*args: Any) -> Any:
        for pid in [pid for m in started if m.pool is not None for pid in m.pool._processes]:  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        return make_plan(*args)

    monkeypatch.setattr(card_process.CardMeasure, "__init__", init_and_note)
    monkeypatch.setattr(release_module, "make_plan", kill_the_helper_first)
    caplog.clear()
    build_release(tmp_path / "filtered", tmp_path / "killed", cfg, progress=False, backend="inline")
    assert len(started) == 1 and started[0].pool is not None
    assert "helper process died; the driver measures the card" in caplog.text
    assert ReleaseDir(tmp_path / "killed").checksums.read_bytes() == ReleaseDir(release).checksums.read_bytes()
    cfg.ray.num_cpus = 1  # no CPU to spare: no helper
    assert not release_module._card_helper(release_module.InlineTasks(), cfg, [tmp_path / "x.parquet"])


def test_other_shard_size_rewrites_and_prunes(rows: list[dict[str, Any]], tmp_path: Path, ray_local: None) -> None:
    write_filtered(rows, tmp_path / "filtered", parts=2)
    out = tmp_path / "release"
    build_release(tmp_path / "filtered", out, shard_config(per_shard=10), progress=False)
    assert len(list((out / "shards").glob("*.tar"))) == 6
    summary = build_release(tmp_path / "filtered", out, shard_config(per_shard=30, with_csv=False), progress=False)
    assert summary.written == 2
    assert sorted(p.name for p in (out / "shards").glob("*.tar")) == ["00000.tar", "00001.tar"]
    assert not list((out / "manifests").glob("*.csv"))
    listed = {line.split("  ", 1)[1] for line in (out / "SHA256SUMS").read_text().splitlines()}
    assert listed == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"SHA256SUMS"}


@pytest.mark.parametrize("name", ["a.jpg", "00302149197290343843.json", "9" * 64 + ".webp", "x" * 99])
@pytest.mark.parametrize("size", [0, 1, 511, 512, 10**6, 8**11 - 1])
def test_fast_tar_header_equals_tarfiles(name: str, size: int) -> None:
    from sharding.tarwriter import header, tarfile_header

    assert header(name, size) == tarfile_header(name, size)


def test_a_small_local_release_is_written_in_the_command_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """No worker processes for kept parts of at most shard.inline_max_mb on local disk; a cluster (or a
    Ray session in this process) still gets Ray tasks."""
    import sys

    from manifests.config import load_config
    from sharding.tasks import InlineTasks, LocalTasks, RayTasks, task_runner

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = sys.modules.get("ray")
    session = ray is not None and ray.is_initialized()
    cfg = load_config(None, ["shard.inline_max_mb=1", "ray.num_cpus=1"])
    for size, local_kind in ((10**6, InlineTasks), (10**6 + 1, LocalTasks), (None, LocalTasks)):
        with task_runner(cfg, "auto", size) as runner:
            assert isinstance(runner, RayTasks if session else local_kind), (size, runner)
            assert runner.run(json.dumps, [([1],), ({"a": 2},)], "t", progress=False) == ["[1]", '{"a": 2}']
