"""`make demo` twice gives the same result: the second run starts its data folder afresh (a stale
candidate part left in it, pointing at a closed port, is not read again), and the funnel, the release
(SHA256SUMS over every shard, sidecar and manifest) and the report's sample thumbnails are identical.
A folder the demo did not write is never deleted."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from demo_runs import run_demo

from wukong.demo_pipeline import MARKER, main, start_afresh


def _samples(root: Path) -> dict[str, str]:
    folder = root / "report" / "samples"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.jpg"))}


def _plant_stale_candidates(root: Path, port: int) -> Path:
    """What a run on another port used to leave behind: a candidate part whose URLs point at a closed port."""
    part = sorted((root / "candidates").glob("part-site-*.parquet"))[0]
    table = pq.read_table(part)
    for name in ("url", "page_url"):
        moved = pc.replace_substring(table[name], f"127.0.0.1:{port}", "127.0.0.1:1")
        table = table.set_column(table.schema.get_field_index(name), name, moved)
    stale = part.with_name("part-site-00099.parquet")
    pq.write_table(table, stale)
    return stale


@pytest.mark.slow
def test_demo_twice_gives_the_same_funnel_and_release(demo_run: tuple[Path, int], tmp_path: Path) -> None:
    first, port = demo_run
    second = tmp_path / "demo"
    shutil.copytree(first, second)  # the second run finds everything the first one left
    stale = _plant_stale_candidates(second, port)
    output = run_demo(second, port)
    assert not stale.exists()
    # Each stage's summary shows its start-up apart from its work; a demo this small needs no Ray.
    assert re.search(r"\n  start-up [0-9.]+s \(command [0-9.]+s, (the driver process|[0-9]+ local worker "
                     r"processes) [0-9.]+s\), "
                     r"shutdown [0-9.]+s, work [0-9.]+s\n", output), output[-2000:]
    assert re.search(r"\n  start-up [0-9.]+s \(command [0-9.]+s, this process [0-9.]+s\), work [0-9.]+s\n",
                     output), output[-2000:]
    funnel = (first / "filtered" / "stats.json").read_text(encoding="utf-8")
    assert (second / "filtered" / "stats.json").read_text(encoding="utf-8") == funnel
    assert "connection_error" not in funnel and '"input": ' in funnel
    sums = (first / "release" / "SHA256SUMS").read_text(encoding="utf-8")
    assert (second / "release" / "SHA256SUMS").read_text(encoding="utf-8") == sums
    assert "shards/00000.tar" in sums and "manifests/part-00000.parquet" in sums
    assert _samples(second) == _samples(first) and len(_samples(first)) >= 60  # the same thumbnails
    parts = sorted((second / "filtered" / "kept").glob("*.parquet"))
    kept = pa.concat_tables(pq.read_table(p, columns=["url"]) for p in parts)
    assert all(u.startswith(f"http://127.0.0.1:{port}/") for u in kept["url"].to_pylist())


def test_a_folder_the_demo_did_not_write_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "data"
    (mine / "candidates").mkdir(parents=True)
    (mine / "candidates" / "part-search-00000.parquet").write_bytes(b"my crawl")
    assert main(["--data-dir", str(mine)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("demo: error: ") and "no .wukong-demo" in err[0]
    assert (mine / "candidates" / "part-search-00000.parquet").read_bytes() == b"my crawl"
    assert not (mine / MARKER).exists()


@pytest.mark.parametrize("left", [[MARKER], ["ground_truth.parquet", "queries.txt"]])
def test_a_folder_an_earlier_demo_wrote_starts_afresh(tmp_path: Path, left: list[str]) -> None:
    """Marked by the demo, or by what a demo wrote before the marker existed (ground truth and queries)."""
    root = tmp_path / "demo"
    (root / "candidates" / "_jobs").mkdir(parents=True)
    (root / "candidates" / "part-site-00000.parquet").write_bytes(b"old run")
    for name in left:
        (root / name).write_bytes(b"")
    start_afresh(root)
    assert sorted(p.name for p in root.iterdir()) == [MARKER]
    start_afresh(tmp_path / "new" / "demo")  # a new folder is created, with its marker
    assert (tmp_path / "new" / "demo" / MARKER).is_file()

