"""The sensitive filter (lexicon + packaged model) on the 50,000-pair demo web's ordinary captions: none rejected.

The demo web is an out-of-sample check: its captions are never training data (no caption of the everyday safe set is
one of them)."""

from __future__ import annotations

import pytest
from sensitive_checks import details

from filters.sensitive import SensitiveFilter
from filters.sensitive_train import LABELLED, read_set
from manifests.config import Config
from wukong.demoweb.generator import build_web

PAIRS = 50_000


@pytest.fixture(scope="module")
def captions() -> list[str]:
    web = build_web(PAIRS)
    return sorted({o.caption for o in web.occurrences if o.caption and o.planted is None})


def test_no_clean_caption_of_the_demo_web_is_rejected(captions: list[str]) -> None:
    assert len(captions) > 30_000
    found = details(SensitiveFilter(Config()), captions)
    rejected = [(c, d) for c, d in zip(captions, found, strict=True) if d is not None]
    assert not rejected, f"{len(rejected)} of {len(captions):,} clean captions rejected, first: {rejected[:10]}"


def test_the_everyday_training_set_holds_no_demo_web_caption(captions: list[str]) -> None:
    everyday = [e.caption for e in read_set(LABELLED / "sensitive_everyday.tsv")]
    assert len(everyday) >= 300
    assert sorted(set(everyday) & set(captions)) == []
