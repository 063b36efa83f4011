"""The pyarrow schemas of every file the stages exchange (see DESIGN.md: the data contracts).

This is the only module that spells the columns of CANDIDATE, SAMPLE, REJECTED and MANIFEST.
"""

from __future__ import annotations

import pyarrow as pa

CANDIDATE = pa.schema(
    [
        pa.field("url", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("caption_source", pa.string()),
        pa.field("page_url", pa.string()),
        pa.field("query", pa.string()),
        pa.field("source", pa.string()),
        pa.field("crawled_at", pa.timestamp("ms", tz="UTC")),
        pa.field("width_hint", pa.int32()),
        pa.field("height_hint", pa.int32()),
    ]
)

# Valid values of CANDIDATE.caption_source.
CAPTION_SOURCES = ("alt", "title", "figcaption", "api")

SAMPLE = pa.schema(
    [
        pa.field("key", pa.string()),
        pa.field("url", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("caption_raw", pa.string()),
        pa.field("page_url", pa.string()),
        pa.field("query", pa.string()),
        pa.field("source", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("sha256", pa.string()),
        pa.field("phash", pa.string()),
        pa.field("image", pa.binary()),
        pa.field("mime", pa.string()),
    ]
)

REJECTED = pa.schema(
    [*CANDIDATE, pa.field("reason", pa.string()), pa.field("detail", pa.string())]
)

# The release manifest: url and caption first, as img2dataset reads them.
MANIFEST = pa.schema(
    [
        pa.field("url", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("key", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("sha256", pa.string()),
        pa.field("phash", pa.string()),
        pa.field("shard", pa.string()),
    ]
)


def empty_table(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Selects and casts `table`'s columns to `schema` (missing columns raise KeyError)."""
    return pa.Table.from_arrays(
        [table.column(f.name).cast(f.type) for f in schema], schema=schema
    )
