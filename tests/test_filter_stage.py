"""The whole filter stage on Ray against a loopback image server: the accounting invariant, output
schemas, reasons, independence from the number of tasks, and resume after a lost output part."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from candidate_parts import write_candidate_parts
from loopback import serve_app
from PIL import Image

from filters.runner import run_filter
from manifests.config import load_config
from manifests.schemas import REJECTED, SAMPLE

N = 240
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"


def _jpeg(seed: int, w: int = 320, h: int = 240) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    img = Image.fromarray(arr).resize((w, h), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _app() -> web.Application:
    images = {i: _jpeg(i) for i in range(40)}
    small = _jpeg(999, 120, 90)

    async def handler(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        if i % 10 == 9:
            return web.Response(status=404)
        if i % 10 == 7:
            return web.Response(body=small, content_type="image/jpeg")
        return web.Response(body=images[i % 40], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/img/{i}.jpg", handler)
    return app


@pytest.fixture(scope="module")
def candidates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    captions = ["海边的日落风景{}", "iPhone 15 手机壳 透明 {}", "查看源网页", "图片", "a cat sitting on the sofa {}",
                "北京故宫的红墙{}号", "蒜薹炒肉盖饭{}", "出售仿真枪{}"]
    with serve_app(_app()) as base:
        # Images repeat every 40 rows: rows i and i+40 carry identical bytes.
        d = write_candidate_parts(tmp_path_factory.mktemp("candidates"), base, captions, N)
        yield d


def _outcome(out: Path) -> tuple[dict[str, tuple[str, str | None]], dict[str, tuple[str, str]]]:
    rejected = {}
    for f in sorted((out / "rejected").glob("*.parquet")):
        for r in pq.read_table(f).to_pylist():
            rejected[r["url"]] = (r["reason"], r["detail"])
    kept = {}
    for f in sorted((out / "kept").glob("*.parquet")):
        for r in pq.read_table(f, columns=["url", "key", "caption", "sha256"]).to_pylist():
            kept[r["url"]] = (r["key"], r["caption"], r["sha256"])
    return rejected, kept  # type: ignore[return-value]


def _cfg(rows_per_task: int):
    return load_config(CONFIG, [f"ray.rows_per_task={rows_per_task}", "privacy.mask_person_names=false"])


def test_filter_stage_accounts_for_every_row_and_ignores_partitioning(
    candidates: Path, tmp_path: Path, ray_local: None
) -> None:
    # The `candidates` fixture keeps its image server alive for the whole module.
    one = run_filter(candidates, tmp_path / "one", _cfg(1000))
    many = run_filter(candidates, tmp_path / "many", _cfg(37))
    assert one.tasks == 2 and many.tasks == 8

    stats = json.loads((tmp_path / "one" / "stats.json").read_text())
    assert stats["input"] == N == stats["kept"] + sum(stats["rejected"].values())
    rej_one, kept_one = _outcome(tmp_path / "one")
    rej_many, kept_many = _outcome(tmp_path / "many")
    assert len(rej_one) + len(kept_one) == N
    assert (rej_one, kept_one) == (rej_many, kept_many)

    reasons = Counter(r for r, _ in rej_one.values())
    # 30 rows each of the boilerplate and placeholder captions; 30 English; 30 with a lexicon word.
    assert reasons["frequent_caption"] == 30 and reasons["placeholder"] == 30
    assert reasons["not_chinese"] == 30 and reasons["sensitive"] == 30
    assert reasons["http_404"] > 0 and reasons["too_small"] > 0 and reasons["duplicate_image"] > 0
    assert stats["rejected"] == dict(reasons)

    kept_part = pq.read_table(next((tmp_path / "one" / "kept").glob("*.parquet")))
    assert kept_part.schema.equals(SAMPLE)
    for part in (tmp_path / "many" / "kept").glob("*.parquet"):  # in key order: the shard stage buckets them unsorted
        keys = pq.read_table(part, columns=["key"]).column("key").to_pylist()
        assert keys == sorted(keys)
    assert pq.read_schema(next((tmp_path / "one" / "rejected").glob("*.parquet"))).equals(REJECTED)
    assert all(k.isdigit() and len(k) == 20 for k, _, _ in kept_one.values())
    assert len({k for k, _, _ in kept_one.values()}) == len(kept_one)
    # duplicate_image details name a kept key
    kept_keys = {k for k, _, _ in kept_one.values()}
    assert all(d in kept_keys for r, d in rej_one.values() if r == "duplicate_image")
    images = kept_part.column("image").to_pylist()
    assert all(img[:3] == b"\xff\xd8\xff" for img in images)

    # Resume: a lost output part is recreated identically, nothing else is recomputed.
    lost = sorted((tmp_path / "many" / "kept").glob("*.parquet"))[3]
    before = pq.read_table(lost)
    lost.unlink()
    again = run_filter(candidates, tmp_path / "many", _cfg(37))
    assert again.resumed_tasks == 7
    assert pq.read_table(lost).equals(before)



def test_local_workers_write_the_same_bytes_as_ray(candidates: Path, tmp_path: Path, ray_local: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The executor is an implementation detail: local worker processes (a small input on one machine)
    and Ray write byte-identical kept and rejected parts and stats."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    on_ray = run_filter(candidates, tmp_path / "ray", _cfg(37), executor="ray")
    local = run_filter(candidates, tmp_path / "local", _cfg(37), executor="local")
    assert (on_ray.executor, local.executor) == ("ray", "local")
    assert set(local.phase_seconds) >= {"startup", "text", "download_image", "finalize", "shutdown"}
    def parts(root: Path) -> list[Path]:
        return sorted(p.relative_to(root) for p in root.glob("[kr]e*/*.parquet"))  # kept/, rejected/

    names = parts(tmp_path / "ray")
    assert len(names) == 2 * 8 and parts(tmp_path / "local") == names
    for name in [*names, Path("stats.json")]:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name


@pytest.fixture(scope="module")
def one_part(candidates: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same rows in one part: one task, which the driver runs itself."""
    folder = tmp_path_factory.mktemp("one-part")
    table = pa.concat_tables(pq.read_table(p) for p in sorted(candidates.glob("*.parquet")))
    pq.write_table(table, folder / "part-site-00000.parquet")
    return folder


