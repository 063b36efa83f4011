"""The aiohttp server of the demo web, bound to 127.0.0.1 only.

Routes: `/` and `/search/index` (both set the BAIDUID cookie), `/robots.txt`, `/static/*`,
`/news/...`, `/forum/...`, `/gallery/...`, images `/img/<id>.<ext>` and `/forum/img/<id>.<ext>`,
thumbnails `/thumb/<id>.jpg`, search `/search/acjson`, `/search/sogou`, `/search/so360`, faults
`/fault/<kind>`. `DemoWebServer` runs it in a background thread (tests); `serve` runs it in the
foreground until SIGINT/SIGTERM (`wukong demo-web`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

from aiohttp import web

from wukong.demoweb import engines, faults
from wukong.demoweb.model import Response
from wukong.demoweb.seeds import derive
from wukong.demoweb.sites import home
from wukong.demoweb.web import DemoWeb

HOST = "127.0.0.1"
COOKIE = "BAIDUID"
WEB_KEY = web.AppKey("demo_web", DemoWeb)
BASE_KEY = web.AppKey("base_url", str)
POOL_KEY = web.AppKey("render_pool", ThreadPoolExecutor)
log = logging.getLogger(__name__)


def _send(resp: Response | None) -> web.Response:
    if resp is None:
        raise web.HTTPNotFound(text="404 Not Found")
    headers = {"Content-Type": resp.content_type, **dict(resp.headers)}
    return web.Response(status=resp.status, body=resp.body, headers=headers)


def _cookie_value(demo: DemoWeb) -> str:
    return f"{derive(demo.seed, 'baiduid'):016X}{derive(demo.seed, 'baiduid2'):016X}:FG=1"


async def _in_pool(request: web.Request, fn: Callable[[str], Response | None], arg: str) -> Response | None:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[POOL_KEY], fn, arg)


def _with_cookie(resp: web.Response, demo: DemoWeb) -> web.Response:
    """Baidu's session cookie, unquoted as Baidu sends it (`BAIDUID=HEX:FG=1`)."""
    resp.headers.add("Set-Cookie", f"{COOKIE}={_cookie_value(demo)}; max-age=31536000; path=/")
    return resp


async def _home(request: web.Request) -> web.Response:
    return _with_cookie(_send(home.home_page()), request.app[WEB_KEY])


async def _search_index(request: web.Request) -> web.Response:
    return _with_cookie(_send(home.search_index_page()), request.app[WEB_KEY])


async def _robots(request: web.Request) -> web.Response:
    return _send(Response(200, "text/plain; charset=utf-8", home.ROBOTS_TXT))


async def _static(request: web.Request) -> web.Response:
    return _send(home.STATIC.get(request.path))


async def _page(request: web.Request) -> web.Response:
    return _send(request.app[WEB_KEY].page_response(request.path))


async def _image(request: web.Request) -> web.Response:
    return _send(await _in_pool(request, request.app[WEB_KEY].image_response, request.match_info["name"]))


async def _thumb(request: web.Request) -> web.Response:
    return _send(await _in_pool(request, request.app[WEB_KEY].thumbnail_response, request.match_info["name"]))


def _int(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        return default


async def _acjson(request: web.Request) -> web.Response:
    demo = request.app[WEB_KEY]
    if not request.cookies.get(COOKIE):
        body = engines.baidu_text(engines.ANTI_SPIDER)
    else:
        word = request.query.get("word") or request.query.get("queryWord") or ""
        body = engines.acjson(demo, request.app[BASE_KEY], word, _int(request, "pn", 0), _int(request, "rn", 30))
    return web.Response(body=body, headers={"Content-Type": "application/json; charset=utf-8"})


async def _sogou(request: web.Request) -> web.Response:
    body = engines.sogou(request.app[WEB_KEY], request.app[BASE_KEY], request.query.get("query", ""),
                         _int(request, "start", 0), _int(request, "xml_len", 48))
    return web.Response(body=body, headers={"Content-Type": "application/json; charset=utf-8"})


async def _so360(request: web.Request) -> web.Response:
    body = engines.so360(request.app[WEB_KEY], request.app[BASE_KEY], request.query.get("q", ""),
                         _int(request, "sn", 0), _int(request, "pn", 30))
    return web.Response(body=body, headers={"Content-Type": "application/json; charset=utf-8"})


def make_app(demo: DemoWeb, base_url: str, workers: int = 4) -> web.Application:
    """The application; `base_url` is where it is reachable (absolute URLs of the search endpoints)."""
    app = web.Application()
    app[WEB_KEY] = demo
    app[BASE_KEY] = base_url.rstrip("/")
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demoweb-render")
    app[POOL_KEY] = pool

    async def _close_pool(_: web.Application) -> None:
        pool.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(_close_pool)
    app.router.add_get("/", _home)
    app.router.add_get("/robots.txt", _robots)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/img/{name}", _image)
    app.router.add_get("/forum/img/{name}", _image)
    app.router.add_get("/thumb/{name}", _thumb)
    app.router.add_get("/search/index", _search_index)
    app.router.add_get("/search/acjson", _acjson)
    app.router.add_get("/search/sogou", _sogou)
    app.router.add_get("/search/so360", _so360)
    app.router.add_get("/fault/{name}", faults.handle)
    app.router.add_get("/{tail:(?:news|forum|gallery)/.*}", _page)
    return app


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (never another interface); port 0 picks a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(256)
    sock.setblocking(False)
    return sock


async def _start(demo: DemoWeb, sock: socket.socket) -> web.AppRunner:
    port = sock.getsockname()[1]
    runner = web.AppRunner(make_app(demo, f"http://{HOST}:{port}"), handle_signals=False, access_log=None,
                           shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


class DemoWebServer:
    """The demo web served from a background thread on a free loopback port.

        with DemoWebServer(pairs=1500, seed=7) as server:
            requests.get(server.base_url + "/robots.txt")

    `base_url` is `http://127.0.0.1:PORT` (no trailing slash); `web` is the `DemoWeb` served.
    """

    def __init__(self, pairs: int = 3000, seed: int = 7, port: int = 0, web: DemoWeb | None = None) -> None:
        if web is None:
            from wukong.demoweb.generator import build_web

            web = build_web(pairs, seed)
            web.keep_renders_on_disk()
        self.web = web
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> DemoWebServer:
        sock = bind(self._port)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, args=(sock,), name="demo-web", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("demo web did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"demo web failed to start: {self._error}") from self._error
        return self

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            runner = loop.run_until_complete(_start(self.web, sock))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            loop.run_until_complete(self._stop.wait())
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
        self._thread = None

    def __enter__(self) -> DemoWebServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


async def serve(demo: DemoWeb, port: int, on_ready: Callable[[str], None]) -> None:
    """Serves `demo` on 127.0.0.1:`port` until SIGINT or SIGTERM; `on_ready(base_url)` once bound."""
    sock = bind(port)
    runner = await _start(demo, sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        base = f"http://{HOST}:{sock.getsockname()[1]}"
        await loop.run_in_executor(None, on_ready, base)
        await stop.wait()
    finally:
        await runner.cleanup()
