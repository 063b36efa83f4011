"""The bundled demo web: a deterministic, offline Chinese mini-web for `make demo` and the tests.

    from wukong.demoweb import build_web, DemoWebServer
    web = build_web(pairs=3000, seed=7)            # specs only; bytes are rendered on request
    with DemoWebServer(web=web) as server:         # aiohttp on 127.0.0.1, a free port
        truth = web.ground_truth(server.base_url)  # pyarrow.Table, one row per image occurrence

Modules: generator (the plan), captions/vocab (text), pictures/images (image bytes), sites/* (HTML),
search/engines/objurl (search endpoints), faults (fault routes), rules/measure/groundtruth
(expected verdicts), server/process (serving).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wukong.demoweb.generator import build_web
from wukong.demoweb.web import DemoWeb

if TYPE_CHECKING:
    from wukong.demoweb.server import DemoWebServer

__all__ = ["DemoWeb", "DemoWebServer", "build_web"]


def __getattr__(name: str) -> object:
    if name == "DemoWebServer":  # imported lazily: it pulls in aiohttp
        from wukong.demoweb.server import DemoWebServer

        return DemoWebServer
    raise AttributeError(name)
