"""`wukong demo-web`: serve the bundled offline demo web on 127.0.0.1 until SIGINT/SIGTERM.

Prints one line `serving demo web on http://127.0.0.1:PORT/` once it is ready (after writing the
ground-truth files it was asked for, which depend on the port).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from pathlib import Path

from manifests.errors import UserError
from manifests.parquet_io import write_parquet_atomic


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="serve the bundled offline demo web on 127.0.0.1", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1; 0 picks a free one")
    p.add_argument("--pairs", type=int, default=3000, help="about how many image-caption pairs (default 3000)")
    p.add_argument("--seed", type=int, default=7, help="the web is the same for the same --pairs and --seed")
    p.add_argument("--ground-truth", metavar="FILE", help="write the site ground truth (parquet) for this port")
    p.add_argument("--search-ground-truth", metavar="FILE", help="write the search ground truth (parquet)")
    p.add_argument("--planned", action="store_true",
                   help="ground truth from the planned image sizes and hashes instead of rendering every image")
    p.add_argument("--prerender", action="store_true",
                   help="render the images into the cache in a background thread once serving, ahead of their "
                        "requests (a crawl asks for pages first; `make demo` uses it)")
    p.set_defaults(func=run)


def _check_output(path: str | None) -> None:
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise UserError(f"folder for {path} not found: {Path(path).resolve().parent}")


def run(args: argparse.Namespace) -> int:
    from wukong.demoweb.generator import MIN_PAIRS, build_web
    from wukong.demoweb.server import serve

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0..65535, got {args.port}")
    if args.pairs < MIN_PAIRS:
        raise UserError(f"--pairs must be at least {MIN_PAIRS}, got {args.pairs}")
    _check_output(args.ground_truth)
    _check_output(args.search_ground_truth)
    web = build_web(args.pairs, args.seed)
    web.keep_renders_on_disk()

    def ready(base_url: str) -> None:
        if args.ground_truth:
            write_parquet_atomic(web.ground_truth(base_url, measure=not args.planned), args.ground_truth)
        if args.search_ground_truth:
            write_parquet_atomic(web.search_ground_truth(base_url), args.search_ground_truth)
        print(f"serving demo web on {base_url}/", flush=True)
        if args.prerender:  # daemon: ends with the process; the bytes are the same whoever renders them
            threading.Thread(target=web.prerender, name="demo-web-prerender", daemon=True).start()

    try:
        asyncio.run(serve(web, args.port, ready))
    except OSError as exc:
        if exc.errno == 98:  # EADDRINUSE
            raise UserError(f"port {args.port} on 127.0.0.1 is already in use") from None
        raise
    print("demo web stopped", file=sys.stderr)
    return 0
