"""The pipeline on a real multi-node Ray cluster: crawl + filter + shard of the demo web (every folder on
S3, as nodes that share no disk need it) crawl exactly the demo web's pairs and give the same release,
byte for byte, as filter + shard of those candidates on this machine alone.

The cluster is two Ray nodes on this machine (a head and a worker, one CPU each, 127.0.0.1),
each started by `ray start` in a session of its own; at the end exactly the processes of those
sessions are stopped, by PID (never `ray stop`, which would end every Ray on the machine). The head
and its workers run from a folder of their own, so a relative path that reached a worker would fail.
Every pipeline step runs as `python -m wukong.cli ...` in a subprocess, like a user's shell: the
pytest process may already hold a local Ray (`ray_local`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")
RAY = str(Path(sys.executable).with_name("ray"))
NODES = 2  # a head and a worker: two nodes that share no disk are what the tests need; a third cost 12 CPU-s
STEP_TIMEOUT_S = 240
START_TIMEOUT_S = 90
# then SIGKILL: one of the daemons always outlives SIGTERM by 10 s; nothing here needs it to exit cleanly
STOP_GRACE_S = 3.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session_pids(sessions: set[int]) -> list[int]:
    """Live (not zombie) processes whose session is one of ours: Ray's daemons and workers keep it."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # state ppid pgrp session ...
        if fields[0] != "Z" and int(fields[3]) in sessions:
            pids.append(int(stat.parent.name))
    return [p for p in pids if p != os.getpid()]


def _stop_sessions(sessions: set[int]) -> None:
    """SIGTERM to every process of our sessions, then SIGKILL to whatever is left after a grace period."""
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        pids = _session_pids(sessions)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while _session_pids(sessions) and time.monotonic() < deadline:
            time.sleep(0.2)
    left = _session_pids(sessions)
    assert not left, f"Ray processes of the test cluster still alive: {left}"


