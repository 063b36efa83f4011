"""Synthetic kept data for tests and benchmarks: real images (Pillow), Chinese captions, URL-derived keys.

Writes what the filter stage writes (`kept/part-NNNNN.parquet` in SAMPLE schema, `stats.json`) so
the release stage can be exercised before, and independently of, the filter stage.
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
from PIL import Image, ImageDraw

from manifests.keys import key_for_url, normalize_url
from manifests.layout import FilteredDir, part_name
from manifests.parquet_io import write_json_atomic, write_parquet_atomic
from manifests.schemas import SAMPLE

WORDS = ("蒜薹", "炒肉", "盖饭", "秒切", "肉馅", "西湖", "断桥", "雪景", "熊猫", "宝宝", "手机壳", "北京", "故宫",
         "红烧", "茄子", "春天", "樱花", "小猫", "咖啡", "拿铁", "长城", "日落", "水墨画", "山水", "旗袍", "iphone")
FORMATS = (("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp"),
           ("GIF", "image/gif", "gif"), ("BMP", "image/bmp", "bmp"))


def make_image(rng: random.Random, fmt: str, size: tuple[int, int], noise: bool = False) -> bytes:
    """A real, decodable image: coloured shapes (small files) or noise (incompressible, benchmark-sized)."""
    if noise:
        img = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
            draw.rectangle((x0, y0, x0 + rng.randrange(10, 90), y0 + rng.randrange(10, 90)),
                           fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def make_caption(rng: random.Random) -> str:
    caption = "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
    extra = rng.random()
    if extra < 0.1:
        caption += ',"特价"'  # a comma and quotes: CSV quoting must survive
    elif extra < 0.15:
        caption += " 2023款"
    return caption


def make_rows(n: int, base_url: str, seed: int = 0, noise: bool = False,
              size: tuple[int, int] = (240, 200), distinct_images: int | None = None) -> list[dict[str, Any]]:
    """`n` kept rows whose images would be served at `{base_url}/{i}.{ext}`.

    `distinct_images` reuses that many images across the rows (benchmarks: fewer encodes).
    """
    rng = random.Random(seed)
    cache: dict[int, tuple[bytes, str, str]] = {}
    rows = []
    for i in range(n):
        slot = i % distinct_images if distinct_images else i
        if slot not in cache:
            fmt, mime, ext = FORMATS[slot % len(FORMATS)] if not noise else FORMATS[0]
            w, h = size[0] + rng.randrange(0, 60), size[1] + rng.randrange(0, 60)
            cache[slot] = (make_image(rng, fmt, (w, h), noise), mime, ext)
            if not distinct_images:
                cache = {slot: cache[slot]}
        data, mime, ext = cache[slot]
        url = f"{base_url}/{i}.{ext}"
        caption = make_caption(rng)
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
        rows.append({
            "key": key_for_url(normalize_url(url) or url), "url": url, "caption": caption,
            "caption_raw": f"  {caption} ", "page_url": f"{base_url}/page/{i // 10}.html",
            "query": rng.choice(WORDS), "source": rng.choice(("search", "site")),
            "width": width, "height": height, "sha256": hashlib.sha256(data).hexdigest(),
            "phash": hashlib.blake2b(data, digest_size=8).hexdigest(), "image": data, "mime": mime,
        })
    return rows


def write_filtered(rows: list[dict[str, Any]], root: Path, parts: int = 3, seed: int = 0,
                   rejected: dict[str, int] | None = None) -> FilteredDir:
    """Writes `rows` as `parts` kept parts (shuffled with `seed`) plus a balanced stats.json."""
    fd = FilteredDir(Path(root))
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    for p in range(parts):
        chunk = shuffled[p::parts]
        write_parquet_atomic(pa.Table.from_pylist(chunk, schema=SAMPLE), fd.kept / part_name(p))
    rejected = rejected if rejected is not None else {"too_small": 7, "frequent_caption": 3, "http_404": 2}
    write_json_atomic({"input": len(rows) + sum(rejected.values()), "kept": len(rows), "rejected": rejected},
                      fd.stats)
    return fd


class LoopbackImageServer:
    """An aiohttp server on 127.0.0.1 in a background thread, serving registered paths (others: 404).

        with LoopbackImageServer() as server:
            rows = make_rows(20, server.base_url + "/img")
            server.serve_rows(rows[:15])
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.requests = 0
        self.base_url = ""
        self._loop: Any = None
        self._runner: Any = None
        self._thread: Any = None

    def serve_rows(self, rows: list[dict[str, Any]]) -> None:
        from urllib.parse import urlsplit

        for row in rows:
            self.routes[urlsplit(row["url"]).path] = (row["image"], row["mime"])

    def __enter__(self) -> LoopbackImageServer:
        import asyncio
        import threading

        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            self.requests += 1
            hit = self.routes.get(request.path)
            if hit is None:
                return web.Response(status=404, text="not found")
            return web.Response(body=hit[0], content_type=hit[1])

        started = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_get("/{tail:.*}", handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
            self._loop.run_until_complete(site.start())
            port = self._runner.addresses[0][1]
            self.base_url = f"http://127.0.0.1:{port}"
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="loopback-image-server", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the loopback image server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
