"""A static loopback mirror of demo-web URLs for throughput benchmarks.

The demo web renders images with Pillow on request; at 20,000+ images its cache cannot hold them and
the server, not the pipelines under test, becomes the bottleneck. `snapshot()` fetches every URL
once (status, Content-Type and body recorded as they are, errors included); `python -m
bench.static_mirror SNAPSHOT` then serves those exact answers from memory on 127.0.0.1 in its own
process, so both sides of a head-to-head pay the same small server cost. `demo_mirror()` does all of
it for a benchmark: the demo web's crawlable pairs, their URLs pointing at the mirror, and the mirror.

The server is a bare asyncio protocol (HTTP/1.1 GET, keep-alive unless the client says close) that
writes each answer's bytes, built once: a real image host is another machine, so the server's CPU is
not part of what a benchmark measures, and on these two cores it is taken from both sides alike.
aiohttp's web server cost 86 µs of CPU per keep-alive request (this one 41), 5-5.6 CPU-s of a
49,000-pair filter + shard run (this one about 2.5).
"""

from __future__ import annotations

import asyncio
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp
import pyarrow as pa
import pyarrow.compute as pc

READY = "serving mirror on "


async def _fetch_all(urls: list[str], concurrency: int) -> dict[str, tuple[int, str, bytes]]:
    out: dict[str, tuple[int, str, bytes]] = {}
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:

        async def one(url: str) -> None:
            async with gate:
                try:
                    async with session.get(url, allow_redirects=False) as resp:
                        body = await resp.read()
                        out[urlsplit(url).path] = (resp.status, resp.headers.get("Content-Type", ""), body)
                except (aiohttp.ClientError, TimeoutError):
                    out[urlsplit(url).path] = (599, "text/plain", b"")

        await asyncio.gather(*(one(u) for u in urls))
    return out


def snapshot(urls: list[str], path: Path, concurrency: int = 32) -> int:
    """Fetches each distinct URL once (loopback only) and pickles {path: (status, type, body)}."""
    for url in urls:
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the mirror only snapshots loopback URLs, got {url}")
    data = asyncio.run(_fetch_all(sorted(set(urls)), concurrency))
    path.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    return len(data)


def _answer(status: int, ctype: str, body: bytes) -> bytes:
    """The whole HTTP/1.1 response: status line, the recorded Content-Type (none when none was recorded),
    Content-Length, body."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    head = f"HTTP/1.1 {status} {phrase}\r\n" + (f"Content-Type: {ctype}\r\n" if ctype else "")
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


class _MirrorProtocol(asyncio.Protocol):
    """One connection: each GET answered from `answers` by its path, in order; 404 for any other path."""

    def __init__(self, answers: dict[str, bytes], missing: bytes) -> None:
        self.answers, self.missing = answers, missing
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            request_line, _, headers = head.partition(b"\r\n")
            parts = request_line.split(b" ")
            target = parts[1].decode("latin-1") if len(parts) == 3 else ""
            path = unquote(target.split("?", 1)[0])  # what aiohttp's request.path gave: decoded, no query
            self.transport.write(self.answers.get(path, self.missing))
            if parts[-1:] == [b"HTTP/1.0"] or b"connection: close" in headers.lower():
                self.transport.close()
                return
        if len(self.buffer) > 65536:  # no request head is this long
            self.transport.close()


def serve(snapshot_file: Path) -> None:
    data: dict[str, tuple[int, str, bytes]] = pickle.loads(snapshot_file.read_bytes())
    answers = {path: _answer(*answer) for path, answer in data.items()}
    del data
    missing = _answer(404, "text/plain", b"not in mirror")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server = await loop.create_server(lambda: _MirrorProtocol(answers, missing), sock=sock, backlog=1024)
        print(f"{READY}http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        async with server:
            await stop.wait()

    asyncio.run(main())


@dataclass
class Mirror:
    popen: subprocess.Popen[str]
    base_url: str

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def start_mirror(snapshot_file: Path, timeout: float = 60.0) -> Mirror:
    proc = subprocess.Popen([sys.executable, "-m", "bench.static_mirror", str(snapshot_file)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(READY):
            return Mirror(proc, line[len(READY):].strip())
    proc.kill()
    raise RuntimeError("mirror did not start")


# With `jpeg_only`, the web is this much larger than asked, so that its JPEGs (about two thirds of its
# images) still number `pairs`; the first `pairs` of them are kept.
JPEG_ONLY_SCALE = 1.6


def web_pairs(pairs: int, jpeg_only: bool) -> int:
    """The size of the demo web that gives `pairs` rows (`JPEG_ONLY_SCALE` times as large for its JPEGs alone)."""
    return int(pairs * JPEG_ONLY_SCALE) if jpeg_only else pairs


def url_list(base_url: str, pairs: int, seed: int, jpeg_only: bool = False) -> pa.Table:
    """The (url, caption, page_url) rows a crawl of the demo web finds (robots-disallowed pages left out).
    `jpeg_only`: only the rows whose image the demo web serves as a JPEG (an HTTP 200 with a JPEG body,
    truncated ones included), at most `pairs` of them, from a web `JPEG_ONLY_SCALE` times as large."""
    from wukong.demoweb.generator import build_web

    truth = build_web(web_pairs(pairs, jpeg_only), seed).ground_truth(base_url, measure=False)
    truth = truth.filter(pc.invert(truth.column("disallowed")))
    truth = truth.filter(pc.not_equal(truth.column("expected_reason").fill_null("kept"), "not_crawled"))
    if jpeg_only:
        jpeg = pc.and_(pc.equal(truth.column("mime"), "image/jpeg"), pc.equal(truth.column("http_status"), 200))
        truth = truth.filter(jpeg.fill_null(False)).slice(0, pairs)
    return truth.select(["url", "caption", "page_url"])


@contextmanager
def demo_mirror(pairs: int, seed: int, scratch: Path, jpeg_only: bool = False) -> Iterator[tuple[pa.Table, Mirror]]:
    """`url_list` of a `pairs`-pair demo web (`jpeg_only`: its JPEGs alone), snapshotted into `scratch` and
    served by a static mirror until the block ends, with the mirror (its process: its CPU is the
    benchmark's own cost); `url` and `page_url` point at the mirror."""
    from wukong.demoweb.process import spawn_demo_web

    with spawn_demo_web(web_pairs(pairs, jpeg_only), seed) as server:
        demo_base = server.base_url
        urls = url_list(demo_base, pairs, seed, jpeg_only)
        snapshot(urls.column("url").to_pylist(), scratch / "mirror.pickle")
    with start_mirror(scratch / "mirror.pickle") as mirror:
        for name in ("url", "page_url"):
            i = urls.schema.get_field_index(name)
            urls = urls.set_column(i, name, pc.replace_substring(urls.column(i), demo_base, mirror.base_url))
        yield urls, mirror


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
