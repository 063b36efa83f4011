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
