"""manifests.arrow_init: the stages' processes never import pandas for pyarrow's sake, and whatever
does use pandas later still gets it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A filter and a shard step's own work in one fresh process: text filters on a small table, a parquet
# round trip, and then pandas used on purpose (as img2dataset does in `wukong download`).
PROBE = """
import io, json, sys
from manifests.arrow_init import defer_pandas
defer_pandas()
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