def _ray_start(args: list[str], env: dict[str, str], cwd: Path, log: Path, sessions: set[int]) -> None:
    with open(log, "ab") as out:
        proc = subprocess.Popen([RAY, "start", *args, "--disable-usage-stats"], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    sessions.add(proc.pid)  # its session id: everything `ray start` spawns stays in it
    try:
        rc = proc.wait(timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = -1
    assert rc == 0, f"ray start {' '.join(args)} failed ({rc}):\n{log.read_text(errors='replace')[-3000:]}"


def _alive_nodes(address: str, env: dict[str, str]) -> int:
    code = (f"import ray; ray.init(address={address!r}, log_to_driver=False); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return int(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else 0


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A head and a worker node (1 CPU each) on 127.0.0.1; yields the address for RAY_ADDRESS."""
    home = Path(tempfile.mkdtemp(prefix="wkc-", dir="/tmp"))  # short: Ray's socket paths must stay < 108 bytes
    sessions: set[int] = set()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    try:
        port = _free_port()
        address = f"127.0.0.1:{port}"
        # Ray replaces a loopback address by this machine's own address in what nodes advertise
        # (`resolve_ip_for_localhost`: multi-node mode needs it); traffic stays on this machine.
        # Like the stages' own local Ray (manifests.ray_session): no autoscaler monitor, no log monitors
        # (nothing here scales, and no driver asks for worker logs); on two cores they would take a
        # CPU-second each from every step.
        lean = ["--num-cpus", "1", "--include-log-monitor=false", "--temp-dir", str(home)]
        _ray_start(["--head", "--port", str(port), "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
                    "--no-monitor", *lean], env, home, home / "head.log", sessions)
        for i in range(NODES - 1):
            _ray_start(["--address", address, *lean], env, home, home / f"worker{i}.log", sessions)
        deadline = time.monotonic() + START_TIMEOUT_S
        while (alive := _alive_nodes(address, env)) < NODES and time.monotonic() < deadline:
            time.sleep(1.0)
        assert alive == NODES, f"{alive} alive Ray node(s), expected {NODES}"
        yield address
    finally:
        _stop_sessions(sessions)
        shutil.rmtree(home, ignore_errors=True)


def _filter_and_shard(root: Path, env: dict[str, str]) -> None:
    """filter, then shard, of `root`/candidates on this machine alone: relative paths, run from `root`."""
    steps = [
        ["filter", "--in", "candidates", "--out", "filtered", "--config", CONFIG],
        ["shard", "--in", "filtered", "--out", "release", "--config", CONFIG],
    ]
    for step in steps:
        r = subprocess.run([sys.executable, "-m", "wukong.cli", "-q", *step], cwd=root, env=env, capture_output=True,
                           text=True, timeout=STEP_TIMEOUT_S)
        assert r.returncode == 0, (f"wukong {' '.join(step)} failed ({r.returncode}):\n"
                                   f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


def _pipeline_on_s3(root: Path, prefix: str, base_url: str, queries: Path, env: dict[str, str],
                    storage: list[str]) -> None:
    """The same four commands with every folder on object storage (`prefix` = s3://bucket/data)."""
    root.mkdir(parents=True)
    sets = [arg for s in storage for arg in ("--set", s)]
    steps = [
        ["crawl", "--spider", "site", "--start-url", f"{base_url}/", "--out", f"{prefix}/candidates"],
        ["crawl", "--spider", "search", "--queries", str(queries), "--endpoint", f"{base_url}/search/acjson",
         "--partitions", "2", "--out", f"{prefix}/candidates"],
        ["filter", "--in", f"{prefix}/candidates", "--out", f"{prefix}/filtered"],
        ["shard", "--in", f"{prefix}/filtered", "--out", f"{prefix}/release"],
    ]
    for step in steps:
        r = subprocess.run([sys.executable, "-m", "wukong.cli", "-q", *step, "--config", CONFIG, *sets], cwd=root,
                           env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
        assert r.returncode == 0, (f"wukong {' '.join(step)} failed ({r.returncode}):\n"
                                   f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


def _candidates(root: Path) -> Counter[tuple]:
    cols = ["url", "caption", "caption_source", "page_url", "query", "source", "width_hint", "height_hint"]
    rows: Counter[tuple] = Counter()
    for part in sorted((root / "candidates").glob("part-*.parquet")):
        rows.update(tuple(r.values()) for r in pq.read_table(part, columns=cols).to_pylist())
    return rows


def _assert_the_demo_webs_pairs(root: Path, demo_web) -> None:  # type: ignore[no-untyped-def]
    """The candidates under `root` are the demo web's ground truth: every allowed captioned pair of the
    site once, and for each query the first `crawl.max_per_query` distinct images its endpoint lists."""
    from manifests.config import load_config

    cols = ["page_url", "url", "caption", "caption_source", "query", "source"]
    rows = [r for part in sorted((root / "candidates").glob("part-*.parquet"))
            for r in pq.read_table(part, columns=cols).to_pylist()]
    truth = demo_web.web.ground_truth(demo_web.base_url, measure=False).to_pylist()
    want_site = Counter((r["page_url"], r["url"], r["caption"], r["caption_source"])
                        for r in truth if not r["disallowed"] and r["caption"].strip())
    got_site = Counter((r["page_url"], r["url"], r["caption"], r["caption_source"]) for r in rows
                       if r["source"] == "site")
    assert got_site == want_site and len(want_site) > 1000
    limit = load_config(CONFIG).crawl.max_per_query
    listed: dict[str, dict[str, tuple[str, str, str]]] = {}
    for r in sorted(demo_web.web.search_ground_truth(demo_web.base_url).to_pylist(), key=lambda r: r["rank"]):
        listed.setdefault(r["query"], {}).setdefault(r["url"], (r["url"], r["caption"], r["from_url"]))
    want_search = Counter((q, *pair) for q, pairs in listed.items() for pair in list(pairs.values())[:limit])
    got_search = Counter((r["query"], r["url"], r["caption"], r["page_url"]) for r in rows if r["source"] == "search")
    assert got_search == want_search and len({q for q, *_ in got_search}) == len(demo_web.web.query_words)
    assert len(rows) == sum(got_site.values()) + sum(got_search.values())


def _kept(root: Path) -> pa.Table:
    table = pa.concat_tables(pq.read_table(p) for p in sorted((root / "filtered" / "kept").glob("*.parquet")))
    return table.sort_by("key")


def _same_release(got: Path, want: Path) -> None:
    sums = (want / "release" / "SHA256SUMS").read_bytes()
    assert sums and (got / "release" / "SHA256SUMS").read_bytes() == sums
    for line in sums.decode().splitlines():  # and the files hold what the sums say
        name = line.split(maxsplit=1)[1].lstrip("*")
        assert (got / "release" / name).read_bytes() == (want / "release" / name).read_bytes(), name


def test_cluster_release_is_byte_identical_to_local(demo_web, ray_cluster: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                    s3_server) -> None:
    """The four commands on the two-node cluster with every folder on S3 (moto's server on 127.0.0.1: the
    nodes share no disk) crawl exactly the demo web's pairs; filter and shard of those candidates on this
    machine alone (local disk, no RAY_ADDRESS) give the same filter output and release, byte for byte."""
    queries = tmp_path / "queries.txt"
    queries.write_text("\n".join(demo_web.web.query_words) + "\n", encoding="utf-8")
    base_env = {**os.environ, "RAY_AUTH_MODE": "disabled", "WUKONG_LOOPBACK_ONLY": "1"}
    base_env.pop("RAY_ADDRESS", None)
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket()
    cache = tmp_path / "s3-cache"  # the local state of crawl jobs and the logs: never stage data
    _pipeline_on_s3(tmp_path / "s3-cwd", f"s3://{bucket}/data", demo_web.base_url, queries,
                    {**base_env, "RAY_ADDRESS": ray_cluster, "WUKONG_CACHE": str(cache)},
                    s3_server.config_overrides())

    # The crawl jobs ran as Ray tasks on the cluster (the search partitions on two nodes), never locally.
    ran = {p.parent.name: json.loads(p.read_text()) for p in cache.rglob("ray_task.json")}
    assert sorted(ran) == ["search-p000", "search-p001", "site"]
    assert ran["search-p000"]["node_id"] != ran["search-p001"]["node_id"]
    assert not list((tmp_path / "s3-cwd").iterdir())  # nothing was written where the commands ran
    assert not list(cache.rglob("*.parquet")) and not list(cache.rglob("*.tar"))

    fetched = tmp_path / "s3"
    fs.get(f"{bucket}/data/", str(fetched) + "/", recursive=True)
    _assert_the_demo_webs_pairs(fetched, demo_web)

    # The same candidates through filter and shard here: the same filter output, the same release.
    local = tmp_path / "local"
    shutil.copytree(fetched / "candidates", local / "candidates", ignore=shutil.ignore_patterns("_jobs"))
    _filter_and_shard(local, base_env)
    kept_local = _kept(local)
    assert kept_local.num_rows > 100
    assert json.loads((fetched / "filtered" / "stats.json").read_text()) == \
        json.loads((local / "filtered" / "stats.json").read_text())
    assert _kept(fetched).equals(kept_local)
    _same_release(fetched, local)


def test_ctrl_c_reaches_a_crawl_job_running_as_a_ray_task(demo_web, ray_local: None, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ray worker blocks SIGINT and its children inherit that: the task must unblock it for the crawler."""
    from crawler import jobs
    from crawler.ray_partitions import RayJob, run_on_cluster
    from manifests.config import load_config

    monkeypatch.setenv("WUKONG_LOOPBACK_ONLY", "1")
    cfg = load_config(CONFIG, ["crawl.download_delay=0.05", "crawl.concurrent_requests_per_host=1"])
    out = tmp_path / "candidates"
    spec = jobs.plan_site(out, [f"{demo_web.base_url}/"], cfg.crawl)

    def interrupt_once_started(running: list[RayJob]) -> list[int]:
        deadline = time.monotonic() + 120
        while not jobs.read_progress(running[0].job_dir).get("pages") and running[0].poll() is None:
            assert time.monotonic() < deadline, "the crawl never started"
            time.sleep(0.1)
        running[0].send_signal(signal.SIGINT)
        while running[0].poll() is None:
            assert time.monotonic() < deadline, "the crawl did not stop after SIGINT"
            time.sleep(0.1)
        return [int(running[0].returncode or 0)]

    assert run_on_cluster([spec], cfg, interrupt_once_started) == [130]
    assert "Received SIGINT" in (Path(spec.job_dir) / "crawl.log").read_text(encoding="utf-8")
    assert json.loads((Path(spec.job_dir) / "ray_task.json").read_text())["crawler_pid"] > 0


def test_archive_crawls_on_the_cluster_equal_the_local_ones(demo_web, ray_cluster: str,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path, s3_server) -> None:
    """`--spider warc` over three files and `--spider cc-index` over an index: each file (row group)
    a Ray task spread over the nodes, the output on S3 for warc; the same candidates as locally."""
    from wukong.demoweb.archive import write_cc_index, write_warc

    www = tmp_path / "www"
    files = [www / f"demo-{i}.warc.gz" for i in range(3)]
    write_warc(demo_web.web, demo_web.base_url, files[0])
    for path in files[1:]:
        shutil.copy(files[0], path)
    write_cc_index(files[0], "demo-0.warc.gz", tmp_path / "index" / "part-0.parquet", row_group_size=150)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "WUKONG_LOOPBACK_ONLY": "1"}
    env.pop("RAY_ADDRESS", None)
    bucket = s3_server.new_bucket()
    sets = [arg for s in s3_server.config_overrides() for arg in ("--set", s)]
    runs = {
        "local": (env, ["--spider", "warc", "--warc", *map(str, files), "--out",
                        str(tmp_path / "local" / "candidates")]),
        "cluster": ({**env, "RAY_ADDRESS": ray_cluster, "WUKONG_CACHE": str(tmp_path / "cache")},
                    ["--spider", "warc", "--warc", *map(str, files), "--out", f"s3://{bucket}/candidates", *sets]),
        "index": ({**env, "RAY_ADDRESS": ray_cluster},
                  ["--spider", "cc-index", "--index", str(tmp_path / "index" / "part-0.parquet"), "--out",
                   str(tmp_path / "index-out" / "candidates"), "--set", f"crawl.warc_base_url={www}"]),
    }
    for name, (run_env, args) in runs.items():
        r = subprocess.run([sys.executable, "-m", "wukong.cli", "-q", "crawl", *args, "--config", CONFIG],
                           cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
        assert r.returncode == 0, f"{name}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    s3_server.filesystem().get(f"{bucket}/candidates/", str(tmp_path / "cluster" / "candidates") + "/",
                               recursive=True)
    local = _candidates(tmp_path / "local")
    assert sum(local.values()) > 3000
    assert _candidates(tmp_path / "cluster") == local
    one_file = Counter({row: n // 3 for row, n in local.items()})
    assert _candidates(tmp_path / "index-out") == one_file  # the index covers the first file
    units = tmp_path / "cluster" / "candidates" / "_jobs" / "warc" / "units"
    nodes = {json.loads(p.read_text())["node"] for p in units.iterdir()}
    assert len(nodes) >= 2 and "" not in nodes  # the files were read on several nodes
