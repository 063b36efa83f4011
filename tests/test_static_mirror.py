"""The benchmarks' static mirror (bench.static_mirror) answers exactly what its snapshot recorded:
status, Content-Type and body, to a keep-alive client (aiohttp, as the filter fetches) and to a
one-request-per-connection client (urllib, as img2dataset fetches); any other path is a 404."""

from __future__ import annotations

import asyncio
import pickle
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp

from bench.static_mirror import start_mirror

SNAPSHOT = {
    "/img/a.jpg": (200, "image/jpeg", b"\xff\xd8\xff" + bytes(range(256)) * 400),
    "/img/b.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"x" * 10),
    "/page/c.html": (200, "text/html; charset=utf-8", "<p>中文</p>".encode()),
    "/gone.jpg": (404, "text/html", b"gone"),
    "/broken.jpg": (500, "text/plain", b""),
    "/no-type": (200, "", b"?"),
}
MISSING = (404, "text/plain", b"not in mirror")


def urllib_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


async def aiohttp_get_all(base: str, paths: list[str]) -> list[tuple[int, str, bytes, int]]:
    """Every path three times over one keep-alive connection: (status, type, body, length header)."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        out = []
        for path in paths * 3:
            async with session.get(base + path) as resp:
                out.append((resp.status, resp.headers.get("Content-Type", ""), await resp.read(),
                            int(resp.headers["Content-Length"])))
        return out


def test_mirror_answers_what_the_snapshot_recorded(tmp_path: Path) -> None:
    snap = tmp_path / "mirror.pickle"
    snap.write_bytes(pickle.dumps(SNAPSHOT))
    paths = [*SNAPSHOT, "/not/there.jpg"]
    want = [SNAPSHOT.get(p, MISSING) for p in paths]
    with start_mirror(snap) as mirror:
        assert mirror.base_url.startswith("http://127.0.0.1:")
        got = asyncio.run(aiohttp_get_all(mirror.base_url, paths))
        assert [g[:3] for g in got] == want * 3
        assert [g[3] for g in got] == [len(w[2]) for w in want] * 3
        assert [urllib_get(mirror.base_url + p) for p in paths] == want
        assert urllib_get(mirror.base_url + "/img/b.png?size=large") == SNAPSHOT["/img/b.png"]  # the path alone
        popen = mirror.popen
    assert popen.returncode == 0  # SIGTERM ends it cleanly


def served(pairs: int, urls: list[dict[str, str]]) -> set[tuple[str, int]]:
    """(mime, HTTP status) of what a `pairs`-pair demo web serves for each row of `urls`."""
    from wukong.demoweb.generator import build_web

    truth = build_web(pairs, 7).ground_truth("http://127.0.0.1:9", measure=False).to_pylist()
    answers = {(r["url"], r["page_url"]): (r["mime"], r["http_status"]) for r in truth}
    return {answers[(r["url"], r["page_url"])] for r in urls}


def test_jpeg_only_url_list_keeps_the_demo_webs_jpegs_and_as_many_as_asked() -> None:
    from bench.static_mirror import url_list, web_pairs

    jpegs = url_list("http://127.0.0.1:9", 300, 7, jpeg_only=True)
    assert jpegs.num_rows == 300 and jpegs.column_names == ["url", "caption", "page_url"]
    assert served(web_pairs(300, jpeg_only=True), jpegs.to_pylist()) == {("image/jpeg", 200)}
    mixed = served(300, url_list("http://127.0.0.1:9", 300, 7).to_pylist())
    assert ("image/png", 200) in mixed and ("image/webp", 200) in mixed  # the default: the demo web's mix
