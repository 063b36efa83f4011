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
# Measured with the round-3 rules frozen (python -m bench.bench_privacy --names FILE; BENCHMARKS.md, "Person
# names, round 3"): precision / recall names.tsv 1.000 / 0.986, names_holdout 1.000 / 0.977, names_dev
# 1.000 / 0.997, names_dev2 0.996 / 0.989, names_dev3 0.994 / 0.984, names_dev4 1.000 / 0.933, names_dev5
# 1.000 / 0.990, names_dev6 1.000 / 0.975; names_check4.tsv, measured once after the freeze and never
# tuned on, 0.969 / 0.887. All but the check set were used to tune the rules: only a set written after
# them is an honest estimate (round 1 scored 0.86 / 0.80 on such a set, round 2 0.92 / 0.94).
MIN = {"names.tsv": (0.98, 0.97), "names_holdout.tsv": (0.98, 0.95), "names_dev.tsv": (0.98, 0.97),
       "names_dev2.tsv": (0.98, 0.97), "names_dev3.tsv": (0.98, 0.97), "names_dev4.tsv": (0.98, 0.92),
       "names_dev5.tsv": (0.98, 0.97), "names_dev6.tsv": (0.98, 0.95), "names_check4.tsv": (0.95, 0.85)}


@pytest.fixture(scope="module")
def masker() -> NameMasker:
    return NameMasker()


def pairs(name: str) -> list[tuple[str, str]]:
    return read_pairs(LABELLED / name)


def score(masker: NameMasker, rows: list[tuple[str, str]]) -> Score:
    return score_names(masker, rows)


def test_labelled_sets_are_big_and_mixed() -> None:
    for name, (min_rows, min_names, min_traps) in {"names.tsv": (200, 80, 100), "names_holdout.tsv": (100, 40, 60),
                                                   "names_dev.tsv": (600, 250, 300),
                                                   "names_dev2.tsv": (1000, 450, 450),
                                                   "names_dev3.tsv": (400, 150, 200),
                                                   "names_dev4.tsv": (200, 80, 100),
                                                   "names_dev5.tsv": (150, 80, 60),
                                                   "names_dev6.tsv": (120, 60, 60),
                                                   "names_check4.tsv": (150, 60, 80)}.items():
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
     "九毛九", "宋城", "张老师",
     # round 2: dishes, brands, places, a surname and a title, fictional and foreign names, food words
     "李鸿章杂烩", "谭木匠梳子", "马子禄牛肉面", "王中王火腿肠", "王家庄", "宋庄画家村", "威海刘公岛", "舟山朱家尖",
     "马老师的课堂", "林黛玉葬花", "郭靖黄蓉", "李逍遥和赵灵儿", "霍金 宇宙", "罗丹 雕塑", "陈皮红豆沙", "关怀老人",
     "戴口罩的女孩", "车水马龙", "望子成龙", "身高适合", "放下争斗陕甘宁", "齐云山", "王者荣耀 李白 皮肤", "cos李白",
     "饰演曹操", "古龙水",
     # round 3: places named after people, brands, companies, things, solar terms, fictional characters
     "鲁迅故居", "杜甫草堂", "武侯祠", "李宁跑步鞋男款", "东方甄选直播间", "鲁班锁", "白露时节", "谷雨 春茶",
     "平凡的世界 孙少平", "孙少安和贺秀莲", "夏威夷 海滩", "高尔夫球场", "蒲公英", "鸿星尔克和李宁", "李宁 篮球鞋",
     "上海鲁迅公园", "张謇中学", "岳家军", "谢谢孙老师的教导", "高颜值 水杯", "苏州金龙", "白鹭 湿地", "古琴 演奏"],
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
        # round 2: a rare dictionary name before a verb of people
        ("姚明在火箭队比赛", "<人名>在火箭队比赛"),
        ("莫言获诺贝尔文学奖", "<人名>获诺贝尔文学奖"),
        # listed well-known people: historical figures, unknown to jieba, non-surname first characters
        ("纪念屈原", "纪念<人名>"),
        ("李白 将进酒 书法作品", "<人名> 将进酒 书法作品"),
        ("杜牧山行", "<人名>山行"),
        ("跳水冠军全红婵", "跳水冠军<人名>"),
        ("钟南山院士", "<人名>院士"),
        ("易烊千玺 领奖", "<人名> 领奖"),
        ("鲁迅的故居", "<人名>的故居"),
        ("赵云飞的作品", "<人名>的作品"),  # a longer name than the listed 赵云
        ("杨沫青春之歌", "<人名>青春之歌"),  # jieba's 杨沫青/nr took the 青 of 青春
        ("于和伟饰演曹操", "<人名>饰演曹操"),  # the character played
        # kinship after a name jieba cut apart; a conjunction glued to a given name
        ("吴国强家的新房", "<人名>家的新房"),
        ("曹金花奶奶", "<人名>奶奶"),
        ("韩桂花的手工鞋垫", "<人名>的手工鞋垫"),
        ("张平和李明在操场", "<人名>和<人名>在操场"),
        ("歌手毛不易", "歌手<人名>"),
        ("端木蕻良 作家", "<人名> 作家"),
        ("小学生王子涵的画", "小学生<人名>的画"),
        # round 3: the name and no more before a verb, a measure word, kinship or a wish; after a role or 祝
        ("李梅开的民宿", "<人名>开的民宿"),
        ("周婷织的毛衣", "<人名>织的毛衣"),
        ("张伟一家的全家福", "<人名>一家的全家福"),
        ("刘洋祝大家新年快乐", "<人名>祝大家新年快乐"),
        ("王丽娟祝全国人民新春快乐", "<人名>祝全国人民新春快乐"),
        ("祝张伟新婚快乐", "祝<人名>新婚快乐"),
        ("的哥王建军拾金不昧", "的哥<人名>拾金不昧"),
        ("李强媳妇", "<人名>媳妇"),
        # rare and compound surnames; places after an ordinary name; a person who is also a brand
        ("解晓东 演唱会", "<人名> 演唱会"),
        ("东方一鸣 获奖", "<人名> 获奖"),
        ("陈明大学毕业照", "<人名>大学毕业照"),
        ("体操冠军李宁", "体操冠军<人名>"),
        ("王雷饰演孙少安", "<人名>饰演孙少安"),
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


def test_listed_names_without_a_surname_pass_the_prefilter() -> None:
    """全 and 迪 are no surnames: the RE2 prefilter lets the listed names through all the same."""
    out = mask_names(pa.array(["跳水冠军全红婵", "迪丽热巴 新剧", "全部商品"])).to_pylist()
    assert out == ["跳水冠军<人名>", "<人名> 新剧", "全部商品"]


def test_name_lists_are_disjoint_and_reachable(masker: NameMasker) -> None:
    """A listed person is no fictional or foreign name, and every fictional or foreign name holds a surname
    and a character after it (else no span the masker proposes could touch it: a dead entry)."""
    lex = masker.lexicon
    assert lex.known and not lex.known & lex.not_names

    def reachable(word: str) -> bool:
        return any(word[i] in lex.surnames | lex.rare_surnames or word[i:i + 2] in lex.compound_surnames
                   for i in range(len(word) - 1))

    # fictional characters need not be reachable: they also mark the names joined to them (`亮剑 楚云飞 赵刚`)
    assert [w for w in lex.not_names - lex.things - lex.fictional if not reachable(w)] == []


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
