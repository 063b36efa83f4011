"""Candidate parts for filter tests: `n` site rows over an image server's `/img/<i>.jpg`, split in parts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from manifests.schemas import CANDIDATE


def write_candidate_parts(folder: Path, base_url: str, captions: list[str], n: int, parts: int = 2) -> Path:
    """Row i: image `/img/<i>.jpg`, caption `captions[i % len].format(i)`, page `/page/<i // 10>.html`."""
    size = n // parts
    for part in range(parts):
        idx = range(part * size, (part + 1) * size)
        rows = {f.name: pa.nulls(size, f.type) for f in CANDIDATE}
        rows["url"] = pa.array([f"{base_url}/img/{i}.jpg" for i in idx])
        rows["caption"] = pa.array([captions[i % len(captions)].format(i) for i in idx])
        rows["caption_source"] = pa.array(["alt"] * size)
        rows["page_url"] = pa.array([f"{base_url}/page/{i // 10}.html" for i in idx])
        rows["source"] = pa.array(["site"] * size)
        pq.write_table(pa.Table.from_pydict(rows, schema=CANDIDATE), folder / f"part-site-{part:05d}.parquet")
    return folder