def _one_task_cfg(cpus: int):  # type: ignore[no-untyped-def]
    # chunks of 16 downloads: 15 chunks to share out; names masked (the finalize pass loads jieba)
    return load_config(CONFIG, ["ray.rows_per_task=1000", f"ray.num_cpus={cpus}", "download.concurrency=16"])


@pytest.fixture(scope="module")
def one_task_alone(one_part: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one task in the driver alone (one CPU: no helper)."""
    out = tmp_path_factory.mktemp("alone") / "filtered"
    run = run_filter(one_part, out, _one_task_cfg(1), executor="local")
    assert (run.tasks, run.where) == (1, "the driver process")
    return out


def _same_filter_files(got: Path, want: Path) -> None:
    names = sorted(p.relative_to(want) for p in want.glob("[kr]e*/*.parquet"))  # kept/, rejected/
    names += [Path("stats.json"), *sorted(p.relative_to(want) for p in want.glob("_work/[it]*/*.parquet"))]
    assert len(names) == 5  # kept, rejected, stats, the text and image work files
    for name in names:
        assert (got / name).read_bytes() == (want / name).read_bytes(), name


def test_a_helper_process_shares_the_drivers_one_task_and_changes_no_byte(
        one_part: Path, one_task_alone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """One task on two CPUs: a helper process measures image chunks from the back of the task and runs
    its finalize pass; every file is the one the driver alone writes."""
    from filters import executors

    monkeypatch.setattr(executors, "ROWS_PER_HELPER", 100)  # 240 rows: one helper (the default wants 1,000)
    caplog.set_level("INFO", logger="filters")
    helped = run_filter(one_part, tmp_path / "helped", _one_task_cfg(2), executor="local")
    assert (helped.tasks, helped.where) == (1, "the driver process and 1 helper process")
    shared = [r.getMessage() for r in caplog.records if "chunks measured on 1 helper" in r.getMessage()]
    assert len(shared) == 1 and not shared[0].startswith("image pass: 0 of"), shared
    assert not [r for r in caplog.records if "died" in r.getMessage()]
    _same_filter_files(tmp_path / "helped", one_task_alone)


def test_a_helper_that_dies_leaves_its_work_to_the_driver(
        one_part: Path, one_task_alone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The helper is killed (SIGKILL) after the text pass: its image chunks and the finalize pass run in
    the driver, and the files are the same."""
    import os
    import signal

    from filters import executors, runner

    monkeypatch.setattr(executors, "ROWS_PER_HELPER", 100)
    started: list[executors.TaskHelpers] = []
    warm = executors.TaskHelpers.warm

    def warm_and_note(self: executors.TaskHelpers) -> None:
        warm(self)
        started.append(self)

    global_text = runner._global_text

    def kill_the_helpers_first(*args: object) -> None:
        for pid in [pid for helpers in started for pid in helpers.pool._processes]:  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        global_text(*args)

    monkeypatch.setattr(executors.TaskHelpers, "warm", warm_and_note)
    monkeypatch.setattr(runner, "_global_text", kill_the_helpers_first)
    caplog.set_level("INFO", logger="filters")
    run = run_filter(one_part, tmp_path / "helped", _one_task_cfg(2), executor="local")
    assert run.where == "the driver process and 1 helper process" and len(started) == 1
    died = [r.getMessage() for r in caplog.records if "helper process died" in r.getMessage()]
    assert died == ["a helper process died; the image task's other chunks are measured here"], died
    _same_filter_files(tmp_path / "helped", one_task_alone)


def test_helpers_only_for_the_drivers_one_task_and_spare_cpus() -> None:
    from filters.executors import ROWS_PER_HELPER, helper_processes

    assert ROWS_PER_HELPER == 1000
    assert helper_processes(cpus=2, workers=1, rows=2000) == 1
    assert helper_processes(cpus=2, workers=1, rows=999) == 0  # a helper costs about a CPU-second to start
    assert helper_processes(cpus=1, workers=1, rows=5000) == 0  # no CPU to spare
    assert helper_processes(cpus=16, workers=1, rows=2500) == 2  # one per 1,000 rows
    assert helper_processes(cpus=4, workers=1, rows=50_000) == 3
    assert helper_processes(cpus=4, workers=2, rows=4000) == 0  # two tasks: two workers, no driver task


def test_the_executor_is_chosen_by_input_size_and_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from filters.executors import choose_executor

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = sys.modules.get("ray")
    session = ray is not None and ray.is_initialized()
    cfg = load_config(CONFIG, ["ray.local_max_rows=1000", "ray.num_cpus=2"])
    small, large = choose_executor(cfg, 1000, 5), choose_executor(cfg, 1001, 5)
    assert large[0] == "ray" and small[0] == ("ray" if session else "local")
    if not session:
        assert "1,001 rows > ray.local_max_rows=1,000" in large[2] and small[1] == 2
        assert choose_executor(cfg, 900, 1)[1] == 1  # never more workers than tasks
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert choose_executor(cfg, 10, 1)[0] == "ray"
    assert choose_executor(cfg, 10, 1, "local")[:2] == ("local", 1)


def test_the_driver_reads_sha256_hex_as_raw_digests() -> None:
    import hashlib

    import pyarrow as pa

    from filters.global_inputs import sha256_bytes

    digests = [hashlib.sha256(bytes([i])).digest() for i in range(5)]
    column = pa.chunked_array([[d.hex() for d in digests[:2]], [d.hex().upper() for d in digests[2:]]])
    assert sha256_bytes(column).tobytes() == b"".join(digests)
    assert sha256_bytes(column.combine_chunks().slice(1, 3)).tobytes() == b"".join(digests[1:4])
    for bad in (["ab" * 31], ["zz" * 32], [None]):
        with pytest.raises(ValueError, match="sha256"):
            sha256_bytes(pa.array(bad, pa.string()))
