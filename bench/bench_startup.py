"""The fixed costs every command, worker and test pays at start-up, each lever measured side by side.

    python -m bench.bench_startup [--repeats 5] [--no-ray]

Each probe runs in a fresh Python process (so nothing is warm but the OS's file cache), the two sides
of a lever alternating, `repeats` times; the medians of the probe's own CPU seconds (steadier than
wall time on a shared machine) and of its wall seconds are printed as a markdown table:

- jieba's prefix dictionary: jieba's own marshal cache against manifests.jieba_dict's;
- jieba's POS tag table: `import jieba.posseg` (parses dict.txt) against the cached table;
- importing jieba with and without pkg_resources;
- pyarrow's first `pa.array` with pandas imported for it, and deferred (manifests.arrow_init);
- the text filters and the name masker built in one process, as a worker does, with all of the above;
- an embedded Ray (start, two tasks, stop): `ray.init` against the lean local node
  (manifests.ray_session), wall seconds of the whole probe, since Ray's own processes do the work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TIMER = "import time\n_t0, _w0 = time.process_time(), time.perf_counter()\n"
REPORT = ("import json\nprint(json.dumps({'cpu': time.process_time() - _t0, "
          "'wall': time.perf_counter() - _w0}))\n")

PROBES: dict[str, tuple[str, str, str]] = {
    # lever: (setup outside the timer, the "before" body, the "after" body)
    "jieba prefix dictionary": (
        "import logging, jieba\njieba.setLogLevel(logging.WARNING)\n"
        "from manifests.jieba_dict import load_tokenizer\n",
        "jieba.dt.initialize()\n",
        "load_tokenizer()\n",
    ),
    "jieba POS tag table": (
        "from manifests.jieba_dict import load_posseg, load_tokenizer\nload_tokenizer()\nimport importlib\n",
        "importlib.import_module('jieba.posseg')\n",
        "load_posseg()\n",
    ),
    "import jieba": (
        "import importlib, numpy, manifests.storage\n",
        "importlib.import_module('jieba')\n",
        "importlib.import_module('manifests.jieba_dict')\n",
    ),
    "pyarrow's first pa.array": (
        "import pyarrow as pa\nfrom manifests.arrow_init import defer_pandas\n",
        "pa.array([1])\n",
        "defer_pandas()\npa.array([1])\n",
    ),
}

WORKER = (
    "from manifests.arrow_init import defer_pandas\n{defer}"
    "from manifests.config import Config\nfrom filters.text_chain import text_filters\n"
    "from filters.masking import CaptionMasking\n{old_jieba}"
    "cfg = Config()\nfilters = text_filters(cfg)\nmasking = CaptionMasking(cfg)\n"
)
# The worker's "before": jieba's own loading first (then the cached loaders find it loaded), pandas for pyarrow.
OLD_JIEBA = ("import logging\nimport jieba, jieba.posseg\n"
             "jieba.setLogLevel(logging.WARNING)\njieba.dt.initialize()\n")

RAY = (
    "import os\nos.environ['RAY_AUTH_MODE'] = 'disabled'\nimport ray\n"
    "from manifests.ray_session import SYSTEM_CONFIG, start_local_node, stop_local_node\n"
)
RAY_BEFORE = ("ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False, "
              "_system_config=SYSTEM_CONFIG)\nray.get([ray.remote(lambda: 1).remote() for _ in range(2)])\n"
              "ray.shutdown()\n")
RAY_AFTER = ("node = start_local_node(2)\n"
             "ray.init(address=node.address, log_to_driver=False, configure_logging=False)\n"
             "ray.get([ray.remote(lambda: 1).remote() for _ in range(2)])\nray.shutdown()\nstop_local_node(node)\n")


def run_probe(setup: str, body: str, env: dict[str, str]) -> dict[str, float]:
    code = setup + TIMER + body + REPORT
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(setup: str, before: str, after: str, repeats: int, env: dict[str, str]) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {"before cpu": [], "after cpu": [], "before wall": [], "after wall": []}
    for _ in range(repeats):
        for side, body in (("before", before), ("after", after)):
            got = run_probe(setup, body, env)
            runs[f"{side} cpu"].append(got["cpu"])
            runs[f"{side} wall"].append(got["wall"])
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray probe (the slowest)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as cache:
        env["WUKONG_CACHE"] = cache
        run_probe("from manifests.jieba_dict import load_posseg\n", "load_posseg()\n", env)  # the cache, written once
        levers = dict(PROBES)
        levers["text filters + name masker, one process"] = (
            "", WORKER.format(defer="", old_jieba=OLD_JIEBA), WORKER.format(defer="defer_pandas()\n", old_jieba=""))
        if not args.no_ray:
            levers["embedded Ray: start, 2 tasks, stop"] = (RAY, RAY_BEFORE, RAY_AFTER)
        print(f"{args.repeats} fresh processes per side, alternating; medians; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start\n")
        print("| lever | before CPU s | after CPU s | before wall s | after wall s |")
        print("|---|---:|---:|---:|---:|")
        for name, (setup, before, after) in levers.items():
            runs = measure(setup, before, after, args.repeats, env)
            med = {k: statistics.median(v) for k, v in runs.items()}
            print(f"| {name} | {med['before cpu']:.3f} | {med['after cpu']:.3f} | {med['before wall']:.3f} | "
                  f"{med['after wall']:.3f} |", flush=True)
        print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
