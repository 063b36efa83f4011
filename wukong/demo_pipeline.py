"""`make demo`: the whole pipeline on the bundled offline demo web.

Starts `wukong demo-web` on a free loopback port, crawls it with both spiders, filters, shards and
reports, then stops the server it started (by its PID). Every step is the same `wukong` command a
user would type, so the demo exercises exactly the public CLI.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from manifests.layout import DataDir

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"


def _wukong(*args: str) -> None:
    cmd = [sys.executable, "-m", "wukong.cli", *args]
    print("$ wukong " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default="data/demo", help="where the demo's stages go (default data/demo)")
    parser.add_argument("--pairs", type=int, default=3000, help="size of the generated demo web")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="delete the data dir first")
    args = parser.parse_args(argv)
    data = DataDir(Path(args.data_dir))
    if args.fresh and data.root.exists():
        shutil.rmtree(data.root)
    data.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    from wukong.demoweb.generator import build_web
    from wukong.demoweb.process import spawn_demo_web

    queries = data.root / "queries.txt"
    queries.write_text("\n".join(build_web(args.pairs, args.seed).query_words) + "\n", encoding="utf-8")
    server = spawn_demo_web(args.pairs, args.seed, ground_truth=data.root / "ground_truth.parquet", planned=True)
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
