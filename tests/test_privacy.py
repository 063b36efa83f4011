"""Person-name masking: unit cases, bad input, and precision/recall on the labelled sets."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from filters.mask_eval import Score, read_pairs, score_names
from filters.privacy import NameMasker, mask_names
from manifests.config import Config, PrivacyConfig

LABELLED = Path(__file__).parent / "data" / "labelled"
TOKEN = "<人名>"
# Measured with the rules frozen (python -m bench.bench_privacy --names FILE): names.tsv (338 captions,
# where the first rules were built) precision 1.00 recall 0.97; names_holdout.tsv (152, written after
# the first rules, then used for tuning these) 1.00 / 0.86; names_dev.tsv (665, written for these
# rules) 1.00 / 0.92. The rules before: 1.00 / 0.93, 0.96 / 0.48 and 0.95 / 0.62.
MIN = {"names.tsv": (0.98, 0.95), "names_holdout.tsv": (0.95, 0.83), "names_dev.tsv": (0.98, 0.89)}


@pytest.fixture(scope="module")
def masker() -> NameMasker:
    return NameMasker()


def pairs(name: str) -> list[tuple[str, str]]:
    return read_pairs(LABELLED / name)


def score(masker: NameMasker, rows: list[tuple[str, str]]) -> Score:
    return score_names(masker, rows)


def test_labelled_sets_are_big_and_mixed() -> None:
    for name, (min_rows, min_names, min_traps) in {"names.tsv": (200, 80, 100), "names_holdout.tsv": (100, 40, 60),
                                                   "names_dev.tsv": (600, 250, 300)}.items():
        rows = pairs(name)
        with_names = sum(TOKEN in expected for _, expected in rows)
        assert len(rows) >= min_rows and with_names >= min_names and len(rows) - with_names >= min_traps, name


@pytest.mark.parametrize("name", sorted(MIN))
def test_precision_and_recall(masker: NameMasker, name: str) -> None:
    result = score(masker, pairs(name))
    min_precision, min_recall = MIN[name]
    assert result.precision >= min_precision, result.errors
    assert result.recall >= min_recall, result.errors


def test_no_name_in_chinese_captions_of_the_language_set(masker: NameMasker) -> None:
    lines = (LABELLED / "language.tsv").read_text(encoding="utf-8").splitlines()
    captions = [line.split("\t")[0] for line in lines if line.endswith("\tzh")]
    assert len(captions) >= 250
    masked = [c for c in captions if masker.find_names(c)]
    assert masked == []


@pytest.mark.parametrize(
    "caption",
    ["王府井小吃街", "高山流水", "马路边的小狗", "黄山日出", "白云", "安静的午后", "雪山脚下", "蓝天白云",
     "西红柿炒鸡蛋", "番茄炒鸡蛋", "韭菜炒鸡蛋", "东方明珠夜景", "西门子冰箱", "张家界", "王阿姨包子铺",
     "康师傅方便面", "岳阳岳阳楼夜景", "高雄的港灣", "郁金香盛开", "钱江新城", "祝福语", "王老吉凉茶", "武夷山",
     "左宗棠鸡", "张亮麻辣烫", "钟薛高雪糕", "连衣裙", "毕加索画作", "孙悟空大闹天宫", "胡萝卜炖牛腩", "贺兰山",
     "九毛九", "宋城", "张老师"],
)
def test_traps_unchanged(masker: NameMasker, caption: str) -> None:
    assert masker.mask_text(caption) == caption


@pytest.mark.parametrize(
    "caption",
    ["安静 午后", "白云 蓝天", "卫星 地图", "文明 城市", "高峰 时段", "黎明 时分", "马克 杯", "李宁 运动鞋",
     "安卓 手机", "高清 壁纸", "宋体 字", "王子 公主", "胡子 大叔", "桂林 山水", "叶子 壁纸 高清", "龙凤 呈祥"],
)
def test_everyday_words_standing_alone_stay(masker: NameMasker, caption: str) -> None:
    """jieba tags these `nr` too: standing alone before another word does not make them names."""
    assert masker.mask_text(caption) == caption


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("张伟和李娜在北京", "<人名>和<人名>在北京"),
        ("王小明的生日蛋糕", "<人名>的生日蛋糕"),
        ("欧阳娜娜同款连衣裙", "<人名>同款连衣裙"),
        ("记者 王晓丽 报道", "记者 <人名> 报道"),
        ("李娜老师", "<人名>老师"),  # a dictionary word, named by its title
        ("孙浩然小朋友的画", "<人名>小朋友的画"),  # jieba splits it: 孙/zg 浩然/a
        ("陈平和朋友在广场合影", "<人名>和朋友在广场合影"),  # jieba glues 和 to it: 陈/nr 平和/a
        ("马超参加运动会", "<人名>参加运动会"),  # a dictionary word, named by a verb of people
        # names jieba itself tags `nr`, once refused (issue 15)
        ("姚明 篮球", "<人名> 篮球"),
        ("刘翔 跨栏", "<人名> 跨栏"),
        ("巩俐 红毯", "<人名> 红毯"),
        ("张艺谋导演的电影", "<人名>导演的电影"),
        ("曾国藩家书", "<人名>家书"),
        # unknown to jieba's dictionary, named by its HMM
        ("杨幂婚纱照", "<人名>婚纱照"),
        ("彭于晏 健身照", "<人名> 健身照"),
        ("周深 现场", "<人名> 现场"),  # 周/nr 深/a standing alone
    ],
)
def test_names_masked(masker: NameMasker, caption: str, expected: str) -> None:
    assert masker.mask_text(caption) == expected


def test_array_bad_input_and_repeats() -> None:
    captions = pa.array(["张伟和李娜在北京", None, "", "😀😀", "\x00", "风景" * 5_000, "张伟和李娜在北京"], pa.string())
    out = mask_names(captions).to_pylist()
    assert out == ["<人名>和<人名>在北京", None, "", "😀😀", "\x00", "风景" * 5_000, "<人名>和<人名>在北京"]
    assert mask_names(pa.chunked_array([["王小明"], ["西湖"]])).to_pylist() == ["<人名>", "西湖"]
    assert mask_names(pa.array([], pa.string())).to_pylist() == []


def test_array_path_agrees_with_text_path(masker: NameMasker) -> None:
    """The batch path (RE2 prefilter, distinct captions) masks exactly what the text path does."""
    captions = [c for name in sorted(MIN) for c, _ in pairs(name)]
    assert masker.mask(pa.array(captions)).to_pylist() == [masker.mask_text(c) for c in captions]


def test_config_token_and_switch() -> None:
    cfg = Config()
    cfg.privacy.name_token = "[NAME]"
    assert NameMasker(cfg).mask_text("记者张伟摄") == "记者[NAME]摄"
    off = NameMasker(PrivacyConfig(mask_person_names=False))
    assert off.mask(pa.array(["记者张伟摄"])).to_pylist() == ["记者张伟摄"]


def test_masks_a_table_column_in_place(masker: NameMasker) -> None:
    table = pa.table({"key": ["1", "2"], "caption": ["记者张伟摄", "西湖"]})
    out = masker(table)
    assert out.column_names == ["key", "caption"]
    assert out.column("caption").to_pylist() == ["记者<人名>摄", "西湖"]
