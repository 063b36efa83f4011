"""What the sensitive filter says of captions, for the lexicon's and the model's tests."""

from __future__ import annotations

import pyarrow as pa

from filters.base import apply_filter
from filters.sensitive import SensitiveFilter
from filters.text_chain import normalize_captions
from manifests import reasons


def details(flt: SensitiveFilter, captions: list[str]) -> list[str | None]:
    """Each caption's rejection detail (`category:term` or `category:model:0.97`), None when kept; every
    rejection's reason is `sensitive`."""
    out = apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})), flt)
    found = out.column("detail").to_pylist()
    assert out.column("reason").to_pylist() == [reasons.SENSITIVE if d else None for d in found]
    return found
