"""`make demo`: the whole pipeline on the bundled offline demo web.

Starts `wukong demo-web` on a loopback port, crawls it with both spiders, filters, shards and
reports, then stops the server it started (by its PID). Every step is the same `wukong` command a
user would type, so the demo exercises exactly the public CLI.

A demo run is a showcase, not an incremental crawl: each run starts its data folder afresh, so
`make demo` twice gives the same funnel and a byte-identical release. Resuming would mix in the
earlier run's candidates, whose URLs point at the earlier demo web. The folder is only deleted
when an earlier demo wrote it (its `.wukong-demo` marker); any other non-empty folder is refused.
The demo web listens on a fixed port (`--port`, default 18765) because image URLs, and the keys
hashed from them, contain the port; when that port is taken it falls back to a free one (and says
that the release then differs from one made on the usual port).
"""

from __future__ import annotations

import argparse
import errno
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from manifests.layout import DataDir

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
DEMO_PORT = 18765  # below Linux's ephemeral range (32768+), so client sockets never hold it
MARKER = ".wukong-demo"
# What an earlier demo left before the marker existed: enough to recognise its folder.
_LEGACY_MARKERS = ("ground_truth.parquet", "queries.txt")


class DemoError(Exception):
    """A one-line reason the demo cannot run (exit 2)."""


def _wukong(*args: str) -> None:
    cmd = [sys.executable, "-m", "wukong.cli", *args]
    print("$ wukong " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def start_afresh(root: Path) -> None:
    """Empties `root` for a new demo run: deletes it when an earlier demo made it, refuses other files."""
    if root.exists() and not root.is_dir():
        raise DemoError(f"{root} is not a directory")
    if root.is_dir() and any(root.iterdir()):
        made_by_demo = (root / MARKER).is_file() or all((root / name).is_file() for name in _LEGACY_MARKERS)
        if not made_by_demo:
            raise DemoError(f"{root} holds files that no demo run wrote (no {MARKER}); the demo starts its "
                            "folder afresh, so give it an empty or new --data-dir")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("written by `make demo` (python -m wukong.demo_pipeline): every run deletes "
                               "this folder and starts afresh\n", encoding="utf-8")


def port_is_free(port: int) -> bool:
    """Whether the demo web could listen on 127.0.0.1:`port` now (bound as the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data/demo", help="where the demo's stages go (default data/demo); "
                        "deleted and written anew on every run")
    parser.add_argument("--pairs", type=int, default=3000, help="size of the generated demo web (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="the demo web's seed (default 7)")
    parser.add_argument("--port", type=int, default=DEMO_PORT,
                        help=f"the demo web's port on 127.0.0.1 (default {DEMO_PORT}; a free one when it is taken)")
    args = parser.parse_args(argv)
    data = DataDir(Path(args.data_dir))
    try:
        start_afresh(data.root)
    except DemoError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    from wukong.demoweb.generator import build_web
    from wukong.demoweb.process import spawn_demo_web

    queries = data.root / "queries.txt"
    queries.write_text("\n".join(build_web(args.pairs, args.seed).query_words) + "\n", encoding="utf-8")
    port = args.port
    if port and not port_is_free(port):
        print(f"demo: port {port} is taken, the demo web uses a free one: the release's URLs and keys differ "
              f"from a run on port {port}", flush=True)
        port = 0
    server = spawn_demo_web(args.pairs, args.seed, port=port, ground_truth=data.root / "ground_truth.parquet",
                            planned=True, prerender=True)
    base = server.base_url
    try:
        cfg = str(DEMO_CONFIG)
        _wukong("crawl", "--spider", "site", "--start-url", f"{base}/", "--config", cfg,
                "--out", str(data.candidates))
        _wukong("crawl", "--spider", "search", "--queries", str(queries), "--endpoint", f"{base}/search/acjson",
                "--config", cfg, "--out", str(data.candidates))
        _wukong("filter", "--in", str(data.candidates), "--out", str(data.filtered), "--config", cfg)
        _wukong("shard", "--in", str(data.filtered), "--out", str(data.release), "--config", cfg)
        _wukong("report", "--data-dir", str(data.root))
    except subprocess.CalledProcessError as exc:
        print(f"demo: step failed with exit code {exc.returncode}", file=sys.stderr)
        return exc.returncode or 1
    finally:
        server.stop()
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s")
    print(f"  release: {data.release}  (verify with: wukong verify {data.release})")
    print(f"  report:  {data.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
