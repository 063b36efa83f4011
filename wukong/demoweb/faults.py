"""Fault routes `/fault/<kind>[.<ext>]` for reliability tests. Not linked from any page.

Each kind is one misbehaviour of the web (see FAULTS). Every handler is bounded in time and size:
the drip stops after at most 6 bytes (5 s), stalls after at most 10 s, oversized bodies at 64 MiB.
Transient kinds (429, 503, 500, reset) take `?times=N&id=X`: the first N requests with id X fail,
later ones get a valid JPEG; without `times` they always fail.
"""

from __future__ import annotations

import asyncio
import functools
import io
import socket
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import numpy as np
from aiohttp import web
from PIL import Image

from wukong.demoweb import pictures
from wukong.demoweb.images import HOTLINK_HTML

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_DRIP_BYTES = 6
MAX_STALL_S = 10.0
MAX_OVERSIZE = 64 * 1024 * 1024
DEFAULT_OVERSIZE = 21_000_000      # over the 20 MB default download cap
HUGE_LENGTH = 2 * 1024 ** 3        # declared, never sent
BOMB_SIDE = 30_000
PRIVATE_TARGET = "http://10.0.0.1/x.jpg"


@functools.cache
def _picture(width: int, height: int, which: int = 0) -> Image.Image:
    code = int(pictures.codewords(4, 424242)[which])
    style = 1000 + which
    return pictures.colourise(pictures.render_luma(code, style, width, height), pictures.ramp(style), "RGB")


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


@functools.cache
def ok_jpeg() -> bytes:
    return _save(_picture(400, 300), "JPEG", quality=88)


@functools.cache
def png_bytes() -> bytes:
    return _save(_picture(400, 300, 1), "PNG")


@functools.cache
def bomb_png() -> bytes:
    """A real, complete PNG of 30000x30000 1-bit pixels (all zero): about 110 KB compressed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 1, 0, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (BOMB_SIDE + 7) // 8)  # filter byte + 30000 bits
    block = row * 1000
    idat = b"".join(comp.compress(block) for _ in range(BOMB_SIDE // 1000)) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@functools.cache
def animated_gif() -> bytes:
    frames = [_picture(320, 240, k % 4).convert("P", palette=Image.Palette.ADAPTIVE) for k in range(3)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)


@functools.cache
def cmyk_jpeg() -> bytes:
    return _save(_picture(400, 300, 2).convert("CMYK"), "JPEG", quality=85)


@functools.cache
def png16() -> bytes:
    grey = np.asarray(_picture(400, 300, 3).convert("L"), dtype=np.uint16) * 257
    return _save(Image.fromarray(grey), "PNG")  # a uint16 array becomes a 16-bit greyscale PNG


@functools.cache
def exif_rotated_jpeg() -> bytes:
    """Stored 600x300 with EXIF orientation 6: displayed (and measured) 300x600."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(_picture(600, 300), "JPEG", quality=85, exif=exif.tobytes())


SVG = (b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"300\">"
       b"<rect width=\"400\" height=\"300\" fill=\"#c33\"/>"
       b"<circle cx=\"200\" cy=\"150\" r=\"80\" fill=\"#fc0\"/></svg>")


class _Counter:
    """Requests seen per (kind, id), bounded: the oldest ids are forgotten first."""

    def __init__(self, limit: int = 4096) -> None:
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def hit(self, kind: str, ident: str) -> int:
        with self._lock:
            n = self._seen.pop((kind, ident), 0) + 1
            self._seen[(kind, ident)] = n
            while len(self._seen) > self._limit:
                self._seen.popitem(last=False)
            return n


_COUNTER = _Counter()


def _transient_ok(request: web.Request, kind: str) -> bool:
    """True when a `times`-limited fault has already failed often enough for this id."""
    times = request.query.get("times")
    if times is None:
        return False
    return _COUNTER.hit(kind, request.query.get("id", "")) > _int(times, 1, 0, 1000)


def _int(text: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(text), lo), hi) if text is not None else default
    except ValueError:
        return default


def _image(data: bytes, ctype: str = "image/jpeg") -> web.Response:
    return web.Response(body=data, headers={"Content-Type": ctype})


