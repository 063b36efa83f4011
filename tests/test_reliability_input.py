"""Issue 6, bad input from users: missing, empty, malformed and mistyped inputs and configs give exit
code 2 and one line `wukong: error: ...` naming the problem, no traceback and no output files; odd
query lists and captions are handled (deduplicated, or rejected with a reason by the filter stage)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from loopback import serve_app
from PIL import Image

from crawler.jobs import read_queries
from filters.runner import run_filter
from manifests.config import load_config
from manifests.schemas import CANDIDATE
from wukong.cli import main

pytestmark = pytest.mark.usefixtures("restore_root_logger")  # `main` configures logging

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"


def candidates_table(n: int, urls: list[str] | None = None, captions: list[str | None] | None = None) -> pa.Table:
    cols: dict[str, pa.Array] = {f.name: pa.nulls(n, f.type) for f in CANDIDATE}
    cols["url"] = pa.array(urls or [f"http://127.0.0.1:9/img/{i}.jpg" for i in range(n)], pa.string())
    cols["caption"] = pa.array(captions or [f"北京故宫的红墙{i}号" for i in range(n)], pa.string())
    cols["caption_source"] = pa.array(["alt"] * n)
    cols["page_url"] = pa.array([f"http://127.0.0.1:9/page/{i}.html" for i in range(n)])
    cols["source"] = pa.array(["site"] * n)
    return pa.Table.from_pydict(cols, schema=CANDIDATE)


def _write(table: pa.Table, folder: Path, name: str = "part-site-00000.parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)
    return folder


def _missing(base: Path) -> list[str]:
    return ["--in", str(base / "nope")]


def _empty(base: Path) -> list[str]:
    (base / "empty").mkdir()
    return ["--in", str(base / "empty")]


def _a_file(base: Path) -> list[str]:
    _write(candidates_table(3), base / "parts")
    return ["--in", str(base / "parts" / "part-site-00000.parquet")]


def _missing_column(base: Path) -> list[str]:
    return ["--in", str(_write(candidates_table(3).drop_columns(["caption"]), base / "in"))]


def _not_parquet(base: Path) -> list[str]:
    (base / "in").mkdir()
    (base / "in" / "part-site-00000.parquet").write_bytes(b"url,caption\nhttp://x/1.jpg,a cat\n")
    return ["--in", str(base / "in")]


def _truncated(base: Path) -> list[str]:
    path = _write(candidates_table(50), base / "in") / "part-site-00000.parquet"
    path.write_bytes(path.read_bytes()[:-100])
    return ["--in", str(base / "in")]


def _wrong_column_type(base: Path) -> list[str]:
    table = candidates_table(3)
    table = table.set_column(1, "caption", pa.array([1, 2, 3], pa.int64()))
    return ["--in", str(_write(table, base / "in"))]


def _config(text: str) -> Callable[[Path], list[str]]:
    def make(base: Path) -> list[str]:
        (base / "c.yaml").write_text(text, encoding="utf-8")
        return ["--in", str(_write(candidates_table(3), base / "in")), "--config", str(base / "c.yaml")]
    return make


def _set(override: str) -> Callable[[Path], list[str]]:
    def make(base: Path) -> list[str]:
        return ["--in", str(_write(candidates_table(3), base / "in")), "--set", override]
    return make


FILTER_CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "missing input folder": (_missing, "input folder not found: "),
    "empty input folder": (_empty, "no candidate parquet parts in "),
    "input is a file": (_a_file, "not a folder: "),
    "parquet missing a column": (_missing_column, "missing column(s) caption"),
    "not a parquet file": (_not_parquet, "not a readable parquet file"),
    "truncated parquet file": (_truncated, "not a readable parquet file"),
    "column of the wrong type": (_wrong_column_type, "column caption has type int64, expected string"),
    "unknown config key": (_config("text:\n  max_wrods: 20\n"), "unknown config key: text.max_wrods"),
    "unknown config section": (_config("txet:\n  max_words: 20\n"), "unknown config section: txet"),
    "wrong type in config": (_config("text:\n  max_words: lots\n"), "config key text.max_words must be int"),
    "bool given as string": (_config("download:\n  allow_private_networks: 'yes'\n"),
                             "config key download.allow_private_networks must be bool"),
    "section not a mapping": (_config("image: 5\n"), "config section image must be a mapping"),
    "broken YAML": (_config("text: [1, 2\n"), "is not valid YAML at line"),
    "wrong type in --set": (_set("image.min_side=big"), "config key image.min_side must be int"),
    "missing config file": (lambda base: ["--in", str(base), "--config", str(base / "no.yaml")],
                            "config file not found"),
}


def assert_one_error_line(err: str, needle: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("wukong: error: ") and needle in lines[0], lines[0]
    return lines[0]


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.mark.parametrize("command", ["filter", "shard", "crawl", "download"])
def test_out_that_is_a_file_is_one_line_exit_2(command: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Found here: `wukong filter --out FILE` ended in a NotADirectoryError traceback."""
    _write(candidates_table(3), tmp_path / "in")
    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    source = {"filter": ["--in", str(tmp_path / "in")], "shard": ["--in", str(tmp_path / "in")],
              "crawl": ["--spider", "site", "--start-url", "http://127.0.0.1:9/"],
              "download": ["--manifests", str(tmp_path / "in" / "*.parquet")]}[command]
    assert main([command, *source, "--out", str(tmp_path / "afile")]) == 2
    assert_one_error_line(capsys.readouterr().err, "not a folder")
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_filter_bad_input_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    make, needle = FILTER_CASES[case]
    argv = make(tmp_path)
    out = tmp_path / "filtered"
    assert main(["filter", *argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert_one_error_line(captured.err, needle)
    assert captured.out == ""
    assert not out.exists()


def test_corrupt_pages_behind_a_valid_footer(tmp_path: Path, ray_local: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The footer reads (the plan accepts the part) but the data pages do not: found when a Ray worker
    reads them, reported as one line, exit 2; no kept/rejected part and no stats are written."""
    path = _write(candidates_table(400), tmp_path / "in") / "part-site-00000.parquet"
    data = bytearray(path.read_bytes())
    for i in range(64, 1024):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    out = tmp_path / "filtered"
    assert main(["-q", "filter", "--in", str(tmp_path / "in"), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert_one_error_line(captured.err, "part-site-00000.parquet: corrupt parquet data (")
    assert not files_under(out / "kept") and not files_under(out / "rejected")
    assert not (out / "stats.json").exists()


def test_in_a_real_process_no_traceback_reaches_the_user(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("image:\n  min_sied: 100\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "wukong.cli", "filter", *_missing_column(tmp_path), "--out",
                           str(tmp_path / "o1")], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2 and proc.stdout == ""
    assert_one_error_line(proc.stderr, "missing column(s) caption")
    proc = subprocess.run([sys.executable, "-m", "wukong.cli", "shard", "--in", str(tmp_path), "--out",
                           str(tmp_path / "o2"), "--config", str(tmp_path / "c.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "unknown config key: image.min_sied")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def _kept_parts(parts: dict[str, bytes | pa.Table]) -> Callable[[Path], Path]:
    def make(base: Path) -> Path:
        kept = base / "filtered" / "kept"
        kept.mkdir(parents=True)
        for name, part in parts.items():
            if isinstance(part, bytes):
                (kept / name).write_bytes(part)
            else:
                pq.write_table(part, kept / name)
        return base / "filtered"
    return make


SHARD_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing input folder": (lambda base: base / "nope", "input folder not found: "),
    "no kept folder": (lambda base: Path(shutil.copytree(base, base.parent / f"{base.name}-filtered")),
                       "input folder not found: "),
    "empty kept folder": (_kept_parts({}), "no kept parts in "),
    "kept part missing columns": (_kept_parts({"part-00000.parquet": candidates_table(3)}), "missing column(s)"),
    "kept part not parquet": (_kept_parts({"part-00000.parquet": b"PAR1 garbage"}), "not a readable parquet file"),
}


@pytest.mark.parametrize("case", sorted(SHARD_CASES))
def test_shard_bad_input(case: str, tmp_path: Path, ray_local: None, capsys: pytest.CaptureFixture[str]) -> None:
    """Some of these are found by the Ray tasks that index the kept parts (after the progress bar has
    started: -q keeps stderr to the error line)."""
    make, needle = SHARD_CASES[case]
    filtered = make(tmp_path)
    out = tmp_path / "release"
    assert main(["-q", "shard", "--in", str(filtered), "--out", str(out)]) == 2
    assert_one_error_line(capsys.readouterr().err, needle)
    assert not files_under(out)  # at most an empty folder


@pytest.mark.parametrize(("args", "needle"), [
    (["--spider", "search", "--queries", "{tmp}/nope.txt"], "queries file not found"),
    (["--spider", "search", "--queries", "{tmp}/blank.txt"], "has no queries"),
    (["--spider", "search", "--queries", "{tmp}/latin1.txt"], "is not UTF-8"),
    (["--spider", "site", "--start-url", "ftp://127.0.0.1/"], "--start-url must be an http(s) URL"),
    (["--spider", "site", "--start-url", "http://127.0.0.1:9/", "--set", "crawl.max_pages=-1"],
     "crawl.max_pages must not be negative"),
])
def test_crawl_bad_input_leaves_no_output_folder(args: list[str], needle: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blank.txt").write_text("\n   \n\t\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    out = tmp_path / "candidates"
    assert main(["crawl", *(a.format(tmp=tmp_path) for a in args), "--out", str(out)]) == 2
    assert_one_error_line(capsys.readouterr().err, needle)
    assert not out.exists()


def test_query_list_with_blank_lines_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes("\ufeff猫咪\n\n  狗狗  \n猫咪\n\t\n狗狗\r\n故宫\n".encode())
    assert read_queries(path) == ["猫咪", "狗狗", "故宫"]


def test_search_crawl_runs_each_listed_query_once(demo_web: Any, tmp_path: Path) -> None:
    """A real search crawl with a query list full of blanks and repeats: each query crawled once."""
    queries = sorted({r["query"] for r in demo_web.web.search_ground_truth(demo_web.base_url).to_pylist()})[:3]
    path = tmp_path / "q.txt"
    path.write_text("\n".join(["", queries[0], " ", queries[1], queries[0], "", f"  {queries[2]}", queries[1], ""]),
                    encoding="utf-8")
    out = tmp_path / "candidates"
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    proc = subprocess.run([sys.executable, "-m", "wukong.cli", "-q", "crawl", "--spider", "search", "--queries",
                           str(path), "--endpoint", demo_web.url("/search/acjson"), "--max-per-query", "10",
                           "--config", str(CONFIG), "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "3 queries" in proc.stdout
    table = pa.concat_tables([pq.read_table(p) for p in sorted(out.glob("part-search-*.parquet"))])
    per_query = Counter(table.column("query").to_pylist())
    assert set(per_query) == set(queries)
    assert all(n <= 10 for n in per_query.values())
    assert table.num_rows == len(set(zip(table.column("query").to_pylist(), table.column("url").to_pylist(),
                                         strict=True)))
    stats = json.loads((out / "crawl_stats-search.json").read_text(encoding="utf-8"))
    assert stats["queries_done"] == 3


# --- odd captions, through the filter stage ------------------------------------------------------

# caption -> the reason the filter stage gives it (None: kept)
ODD_CAPTIONS: dict[str | None, str | None] = {
    None: "empty_caption",
    "": "empty_caption",
    "  \t\n\u3000": "empty_caption",
    "\x00\x01\x07\x1b\x7f": "empty_caption",
    "\u200b\u200c\u200d\ufeff": "empty_caption",
    "海" * 10_000: "too_long",
    "北京故宫的红墙" * 1_430: "too_long",
    "😀😀😀": "placeholder",
    "🐱🐶🐰🌸": "placeholder",
    # control characters inside a good caption are removed, the caption is kept
    "海边的\x00日落\x07风景": None,
    "北京故宫的\u202e红墙\u200b": None,
    "西湖的\r\n断桥残雪": None,
    "😀 黄山的云海日出 😀": None,
}


def _jpeg(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).resize((320, 240), Image.Resampling.NEAREST).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def image_web() -> Iterator[str]:
    """Distinct 320x240 JPEGs at /img/<n>.jpg on loopback."""
    async def image(request: web.Request) -> web.Response:
        return web.Response(body=_jpeg(int(request.match_info["n"])), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/img/{n}.jpg", image)
    with serve_app(app) as base:
        yield base


def test_odd_captions_are_rejected_with_reasons_or_cleaned(image_web: str, ray_local: None, tmp_path: Path) -> None:
    """The bad captions fill the first task on their own (every row rejected by text: the image pass
    gets a task with nothing to download, which used to crash it); the cleanable ones are kept."""
    captions = list(ODD_CAPTIONS)
    rejected_first = sorted(range(len(captions)), key=lambda i: ODD_CAPTIONS[captions[i]] is None)
    captions = [captions[i] for i in rejected_first]
    n_bad = sum(1 for c in captions if ODD_CAPTIONS[c] is not None)
    urls = [f"{image_web}/img/{i}.jpg" for i in range(len(captions))]
    _write(candidates_table(len(captions), urls, captions), tmp_path / "in")
    cfg = load_config(CONFIG, [f"ray.rows_per_task={n_bad}", "privacy.mask_person_names=false"])
    result = run_filter(tmp_path / "in", tmp_path / "out", cfg)
    assert result.tasks == 2
    got: dict[str, tuple[str | None, str | None]] = {}
    for f in (tmp_path / "out" / "rejected").glob("*.parquet"):
        for r in pq.read_table(f, columns=["url", "reason", "detail"]).to_pylist():
            got[r["url"]] = (r["reason"], r["detail"])
    kept: dict[str, str] = {}
    for f in (tmp_path / "out" / "kept").glob("*.parquet"):
        for r in pq.read_table(f, columns=["url", "caption"]).to_pylist():
            kept[r["url"]] = r["caption"]
    assert len(got) + len(kept) == len(captions)
    for url, caption in zip(urls, captions, strict=True):
        want = ODD_CAPTIONS[caption]
        if want is None:
            assert url in kept, (caption, got.get(url))
            assert not any(ch in kept[url] for ch in "\x00\x07\r\n\u202e\u200b"), kept[url]
        else:
            assert got.get(url, ("kept",))[0] == want, (caption[:20] if caption else caption, got.get(url))
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["input"] == len(captions) == stats["kept"] + sum(stats["rejected"].values())

