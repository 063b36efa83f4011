"""`make demo`: the whole pipeline on the bundled offline demo web.

Starts `wukong demo-web` on a free loopback port, crawls it with both spiders, filters, shards and
reports, then stops the server it started (by its PID). Every step is the same `wukong` command a
user would type, so the demo exercises exactly the public CLI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
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


def start_demo_web(pairs: int, seed: int, ground_truth: Path) -> tuple[subprocess.Popen[str], str]:
    """Starts the demo web in a child process; returns it and its base URL (read from its first line)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wukong.cli", "demo-web", "--port", "0", "--pairs", str(pairs), "--seed", str(seed),
         "--ground-truth", str(ground_truth)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "http://127.0.0.1:" in line:
            return proc, line.strip().split()[-1].rstrip("/")
    proc.kill()
    raise RuntimeError("the demo web did not start")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


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
    proc, base = start_demo_web(args.pairs, args.seed, data.root / "ground_truth.parquet")
    try:
        from wukong.demoweb.generator import build_web

        queries = data.root / "queries.txt"
        queries.write_text("\n".join(build_web(args.pairs, args.seed).query_words) + "\n", encoding="utf-8")
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
        stop(proc)
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s")
    print(f"  release: {data.release}  (verify with: wukong verify {data.release})")
    print(f"  report:  {data.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
