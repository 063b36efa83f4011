"""The privacy maskers applied to kept captions at the end of the filter stage: contacts
(`privacy.mask_contacts`, filters.contacts) first, then person names (`privacy.mask_person_names`,
filters.privacy), on the released caption and on `caption_raw`.

The maskers read normalised captions. `caption_raw` is released too (in each sample's `.json`), so
a raw caption whose normalised form was masked is masked as well: by the same maskers on the raw
text, and where that leaves something the normalised pass found (a full-width phone number, say),
by the masked normalised caption itself. Raw captions of rows with nothing masked stay as they were.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from filters.text_normalize import normalize_text
from manifests.config import Config


class CaptionMasking:
    """Loads the enabled maskers once (jieba for names); `mask` rewrites one batch of captions."""

    def __init__(self, cfg: Config) -> None:
        self.maskers: list = []
        if cfg.privacy.mask_contacts:
            from filters.contacts import ContactMasker

            self.maskers.append(ContactMasker())
        if cfg.privacy.mask_person_names:
            from filters.privacy import NameMasker

            self.maskers.append(NameMasker(cfg))
        self.max_chars = cfg.text.max_chars

    def mask_text(self, text: str) -> str:
        for masker in self.maskers:
            text = masker.mask_text(text)
        return text

    def mask(self, captions: pa.Array | pa.ChunkedArray, raw: pa.Array | pa.ChunkedArray,
             ) -> tuple[pa.Array, pa.Array]:
        """(masked normalised captions, masked raw captions)."""
        if isinstance(captions, pa.ChunkedArray):
            captions = captions.combine_chunks()
        if isinstance(raw, pa.ChunkedArray):
            raw = raw.combine_chunks()
        captions, raw = captions.cast(pa.string()), raw.cast(pa.string())
        masked = captions
        for masker in self.maskers:
            masked = masker.mask(masked)
        changed = pc.fill_null(pc.not_equal(masked, captions), False)
        if not self.maskers or not pc.any(changed).as_py():
            return masked, raw
        fixed = [self._mask_raw(r, m) for r, m in zip(raw.filter(changed).to_pylist(),
                                                      masked.filter(changed).to_pylist(), strict=True)]
        return masked, pc.replace_with_mask(raw, changed, pa.array(fixed, pa.string()))

    def _mask_raw(self, raw: str | None, masked_caption: str) -> str:
        if raw is None:
            return masked_caption
        out = self.mask_text(raw)
        norm = normalize_text(out, self.max_chars)
        return out if self.mask_text(norm) == norm else masked_caption
