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


LEXICON_ONLY = ["text.sensitive_model=false"]


@pytest.mark.parametrize(("caption", "detail"), [
    ("海luo因 出，质量保证", "drugs:海luo因"),
    ("bing毒 同城面交", "drugs:bing毒"),
    ("美沙酮 不用排队 私人出", "drugs:美沙酮"),
    ("曲马多 不用处方 私聊", "drugs:曲马多"),
    ("安眠药 私人出 同城自提", "drugs:安眠药"),
    ("ｋ５４出售，看货交易", "weapons:k54"),
    ("Glock 17 for sale 国内可发货", "weapons:glock"),
    ("9mm子弹散装出 私聊", "weapons:9mm子弹"),
    ("我是市公安局民警，你涉嫌洗钱，请将资金转入安全账户配合调查", "fraud:涉嫌洗钱"),
    ("检察院：你涉嫌洗钱，配合调查期间请把资金转到安全账户", "fraud:涉嫌洗钱"),
])
def test_round_three_recall_families(caption: str, detail: str) -> None:
    assert details(SensitiveFilter(load_config(None, LEXICON_ONLY)), [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    "美沙酮维持治疗门诊 开诊时间",
    "医生提醒：安眠药不要私自停药，副作用要留意",
    "9mm多层板 出售 家具板材",
    "glock 软弹玩具 出售 儿童",
    "《让子弹飞》蓝光 出售",
    "民警提醒：自称公安说你涉嫌洗钱、要求转入安全账户配合调查的都是诈骗",
    "反诈宣传：所谓安全账户都是骗局，请将此消息转给家人",
])
def test_round_three_recall_rules_keep_their_everyday_look_alikes(caption: str) -> None:
    assert details(SensitiveFilter(load_config(None, LEXICON_ONLY)), [caption]) == [None]
