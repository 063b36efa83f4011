"""The real `wukong crawl` (child processes, Scrapy, parts on disk) against a tiny in-test web on 127.0.0.1.

Covers what does not depend on the demo web: acjson paging with the anti-spider cookie dance,
partitions, resume after SIGKILL, robots.txt, and give-up after repeated blocks.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from crawler.acjson import encode_objurl
from crawler.journal import JOURNAL_NAME, read_journal
from manifests.schemas import CANDIDATE

CORPUS = 75  # images per query; offsets past the end repeat the last page, as Baidu does
PAGES = 40  # site pages p0..p39, a binary tree of links
REPO = Path(__file__).resolve().parents[1]


def image_url(port: int, word: str, i: int) -> str:
    return f"http://127.0.0.1:{port}/img/{hashlib.md5(word.encode()).hexdigest()[:8]}/{i:03d}_Q.jpg"


class Handler(BaseHTTPRequestHandler):
    server: LocalWeb

    def log_message(self, *args: object) -> None:
        pass

    def send(self, body: bytes, content_type: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        qs = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        self.server.log.append(path)
        if path.startswith("/slow/"):
            time.sleep(0.05)
        if path == "/robots.txt":
            self.send(b"User-agent: *\nDisallow: /site/private/\nDisallow: /slow/site/private/\n", "text/plain")
        elif path == "/":
            self.send(b"<html>home</html>", "text/html", headers={"Set-Cookie": "BAIDUID=ok; Path=/"})
        elif path in ("/search/acjson", "/blockall/acjson"):
            self.acjson(qs, blocked=path.startswith("/blockall") or "BAIDUID=ok" not in self.headers.get("Cookie", ""))
        elif "/site/" in path:
            self.site_page(path)
        else:
            self.send(b"not found", "text/plain", 404)

    def acjson(self, qs: dict[str, str], blocked: bool) -> None:
        if blocked:
            self.send(b'{"antiFlag":1,"message":"Forbid spider access"}', "application/json")
            return
        word, pn, rn = qs["word"], int(qs["pn"]), int(qs["rn"])
        assert qs["tn"] == "resultjson_com" and qs["ipn"] == "rj" and qs["gsm"] == format(pn, "x")
        start = pn if pn < CORPUS else max(0, CORPUS - rn)
        items = []
        for i in range(start, min(start + rn, CORPUS)):
            url = image_url(self.server.server_port, word, i)
            item = {"objURL": encode_objurl(url), "fromURL": encode_objurl(f"http://127.0.0.1:1/page/{i}.html"),
                    "fromPageTitle": f"<strong>{word}</strong>图片{i}", "fromPageTitleEnc": f"{word}图片{i}",
                    "width": 300 + i, "height": 200}
            if i % 2:
                item["replaceUrl"] = [{"ObjUrl": url, "FromUrl": "http://127.0.0.1:1/x.html"}]
            items.append(item)
        body = json.dumps({"data": [*items, {}]}, ensure_ascii=False).replace("/", "\\/").replace("图片", "图\\'片")
        self.send(body.encode("utf-8"), "text/html; charset=utf-8")

    def site_page(self, path: str) -> None:
        prefix = path.split("/site/")[0] + "/site/"
        name = path.rsplit("/", 1)[1]
        if "/private/" in path:
            self.send('<img src="/secret.jpg" alt="不该出现">'.encode(), "text/html; charset=utf-8")
            return
        if not name.startswith("p") or not name.endswith(".html") or not name[1:-5].isdigit():
            self.send(b"not found", "text/plain", 404)
            return
        i = int(name[1:-5])
        links = "".join(f'<a href="{prefix}p{j}.html">{j}</a>' for j in (2 * i + 1, 2 * i + 2) if j < PAGES)
        imgs = "".join(f'<img src="/img/{i}_{j}.jpg" alt="第{i}页图{j}">' for j in range(3))
        html = f'<html><body>{links}<a href="{prefix}private/s.html">私</a>{imgs}</body></html>'
        self.send(html.encode("gbk"), "text/html; charset=gbk")


class LocalWeb(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a crawler killed mid-response leaves broken pipes: expected here

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.log: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@pytest.fixture(scope="module")
def web() -> Iterator[LocalWeb]:
    server = LocalWeb()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WUKONG_LOOPBACK_ONLY", "1")


def wukong(*args: str, timeout: float = 50) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wukong.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, check=False)


def read_out(out: Path, spider: str) -> pa.Table:
    parts = sorted(out.glob(f"part-{spider}-*.parquet"))
    tables = [pq.read_table(p) for p in parts]
    assert all(t.schema.equals(CANDIDATE) for t in tables)
    return pa.concat_tables(tables) if tables else CANDIDATE.empty_table()


def stats(out: Path, spider: str) -> dict:
    return json.loads((out / f"crawl_stats-{spider}.json").read_text(encoding="utf-8"))


DEMO = ["--config", "configs/demo.yaml"]


def test_search_partitions_antiflag_and_resume(web: LocalWeb, tmp_path: Path) -> None:
    words = ["猫", "红烧肉", "长城", "熊猫", "西湖"]
    queries = tmp_path / "q.txt"
    queries.write_text("\n".join([*words, "", "猫"]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["crawl", "--spider", "search", "--queries", str(queries), "--endpoint", f"{web.base}/search/acjson",
            "--max-per-query", "40", "--partitions", "2", "--set", "crawl.page_size=30",
            "--set", "crawl.rows_per_part=25", *DEMO, "--out", str(out)]
    done = wukong(*args)
    assert done.returncode == 0, done.stderr
    assert "crawl search: 5 queries" in done.stdout and "200 pairs" in done.stdout
    table = read_out(out, "search")
    assert table.num_rows == 200
    per_query = Counter(table.column("query").to_pylist())
    assert per_query == dict.fromkeys(words, 40)
    expected = {(w, image_url(web.server_port, w, i)) for w in words for i in range(40)}
    assert set(zip(table.column("query").to_pylist(), table.column("url").to_pylist(), strict=True)) == expected
    row = table.filter(pc.equal(table.column("url"), image_url(web.server_port, "猫", 2))).to_pylist()[0]
    assert row["caption"] == "猫图'片2" and row["caption_source"] == "api" and row["source"] == "search"
    assert row["page_url"] == "http://127.0.0.1:1/page/2.html" and (row["width_hint"], row["height_hint"]) == (302, 200)
    s = stats(out, "search")
    assert s["pairs"] == 200 and s["queries_done"] == 5 and s["errors"] == {}
    assert s["blocked"] >= 1 and s["blocked_gave_up"] == 0  # each process starts without cookies
    assert s["counters"]["wukong/warmups"] == 2  # one per process: pages blocked meanwhile wait for it
    assert s["counters"].get("wukong/refused_non_loopback", 0) == 0
    assert sorted(p.name for p in (out / "_jobs").iterdir()) == ["search-p000", "search-p001"]
    names = sorted(p.name for p in out.glob("part-search-*.parquet"))
    assert len(names) == len(set(names)) >= 8  # 25 rows per part, two processes, no collision
    assert not list(out.glob(".*.tmp"))
    # a re-run finds every query done: nothing to crawl, nothing written
    again = wukong(*args)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert sorted(p.name for p in out.glob("part-search-*.parquet")) == names


def test_search_gives_up_when_always_blocked(web: LocalWeb, tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("猫\n狗\n", encoding="utf-8")
    out = tmp_path / "out"
    done = wukong("crawl", "--spider", "search", "--queries", str(queries), "--endpoint",
                  f"{web.base}/blockall/acjson", "--set", "crawl.max_blocked_retries=2", *DEMO, "--out", str(out))
    assert done.returncode == 0, done.stderr
    s = stats(out, "search")
    assert (s["blocked"], s["blocked_gave_up"], s["pairs"], s["queries_done"]) == (6, 2, 0, 0)
    assert not list((out / "_jobs" / "search-p000").glob("journal.jsonl")) or \
        (out / "_jobs" / "search-p000" / "journal.jsonl").read_text() == ""


def site_truth(port: int) -> set[tuple[str, str, str]]:
    return {(f"http://127.0.0.1:{port}/img/{i}_{j}.jpg", f"第{i}页图{j}", "alt") for i in range(PAGES)
            for j in range(3)}


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT to its default in the command about to start. A suite launched in the background by a
    non-interactive shell (`cmd &`, nohup) inherits SIGINT ignored, and a command started that way
    rightly ignores Ctrl-C (Python then installs no KeyboardInterrupt handler): the Ctrl-C step
    below would see the crawl run to its end (exit 0, not 130), as it did in such a run."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_slow_site(web: LocalWeb, out: Path, parts: int = 2) -> tuple[subprocess.Popen[str], list[str], int]:
    """Starts a slow site crawl; returns once it has committed `parts` new parts, with the child's pid."""
    args = ["crawl", "--spider", "site", "--start-url", f"{web.base}/slow/site/p0.html", *DEMO, "--set",
            "crawl.rows_per_part=6", "--set", "crawl.concurrent_requests_per_host=1", "--out", str(out)]
    before = len(list(out.glob("part-site-*.parquet")))
    lock = out / "_jobs" / "site" / "lock"
    old_pid = lock.read_text().strip() if lock.exists() else ""
    proc = subprocess.Popen([sys.executable, "-m", "wukong.cli", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        pid = lock.read_text().strip() if lock.exists() else ""
        if pid and pid != old_pid and len(list(out.glob("part-site-*.parquet"))) >= before + parts:
            return proc, args, int(pid)
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the crawl did not get going")


def _journaled_paths(out: Path) -> set[str]:
    return {urlsplit(c.key).path for c in read_journal(out / "_jobs" / "site" / JOURNAL_NAME)}


def _job(out: Path) -> tuple[dict, str]:
    return (json.loads((out / "_jobs" / "site" / "stats.json").read_text()),
            (out / "_jobs" / "site" / "crawl.log").read_text(encoding="utf-8"))


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail("the crawler child outlived its parent")


def test_site_crawl_survives_ctrl_c_sigkill_and_a_dead_parent(web: LocalWeb, tmp_path: Path) -> None:
    """Four runs over one --out: Ctrl-C, kill -9 of the crawler, kill -9 of `wukong crawl`, then to the end.

    After each interruption, the pages already journaled are never downloaded again, parts already
    written stay as they are, and the final parts hold every pair (a pair repeats only when its
    page was in flight at an interruption: at-least-once).
    """
    out = tmp_path / "out"
    runs: list[tuple[set[str], int]] = []  # (pages journaled before the run, server log position)

    def begin() -> None:
        runs.append((_journaled_paths(out), len(web.log)))

    # 1. Ctrl-C: the parent forwards one SIGINT, the crawler stops cleanly (parts and journal flushed)
    begin()
    proc, args, _ = _start_slow_site(web, out)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "run the same command again to resume" in err
    job, log = _job(out)
    assert job["finish_reason"] == "shutdown" and "unclean shutdown" not in log
    # 2. kill -9 of the crawler process: the parent reports it, what was committed stays
    begin()
    proc, args, child = _start_slow_site(web, out)
    os.kill(child, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "crawler process site failed" in err
    # 3. kill -9 of `wukong crawl`: its child is told once, and stops gracefully
    begin()
    proc, args, child = _start_slow_site(web, out)
    proc.kill()
    proc.communicate(timeout=30)
    _wait_gone(child)
    job, log = _job(out)
    assert "unclean shutdown" not in log
    # Told to stop, it shuts down; unless its last pages were already in flight when the parent died
    # and it finished the site first (seen under load): then every page is journaled.
    assert job["finish_reason"] == "shutdown" or (job["finish_reason"] == "finished"
                                                  and len(_journaled_paths(out)) == PAGES), job["finish_reason"]
    written = {p.name: p.read_bytes() for p in out.glob("part-site-*.parquet")}
    # On a quiet machine the three interrupted runs may already have written every pair; the run
    # below must then download no journaled page again and change no written part (checked below).
    # 4. to the end
    begin()
    resumed = wukong(*args)
    assert resumed.returncode == 0, resumed.stderr
    for k, (journaled, start) in enumerate(runs):
        end = runs[k + 1][1] if k + 1 < len(runs) else len(web.log)
        assert journaled.isdisjoint(web.log[start:end]), f"run {k + 1} downloaded a finished page again"
    assert len(runs[-1][0]) > len(runs[1][0]) > 0
    for name, data in written.items():
        assert (out / name).read_bytes() == data
    table = read_out(out, "site")
    got = Counter(zip(table.column("url").to_pylist(), table.column("caption").to_pylist(),
                      table.column("caption_source").to_pylist(), strict=True))
    truth = site_truth(web.server_port)
    assert set(got) == truth, f"missing {sorted(truth - set(got))[:5]}, extra {sorted(set(got) - truth)[:5]}"
    assert max(got.values()) <= len(runs)  # at most once per run
    assert set(table.column("page_url").to_pylist()) == {f"{web.base}/slow/site/p{i}.html" for i in range(PAGES)}
    s = stats(out, "site")
    assert s["skipped_done"] >= len(runs[-1][0]) and s["robots_forbidden"] >= 1
    assert not [p for p in web.log if "/private/" in p]  # robots.txt obeyed, never fetched
