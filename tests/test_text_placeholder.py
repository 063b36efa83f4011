"""The placeholder filter alone: empty captions, placeholder words, file and camera names."""

from __future__ import annotations

import pyarrow as pa
import pytest

from filters.base import apply_filter
from filters.placeholder import PLACEHOLDER_KIND, PlaceholderFilter
from filters.text_chain import normalize_captions
from manifests import reasons
from manifests.config import Config


@pytest.fixture(scope="module")
def flt() -> PlaceholderFilter:
    return PlaceholderFilter(Config())


def run(flt: PlaceholderFilter, captions: list[str | None]) -> pa.Table:
    table = normalize_captions(pa.table({"caption": pa.array(captions, pa.string())}))
    return apply_filter(table, flt)


@pytest.mark.parametrize(
    ("caption", "detail"),
    [
        ("图片", "placeholder_word"),
        ("照片", "placeholder_word"),
        ("image", "placeholder_word"),
        ("Photo", "placeholder_word"),
        ("IMG", "placeholder_word"),
        ("ｕｎｔｉｔｌｅｄ", "placeholder_word"),
        ("图片 (2)", "placeholder_word"),
        ("无标题", "placeholder_word"),
        ("IMG_0001.jpg", "file_name"),
        ("000.jpg", "file_name"),
        ("西湖美景.PNG", "file_name"),
        ("DSC00012", "camera_name"),
        ("微信图片_20230101", "camera_name"),
        ("微信图片_20230101120000_1", "camera_name"),
        ("Screenshot_2023-01-01-12-00-00", "camera_name"),
        ("mmexport1672531200000", "camera_name"),
        ("d41d8cd98f00b204e9800998ecf8427e", "hash_name"),
        ("12345", "no_letters"),
        ("!!!…", "no_letters"),
        ("😀😀🎉", "no_letters"),
        ("2023-01-01", "no_letters"),
    ],
)
def test_placeholders_rejected_with_kind(flt: PlaceholderFilter, caption: str, detail: str) -> None:
    row = run(flt, [caption]).to_pylist()[0]
    assert (row["reason"], row["detail"], row[PLACEHOLDER_KIND]) == (reasons.PLACEHOLDER, detail, detail)


@pytest.mark.parametrize("caption", [None, "", "   ", "\u200b\u200b", "\x00\t\n", "&nbsp;"])
def test_empty_after_normalisation_is_empty_caption(flt: PlaceholderFilter, caption: str | None) -> None:
    row = run(flt, [caption]).to_pylist()[0]
    assert (row["reason"], row["detail"], row[PLACEHOLDER_KIND]) == (reasons.EMPTY_CAPTION, None, "empty")


@pytest.mark.parametrize(
    "caption",
    ["蒜薹炒肉盖饭", "iPhone 15 手机壳", "2023新款连衣裙", "照片墙", "图片素材", "4K", "生日快乐🎂", "IMG 图片处理教程",
     "photo of a cat", "长" * 10_000],
)
def test_real_captions_kept(flt: PlaceholderFilter, caption: str) -> None:
    row = run(flt, [caption]).to_pylist()[0]
    assert (row["reason"], row["detail"], row[PLACEHOLDER_KIND]) == (None, None, None)


def test_mixed_batch_counts(flt: PlaceholderFilter) -> None:
    out = run(flt, ["图片", None, "西湖", "IMG_0002.JPG", "", "断桥残雪"])
    assert out.column("reason").to_pylist() == [
        reasons.PLACEHOLDER, reasons.EMPTY_CAPTION, None, reasons.PLACEHOLDER, reasons.EMPTY_CAPTION, None,
    ]


def test_only_alive_rows_are_judged(flt: PlaceholderFilter) -> None:
    table = normalize_captions(pa.table({"caption": ["图片", "图片"], "reason": [None, "too_long"],
                                         "detail": [None, "40"]}))
    out = apply_filter(table, flt)
    assert out.column("reason").to_pylist() == [reasons.PLACEHOLDER, "too_long"]
    assert out.column(PLACEHOLDER_KIND).to_pylist() == ["placeholder_word", None]
