"""The vocabulary of rejection reasons, shared by the filters, the demo web's ground truth and reports.

A rejected row carries one of these in `reason` (download failures may also be `http_<status>`),
and a free-form `detail` (the matched word, the kept duplicate's key, the exception text).
"""

from __future__ import annotations

# text filters, in the order they run
MOJIBAKE = "mojibake"  # decoded with the wrong charset upstream and not recoverable without loss
EMPTY_CAPTION = "empty_caption"
PLACEHOLDER = "placeholder"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
NOT_CHINESE = "not_chinese"
SENSITIVE = "sensitive"
FREQUENT_CAPTION = "frequent_caption"
# URL
INVALID_URL = "invalid_url"
DUPLICATE_URL = "duplicate_url"
# download
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
DNS_ERROR = "dns_error"
TOO_LARGE = "too_large"
NOT_AN_IMAGE = "not_an_image"
TOO_MANY_REDIRECTS = "too_many_redirects"
PRIVATE_ADDRESS = "private_address"
EMPTY_BODY = "empty_body"
# image
CORRUPT_IMAGE = "corrupt_image"
DECOMPRESSION_BOMB = "decompression_bomb"
TOO_SMALL = "too_small"
BAD_ASPECT = "bad_aspect"
# dedup
DUPLICATE_IMAGE = "duplicate_image"
NEAR_DUPLICATE = "near_duplicate"
# consent: an opt-out list entry (before download) or an opt-out header on the image response
# (X-Robots-Tag noai/noimageai/noindex/noimageindex, tdm-reservation: 1); detail names which
OPT_OUT = "opt_out"
# a near duplicate of a reference image of an evaluation set (`dedup.exclude`); detail names it
CONTAMINATED = "contaminated"


def http_status(status: int) -> str:
    return f"http_{status}"
