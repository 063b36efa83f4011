"""The dedup decision per row: reason codes and `DedupResult` (reasons, details, group sizes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from filters.dedup.arrays import unique
from filters.dedup.columns import format_keys
from manifests.reasons import CONTAMINATED, DUPLICATE_IMAGE, NEAR_DUPLICATE

KEEP_CODE = 0
DUPLICATE_IMAGE_CODE = 1
NEAR_DUPLICATE_CODE = 2
CONTAMINATED_CODE = 3
REASONS: tuple[str | None, ...] = (None, DUPLICATE_IMAGE, NEAR_DUPLICATE, CONTAMINATED)


@dataclass(frozen=True, slots=True)
class DedupResult:
    """Per input row: `reason_code` (0 keep, 1 duplicate_image, 2 near_duplicate, 3 contaminated)
    and `kept_index`, the row kept in its place (itself when kept or contaminated). For a
    duplicate_image row that is the smallest key of its sha256 group, which may itself be a
    near_duplicate of another row. `contaminated_rows` (sorted) and `contaminated_refs`: the
    reference index that each contaminated row matched (directly or through its group)."""

    keys: np.ndarray
    reason_code: np.ndarray
    kept_index: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)
    contaminated_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    contaminated_refs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.reason_code)

    @property
    def keep_mask(self) -> np.ndarray:
        return self.reason_code == KEEP_CODE

    def reasons(self) -> np.ndarray:
        """Object array: None (keep), `duplicate_image`, `near_duplicate` or `contaminated`."""
        return np.array(REASONS, dtype=object)[self.reason_code]

    def details(self, reference_names: Sequence[str] | None = None) -> np.ndarray:
        """Object array: None (keep), the 20-digit key of the kept member, or for a contaminated row
        its reference's name (its index as text without `reference_names`)."""
        out = np.full(len(self), None, dtype=object)
        rej = np.flatnonzero((self.reason_code != KEEP_CODE) & (self.reason_code != CONTAMINATED_CODE))
        out[rej] = format_keys(self.keys[self.kept_index[rej]]).astype(object)
        for row, ref in zip(self.contaminated_rows.tolist(), self.contaminated_refs.tolist(), strict=True):
            out[row] = reference_names[ref] if reference_names is not None else str(ref)
        return out

    def counts(self) -> dict[str, int]:
        out = {DUPLICATE_IMAGE: int(np.count_nonzero(self.reason_code == DUPLICATE_IMAGE_CODE)),
               NEAR_DUPLICATE: int(np.count_nonzero(self.reason_code == NEAR_DUPLICATE_CODE))}
        if len(self.contaminated_rows):
            out[CONTAMINATED] = len(self.contaminated_rows)
        return out

    def survivor_index(self) -> np.ndarray:
        """The kept row that finally stands for each row (exact duplicates followed through near groups)."""
        return self.kept_index[self.kept_index]

    def near_group_index(self) -> np.ndarray:
        """Per row: the kept row of its near group (itself for a kept row with no near duplicate);
        exact duplicates belong to the near group of their kept copy."""
        return self.survivor_index()

    def _group_sizes(self, code: int) -> np.ndarray:
        heads, counts = unique(self.kept_index[self.reason_code == code], counts=True)
        order = np.argsort(self.keys[heads], kind="stable")
        return (counts[order] + 1).astype(np.int64)

    def near_group_sizes(self) -> np.ndarray:
        """Size of each near-duplicate group (kept row included, exact duplicates not), by kept key."""
        return self._group_sizes(NEAR_DUPLICATE_CODE)

    def exact_group_sizes(self) -> np.ndarray:
        """Size of each group of identical images (kept row included), by kept key."""
        return self._group_sizes(DUPLICATE_IMAGE_CODE)

    def to_arrow(self) -> Any:
        """A pyarrow table with the `reason` and `detail` string columns (null where kept)."""
        import pyarrow as pa

        return pa.table({"reason": pa.array(self.reasons(), pa.string()),
                         "detail": pa.array(self.details(), pa.string())})
