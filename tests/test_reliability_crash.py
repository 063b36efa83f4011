"""Issue 6, crashes and resume: `wukong crawl`, `wukong filter` and `wukong shard` killed with SIGKILL
at seeded random points (twice in a row), then run again, give what an uninterrupted run gives: every
crawled pair (at least once), the same kept/rejected sets, a byte-identical release. Nothing appears
under a final name half-written. A Ray worker killed while a pass runs changes nothing.

Processes: each command runs in its own session (`start_new_session`); a kill freezes (SIGSTOP) and
then SIGKILLs that process and every descendant it has (the crawler's Scrapy children run in their
own sessions; a filter with its own local Ray has raylet, GCS and workers), found through /proc by
parent PID: only what this test started. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from loopback import serve_app
from PIL import Image

from filters.global_text import _pairs_per_caption, caption_hash64, decide_global_text
from filters.runner import run_filter
from filters.text_chain import normalize_captions
from manifests.config import load_config
from manifests.keys import normalize_url, url_hash64
from manifests.schemas import CANDIDATE
from sharding.release import build_release

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"
SEED = 6
pytestmark = pytest.mark.slow


# --- processes ----------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, from /proc (parents before children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def kill_tree(proc: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL `proc` (started with start_new_session), its process group and all its descendants.
    Everything is frozen first so that nothing forks, cleans up or notices its parent dying."""
    pids: list[int] = []
    for _ in range(3):  # a process forked while we looked is caught by the next look
        for pid in [proc.pid, *descendants(proc.pid)]:
            if pid not in pids:
                pids.append(pid)
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "a killed process is still running"
    return pids


def wukong_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "wukong.cli", "-q", *args]


def run_until(cmd: list[str], env: dict[str, str], ready: Callable[[], bool], extra_delay: float,
              check: Callable[[], None] | None = None, timeout: float = 120) -> tuple[bool, list[int]]:
    """Starts `cmd`, waits until `ready()` (calling `check()` at every look), waits `extra_delay`
    more, then kills the whole tree. Returns (killed before it finished, PIDs killed)."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline and not ready():
            if check is not None:
                check()
            time.sleep(0.01)
        time.sleep(extra_delay)
        finished = proc.poll() is not None
        return not finished, kill_tree(proc)
    finally:
        if proc.poll() is None:  # only if an assertion above interrupted us
            kill_tree(proc)


def run_to_end(cmd: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def final_files(root: Path) -> Iterator[Path]:
    """The files under `root` that carry a final name, listed while the command may still be writing.

    Hidden files and hidden folders (temporary files, work in progress) are skipped, never entered.
    The command removes folders as it goes (the shard stage deletes each shard's `.work/NNNNN` bucket
    folder once the shard is written): a folder that vanishes between being listed and being read
    is gone, not an error (`Path.rglob` raised FileNotFoundError there, now and then).
    """

    def vanished_or_raise(exc: OSError) -> None:
        if not isinstance(exc, FileNotFoundError):
            raise exc

    for folder, dirs, files in os.walk(root, onerror=vanished_or_raise):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and (path := Path(folder) / name).is_file():
                yield path


class CompleteFiles:
    """Asserts that what carries a final name under `root` is complete: parquet readable to the end, JSON
    parses, tars list. Called at every look while a command runs, it reads each version of a file once: a
    file is read again only when its inode, size or modification time changed (replaced or rewritten)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.verified: set[tuple[str, int, int, int]] = set()

    def __call__(self) -> None:
        for path in final_files(self.root):
            try:
                st = path.stat()
            except FileNotFoundError:  # replaced or removed since listed
                continue
            version = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
            if version in self.verified:
                continue
            try:
                if path.suffix == ".parquet":
                    pq.read_table(path)
                elif path.suffix == ".json":
                    json.loads(path.read_text(encoding="utf-8"))
                elif path.suffix == ".tar":
                    assert st.st_size % 512 == 0
                    with tarfile.open(path) as tf:
                        tf.getmembers()
            except Exception as exc:  # any failure to read is what this looks for
                if path.exists():  # not replaced or removed meanwhile
                    raise AssertionError(f"{path} is under its final name but incomplete: {exc}") from exc
                continue
            self.verified.add(version)


