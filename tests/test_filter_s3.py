"""The filter stage with its input and output on S3 (moto's server on 127.0.0.1): the same kept and
rejected rows and stats as a local run, resume after a lost object, one-line errors."""

from __future__ import annotations

import io
import json
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

from wukong.cli import main

N = 120
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
SETTINGS = ["ray.rows_per_task=50", "privacy.mask_person_names=false"]


def _jpeg(seed: int, w: int = 320, h: int = 240) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).resize((w, h), Image.Resampling.NEAREST).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _app() -> web.Application:
    images = {i: _jpeg(i) for i in range(30)}

    async def handler(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        if i % 10 == 9:
            return web.Response(status=404)
        return web.Response(body=images[i % 30], content_type="image/jpeg")  # rows i and i+30 are copies

    app = web.Application()
    app.router.add_get("/img/{i}.jpg", handler)
    return app


@pytest.fixture(scope="module")
def candidates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    captions = ["海边的日落风景{}", "查看源网页", "图片", "a cat on the sofa {}", "北京故宫的红墙{}号"]
    with serve_app(_app()) as base:
        d = write_candidate_parts(tmp_path_factory.mktemp("candidates"), base, captions, N)
        yield d


def _filter(src: str, out: str, extra: list[str]) -> int:
    args = ["--quiet", "filter", "--in", src, "--out", out, "--config", str(CONFIG)]
    for s in [*SETTINGS, *extra]:
        args += ["--set", s]
    return main(args)


def _tables(folder: Path) -> dict[str, pa.Table]:
    return {f"{p.parent.name}/{p.name}": pq.read_table(p) for p in sorted(folder.glob("*/part-*.parquet"))}


def test_filter_on_s3_matches_a_local_run_and_resumes(candidates: Path, tmp_path: Path, s3_server, ray_local: None,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket()
    fs.put(str(candidates) + "/", f"{bucket}/candidates/", recursive=True)
    remote = s3_server.config_overrides()

    assert _filter(str(candidates), str(tmp_path / "local"), []) == 0
    assert _filter(f"s3://{bucket}/candidates", f"s3://{bucket}/filtered", remote) == 0
    assert "120 candidates" in capsys.readouterr().out

    fs.get(f"{bucket}/filtered/", str(tmp_path / "fetched") + "/", recursive=True)
    local, fetched = _tables(tmp_path / "local"), _tables(tmp_path / "fetched")
    # 2 parts of 60 rows, 50 rows per task: 4 tasks, each with a kept and a rejected part.
    assert sorted(local) == sorted(fetched) == [*(f"kept/part-{i:05d}.parquet" for i in range(4)),
                                               *(f"rejected/part-{i:05d}.parquet" for i in range(4))]
    for name, table in local.items():
        assert fetched[name].equals(table), name
    stats = json.loads((tmp_path / "fetched" / "stats.json").read_text())
    assert stats == json.loads((tmp_path / "local" / "stats.json").read_text())
    assert stats["input"] == N == stats["kept"] + sum(stats["rejected"].values())
    assert stats["kept"] > 0 and stats["rejected"]["duplicate_image"] > 0 and stats["rejected"]["http_404"] > 0
    assert not fs.glob(f"{bucket}/filtered/**/*.tmp")

    # Resume on object storage: one lost kept part is rebuilt identically; the other tasks are skipped.
    lost = f"{bucket}/filtered/kept/part-00001.parquet"
    fs.rm(lost)
    assert _filter(f"s3://{bucket}/candidates", f"s3://{bucket}/filtered", remote) == 0
    assert "4 tasks, 3 already done" in capsys.readouterr().out
    assert pq.read_table(io.BytesIO(fs.cat(lost))).equals(local["kept/part-00001.parquet"])


def test_missing_s3_input_is_one_line(s3_server, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = s3_server.new_bucket()
    code = _filter(f"s3://{bucket}/nothing", f"s3://{bucket}/filtered", s3_server.config_overrides())
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"wukong: error: input folder not found: s3://{bucket}/nothing"
