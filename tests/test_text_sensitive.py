"""The sensitive-word filter alone: lexicons, evasion, allowed phrases, bad input (details `category:term`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from filters.base import apply_filter
from filters.lexicon import t2s_table
from filters.sensitive import SENSITIVE_MATCH, SensitiveFilter
from filters.text_chain import normalize_captions
from manifests import reasons
from manifests.config import Config, load_config
from manifests.errors import UserError


@pytest.fixture(scope="module")
def flt() -> SensitiveFilter:
    return SensitiveFilter(Config())


def run(flt: SensitiveFilter, captions: list[str | None]) -> pa.Table:
    return apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})), flt)


@pytest.mark.parametrize(
    "caption",
    ["网上赌博平台", "赌 博", "赌.博", "赌★博", "赌\u200b博", "赌\u3000博", "赌-博-网", "😀赌博😀", "在线 赌、博 游戏"],
)
def test_evasions_match(flt: SensitiveFilter, caption: str) -> None:
    row = run(flt, [caption]).to_pylist()[0]
    assert (row["reason"], row["detail"], row[SENSITIVE_MATCH]) == (reasons.SENSITIVE, "gambling:赌博", "gambling:赌博")


@pytest.mark.parametrize(("caption", "word"), [("赌博机", "gambling:赌博机"), ("吸冰毒", "drugs:冰毒"),
                                              ("色情网站", "porn:色情"), ("游戏外挂下载", "fraud:外挂"),
                                              ("色情", "porn:色情")])
def test_words_inside_or_beside_other_words_match(flt: SensitiveFilter, caption: str, word: str) -> None:
    assert run(flt, [caption]).column(SENSITIVE_MATCH).to_pylist() == [word]


def test_lexicon_word_with_spaces_is_matched_by_its_skeleton(flt: SensitiveFilter) -> None:
    out = run(flt, ["代开 发票", "代 开 发 票 联系"])
    assert out.column("detail").to_pylist() == ["fake_documents:代开发票", "fake_documents:代开发票"]


@pytest.mark.parametrize(
    "caption",
    ["空调外挂机", "窗外挂着红灯笼", "明星私服穿搭", "政务办证大厅", "西湖断桥", "赌", "博物馆",
     # a skeleton joins words: these hold 色情 or 外挂 across a word boundary
     "韦德之道 配色 情侣款", "白色情人节礼物", "黑色情侣装", "门外 挂着 春联"],
)
def test_clean_and_allowed_captions_kept(flt: SensitiveFilter, caption: str) -> None:
    row = run(flt, [caption]).to_pylist()[0]
    assert (row["reason"], row["detail"], row[SENSITIVE_MATCH]) == (None, None, None)


def test_allowed_phrase_does_not_hide_a_second_match(flt: SensitiveFilter) -> None:
    out = run(flt, ["空调外挂机 游戏外挂"])
    assert out.column("detail").to_pylist() == ["fraud:外挂"]


def test_matches_never_span_two_rows(flt: SensitiveFilter) -> None:
    out = run(flt, ["赌", "博", "毒品", "", None, "x"])
    assert out.column("reason").to_pylist() == [None, None, reasons.SENSITIVE, None, None, None]
    assert out.column(SENSITIVE_MATCH).to_pylist() == [None, None, "drugs:毒品", None, None, None]


def test_user_lexicon_full_width_and_case(tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("# my words\n\nBadWord\n  禁词  \n# 西湖\n", encoding="utf-8")
    cfg = Config()
    cfg.text.sensitive_words = [str(lexicon)]
    cfg.text.use_default_lexicon = False
    out = run(SensitiveFilter(cfg), ["ＢＡＤ　ｗｏｒｄ 贴纸", "b.a.d.w.o.r.d", "禁 词", "西湖", "网上赌博"])
    assert out.column("detail").to_pylist() == ["user:BadWord", "user:BadWord", "user:禁词", None, None]


def test_traditional_characters_are_folded_and_latin_words_kept_whole(tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("禁词\n坏话\nsb\n", encoding="utf-8")
    cfg = Config()
    cfg.text.sensitive_words = [str(lexicon)]
    cfg.text.use_default_lexicon = False
    out = run(SensitiveFilter(cfg), ["禁詞 壞話", "壞 話", "usb 数据线", "sb 一个", "你个sb", "S B", "sbs"])
    assert out.column("detail").to_pylist() == ["user:禁词", "user:坏话", None, "user:sb", "user:sb", "user:sb", None]
    batch = ["禁詞"] + ["普通的 風景 照片"] * 300 + ["壞話 𠀀 后来"]  # a long batch is folded through numpy
    assert run(SensitiveFilter(cfg), batch).column("detail").to_pylist() == ["user:禁词"] + [None] * 300 + ["user:坏话"]


def test_tone_marks_and_the_horse_emoji_are_folded(tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("se情\n你马死了\n", encoding="utf-8")
    cfg = Config()
    cfg.text.sensitive_words = [str(lexicon)]
    cfg.text.use_default_lexicon = False
    captions = ["sè情 视频", "SÈ情", "你🐴死了", "你 🐎 死 了", "你★死了", "骑🐴 草原", "Pokémon 卡牌"]
    out = run(SensitiveFilter(cfg), captions)
    assert out.column("detail").to_pylist() == ["user:se情", "user:se情", "user:你马死了", "user:你马死了", None, None,
                                                None]
    batch = ["普通的 風景 照片"] * 300 + ["sè情", "你🐴死了"]  # the long batch's numpy path folds them too
    assert run(SensitiveFilter(cfg), batch).column("detail").to_pylist()[-2:] == ["user:se情", "user:你马死了"]


def test_zhang_of_accounts_is_folded_in_both_scripts(tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("对公账户\n", encoding="utf-8")
    cfg = Config()
    cfg.text.sensitive_words = [str(lexicon)]
    cfg.text.use_default_lexicon = False
    out = run(SensitiveFilter(cfg), ["對公帳戶 出售", "对公帐户 出售", "对公账户", "帐篷 露营"])
    assert out.column("detail").to_pylist() == ["user:对公账户"] * 3 + [None]


def test_the_folding_table_leaves_simplified_text_alone() -> None:
    table = t2s_table()
    assert len(table) > 3000 and table[ord("槍")] == "枪" and table[ord("澀")] == "涩" and table[ord("樂")] == "乐"
    assert all(len(v) == 1 for v in table.values()) and not set(table) & {ord(v) for v in table.values()}
    gb2312 = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                gb2312.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    assert len(gb2312) == 6763  # the simplified standard's hanzi: only 後 菸 摺 are folded (to 后 烟 折)
    assert {c for c in gb2312 if ord(c) in table} == set("後菸摺")
    for kept in "乾於徵著么":  # traditional text also uses these, but so does simplified text: never folded
        assert ord(kept) not in table


def test_user_lexicon_adds_to_default(tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("禁词\n", encoding="utf-8")
    cfg = Config()
    cfg.text.sensitive_words = [str(lexicon)]
    out = run(SensitiveFilter(cfg), ["禁词", "赌博"])
    assert out.column("detail").to_pylist() == ["user:禁词", "gambling:赌博"]


def test_user_lexicon_on_s3(s3_server) -> None:
    """A lexicon in object storage, which every node of a cluster can read (moto on 127.0.0.1)."""
    bucket = s3_server.new_bucket()
    s3_server.filesystem().pipe(f"{bucket}/lexicons/mine.txt", "# mine\n禁词\n".encode())
    cfg = load_config(None, s3_server.config_overrides())
    cfg.text.sensitive_words = [f"s3://{bucket}/lexicons/mine.txt"]
    cfg.text.use_default_lexicon = False
    out = run(SensitiveFilter(cfg), ["禁词", "赌博"])
    assert out.column("detail").to_pylist() == ["user:禁词", None]
    cfg.text.sensitive_words = [f"s3://{bucket}/lexicons/missing.txt"]
    with pytest.raises(UserError, match=f"sensitive-word lexicon not found: s3://{bucket}/lexicons/missing.txt"):
        SensitiveFilter(cfg)


def test_missing_lexicon_is_a_user_error(tmp_path: Path) -> None:
    cfg = Config()
    cfg.text.sensitive_words = [str(tmp_path / "nope.txt")]
    with pytest.raises(UserError, match=r"sensitive-word lexicon not found: .*nope\.txt"):
        SensitiveFilter(cfg)


def test_non_utf8_lexicon_is_a_user_error(tmp_path: Path) -> None:
    lexicon = tmp_path / "gbk.txt"
    lexicon.write_bytes("赌博\n".encode("gbk"))
    cfg = Config()
    cfg.text.sensitive_words = [str(lexicon)]
    with pytest.raises(UserError, match=r"not UTF-8: .*gbk\.txt"):
        SensitiveFilter(cfg)


def test_no_lexicon_keeps_everything() -> None:
    cfg = Config()
    cfg.text.use_default_lexicon = False
    out = run(SensitiveFilter(cfg), ["赌博", None])
    assert out.column("reason").null_count == 2
    assert out.column(SENSITIVE_MATCH).null_count == 2


def test_bad_input(flt: SensitiveFilter) -> None:
    out = run(flt, [None, "", "😀😀", "\x00赌\x01博", "长" * 10_000, "长" * 300 + "毒品"])
    assert out.column(SENSITIVE_MATCH).to_pylist() == [None, None, None, "gambling:赌博", None, "drugs:毒品"]