def assert_complete_files(root: Path) -> None:
    """What carries a final name under `root` is complete (every file read)."""
    CompleteFiles(root)()


# --- crawl -------------------------------------------------------------------------------------

PAIR = ("page_url", "url", "caption")


def crawl_rows(out: Path) -> list[tuple[str, str, str]]:
    tables = [pq.read_table(p, columns=list(PAIR)) for p in sorted(out.glob("part-site-*.parquet"))]
    table = pa.concat_tables(tables)
    return list(zip(*(table.column(c).to_pylist() for c in PAIR), strict=True))


def global_text_survivors(rows: list[tuple[str, str, str]], max_repeats: int) -> set[tuple[str, str, str]]:
    """The rows the filter's caption-frequency and URL-dedup decisions keep (exactly its driver code)."""
    captions = normalize_captions(pa.table({"caption": pa.array([r[2] for r in rows], pa.string())}))
    cap_h = np.array([caption_hash64(c or "") for c in captions.column("caption_norm").to_pylist()], np.uint64)
    url_h = np.array([url_hash64(n) if (n := normalize_url(r[1])) else 0 for r in rows], np.uint64)
    decisions = decide_global_text(cap_h, url_h, np.ones(len(rows), bool), max_repeats,
                                   lambda pos: [(rows[p][0], rows[p][2]) for p in pos.tolist()])
    gone = set(decisions.rows.tolist())
    return {r for i, r in enumerate(rows) if i not in gone}


def test_a_pair_delivered_twice_does_not_count_twice_for_caption_frequency() -> None:
    """Found here: a crawl resumed after a kill delivers a page's pairs again, and the copies pushed a
    caption at the repeat limit over it, so a kill changed which pairs survived."""
    cap = np.array([7] * 6 + [8, 8], np.uint64)
    url = np.array([1, 2, 3, 4, 5, 1, 0, 0], np.uint64)  # row 5 repeats row 0; 0 = no valid URL
    assert _pairs_per_caption(cap, url).tolist() == [5] * 6 + [2, 2]
    decisions = decide_global_text(cap, url, np.array([True] * 6 + [False] * 2), 5, lambda pos: [("p", "c")] * len(pos))
    assert decisions.reasons == ["duplicate_url"] and decisions.rows.tolist() == [5]


def test_crawl_killed_twice_then_resumed_has_every_pair(demo_web: Any, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    out = tmp_path / "candidates"
    # Paced (a request per 20 ms from the one host): the demo web's crawl then lasts ~8 s whatever the load,
    # where unpaced it wrote its 30 parts in 1.6 s, less than this process, starved on a loaded machine,
    # took to notice the second part: the crawl had finished when the first kill came (issue 17).
    cmd = wukong_cmd("crawl", "--spider", "site", "--start-url", demo_web.url("/"), "--config", str(CONFIG),
                     "--set", "crawl.rows_per_part=50", "--set", "crawl.download_delay=0.02",
                     "--set", "crawl.concurrent_requests_per_host=1", "--out", str(out))
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    parts = lambda: len(list(out.glob("part-site-*.parquet")))  # noqa: E731
    kills = 0
    for _ in range(2):
        at = parts() + rng.randint(1, 8)
        killed, pids = run_until(cmd, env, lambda at=at: parts() >= at, rng.uniform(0, 0.3),
                                 check=CompleteFiles(out))
        kills += killed
        assert len(pids) >= 2 or not killed  # the command and its Scrapy child
        assert_complete_files(out)
    assert kills == 2, "the crawl finished before it could be killed"
    run_to_end(cmd, env)
    assert_complete_files(out)

    truth = demo_web.web.ground_truth(demo_web.base_url, measure=False).to_pylist()
    want = {(r["page_url"], r["url"], r["caption"]) for r in truth if not r["disallowed"] and r["caption"].strip()}
    rows = crawl_rows(out)
    assert set(rows) == want  # nothing lost, nothing invented
    repeats = sum(n - 1 for n in Counter(rows).values())
    # At-least-once: the pairs delivered twice disappear in the filter's global text decisions, which
    # then keep exactly what they keep for the crawl's ground truth.
    max_repeats = load_config(CONFIG).text.max_caption_repeats
    assert global_text_survivors(rows, max_repeats) == global_text_survivors(sorted(want), max_repeats)
    print(f"crawl: {len(rows)} rows for {len(want)} pairs ({repeats} delivered twice)")


# --- filter ------------------------------------------------------------------------------------

N_ROWS = 120
ROWS_PER_TASK = 15
IMAGE_DELAY_S = 0.3
CAPTIONS = ["海边的日落风景{}", "查看源网页", "图片", "a cat sitting on the sofa {}", "北京故宫的红墙{}号",
            "蒜薹炒肉盖饭{}", "西湖的断桥残雪{}", "黄山的云海日出{}"]


def _jpeg(seed: int, w: int = 320, h: int = 240) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).resize((w, h), Image.Resampling.NEAREST).save(buf, "JPEG", quality=90)
    return buf.getvalue()


