"""Global image dedup: exact (sha256 of the bytes), then near (64-bit pHash within a Hamming distance).

Pure numpy, run once on the driver over every downloaded and hashed row. The result depends only on
the set of rows, never on their order or partitioning. Keys must be unique (they are after URL dedup).

The modules, in the order a call to `decide_duplicates` (decide.py) goes through them:
- columns.py: keys, sha256 digests and pHashes from lists, numpy or pyarrow, read in bounded blocks;
- exact.py: rows with the same sha256 form a group; the smallest key is kept, the others are
  `duplicate_image`;
- near_pairs.py: every pair of distinct hash values within d bits, by multi-index hashing
  (`find_pairs`: a uint64 array in, the pairs out; layouts.py holds its bit layouts and cost model);
- confirm.py: the row pairs those value pairs join; with tone words (filters/image_tone.py), a
  pair met through a view other than both 100% views is linked only when they agree;
- components.py: the near groups are the connected components of the linked rows; within a group
  the largest area, then the smallest key, is kept, the others are `near_duplicate`;
- contamination.py: with reference hashes (`dedup.exclude`), they join the near stage's one
  search; the kept member of a group with a member within d of a reference is `contaminated`;
- result.py: `DedupResult`, the reason code and kept row of every input row.

Memory beyond the inputs: the result (an int8 reason and an int32 index per row), one uint64 per
hash sorted in place table after table, a bit per hash, and temporaries bounded by chunking: ~18
bytes per row with one hash per row, ~41 at 1M and ~40 at 10M rows with the filter's four view
hashes and a tone word per row (bench/bench_dedup.py --views 4).
"""

from filters.dedup.columns import KEY_DIGITS, format_keys, parse_keys, phash_from_hex, phash_to_hex
from filters.dedup.decide import decide_duplicates
from filters.dedup.near_pairs import DEFAULT_MAX_RUN, HashPairs, find_pairs, near_duplicate_pairs
from filters.dedup.result import (
    CONTAMINATED_CODE,
    DUPLICATE_IMAGE_CODE,
    KEEP_CODE,
    NEAR_DUPLICATE_CODE,
    REASONS,
    DedupResult,
)

__all__ = [
    "CONTAMINATED_CODE",
    "DEFAULT_MAX_RUN",
    "DUPLICATE_IMAGE_CODE",
    "KEEP_CODE",
    "KEY_DIGITS",
    "NEAR_DUPLICATE_CODE",
    "REASONS",
    "DedupResult",
    "HashPairs",
    "decide_duplicates",
    "find_pairs",
    "format_keys",
    "near_duplicate_pairs",
    "parse_keys",
    "phash_from_hex",
    "phash_to_hex",
]
