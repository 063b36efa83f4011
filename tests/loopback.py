"""A loopback aiohttp server in a background thread for tests (binds 127.0.0.1 only, stops itself)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web


@contextmanager
def serve_app(app: web.Application) -> Iterator[str]:
    """Serves `app` on 127.0.0.1:<free port>; yields the base URL (no trailing slash)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


class OnlyLoopbackConnector(aiohttp.TCPConnector):
    """A connector that fails the test if it is ever asked to connect anywhere but 127.0.0.1."""

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        for info in kwargs.get("addr_infos") or []:
            if info[4][0] != "127.0.0.1":
                pytest.fail(f"connection attempted to {info[4][0]}")
        return await super()._wrap_create_connection(*args, **kwargs)
