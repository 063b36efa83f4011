"""Caption normalisation: the `caption_norm` column every text filter reads.

HTML entities unescaped, NFKC (full-width letters and digits become ASCII, U+3000 becomes a space),
control and zero-width characters removed (tabs and newlines become spaces), whitespace collapsed and
trimmed, letters lowercased as released Wukong captions are, then cut to `text.max_chars` so that a
10,000-character caption costs no more than a long one. The cut is for statistics only: the raw
`caption` column is left as it is. Everything runs as pyarrow.compute kernels over the whole batch;
only rows that contain an HTML entity go through Python (`html.unescape`).
"""

from __future__ import annotations

import html

import pyarrow as pa
import pyarrow.compute as pc

from manifests.config import TextConfig

CAPTION = "caption"
CAPTION_NORM = "caption_norm"

# RE2 patterns (pyarrow.compute). An entity: `&amp;`, `&#39;`, `&#x4e2d;`, and the `&amp` that
# html.unescape also accepts without its semicolon.
_ENTITY = r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});?"
_BREAKS = r"[\t\n\v\f\r\x{85}\x{2028}\x{2029}]"  # line and tab controls: become a space
_INVISIBLE = r"[\p{Cc}\p{Cf}]"  # other controls, zero-width and format characters: removed
_SPACES = r"[\s\p{Z}]+"
# Raw captions are cut to this many times `max_chars` before the work starts, so that one huge
# caption cannot dominate a batch; entities and NFKC can only shrink or slightly grow the text.
_RAW_SLACK = 4


def _unescape_entities(arr: pa.Array) -> pa.Array:
    """`html.unescape` on the rows that contain an entity (twice for `&amp;quot;`), others untouched."""
    for _ in range(2):
        mask = pc.match_substring_regex(arr, _ENTITY)
        if not pc.any(mask).as_py():
            break
        fixed = [html.unescape(text) for text in arr.filter(mask).to_pylist()]
        arr = pc.replace_with_mask(arr, mask, pa.array(fixed, pa.string()))
    return arr


def cut_raw(captions: pa.Array | pa.ChunkedArray, max_chars: int | None = None) -> pa.Array:
    """The raw captions as strings (null becomes ""), cut to the part normalisation reads."""
    limit = TextConfig().max_chars if max_chars is None else max_chars
    if isinstance(captions, pa.ChunkedArray):
        captions = captions.combine_chunks()
    arr = pc.fill_null(captions.cast(pa.string()), "")
    return pc.utf8_slice_codeunits(arr, 0, limit * _RAW_SLACK + 64)


def normalize_array(captions: pa.Array | pa.ChunkedArray, max_chars: int | None = None) -> pa.Array:
    """The normalised form of each caption; null becomes ""."""
    limit = TextConfig().max_chars if max_chars is None else max_chars
    arr = _unescape_entities(cut_raw(captions, limit))
    arr = pc.utf8_normalize(arr, "NFKC")
    arr = pc.replace_substring_regex(arr, _BREAKS, " ")
    arr = pc.replace_substring_regex(arr, _INVISIBLE, "")
    arr = pc.replace_substring_regex(arr, _SPACES, " ")
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.utf8_lower(arr)
    arr = pc.utf8_slice_codeunits(arr, 0, limit)
    return pc.utf8_rtrim_whitespace(arr)


def normalize_text(caption: str | None, max_chars: int | None = None) -> str:
    """One caption through the same kernels (for tests and for the lexicon loader)."""
    return normalize_array(pa.array([caption], pa.string()), max_chars)[0].as_py()


def normalize_captions(table: pa.Table, max_chars: int | None = None) -> pa.Table:
    """Adds (or replaces) `caption_norm` right after the raw `caption` column."""
    norm = normalize_array(table.column(CAPTION), max_chars)
    if CAPTION_NORM in table.column_names:
        return table.set_column(table.schema.get_field_index(CAPTION_NORM), CAPTION_NORM, norm)
    return table.add_column(table.schema.get_field_index(CAPTION) + 1, CAPTION_NORM, norm)
