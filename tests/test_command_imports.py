"""What a command's process loads before it works (issue 14, the fixed cost): the report does not load the
filter's downloader, and work on local files never loads upath and fsspec (they come with the first URL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# In one fresh process, in this order: the report's modules; then every stage's modules and local file work
# through the storage layer; then an object-storage URL.
PROBE = """
import json, sys, tempfile
loaded = lambda *names: sorted(n for n in names if n in sys.modules)
import wukong.report.build
report = loaded("aiohttp", "filters.passes", "filters.download", "scrapy", "ray")
import wukong.cli, filters.runner, filters.executors, sharding.release, crawler.runner
import pyarrow as pa
from manifests.parquet_io import read_table, write_parquet_atomic
from manifests.storage import data_path, is_remote, is_upath, remove_tree
wukong.cli.build_parser()
folder = data_path(tempfile.mkdtemp())
write_parquet_atomic(pa.table({"n": [1, 2, 3]}), folder / "part-00000.parquet")
rows = read_table(folder / "part-00000.parquet").num_rows
local = [is_remote(folder), is_upath(folder), rows]
remove_tree(folder)
stages = loaded("upath", "fsspec")
url = data_path("s3://bucket/data")
print(json.dumps({"report": report, "stages": stages, "local": local, "after_url": loaded("upath", "fsspec"),
                  "url": [type(url).__name__, is_upath(url), is_remote(url), str(url)]}))
"""


def test_stage_processes_load_only_what_their_work_needs() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["report"] == []  # the report reads work files, it never downloads
    assert got["stages"] == [] and got["local"] == [False, False, 3]
    assert got["after_url"] == ["fsspec", "upath"]
    assert got["url"] == ["S3Path", True, True, "s3://bucket/data"]