def _abort(request: web.Request) -> None:
    """Closes the connection with a TCP RST (SO_LINGER 0), as a crashed server or proxy does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


async def _reset(request: web.Request) -> web.StreamResponse:
    if _transient_ok(request, "reset"):
        return _image(ok_jpeg())
    data = ok_jpeg()
    resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
    resp.content_length = len(data)
    await resp.prepare(request)
    await resp.write(data[: len(data) // 3])
    await asyncio.sleep(0.05)
    _abort(request)
    return resp


async def _drip(request: web.Request) -> web.StreamResponse:
    n = _int(request.query.get("n"), 5, 1, MAX_DRIP_BYTES)
    data = ok_jpeg()[:n]
    resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
    resp.content_length = n
    await resp.prepare(request)
    try:
        for k in range(n):
            if k:
                await asyncio.sleep(1.0)
            await resp.write(data[k:k + 1])
    except ConnectionResetError:  # the client gave up (its timeout): nothing left to do
        pass
    return resp


def _status(status: int, kind: str, retry_after: str | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if _transient_ok(request, kind):
            return _image(ok_jpeg())
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return web.Response(status=status, body=f"<html><body><h1>{status}</h1></body></html>".encode(),
                            headers=headers)
    return handler


def _redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})
    return handler


async def _huge_length(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
    resp.content_length = HUGE_LENGTH
    await resp.prepare(request)
    await resp.write(ok_jpeg()[:1024])
    await asyncio.sleep(0.05)
    _abort(request)
    return resp


async def _chunked(request: web.Request) -> web.StreamResponse:
    data = ok_jpeg()
    resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    step = len(data) // 3 + 1
    for k in range(0, len(data), step):
        await resp.write(data[k:k + step])
    await resp.write_eof()
    return resp


def _oversize(declare_length: bool) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        total = _int(request.query.get("bytes"), DEFAULT_OVERSIZE, 1, MAX_OVERSIZE)
        head = ok_jpeg()
        block = (head * (1_048_576 // len(head) + 1))[:1_048_576]
        resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        if declare_length:
            resp.content_length = total
        else:
            resp.enable_chunked_encoding()
        await resp.prepare(request)
        sent = 0
        try:
            while sent < total:
                piece = block[: min(len(block), total - sent)]
                await resp.write(piece)
                sent += len(piece)
            await resp.write_eof()
        except ConnectionResetError:  # the client stopped at its byte cap
            pass
        return resp
    return handler


async def _stall(request: web.Request) -> web.StreamResponse:
    try:
        seconds = min(max(float(request.query.get("s", "3")), 0.0), MAX_STALL_S)
    except ValueError:
        seconds = 3.0
    await asyncio.sleep(seconds)
    return _image(ok_jpeg())


def _static(data: Callable[[], bytes] | bytes, ctype: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = data() if callable(data) else data
        return _image(body, ctype)
    return handler


async def _truncated(request: web.Request) -> web.StreamResponse:
    data = ok_jpeg()
    return _image(data[: len(data) * 6 // 10])


# kind -> (handler, what it does). Tests and docs read the descriptions.
FAULTS: dict[str, tuple[Handler, str]] = {
    "ok": (_static(ok_jpeg, "image/jpeg"), "a valid 400x300 JPEG (control)"),
    "reset": (_reset, "headers and a third of the body, then a TCP reset"),
    "drip": (_drip, "one byte per second, ?n= bytes (default 5, at most 6), Content-Length n"),
    "stall": (_stall, "waits ?s= seconds (default 3, at most 10) before answering"),
    "429": (_status(429, "429", "1"), "429 Too Many Requests with Retry-After: 1"),
    "503": (_status(503, "503"), "503 Service Unavailable"),
    "500": (_status(500, "500"), "500 Internal Server Error"),
    "404": (_status(404, "404"), "404 Not Found"),
    "redirect": (_redirect("/fault/ok.jpg"), "302 to a valid image"),
    "redirect-loop": (_redirect("/fault/redirect-loop-b"), "302 to redirect-loop-b, which redirects back"),
    "redirect-loop-b": (_redirect("/fault/redirect-loop"), "302 back to redirect-loop"),
    "redirect-private": (_redirect(PRIVATE_TARGET), f"302 to {PRIVATE_TARGET}"),
    "huge-length": (_huge_length, "declares Content-Length 2 GiB, sends 1 KiB, resets"),
    "chunked": (_chunked, "a valid JPEG with chunked transfer encoding, no Content-Length"),
    "oversize": (_oversize(True), "?bytes= (default 21,000,000) body with Content-Length"),
    "oversize-chunked": (_oversize(False), "?bytes= (default 21,000,000) body, chunked, no Content-Length"),
    "bomb": (_static(bomb_png, "image/png"), "a complete PNG declaring 30000x30000 pixels (about 110 KB)"),
    "animated-gif": (_static(animated_gif, "image/gif"), "a 3-frame animated GIF, 320x240"),
    "cmyk-jpeg": (_static(cmyk_jpeg, "image/jpeg"), "a CMYK JPEG, 400x300"),
    "png16": (_static(png16, "image/png"), "a 16-bit greyscale PNG, 400x300"),
    "exif-rotated": (_static(exif_rotated_jpeg, "image/jpeg"), "JPEG stored 600x300 with EXIF orientation 6"),
    "svg": (_static(SVG, "image/svg+xml"), "an SVG document"),
    "png-as-jpg": (_static(png_bytes, "image/jpeg"), "PNG bytes served as image/jpeg (use the .jpg URL)"),
    "html-as-jpeg": (_static(HOTLINK_HTML, "image/jpeg"), "an HTML page served as image/jpeg"),
    "truncated-jpeg": (_truncated, "the first 60% of a JPEG"),
    "empty": (_static(b"", "image/jpeg"), "status 200, empty body"),
}


async def handle(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["name"].split(".", 1)[0]
    entry = FAULTS.get(kind)
    if entry is None:
        raise web.HTTPNotFound(text=f"unknown fault kind {kind!r}; known: {', '.join(FAULTS)}")
    return await entry[0](request)
