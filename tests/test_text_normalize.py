"""caption_norm: NFKC, entities, control and zero-width characters, whitespace, case, the cut."""

from __future__ import annotations

import pyarrow as pa
import pytest

from filters.text_chain import normalize_captions
from filters.text_normalize import CAPTION_NORM, normalize_array, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ　手机壳", "abc 手机壳"),  # full-width letters and ideographic space
        ("iPhone 15 手机壳", "iphone 15 手机壳"),  # Latin lowercased
        ("  前后\t空白\n\n多余  ", "前后 空白 多余"),
        ("赌\u200b博\ufeff", "赌博"),  # zero-width characters
        ("\x00\x07控制\x1b字符", "控制字符"),
        ("&lt;b&gt;粗体 &amp; 斜体", "<b>粗体 & 斜体"),
        ("&amp;quot;双重转义&amp;quot;", '"双重转义"'),
        ("a&nbsp;b", "a b"),  # &nbsp; -> NBSP -> space
        ("AT&T 手机", "at&t 手机"),  # a bare ampersand is not an entity
        ("１２３ｋｇ", "123kg"),
        ("😀生日快乐😀", "😀生日快乐😀"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_text(raw: str | None, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_cut_to_max_chars_for_statistics_only() -> None:
    raw = "长" * 10_000
    table = normalize_captions(pa.table({"caption": pa.array([raw, "短"], pa.string())}), max_chars=32)
    assert table.column(CAPTION_NORM).to_pylist() == ["长" * 32, "短"]
    assert table.column("caption").to_pylist()[0] == raw  # the raw caption is untouched


def test_cut_never_leaves_trailing_space() -> None:
    assert normalize_array(pa.array(["abc def"]), max_chars=4).to_pylist() == ["abc"]


def test_column_added_after_caption_and_replaced_on_rerun() -> None:
    table = pa.table({"url": ["u1", "u2"], "caption": ["Ａ", None], "source": ["s", "s"]})
    once = normalize_captions(table)
    assert once.column_names == ["url", "caption", CAPTION_NORM, "source"]
    assert once.column(CAPTION_NORM).to_pylist() == ["a", ""]
    assert normalize_captions(once).column_names == once.column_names


def test_chunked_and_large_string_input() -> None:
    chunked = pa.chunked_array([["Ａ"], ["Ｂ", None]], pa.large_string())
    assert normalize_array(chunked).to_pylist() == ["a", "b", ""]
