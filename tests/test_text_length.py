"""The length filter alone: jieba words, not characters and not spaces."""

from __future__ import annotations

import random
from pathlib import Path

import jieba
import pyarrow as pa
import pytest

from filters.base import apply_filter
from filters.length import WORD_COUNT, LengthFilter, WordCounter, count_words, load_jieba
from filters.text_chain import normalize_captions
from manifests import reasons
from manifests.config import Config


@pytest.fixture(scope="module")
def flt() -> LengthFilter:
    return LengthFilter(Config())


def run(flt: LengthFilter, captions: list[str | None]) -> pa.Table:
    return apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})), flt)


@pytest.mark.parametrize(
    ("caption", "words"),
    [
        ("西红柿炒鸡蛋", 2),  # 西红柿 / 炒鸡蛋: 6 characters, 2 words
        ("北京故宫博物院", 1),
        ("iphone 15 手机壳", 4),  # iphone / 15 / 手机 / 壳: spaces are not words
        ("可爱的小猫，在睡觉！", 5),  # 可爱 的 小猫 在 睡觉: punctuation is not a word
        ("😀生日快乐😀", 1),  # emoji are not words
        ("hello world", 2),
        ("", 0),
        ("!!!", 0),
    ],
)
def test_word_count(flt: LengthFilter, caption: str, words: int) -> None:
    assert run(flt, [caption]).column(WORD_COUNT).to_pylist() == [words]


def test_bounds_and_details() -> None:
    cfg = Config()
    cfg.text.min_words, cfg.text.max_words = 2, 4
    out = run(LengthFilter(cfg), ["猫", "可爱的小猫", "一只 可爱的 小猫 在 窗台 上 晒太阳", None])
    assert out.column(WORD_COUNT).to_pylist() == [1, 3, 8, 0]
    assert out.column("reason").to_pylist() == [reasons.TOO_SHORT, None, reasons.TOO_LONG, reasons.TOO_SHORT]
    assert out.column("detail").to_pylist() == ["1", None, "8", "0"]


def test_wukong_bounds_on_a_huge_caption(flt: LengthFilter) -> None:
    out = run(flt, ["风景" * 5_000])  # cut to text.max_chars (512) before counting
    assert out.column(WORD_COUNT).to_pylist() == [256]
    assert out.column("reason").to_pylist() == [reasons.TOO_LONG]


def test_repeated_captions_are_counted_alike(flt: LengthFilter) -> None:
    out = run(flt, ["西湖断桥", "西湖断桥", "雪景", "西湖断桥"])
    assert out.column(WORD_COUNT).to_pylist() == [2, 2, 1, 2]


def generated_captions(n: int) -> list[str]:
    """Seeded captions composed from jieba's dictionary, with spaces, Latin, digits and symbols."""
    words = sorted(w for w, f in jieba.dt.FREQ.items() if f >= 3 and len(w) <= 4)
    rng = random.Random(5)
    extras = ["iphone", "15", "x5", " ", "-", ".", "+", "#", "%", "&", "t恤", "😀", "ー", "の", "한", "①", "é", "_"]
    return ["".join(rng.choice(words) if rng.random() < 0.8 else rng.choice(extras) for _ in range(rng.randint(1, 9)))
            for _ in range(n)]


def test_fast_counter_equals_jieba_cut() -> None:
    tokenizer = load_jieba()
    counter = WordCounter(tokenizer)
    labelled = Path(__file__).parent / "data" / "labelled"
    captions = generated_captions(4000)
    for name in ("language.tsv", "names.tsv", "names_holdout.tsv"):
        lines = (labelled / name).read_text(encoding="utf-8").splitlines()
        captions += [line.split("\t")[0].lower() for line in lines if line.strip() and not line.startswith("#")]
    captions += ["", "   ", "a.b-c", "+#&", "1.5kg", "iphone15promax", "蒜薹炒肉盖饭", "一二三四五六七八九十" * 30]
    mismatches = [c for c in captions if counter(c) != count_words(tokenizer, c)]
    assert mismatches == []


def test_bad_input(flt: LengthFilter) -> None:
    out = run(flt, [None, "", "😀😀", "\x00\x01", "长" * 10_000, "\x00西湖\x07断桥"])
    assert out.column(WORD_COUNT).to_pylist() == [0, 0, 0, 0, 256, 2]
    assert out.column("reason").to_pylist() == [reasons.TOO_SHORT] * 4 + [reasons.TOO_LONG, None]
    assert out.column("detail").to_pylist() == ["0", "0", "0", "0", "256", None]
