"""Sensitive round 3's guards: driving-exam study, swearing quoted from a work, insults aimed at the writer."""

from __future__ import annotations

import pyarrow as pa
import pytest

from filters.base import apply_filter
from filters.sensitive import SensitiveFilter
from filters.text_chain import normalize_captions
from manifests.config import load_config


@pytest.fixture(scope="module")
def flt() -> SensitiveFilter:
    return SensitiveFilter(load_config(None, []))


def details(flt: SensitiveFilter, captions: list[str]) -> list[str | None]:
    out = apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})), flt)
    return out.column("detail").to_pylist()


@pytest.mark.parametrize("caption", [
    "驾照科目一模拟考试题库 2024最新",
    "驾驶证科目四模拟题 刷题技巧",
    "驾照科目二 倒车入库 学车技巧",
    "《让子弹飞》名场面：“翻译翻译，什么TMD叫惊喜！”",
    "电视剧经典台词「你个傻逼」笑死我了",
    "我这个猪脑子，又忘带伞了",
    "我真是个笨蛋 钥匙锁在车里",
    "本人蠢哭了 又坐过站",
])
def test_study_quotes_and_self_deprecation_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


@pytest.mark.parametrize("caption", [
    "高仿驾照 一比一 加微信",
    "驾照 不用考试 包过 直接拿证",
    "TMD 傻逼 滚",
    "你这个猪脑子 傻逼",
    "我看你就是个傻逼",
])
def test_the_same_words_offered_or_aimed_at_others_are_rejected(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption])[0] is not None
