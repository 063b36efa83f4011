"""`wukong crawl --out s3://...` against moto's S3 server on 127.0.0.1: the same pairs as a local crawl,
parts named per the contract and never clobbered (conditional PUTs), the journal and stats on object
storage (a re-run from a fresh local cache resumes), partitions as child processes and as Ray tasks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from s3local import SECRET_KEY

from crawler import jobs
from crawler.items import CandidatePair, Checkpoint
from crawler.journal import done_queries, journal_path, open_journal, read_journal
from crawler.parts import PartWriter, existing_parts
from crawler.pipelines import to_table
from manifests.config import load_config
from manifests.schemas import CANDIDATE
from manifests.storage import data_path

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / "configs" / "demo.yaml")
PART = r"part-{spider}-\d{{5}}\.parquet"

pytestmark = pytest.mark.slow


def crawl(s3: Any, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`wukong crawl ...` in a subprocess whose local cache (job folders, logs) is `cache`."""
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1", "WUKONG_CACHE": str(cache)}
    sets = [x for o in s3.config_overrides() for x in ("--set", o)]
    done = subprocess.run([sys.executable, "-m", "wukong.cli", "crawl", *args, "--config", CONFIG, *sets],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def local_table(out: Path, spider: str) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(out.glob(f"part-{spider}-*.parquet")))


def s3_parts(s3: Any, prefix: str, spider: str) -> tuple[list[str], pa.Table]:
    """The part names under s3://`prefix` and their rows (each part checked against CANDIDATE)."""
    fs = s3.filesystem()
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(prefix, detail=False))
    parts = [n for n in names if n.startswith(f"part-{spider}-")]
    tables = []
    for name in parts:
        with fs.open(f"{prefix}/{name}", "rb") as fh:
            tables.append(pq.read_table(fh))
    assert tables and all(t.schema.equals(CANDIDATE) for t in tables)
    return parts, pa.concat_tables(tables)


def s3_json(s3: Any, path: str) -> dict[str, Any]:
    return json.loads(s3.filesystem().cat_file(path).decode("utf-8"))


def triples(table: pa.Table) -> Counter[tuple[str, str, str]]:
    return Counter(zip(*(table.column(c).to_pylist() for c in ("url", "caption", "page_url")), strict=True))


