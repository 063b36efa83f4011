"""manifests.arrow_init: the stages' processes never import pandas for pyarrow's sake, and whatever
does use pandas later still gets it; they and the processes they start run without transparent huge
pages unless WUKONG_THP=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# A filter and a shard step's own work in one fresh process: text filters on a small table, a parquet
# round trip, and then pandas used on purpose (as img2dataset does in `wukong download`).
PROBE = """
import io, json, sys
from manifests.arrow_init import prepare_arrow
prepare_arrow()
import pyarrow as pa, pyarrow.parquet as pq
from manifests.config import Config
from filters.base import apply_filters, ensure_verdict_columns
from filters.text_chain import normalize_captions, text_filters
table = pa.table({"caption": ["北京故宫的雪景", "澳门新葡京 注册送彩金", "a"], "url": ["u1", "u2", "u3"]})
out = apply_filters(ensure_verdict_columns(normalize_captions(table)), text_filters(Config()))
buf = io.BytesIO()
pq.write_table(out, buf)
back = pq.read_table(io.BytesIO(buf.getvalue()))
before = "pandas" in sys.modules
import pandas as pd
frame = back.select(["caption"]).to_pandas()
again = pa.Table.from_pandas(pd.DataFrame({"n": [1, 2]}))
print(json.dumps({"pandas_before": before, "reasons": back.column("reason").to_pylist(), "frame": frame.shape[0],
                  "again": again.num_rows, "series": str(pa.array(pd.Series([1, 2])).type)}))
"""


def test_pandas_is_not_imported_for_pyarrow_and_still_works_when_used() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["pandas_before"] is False
    assert got["reasons"] == [None, "sensitive", "not_chinese"]
    assert (got["frame"], got["again"], got["series"]) == (3, 2, "int64")


# `wukong --version` in a fresh process, which first clears the flag (its parent, this pytest process, may
# have set it by running a stage in-process), then the flag in the CLI's process and in a child it starts.
THP_PROBE = """
import ctypes, json, subprocess, sys
from manifests.arrow_init import PR_SET_THP_DISABLE
ctypes.CDLL(None).prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0)  # off: as the machine has it
from wukong.cli import main
try:
    main(["--version"])
except SystemExit:
    pass
status = lambda text: [l.split()[1] for l in text.splitlines() if l.startswith("THP_enabled:")]
child = subprocess.run([sys.executable, "-c", "print(open('/proc/self/status').read())"], capture_output=True,
                       text=True, check=True).stdout
print(json.dumps({"cli": status(open("/proc/self/status").read()), "child": status(child)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="transparent huge pages are Linux's")
@pytest.mark.parametrize(("keep", "want"), [(None, "0"), ("1", "1")])
def test_stage_processes_and_their_children_run_without_transparent_huge_pages(keep: str | None, want: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WUKONG_THP"} | ({"WUKONG_THP": keep} if keep else {})
    done = subprocess.run([sys.executable, "-c", THP_PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if not got["cli"]:
        pytest.skip("this kernel does not report THP_enabled in /proc/self/status")
    assert got == {"cli": [want], "child": [want]}