class SlowImages:
    """Loopback images that take IMAGE_DELAY_S each: a pass lasts long enough to be killed in. Every
    10th is a 404, every 10th + 7 too small; images repeat every 40 rows (duplicates)."""

    def __init__(self) -> None:
        self.images = {i: _jpeg(i) for i in range(40)}
        self.small = _jpeg(999, 120, 90)
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        await asyncio.sleep(IMAGE_DELAY_S)
        if i % 10 == 9:
            return web.Response(status=404)
        if i % 10 == 7:
            return web.Response(body=self.small, content_type="image/jpeg")
        return web.Response(body=self.images[i % 40], content_type="image/jpeg")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/img/{i}.jpg", self.handle)
        return app


@pytest.fixture(scope="module")
def filter_input(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    images = SlowImages()
    with serve_app(images.app()) as base:
        d = tmp_path_factory.mktemp("filter-input")
        for part in range(2):
            idx = range(part * N_ROWS // 2, (part + 1) * N_ROWS // 2)
            cols: dict[str, pa.Array] = {f.name: pa.nulls(len(idx), f.type) for f in CANDIDATE}
            cols["url"] = pa.array([f"{base}/img/{i}.jpg" for i in idx])
            cols["caption"] = pa.array([CAPTIONS[i % len(CAPTIONS)].format(i) for i in idx])
            cols["caption_source"] = pa.array(["alt"] * len(idx))
            cols["page_url"] = pa.array([f"{base}/page/{i // 10}.html" for i in idx])
            cols["source"] = pa.array(["site"] * len(idx))
            pq.write_table(pa.Table.from_pydict(cols, schema=CANDIDATE), d / f"part-site-{part:05d}.parquet")
        yield d, base


FILTER_SETTINGS = [f"ray.rows_per_task={ROWS_PER_TASK}"]


@pytest.fixture(scope="module")
def filter_reference(filter_input: tuple[Path, str], ray_local: None,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "filtered"
    run_filter(filter_input[0], out, load_config(CONFIG, FILTER_SETTINGS))
    return out


def filter_result(out: Path) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    kept = pa.concat_tables([pq.read_table(p) for p in sorted((out / "kept").glob("*.parquet"))]).sort_by("key")
    rejected = pa.concat_tables([pq.read_table(p) for p in sorted((out / "rejected").glob("*.parquet"))])
    rejected = rejected.sort_by([("url", "ascending"), ("page_url", "ascending")])
    return kept, rejected, json.loads((out / "stats.json").read_text())


def assert_same_filter_result(out: Path, reference: Path) -> None:
    kept, rejected, stats = filter_result(out)
    ref_kept, ref_rejected, ref_stats = filter_result(reference)
    assert stats == ref_stats
    assert kept.equals(ref_kept)  # every column, image bytes included
    assert rejected.equals(ref_rejected)
    assert stats["input"] == N_ROWS == kept.num_rows + rejected.num_rows
    assert len(set(kept.column("key").to_pylist())) == kept.num_rows
    assert pc.all(pc.is_valid(rejected.column("reason"))).as_py()


@pytest.mark.parametrize("first", ["ray", "local"])
def test_filter_killed_twice_then_resumed_equals_an_uninterrupted_run(
        filter_input: tuple[Path, str], filter_reference: Path, tmp_path: Path, first: str) -> None:
    """First run: the command's own local Ray, killed with it (raylet, GCS, workers), or its local
    worker processes (the executor a small input gets on one machine). Second run: on the test
    session's Ray (the driver dies, Ray reaps its workers). Third run completes."""
    import ray

    rng = random.Random(SEED + 1)
    out = tmp_path / "filtered"
    cmd = wukong_cmd("filter", "--in", str(filter_input[0]), "--out", str(out), "--config", str(CONFIG),
                     *(a for s in FILTER_SETTINGS for a in ("--set", s)))
    own = [*cmd, "--set", "ray.local_max_rows=0"] if first == "ray" else cmd  # 120 rows: local unless forced
    tasks = -(-N_ROWS // ROWS_PER_TASK)
    done = lambda: sum(len(list(d.glob("*.parquet"))) for d in (out / "_work" / "text", out / "_work" / "image",  # noqa: E731
                                                                   out / "kept"))
    own_ray = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    session_ray = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    killed = []
    for env, command in ((own_ray, own), (session_ray, cmd)):
        # At most 2 * tasks - 3 files: at least three slow image tasks are left (two rounds of
        # IMAGE_DELAY_S on two workers, more than the 0.5 s extra delay), so the kill always lands
        # before the end; the finalize pass alone is too quick now to be hit reliably.
        at = min(done() + rng.randint(1, tasks), 2 * tasks - 3)
        was_killed, pids = run_until(command, env, lambda at=at: done() >= at, rng.uniform(0, 0.5),
                                     check=CompleteFiles(out))
        killed.append((was_killed, at, len(pids)))
        assert not (out / "stats.json").exists() or not was_killed
        assert_complete_files(out)
    assert all(k for k, _, _ in killed), killed
    if first == "ray":
        assert killed[0][2] > 3, "the first run should have had its own Ray processes"
    else:
        assert killed[0][2] >= 3, "the first run should have had a driver and two local workers"
    time.sleep(0.5)  # let the session's Ray reap the dead driver's workers
    # what a kill mid-write leaves (whether or not these two kills did): hidden temporary files
    (out / "kept").mkdir(exist_ok=True)
    (out / "kept" / ".part-00001.parquet.0badc0de.tmp").write_bytes(b"PAR1 half")
    (out / ".stats.json.0badc0de.tmp").write_text("{", encoding="utf-8")
    done_run = run_to_end(cmd, session_ray)
    assert "already done" in done_run.stdout
    assert_same_filter_result(out, filter_reference)
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files of the killed runs remain"


def worker_talking_to(port: int) -> int | None:
    """The PID of a process under this test process (a Ray worker) with a TCP connection to `port`.

    Called every 20 ms: the kernel's socket tables say first whether any socket is connected to `port`,
    and only then are the processes' open files searched for one of those sockets."""
    sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()  # sl local_address rem_address st ... uid timeout inode
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                sockets.add(f"socket:[{fields[9]}]")
    if not sockets:
        return None
    for pid in descendants(os.getpid()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone meanwhile
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in sockets:
                    return pid
            except OSError:
                continue
    return None


def test_a_ray_worker_killed_during_the_image_pass_changes_nothing(
        filter_input: tuple[Path, str], filter_reference: Path, tmp_path: Path) -> None:
    """Ray Data retries a map task whose worker process died (max_retries=-1 is its default for
    map tasks); a task's files are written by atomic rename, so a retried task writes the same bytes."""
    port = int(filter_input[1].rsplit(":", 1)[1])
    out = tmp_path / "filtered"
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["run"] = run_filter(filter_input[0], out, load_config(CONFIG, FILTER_SETTINGS))
        except BaseException as exc:  # reported by the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and thread.is_alive() and time.monotonic() < deadline:
        victim = worker_talking_to(port)
        time.sleep(0.02)
    assert victim is not None, "no worker was seen downloading"
    images_before = len(list((out / "_work" / "image").glob("*.parquet")))
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=240)
    assert not thread.is_alive(), "the filter stage hung after a worker was killed"
    if "error" in outcome:
        raise outcome["error"]
    assert images_before < -(-N_ROWS // ROWS_PER_TASK), "the image pass was over before the kill"
    assert_same_filter_result(out, filter_reference)


# --- shard -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["local", "inline", "ray"])
def test_shard_killed_twice_then_resumed_is_byte_identical(filter_reference: Path, tmp_path: Path,
                                                           backend: str) -> None:
    """`local`: the command's own worker processes (no RAY_ADDRESS); `inline`: the command's own process
    (what a release this small gets by default); `ray`: the session's Ray."""
    import ray

    cfg = load_config(CONFIG, ["shard.samples_per_shard=2", "shard.manifest_rows_per_file=10"])
    reference = tmp_path / "reference"
    ref = build_release(filter_reference, reference, cfg, progress=False)
    assert ref.shards >= 8
    rng = random.Random(SEED + 2)
    out = tmp_path / "release"
    cmd = wukong_cmd("shard", "--in", str(filter_reference), "--out", str(out), "--config", str(CONFIG),
                     "--samples-per-shard", "2", "--set", "shard.manifest_rows_per_file=10",
                     "--set", f"shard.inline_max_mb={1000 if backend == 'inline' else 0}")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if backend == "ray":
        env["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    stats_files = lambda: len(list((out / "shards").glob("*_stats.json"))) if (out / "shards").is_dir() else 0  # noqa: E731
    kills = 0
    for _ in range(8):  # two kills in mid-work; a run that completes first starts the sequence again
        if kills == 2:
            break
        at = min(stats_files() + rng.randint(1, ref.shards // 2), ref.shards - 2)
        killed, _ = run_until(cmd, env, lambda at=at: stats_files() >= at, rng.uniform(0, 0.2),
                              check=CompleteFiles(out))
        assert_complete_files(out)
        time.sleep(0.3)  # the session's Ray reaps the dead driver's tasks
        if (out / "SHA256SUMS").exists():  # complete before the kill (killed, if at all, while exiting)
            assert (out / "SHA256SUMS").read_bytes() == (reference / "SHA256SUMS").read_bytes()
            shutil.rmtree(out)
            kills = 0
            continue
        kills += killed
    assert kills == 2, "the shard stage finished before it could be killed"
    run_to_end(cmd, env)
    assert (out / "SHA256SUMS").read_bytes() == (reference / "SHA256SUMS").read_bytes()
    files = lambda root: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(out) == files(reference)
    manifest = pa.concat_tables([pq.read_table(p) for p in sorted((out / "manifests").glob("*.parquet"))])
    kept_keys = filter_result(filter_reference)[0].column("key").to_pylist()
    assert manifest.column("key").to_pylist() == kept_keys  # no pair lost or duplicated, in key order


def test_local_shard_workers_exit_when_their_driver_is_killed(filter_reference: Path, tmp_path: Path) -> None:
    """kill -9 of `wukong shard` alone (not its process group): its worker processes notice and exit,
    none is left waiting for work; what they had written is complete or a hidden temporary file."""
    out = tmp_path / "release"
    cmd = wukong_cmd("shard", "--in", str(filter_reference), "--out", str(out), "--config", str(CONFIG),
                     "--samples-per-shard", "2", "--set", "shard.inline_max_mb=0")  # worker processes, not inline
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("shards/*_stats.json")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        workers = descendants(proc.pid)
        assert proc.poll() is None and workers, "the shard stage ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in workers if alive(p)], "a worker outlived its driver by 5 s"
        assert_complete_files(out)
    finally:
        if proc.poll() is None:
            kill_tree(proc)
