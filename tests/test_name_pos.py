"""The name masker's POS tagger with remembered HMM cuts: the same tokens as jieba's own tagger,
the Viterbi search run once per distinct run of unknown characters, and a full memory emptied."""

from __future__ import annotations

from pathlib import Path

import pytest

from filters.mask_eval import read_pairs
from filters.name_pos import MemoPOSTokenizer, posseg
from filters.privacy import NameMasker

LABELLED = Path(__file__).parent / "data" / "labelled"


@pytest.fixture(scope="module")
def captions() -> list[str]:
    rows = [caption for path in sorted(LABELLED.glob("names*.tsv")) for caption, _ in read_pairs(path)]
    assert len(rows) > 3000
    return rows


def cuts(tagger: object, captions: list[str]) -> list[list[tuple[str, str]]]:
    return [[(p.word, p.flag) for p in tagger.cut(c)] for c in captions]  # type: ignore[attr-defined]


@pytest.fixture()
def viterbi_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    search = posseg.viterbi

    def counted(sentence: str, *tables: object) -> object:
        calls.append(sentence)
        return search(sentence, *tables)

    monkeypatch.setattr(posseg, "viterbi", counted)
    return calls


def test_same_tokens_as_jieba_and_each_run_searched_once(captions: list[str], viterbi_calls: list[str]) -> None:
    expected = cuts(posseg.dt, captions)
    searched_by_jieba = len(viterbi_calls)
    viterbi_calls.clear()
    memo = MemoPOSTokenizer(posseg.dt)
    assert cuts(memo, captions) == expected
    assert cuts(memo, captions) == expected  # the second time every cut is remembered
    assert len(viterbi_calls) == len(set(viterbi_calls)) < searched_by_jieba


def test_full_memory_is_emptied_and_tokens_stay_the_same(captions: list[str]) -> None:
    memo = MemoPOSTokenizer(posseg.dt, limit=5)
    assert cuts(memo, captions[:300]) == cuts(posseg.dt, captions[:300])
    assert len(memo._cuts) <= 5


def test_the_masker_uses_it() -> None:
    masker = NameMasker()
    assert isinstance(masker._pos, MemoPOSTokenizer)
    assert masker.mask_text("张伟和李娜的婚礼现场实拍") == "<人名>和<人名>的婚礼现场实拍"
