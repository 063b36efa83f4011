"""Seed derivation: every random choice of the demo web comes from (seed, label) through these helpers.

A label names the purpose ("captions", "picture", 17), so adding a new use of randomness never shifts
the numbers another use draws: the web stays the same for the same (pairs, seed).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def derive(seed: int, *labels: object) -> int:
    """A 64-bit integer that depends only on `seed` and `labels`."""
    text = repr((seed, *labels)).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def rng(seed: int, *labels: object) -> random.Random:
    return random.Random(derive(seed, *labels))


def np_rng(seed: int, *labels: object) -> np.random.Generator:
    return np.random.default_rng(derive(seed, *labels))


def cumulative(weights: Sequence[float]) -> list[float]:
    """Cumulative weights for `weighted`."""
    return list(itertools.accumulate(weights))


def weighted(r: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """One of `items` drawn with cumulative weights `cum` (faster than `random.choices` for one draw)."""
    return items[bisect.bisect_right(cum, r.random() * cum[-1])]
