"""The length filter alone: jieba words, not characters and not spaces."""

from __future__ import annotations

import pyarrow as pa
import pytest

from filters.base import apply_filter
from filters.length import WORD_COUNT, LengthFilter
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
