"""Issue 18's acceptance measure on the blind set written after round 5's freeze (tests/data/blind/; the trainer
reads tests/data/labelled/ only): unsafe rejected >= 0.95, safe kept >= 0.98, on the captions of the set that no
training set holds (blind writers write some common captions alike: 19 of its 387 are also in a dev set)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sensitive_checks import details

from filters.sensitive import SensitiveFilter
from filters.sensitive_train import labelled_rows, real_safe, sensitive_sets
from manifests.config import Config

BLIND = Path(__file__).resolve().parent / "data" / "blind" / "sensitive_blind11.tsv"


def test_blind_set_11_meets_the_goal_in_both_directions() -> None:
    trained = {e.caption for examples in sensitive_sets().values() for e in examples} | \
        {e.caption for e in real_safe()}
    rows = [row for row in labelled_rows(BLIND) if row[0] not in trained]
    assert len(rows) >= 300
    found = details(SensitiveFilter(Config()), [caption for caption, _, _ in rows])
    missed: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for (_, label, category), detail in zip(rows, found, strict=True):
        if label == "unsafe" and detail is None:
            missed[category] += 1
        elif label == "safe" and detail is not None:
            lost[category] += 1
    unsafe = sum(1 for _, label, _ in rows if label == "unsafe")
    safe = len(rows) - unsafe
    assert (unsafe - sum(missed.values())) / unsafe >= 0.95, f"unsafe missed per category: {dict(missed)}"
    assert (safe - sum(lost.values())) / safe >= 0.98, f"safe rejected per category: {dict(lost)}"
