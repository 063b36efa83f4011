"""Span masking shared by the caption maskers (filters.contacts, filters.privacy): found spans replaced
by their tokens, and a masker run over an Arrow column on the captions a RE2 prefilter lets through,
each distinct caption once."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc


def replace_spans(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, token) span replaced by its token; spans left to right, not overlapping."""
    out, pos = [], 0
    for start, end, token in spans:
        out.append(text[pos:start])
        out.append(token)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask_column(captions: pa.Array | pa.ChunkedArray, may_hold: str, mask_text: Callable[[str], str],
                enabled: bool = True) -> pa.Array:
    """`captions` as strings, those matching the RE2 pattern `may_hold` passed through `mask_text` (each
    distinct one once); nulls stay null, and nothing changes when not `enabled`."""
    if isinstance(captions, pa.ChunkedArray):
        captions = captions.combine_chunks()
    captions = captions.cast(pa.string())
    if not enabled or len(captions) == 0:
        return captions
    candidates = pc.fill_null(pc.match_substring_regex(captions, may_hold), False)
    if not pc.any(candidates).as_py():
        return captions
    encoded = captions.filter(candidates).dictionary_encode()
    masked = pa.array([mask_text(t) for t in encoded.dictionary.to_pylist()], pa.string())
    return pc.replace_with_mask(captions, candidates, masked.take(encoded.indices))
