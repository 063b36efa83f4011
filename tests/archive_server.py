"""A loopback file server for the web-archive tests: serves a folder with HTTP Range support and logs
every request (path, Range header, status, body bytes), so a test can check that only the selected
bytes were fetched. Faults on demand: the first N requests of a path answer 503 (with Retry-After
0), or a whole-file transfer breaks after some bytes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from loopback import serve_app

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass(slots=True)
class Logged:
    path: str
    range: str | None
    status: int
    sent: int


@dataclass(slots=True)
class ArchiveServer:
    root: Path
    base_url: str = ""
    log: list[Logged] = field(default_factory=list)
    unavailable: dict[str, int] = field(default_factory=dict)  # path -> 503 answers still to give
    break_after: dict[str, int] = field(default_factory=dict)  # path -> bytes after which a transfer breaks
    ignore_range: bool = False
    delay: float = 0.0  # seconds each answer waits: makes concurrency observable
    in_flight: int = 0
    max_in_flight: int = 0

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def ranged(self) -> list[Logged]:
        return [e for e in self.log if e.range is not None]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"]
        path = self.root / rel
        header = request.headers.get("Range")
        if self.unavailable.get(rel, 0) > 0:
            self.unavailable[rel] -= 1
            self.log.append(Logged(rel, header, 503, 0))
            return web.Response(status=503, headers={"Retry-After": "0"}, text="SlowDown")
        if not path.is_file():
            self.log.append(Logged(rel, header, 404, 0))
            return web.Response(status=404, text="not found")
        data = path.read_bytes()
        match = _RANGE.match(header or "") if not self.ignore_range else None
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            body, status = data[start:end + 1], 206
        else:
            body, status = data, 200
        limit = self.break_after.pop(rel, None)
        if limit is not None:  # a transfer that breaks: headers promise everything, the connection dies early
            response = web.StreamResponse(status=status, headers={"Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(body[:limit])
            self.log.append(Logged(rel, header, status, limit))
            request.transport.close() if request.transport else None
            return response
        self.log.append(Logged(rel, header, status, len(body)))
        return web.Response(status=status, body=body, headers={"Content-Type": "application/octet-stream"})


@contextmanager
def archive_server(root: Path) -> Iterator[ArchiveServer]:
    server = ArchiveServer(root)
    app = web.Application()
    app.router.add_get("/{path:.+}", server.handle)
    with serve_app(app) as base_url:
        server.base_url = base_url
        yield server
