"""All text filters together, in order, on one table: each row gets the first reason that applies."""

from __future__ import annotations

import pyarrow as pa
import pytest

from filters.base import apply_filters
from filters.language import LANG
from filters.length import WORD_COUNT
from filters.sensitive import SENSITIVE_MATCH
from filters.text_chain import normalize_captions, text_filters
from manifests import reasons
from manifests.config import Config

ROWS = [
    ("西湖断桥残雪", None),
    ("iPhone 15 手机壳", None),
    ("蒜薹炒肉盖饭", None),
    (None, reasons.EMPTY_CAPTION),
    ("   ", reasons.EMPTY_CAPTION),
    ("图片", reasons.PLACEHOLDER),
    ("IMG_0001.jpg", reasons.PLACEHOLDER),
    ("😀😀", reasons.PLACEHOLDER),
    ("风景" * 40, reasons.TOO_LONG),
    ("beautiful sunset over the ocean", reasons.NOT_CHINESE),
    ("東京タワー", reasons.NOT_CHINESE),
    ("网上赌 博", reasons.SENSITIVE),
    ("长" * 10_000, reasons.TOO_LONG),
    ("\x00\x1b", reasons.EMPTY_CAPTION),
]


@pytest.fixture(scope="module")
def out() -> pa.Table:
    table = pa.table({"caption": pa.array([r[0] for r in ROWS], pa.string())})
    cfg = Config()
    return apply_filters(normalize_captions(table, cfg.text.max_chars), text_filters(cfg))


def test_order_and_names() -> None:
    assert [f.name for f in text_filters(Config())] == ["mojibake", "placeholder", "length", "language", "sensitive"]


def test_first_reason_wins_and_no_row_is_lost(out: pa.Table) -> None:
    assert out.num_rows == len(ROWS)
    assert out.column("reason").to_pylist() == [r[1] for r in ROWS]


def test_stat_columns_present_and_null_where_not_judged(out: pa.Table) -> None:
    for column in ("caption_norm", "placeholder_kind", WORD_COUNT, LANG, "lang_score", SENSITIVE_MATCH):
        assert column in out.column_names
    words = out.column(WORD_COUNT).to_pylist()
    assert words[0] == 3 and words[3] is None  # 西湖 断桥 残雪; empty rows never reach jieba
    langs = out.column(LANG).to_pylist()
    assert langs[:3] == ["zh", "zh", "zh"] and langs[8] is None  # too long: language not judged
    assert out.column(SENSITIVE_MATCH).to_pylist()[11] == "gambling:赌博"