def test_site_crawl_to_s3_equals_a_local_crawl_and_resumes_on_another_machine(
        demo_web: Any, s3_server: Any, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/candidates"
    site = ["--spider", "site", "--start-url", demo_web.base_url + "/", "--set", "crawl.rows_per_part=300"]
    local = tmp_path / "local"
    crawl(s3_server, tmp_path / "cache-a", *site, "--out", str(local))
    done = crawl(s3_server, tmp_path / "cache-a", *site, "--out", url)

    names, table = s3_parts(s3_server, f"{bucket}/candidates", "site")
    assert triples(table) == triples(local_table(local, "site"))
    assert len(names) >= 3 and all(re.fullmatch(PART.format(spider="site"), n) for n in names)
    assert names == [f"part-site-{i:05d}.parquet" for i in range(len(names))]
    stats = s3_json(s3_server, f"{bucket}/candidates/crawl_stats-site.json")
    assert stats["pairs"] == table.num_rows and stats["parts_on_disk"] == len(names) and stats["jobs"] == ["site"]
    assert stats["errors"] == {} and stats["robots_forbidden"] >= 1
    # the job's state on object storage: journal segments and stats; its lock, log and job.json local
    fs = s3_server.filesystem()
    assert fs.ls(f"{bucket}/candidates/_jobs/site/journal", detail=False)
    assert s3_json(s3_server, f"{bucket}/candidates/_jobs/site/stats.json")["finish_reason"] == "finished"
    local_jobs = sorted((tmp_path / "cache-a" / "crawl-jobs").iterdir())
    assert len(local_jobs) == 1 and (local_jobs[0] / "site" / "crawl.log").is_file()
    assert SECRET_KEY not in (local_jobs[0] / "site" / "crawl.log").read_text(encoding="utf-8")
    assert stat.S_IMODE((local_jobs[0] / "site" / "job.json").stat().st_mode) == 0o600  # may hold credentials
    assert sorted(p.name for p in (tmp_path / "cache-a" / "logs").iterdir())  # the run summary, local
    assert not [p for p in fs.find(f"{bucket}/candidates") if p.rsplit("/", 1)[1].startswith(".")]
    assert "pairs in" in done.stdout and url in done.stdout

    # Another machine (an empty local cache) resumes from the journal on object storage: every page
    # is replayed, none is downloaded again, and no part is added or replaced.
    before = {n: fs.cat_file(f"{bucket}/candidates/{n}") for n in names}
    again = crawl(s3_server, tmp_path / "cache-b", *site, "--out", url)
    assert "-> 0 pairs from 0 pages this run" in again.stdout, again.stdout
    after = s3_parts(s3_server, f"{bucket}/candidates", "site")[0]
    assert {n: fs.cat_file(f"{bucket}/candidates/{n}") for n in after} == before
    assert s3_json(s3_server, f"{bucket}/candidates/crawl_stats-site.json")["skipped_done"] >= stats["pages"]


def test_site_crawl_killed_on_one_machine_resumes_on_another(demo_web: Any, s3_server: Any, tmp_path: Path) -> None:
    """kill -9 of the crawler mid-run, then the same command from an empty local cache: every pair of
    the site ends up on S3 (at-least-once), and no part written before the kill is replaced."""
    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/c"
    fs = s3_server.filesystem()
    sets = [x for o in s3_server.config_overrides() for x in ("--set", o)]
    site = ["--spider", "site", "--start-url", demo_web.base_url + "/", "--set", "crawl.rows_per_part=100"]
    slow = ["--set", "crawl.download_delay=0.03", "--set", "crawl.concurrent_requests_per_host=1"]
    temp = tmp_path / "machine-a-tmp"  # the killed job's temporary upload folder stays here, not in /tmp
    temp.mkdir()
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1", "WUKONG_CACHE": str(tmp_path / "machine-a"), "TMPDIR": str(temp)}
    proc = subprocess.Popen([sys.executable, "-m", "wukong.cli", "crawl", *site, *slow, "--config", CONFIG, *sets,
                             "--out", url], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not [p for p in fs.find(f"{bucket}/c") if "/part-site-" in p]:
            assert time.monotonic() < deadline and proc.poll() is None, "the crawl did not get going"
            time.sleep(0.05)
        locks = list((tmp_path / "machine-a").glob("crawl-jobs/*/site/lock"))
        os.kill(int(locks[0].read_text().strip()), signal.SIGKILL)
        assert proc.wait(timeout=30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    written = {p: fs.cat_file(p) for p in fs.find(f"{bucket}/c") if "/part-site-" in p}
    crawl(s3_server, tmp_path / "machine-b", *site, "--out", url)
    names, table = s3_parts(s3_server, f"{bucket}/c", "site")
    assert {p: fs.cat_file(p) for p in written} == written and len(names) > len(written)
    truth = demo_web.web.ground_truth(demo_web.base_url, measure=False).to_pylist()
    want = {(r["url"], r["caption"], r["page_url"]) for r in truth if not r["disallowed"] and r["caption"].strip()}
    assert set(triples(table)) == want


def test_search_partitions_to_s3_clobber_nothing(demo_web: Any, s3_server: Any, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    words = demo_web.web.query_words[:6]
    s3_server.filesystem().pipe_file(f"{bucket}/queries.txt", ("\n".join(words) + "\n").encode("utf-8"))
    args = ["--spider", "search", "--queries", f"s3://{bucket}/queries.txt", "--endpoint",
            demo_web.base_url + "/search/acjson", "--max-per-query", "20", "--partitions", "2",
            "--set", "crawl.page_size=10", "--set", "crawl.rows_per_part=7", "--out", f"s3://{bucket}/c"]
    done = crawl(s3_server, tmp_path / "cache", *args)

    names, table = s3_parts(s3_server, f"{bucket}/c", "search")
    per_job = {j: s3_json(s3_server, f"{bucket}/c/_jobs/{j}/stats.json")["counters"]
               for j in ("search-p000", "search-p001")}
    assert all(c["wukong/pairs"] > 0 for c in per_job.values())
    assert table.num_rows == sum(c["wukong/pairs"] for c in per_job.values())  # nothing overwritten
    assert len(names) == len(set(names)) == sum(c["wukong/parts"] for c in per_job.values()) >= 6
    assert set(table.column("query").to_pylist()) == set(words)
    stats = s3_json(s3_server, f"{bucket}/c/crawl_stats-search.json")
    assert stats["pairs"] == table.num_rows and stats["queries_done"] == len(words)
    assert sorted(stats["jobs"]) == ["search-p000", "search-p001"]
    # every query is journaled on object storage: a re-run (any machine) has nothing to do
    again = crawl(s3_server, tmp_path / "other-cache", *args)
    assert "nothing to do" in again.stdout
    assert s3_parts(s3_server, f"{bucket}/c", "search")[0] == names
    assert "crawl search: 6 queries" in done.stdout


def test_unreachable_s3_locations_are_one_line_errors(s3_server: Any, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from wukong.cli import main

    bucket = s3_server.new_bucket()
    sets = [x for o in s3_server.config_overrides() for x in ("--set", o)]
    site = ["crawl", "--spider", "site", "--start-url", "http://127.0.0.1:9/", "--config", CONFIG, *sets]
    for argv, needle in [
        ([*site, "--out", "s3://no-such-bucket-wukong/c"], "bucket not found: s3://no-such-bucket-wukong"),
        (["crawl", "--spider", "search", "--queries", f"s3://{bucket}/missing.txt", "--endpoint",
          "http://127.0.0.1:9/acjson", "--config", CONFIG, *sets, "--out", f"s3://{bucket}/c"],
         f"queries file not found: s3://{bucket}/missing.txt"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("wukong: error: ") and "\n" not in err and needle in err, err
    s3_server.filesystem().pipe_file(f"{bucket}/file", b"x")
    assert main([*site, "--out", f"s3://{bucket}/file"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert s3_server.filesystem().ls(bucket, detail=False) == [f"{bucket}/file"]  # nothing written


def _pair(i: int) -> CandidatePair:
    from datetime import UTC, datetime

    return CandidatePair(url=f"http://127.0.0.1:9/{i}.jpg", caption=f"第{i}张", caption_source="alt",
                         page_url="http://127.0.0.1:9/", query=None, source="site",
                         crawled_at=datetime(2024, 5, 1, tzinfo=UTC), width_hint=None, height_hint=None)


def test_racing_part_writers_never_overwrite_on_s3(s3_server: Any, tmp_path: Path) -> None:
    storage = load_config(None, s3_server.config_overrides()).storage
    bucket = s3_server.new_bucket()
    out = data_path(f"s3://{bucket}/c", storage)
    a = PartWriter(out, "search", tmp_path / "a" / "staging.parquet")
    b = PartWriter(out, "search", tmp_path / "b" / "staging.parquet")  # both saw an empty prefix: both aim at 0
    ta, tb = to_table([_pair(0)]), to_table([_pair(1), _pair(2)])
    assert a.commit(ta).name == "part-search-00000.parquet"
    assert b.commit(tb).name == "part-search-00001.parquet"  # its claim of 00000 was refused
    assert a.commit(ta).name == "part-search-00002.parquet"
    parts = existing_parts(out, "search")
    assert [p.name for p in parts] == [f"part-search-{i:05d}.parquet" for i in range(3)]
    fs = s3_server.filesystem()
    assert [pq.read_table(fs.open(p.path, "rb")).num_rows for p in parts] == [1, 2, 1]
    assert pq.read_table(fs.open(parts[0].path, "rb")).equals(ta)  # the first writer's part, untouched
    assert not (tmp_path / "a" / "staging.parquet").exists()
    assert PartWriter(out, "search", tmp_path / "c.parquet").commit(ta).name == "part-search-00003.parquet"


def test_journal_segments_on_s3(s3_server: Any, tmp_path: Path) -> None:
    storage = load_config(None, s3_server.config_overrides()).storage
    state = data_path(f"s3://{s3_server.new_bucket()}/c/_jobs/search-p000", storage)
    path = journal_path(state)
    assert read_journal(path) == [] and done_queries([path]) == set()
    first, second = open_journal(path, tmp_path / "a"), open_journal(path, tmp_path / "b")  # two runs, one job
    first.append([Checkpoint("query", "猫")])
    second.append([Checkpoint("query", "狗"), Checkpoint("page", "http://x/", ["http://x/a"])])
    first.append([])
    assert [c.key for c in read_journal(path)] == ["猫", "狗", "http://x/"]
    assert sorted(p.rsplit("/", 1)[1] for p in s3_server.filesystem().ls(path.path, detail=False)) == \
        ["00000.jsonl", "00001.jsonl"]
    assert not list((tmp_path / "a").iterdir()) and not list((tmp_path / "b").iterdir())


def test_job_spec_rebuilds_the_remote_out_elsewhere(s3_server: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(CONFIG, s3_server.config_overrides())
    bucket = s3_server.new_bucket()
    out = data_path(f"s3://{bucket}/c", cfg.storage)
    monkeypatch.setenv("WUKONG_CACHE", str(tmp_path / "driver"))
    specs, done = jobs.plan_search(out, ["猫", "狗"], cfg.crawl, 2, storage=cfg.storage)
    assert done == 0 and [s.name for s in specs] == ["search-p000", "search-p001"]
    assert Path(specs[0].job_dir).is_relative_to(tmp_path / "driver")
    moved = jobs.JobSpec(**json.loads(json.dumps(dataclasses.asdict(specs[0]))))  # as a Ray task receives it
    monkeypatch.setenv("WUKONG_CACHE", str(tmp_path / "node"))  # a Ray task on another node
    here = moved.on_this_machine()
    assert Path(here.job_dir).is_relative_to(tmp_path / "node") and here.name == "search-p000"
    assert str(here.state_dir) == f"s3://{bucket}/c/_jobs/search-p000"
    here.out.joinpath("probe.txt").write_text("x")  # the rebuilt location carries the endpoint and keys
    assert s3_server.filesystem().cat_file(f"{bucket}/c/probe.txt") == b"x"
    local = jobs.plan_site(tmp_path / "local", ["http://127.0.0.1:9/"], cfg.crawl, storage=cfg.storage)
    assert local.storage is None and local.on_this_machine() == local  # a local --out: no credentials saved


def test_search_partitions_as_ray_tasks_to_s3(demo_web: Any, s3_server: Any, ray_local: None, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cluster, each task keeps its job folder on its own node and its state on object storage."""
    from crawler.ray_partitions import RayJob, run_on_cluster
    from wukong.commands.crawl import _supervise

    monkeypatch.setenv("WUKONG_LOOPBACK_ONLY", "1")
    monkeypatch.setenv("WUKONG_CACHE", str(tmp_path / "node-cache"))  # forwarded to the tasks (WUKONG_*)
    cfg = load_config(CONFIG, [*s3_server.config_overrides(), "crawl.page_size=10", "crawl.rows_per_part=9",
                               "crawl.max_per_query=20"])
    cfg.crawl.endpoint = demo_web.base_url + "/search/acjson"
    bucket = s3_server.new_bucket()
    out = data_path(f"s3://{bucket}/c", cfg.storage)
    words = demo_web.web.query_words[:4]
    specs, _ = jobs.plan_search(out, words, cfg.crawl, 2, storage=cfg.storage)
    for spec in specs:  # as if planned on a driver whose cache folder no node has
        spec.job_dir = str(tmp_path / "driver-only" / spec.name)

    class Bar:
        n = 0

        def set_postfix(self, **kw: Any) -> None:
            pass

        def refresh(self) -> None:
            pass

    seen: list[RayJob] = []

    def supervise(running: list[RayJob]) -> list[int]:
        seen.extend(running)
        return _supervise(running, [Path(s.job_dir) for s in specs], Bar(), True)

    assert run_on_cluster(specs, cfg, supervise) == [0, 0]
    assert not (tmp_path / "driver-only").exists()
    assert all(j.ran_in and Path(j.ran_in).is_relative_to(tmp_path / "node-cache") for j in seen)
    assert all((Path(str(j.ran_in)) / "ray_task.json").is_file() for j in seen)
    summary = jobs.write_crawl_stats(out, "search")
    names, table = s3_parts(s3_server, f"{bucket}/c", "search")
    assert summary["pairs"] == table.num_rows == 4 * 20 and summary["queries_done"] == 4
    assert len(names) == len(set(names)) == summary["parts_on_disk"]
