"""Mojibake: captions decoded with the wrong charset are repaired (caption_norm, the stat column) or
rejected as `mojibake` with the kind as detail; correct rare, traditional, Cantonese and classical
captions are untouched; the labelled set meets the thresholds; the filter stage and the report count it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from candidate_parts import write_candidate_parts
from loopback import serve_app
from mojibake_set import CORRECT, HOLDOUT, KINDS, TUNE, is_nothing_left, labelled_set, outcomes, rates
from test_filter_stage import _jpeg  # a distinct 320x240 noise JPEG per seed

from filters.base import apply_filter, apply_filters
from filters.mojibake import MOJIBAKE, MojibakeFilter, suspicious_pattern
from filters.mojibake_model import TABLE, HanModel, derive_table, jieba_dict_path
from filters.runner import run_filter
from filters.text_chain import normalize_captions, text_filters
from filters.text_normalize import normalize_text
from manifests import reasons
from manifests.config import Config, load_config
from manifests.stats import FilterStats
from wukong.report.funnel import funnel_rows, ordered_reasons, step_of

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
RARE_CORRECT = Path(__file__).resolve().parent / "data" / "labelled" / "mojibake_rare_correct.tsv"
ORIGINAL = "用心专注"


def _utf8_read_as(text: str, codec: str, errors: str = "strict") -> str:
    return text.encode("utf-8").decode(codec, errors)


@pytest.fixture(scope="module")
def flt() -> MojibakeFilter:
    return MojibakeFilter(Config())


def _run(flt: MojibakeFilter, captions: list[str | None]) -> list[dict[str, str | None]]:
    table = normalize_captions(pa.table({"caption": pa.array(captions, pa.string())}))
    out = apply_filter(table, flt)
    return out.select(["caption", "caption_norm", MOJIBAKE, "reason", "detail"]).to_pylist()


def test_each_lossless_kind_is_repaired(flt: MojibakeFilter) -> None:
    cases = [
        (_utf8_read_as(ORIGINAL, "gbk"), ORIGINAL, "repaired:gbk->utf8"),  # 鐢ㄥ績涓撴敞
        (_utf8_read_as(ORIGINAL, "cp1252"), ORIGINAL, "repaired:cp1252->utf8"),  # ç”¨å¿ƒä¸“æ³¨
        (_utf8_read_as("红烧肉的家常做法", "latin-1"), "红烧肉的家常做法", "repaired:latin1->utf8"),
        # GB18030 reads GBK's gaps as private-use characters: 西湖断桥残雪 -> 瑗挎箹鏂\ue15fˉ娈嬮洩
        (_utf8_read_as("西湖断桥残雪", "gb18030"), "西湖断桥残雪", "repaired:gb18030->utf8"),
        ("98a8e084f2bc4be1.jpg (781Ã—451)", "98a8e084f2bc4be1.jpg (781×451)", "repaired:cp1252->utf8"),
        (_utf8_read_as("iPhone 15 Pro 手机", "gbk"), "iphone 15 pro 手机", "repaired:gbk->utf8"),
    ]
    for row, (_, original, label) in zip(_run(flt, [c for c, _, _ in cases]), cases, strict=True):
        assert row[MOJIBAKE] == label, row
        assert row["caption_norm"] == normalize_text(original)
        assert row["reason"] is None and row["detail"] is None


def test_unrecoverable_mojibake_is_rejected_with_its_kind(flt: MojibakeFilter) -> None:
    long_caption = "不锈钢炒锅家用不粘锅"
    cases = [
        ("西湖\ufffd断桥", "replacement_char"),
        (_utf8_read_as(long_caption, "gbk", "replace"), "gbk->utf8 lossy"),
        (_utf8_read_as(long_caption, "gbk", "ignore"), "gbk->utf8 lossy"),
        (_utf8_read_as(long_caption, "cp1252", "replace"), "cp1252->utf8 lossy"),
        (_utf8_read_as(long_caption, "cp1252", "ignore"), "cp1252->utf8 lossy"),
        (_utf8_read_as(long_caption, "big5", "replace"), "big5->utf8 lossy"),
        (_utf8_read_as("加厚羽绒服女中长款", "big5", "ignore"), "big5->utf8 lossy"),  # 蝢賜憟喃葉踵狡
        (long_caption.encode("gbk").decode("utf-8", "replace"), "replacement_char"),  # GBK page read as UTF-8
    ]
    rows = _run(flt, [c for c, _ in cases])
    assert [(r["reason"], r["detail"]) for r in rows] == [(reasons.MOJIBAKE, kind) for _, kind in cases]
    assert [r[MOJIBAKE] for r in rows] == [kind for _, kind in cases]
    assert [r["caption_norm"] for r in rows] == [normalize_text(c) for c, _ in cases]  # nothing rewritten


UNTOUCHED = [
    "囧字表情包合集", "鱻味海鲜馆招牌", "犇犇牛肉面馆", "槑槑的青梅酒", "龘字怎么读", "《说文解字》宋刻本书影",
    "古籍善本《永乐大典》残卷", "𠮷野家牛肉饭", "臺北101跨年煙火", "香港維多利亞港夜景", "鹽酥雞與珍珠奶茶",
    "呢間茶餐廳嘅菠蘿包好正", "佢哋喺度飲緊茶", "攰到唔想郁", "床前明月光，疑是地上霜", "锦瑟无端五十弦",
    "岁寒，然后知松柏之后凋也", "Pokémon 皮卡丘毛绒公仔", "Café 咖啡拉花", "Crème brûlée", "déjà vu «café»",
    "東京タワーの夜景", "서울 야경", "phở bò hà nội", "1920×1080 桌面壁纸", "今日气温25°C 晴", "生日快乐🎂蛋糕",
    "It’s a “nice” day – really…", "", None,
]


def test_correct_rare_traditional_and_classical_captions_are_untouched(flt: MojibakeFilter) -> None:
    for row in _run(flt, UNTOUCHED):
        assert row[MOJIBAKE] is None and row["reason"] is None, row
        assert row["caption_norm"] == normalize_text(row["caption"])


def test_short_leftovers_of_lossy_decodes_are_rejected_as_fragments(flt: MojibakeFilter) -> None:
    """What a Big5 (or, cut at the end, GBK) decode with errors='ignore' leaves: one or two rare
    characters each made of a UTF-8 lead and continuation byte, alone or beside Latin text."""
    cases = [
        (_utf8_read_as("东坡肉", "big5", "ignore"), "big5"),  # 銝∟
        (_utf8_read_as("扬州炒饭", "big5", "ignore"), "big5"),  # 砍擖
        (_utf8_read_as("凉拌黄瓜", "big5", "ignore"), "big5"),  # 暺
        (_utf8_read_as("皮蛋瘦肉粥", "big5", "ignore"), "big5"),  # 株西蝎: common characters, no word
        (_utf8_read_as("Gucci 酒神包", "big5", "ignore"), "big5"),  # Gucci 蟡
        (_utf8_read_as("Tesla Model Y 2024款", "gbk", "ignore"), "gbk"),  # Tesla Model Y 2024娆
    ]
    rows = _run(flt, [c for c, _ in cases])
    assert [(r["reason"], r["detail"]) for r in rows] == [(reasons.MOJIBAKE, f"{k}->utf8 fragment") for _, k in cases]


SHORT_UNTOUCHED = ["囧", "鱻", "犇", "槑", "龘", "古籍", "日文", "瑞", "急", "福", "賊", "夢", "龍", "靚仔", "冇", "嘅",
                   "犇犇", "子曰", "🎂", "iPhone 殼", "Gucci 包", "日", "文"]


def test_short_correct_captions_are_untouched(flt: MojibakeFilter) -> None:
    """Common characters alone (瑞 and 日 are also what Big5 leaves of some captions), rare-character
    names, traditional and Cantonese words: a leftover needs a rare character and no dictionary word."""
    for row in _run(flt, SHORT_UNTOUCHED):
        assert row[MOJIBAKE] is None and row["reason"] is None, row


def _rare_correct() -> list[tuple[str, str]]:
    lines = RARE_CORRECT.read_text(encoding="utf-8").splitlines()
    return [(line.split("\t")[0], line.split("\t")[1]) for line in lines if line and not line.startswith("#")]


def test_rare_traditional_cantonese_and_classical_text_is_untouched(flt: MojibakeFilter) -> None:
    """Cantonese words and sentences, classical lines and old book titles (simplified and traditional),
    names with rare characters, lone dictionary characters: none is repaired or rejected."""
    rows = _rare_correct()
    assert len(rows) >= 200 and {c for _, c in rows} == {"cantonese", "classical", "name", "char"}
    out = _run(flt, [caption for caption, _ in rows])
    assert [(r["caption"], r[MOJIBAKE]) for r in out if r[MOJIBAKE] is not None] == []


def test_traditional_characters_are_never_repaired_into_latin_letters(flt: MojibakeFilter) -> None:
    """GBK writes many traditional and rare characters with the bytes UTF-8 writes Latin-1 with: `臉` is
    C4 98, which UTF-8 reads as `Ę`. A caption of such characters alone is correct text; where Latin
    text surrounds the character, the repair stands (`1920脳1080`), and so do emoji (`馃榾`)."""
    mojibake = [_utf8_read_as("1920×1080 壁纸", "gbk"), _utf8_read_as("😀😀", "gbk")]
    rows = _run(flt, ["臉", "簞", "瞼", "繒", "脫", "臉書", *mojibake])
    assert [r[MOJIBAKE] for r in rows] == [None] * 6 + ["repaired:gbk->utf8"] * 2
    assert [r["caption_norm"] for r in rows[6:]] == ["1920×1080 壁纸", "😀😀"]


TRADITIONAL_WORDS = ["不對勁", "兩隻手", "兩歲半", "中寧縣", "兩日遊", "兩面夾攻", "不輸給", "兩手發", "靚妞", "靚妝",
                     "冇問題", "東坡肉的家常做法", "臺灣夜市小吃攻略", "香港維多利亞港兩岸夜景"]


def test_traditional_and_cantonese_words_are_untouched(flt: MojibakeFilter) -> None:
    """The model rates a traditional character as its simplified form (`兩` costs what `两` costs, `靚妞`
    is a known pair because `靓妞` is), so traditional words no longer read as noise."""
    rows = _run(flt, TRADITIONAL_WORDS)
    assert [(r["caption"], r[MOJIBAKE]) for r in rows] == [(w, None) for w in TRADITIONAL_WORDS]


def test_model_rates_traditional_characters_as_their_simplified_form() -> None:
    model = HanModel()
    assert model.cost("臉") == model.cost("脸") and model.cost("兩") == model.cost("两")
    assert model.judge("東坡肉").score == model.judge("东坡肉").score
    assert model.begins_word("靚妞") and model.is_word("臉") and not model.is_word("銝")


def test_lone_dictionary_characters_stay_and_leftovers_that_give_back_characters_go(flt: MojibakeFilter) -> None:
    """A one-character caption that jieba lists and Big5 counts among its common characters is kept
    (`乒`, also what Big5 leaves of some captions); a leftover whose adjacent characters hold the bytes of
    a common character of the original is rejected even when its own characters are common."""
    lone = ["乒", "乩", "佗", "嗥", "冽", "唳"]
    assert [r[MOJIBAKE] for r in _run(flt, lone)] == [None] * len(lone)
    # 嫣漣 gives back 产, 桐辣 件, 瘝喲 间
    gave_back = [_utf8_read_as(c, "big5", "ignore") for c in ("特产", "邮件", "河间")]
    assert [r[MOJIBAKE] for r in _run(flt, gave_back)] == ["big5->utf8 fragment"] * 3


def test_plain_simplified_chinese_skips_the_detector() -> None:
    """The pre-check keeps the common case in the kernels: plain captions never reach Python."""
    plain = [r.text for r in labelled_set() if r.kind == CORRECT and r.category in ("product", "food", "news")]
    mojibake = [r.text for r in labelled_set() if r.kind != CORRECT and not is_nothing_left(r)]
    search = suspicious_pattern().search
    assert sum(1 for text in plain if search(text)) <= len(plain) // 20
    # Missed: a few Big5 leftovers of common characters beside other text (`Canon EOS R5 瑞` of 样片).
    assert sum(1 for text in mojibake if search(text)) >= 0.995 * len(mojibake)


def test_repair_comes_first_in_the_chain() -> None:
    """Later filters judge the repaired caption (the cp1252 mojibake of 图片 is a placeholder, words are
    counted on the repair), and damaged text is `mojibake` whatever else it is (here: too long)."""
    captions = [_utf8_read_as("图片", "cp1252"), _utf8_read_as("黄山云海日出", "gbk"),
                _utf8_read_as("风景" * 40, "gbk"), "风景" * 40 + "\ufffd"]
    table = normalize_captions(pa.table({"caption": pa.array(captions, pa.string())}))
    out = apply_filters(table, text_filters(Config()))
    assert out.column("reason").to_pylist() == [reasons.PLACEHOLDER, None, reasons.TOO_LONG, reasons.MOJIBAKE]
    assert out.column("caption_norm").to_pylist()[:3] == ["图片", "黄山云海日出", "风景" * 40]
    assert out.column("word_count").to_pylist()[1:3] == [3, 40]  # 黄山 云海 日出: counted on the repair


@pytest.fixture(scope="module")
def labelled() -> tuple[list, list[str]]:  # type: ignore[type-arg]
    rows = labelled_set()
    return rows, outcomes(rows)


def test_labelled_set_is_large_and_varied(labelled: tuple[list, list[str]]) -> None:  # type: ignore[type-arg]
    rows, _ = labelled
    assert len(rows) >= 1000
    correct = [r for r in rows if r.kind == CORRECT]
    assert len({r.text for r in correct}) >= 300
    assert {r.category for r in correct} >= {"rare", "traditional", "cantonese", "classical", "brand", "food"}
    assert {r.kind for r in rows} == {CORRECT, *KINDS}
    assert {r.errors for r in rows if r.kind == "gbk"} == {"strict", "replace", "ignore"}


@pytest.mark.parametrize("split", [TUNE, HOLDOUT])
def test_labelled_set_thresholds(labelled: tuple[list, list[str]], split: str) -> None:  # type: ignore[type-arg]
    """Correct captions untouched >= 0.995; each kind of mojibake repaired to the original exactly or
    rejected >= 0.97, every row counted (the short leftovers of `ignore` decodes too, `东坡肉` -> `銝∟`)."""
    rows, results = labelled
    picked = [(r, o) for r, o in zip(rows, results, strict=True) if r.split == split]
    measured = rates([r for r, _ in picked], [o for _, o in picked])
    assert measured[CORRECT][1] >= 0.995, measured
    for kind in KINDS:
        assert measured[kind][0] >= 100 and measured[kind][1] >= 0.97, (kind, measured[kind])
    assert "wrong_repair" not in [o for _, o in picked]


def test_char_table_is_derived_from_jieba() -> None:
    shipped = [line.split("\t") for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert [(ch, int(n)) for ch, n in shipped] == derive_table(jieba_dict_path())


def test_funnel_and_report_count_mojibake_first_among_text_reasons() -> None:
    stats = FilterStats.from_dict({"input": 100, "kept": 80, "rejected": {
        "placeholder": 5, "mojibake": 3, "too_short": 2, "near_duplicate": 10}})
    assert ordered_reasons(stats) == ["mojibake", "placeholder", "too_short", "near_duplicate"]
    assert step_of(reasons.MOJIBAKE) == "text"
    text_step = next(r for r in funnel_rows(stats) if r.name == "text")
    assert text_step.removed == 10


# --- the filter stage on Ray: kept caption, caption_raw, details, stats.json ---------------------------

STAGE_CAPTIONS = [
    _utf8_read_as("用心专注的手工匠", "gbk") + "{}",  # repaired, kept
    _utf8_read_as("西湖断桥残雪", "cp1252") + " {}",  # repaired, kept
    "西湖\ufffd断桥{}",  # replacement_char
    _utf8_read_as("图片", "cp1252"),  # repaired to a placeholder: rejected, detail names the repair
    "囧字表情包合集{}",  # untouched, kept
    _utf8_read_as("不锈钢炒锅家用不粘锅", "gbk", "ignore") + "{}",  # gbk->utf8 lossy
    "北京故宫的红墙{}号",
    "臺北101跨年煙火{}",
]


@pytest.fixture(scope="module")
def candidates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    async def image(request: web.Request) -> web.Response:
        return web.Response(body=_jpeg(int(request.match_info["i"])), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/img/{i}.jpg", image)
    with serve_app(app) as base:
        yield write_candidate_parts(tmp_path_factory.mktemp("candidates"), base, STAGE_CAPTIONS, 32)


def test_filter_stage_repairs_rejects_and_counts(candidates: Path, tmp_path: Path, ray_local: None) -> None:
    cfg = load_config(CONFIG, ["privacy.mask_person_names=false"])
    run_filter(candidates, tmp_path / "out", cfg)
    stats = json.loads((tmp_path / "out" / "stats.json").read_text(encoding="utf-8"))
    assert stats["rejected"][reasons.MOJIBAKE] == 8  # rows 2 and 5 of every 8
    assert stats["input"] == 32 == stats["kept"] + sum(stats["rejected"].values())
    kept = pa.concat_tables([pq.read_table(f) for f in (tmp_path / "out" / "kept").glob("*.parquet")])
    by_raw = {r["caption_raw"]: r["caption"] for r in kept.select(["caption", "caption_raw"]).to_pylist()}
    raw = STAGE_CAPTIONS[0].format(0)
    assert by_raw[raw] == "用心专注的手工匠0"  # the repaired caption is released, the page's text kept beside it
    assert by_raw[STAGE_CAPTIONS[1].format(1)] == "西湖断桥残雪 1"
    assert by_raw[STAGE_CAPTIONS[4].format(4)] == "囧字表情包合集4"
    rejected = pa.concat_tables([pq.read_table(f) for f in (tmp_path / "out" / "rejected").glob("*.parquet")])
    details = {(r["caption"], r["reason"], r["detail"]) for r in rejected.to_pylist()}
    assert (STAGE_CAPTIONS[2].format(2), reasons.MOJIBAKE, "replacement_char") in details
    assert (STAGE_CAPTIONS[5].format(5), reasons.MOJIBAKE, "gbk->utf8 lossy") in details
    assert (STAGE_CAPTIONS[3], reasons.PLACEHOLDER, "placeholder_word; repaired:cp1252->utf8") in details
