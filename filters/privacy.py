"""Privacy: person names in kept captions replaced by `privacy.name_token` (`<人名>`).

Not a Filter: it rewrites captions instead of rejecting rows. jieba's `nr` tag alone is far too noisy
(its dictionary tags 安静, 小狗, 雪山, 王府井 as `nr`), and a mangled caption (`<人名>炒鸡蛋`) is
worse than a missed name, so a span is a name only when all of these hold:

1. jieba proposes it: one token tagged `nr`/`nrfg` (`nz` for three characters), or a lone surname
   token followed by a one- or two-character token (`孙/zg 浩然/a`, `欧阳/ns 娜娜/nrt`); a
   conjunction jieba glued to a name is split off first (`陈/nr 平和/a 朋友` -> 陈平 和);
2. its shape: a surname from data/surnames.txt (single, or compound like 欧阳 and 上官), then a
   given name of 1-2 characters (1-2 after a compound surname), each character a common given-name
   character (data/given_name_chars.txt, which leaves out 山 河 园 花 皮 枝 ...); characters such
   as 小 家 一 和 only inside a name;
3. frequency: a word in jieba's dictionary is a common word, not a name: a dictionary word tagged
   anything but `nr`/`nrfg`/`nz` is never a name (金华, 文静); a two-character dictionary word
   (安静, 白云, 史诗, 许昌) is one only when its last character hardly ends anything but names
   (`strong:` 娜 婷 涛 ...: 李娜, 朱娟), beside a title, role or verb of people (`王平老师`,
   `记者王菲`, `马超参加`), or joined by 和/与/、 to another name; a longer one not when it ends like
   a thing (罗汉松, 丁香花) or starts with a compound surname that is also a word (东方明珠, 西门子);
   brands and places shaped like names (戴森, 潘婷, 周大福) are listed in data/not_names.txt;
4. context: not followed by a place or shop suffix (`李建国路`, `王记`, `张家村`) or a place
   (`钱江/nr 新城/ns`), not the stem of a dictionary place (岳阳 of 岳阳楼, 高雄 of 高雄市); a
   three-character span whose first two characters are a common word (祝福语, 万年青, 金银花)
   is that word, not a name.

Famous and historical figures are masked like anyone when they pass the same rules; foreign
names are out of scope. Captions without a surname followed by a given-name character skip jieba
(one RE2 pass), and each distinct caption is analysed once per batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jieba
import jieba.posseg
import pyarrow as pa
import pyarrow.compute as pc

from manifests.config import Config, PrivacyConfig

DATA_DIR = Path(__file__).resolve().parent / "data"

NAME_TAGS = frozenset({"nr", "nrfg"})
# A title, kinship or role word or a verb of people right after the name, or a role right before it.
TITLES_AFTER = frozenset(
    "先生 女士 小姐 老师 同学 教授 医生 护士 律师 主任 经理 院士 博士 校长 书记 局长 县长 市长 省长 厂长 "
    "村长 同志 师傅 老人 小朋友 宝宝 奶奶 爷爷 夫妇 同款 写真 演唱会 主演 新歌 新剧 剧照 红毯 签名 近照 导演 "
    "主持 参加 出席 获得 荣获 获奖 表示 认为 指出 讲话 发言 演讲 留念 合影 毕业 出生 结婚 参观 访问".split()
)
ROLES_BEFORE = frozenset(
    "记者 摄影 作者 通讯员 新郎 新娘 小朋友 演员 歌手 主持人 导演 选手 网友 市民 村民 患者 教练 队长 主播 "
    "画家 作家 诗人 摄影师 设计师 编辑 同学 老师".split()
)
COORDINATORS = frozenset("和 与 、 及 跟 , & /".split())
CONJUNCTIONS = frozenset("和与跟及同")
# Parts of speech a single character may have to complete a two-character name (何雨/nr 萱/n).
NAME_PART_TAGS = frozenset({"nr", "nrfg", "nrt", "ng", "n", "ag"})
# Words that two name characters would start (祝福语, 万年青, 金银花): the span is that word instead.
COMMON_PREFIX_FREQ = 50
# A name is never directly followed by these (a road, a village, a shop, a building).
PLACE_SUFFIXES = frozenset("村镇乡县市区省庄屯湾桥寺庙祠店记牌号楼园府山湖河岭峰港站馆堂坊巷弄路街门城州岛谷溪洲")
# A name that is also the stem of a place in the dictionary (岳阳 of 岳阳楼, 高雄 of 高雄市) is that place.
PLACE_STEM_SUFFIXES = tuple("市县区镇乡省楼")
PLACE_STEM_FREQ = 10
# Last characters that make a dictionary word a thing, not a person.
THING_FINALS = frozenset("花松树草果茶汤鸡鸭鱼肉面饭糕饼酒灯字色楼园山河湖桥街路店")


def _read_lines(name: str) -> list[str]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@dataclass(frozen=True, slots=True)
class NameLexicon:
    """Surnames and given-name characters from filters/data."""

    surnames: frozenset[str]
    compound_surnames: frozenset[str]
    compound_words: frozenset[str]
    given: frozenset[str]
    given_middle: frozenset[str]
    strong: frozenset[str]
    not_names: frozenset[str]

    @classmethod
    def load(cls) -> NameLexicon:
        surnames: set[str] = set()
        compound: set[str] = set()
        compound_words: set[str] = set()
        for line in _read_lines("surnames.txt"):
            if line.startswith("compound-word:"):
                compound_words.update(line.removeprefix("compound-word:").split())
            elif line.startswith("compound:"):
                compound.update(line.removeprefix("compound:").split())
            else:
                surnames.update(line.split())
        given: set[str] = set()
        middle: set[str] = set()
        strong: set[str] = set()
        for line in _read_lines("given_name_chars.txt"):
            if line.startswith("middle:"):
                middle.update(line.removeprefix("middle:").split())
            elif line.startswith("strong:"):
                strong.update(line.removeprefix("strong:").split())
            else:
                given.update(line.split())
        return cls(frozenset(surnames), frozenset(compound | compound_words), frozenset(compound_words),
                   frozenset(given), frozenset(middle | given), frozenset(strong & given),
                   frozenset(_read_lines("not_names.txt")))

    def split(self, word: str) -> tuple[str, str] | None:
        """(surname, given name) when `word` has the shape of a Chinese name, else None."""
        if len(word) in (3, 4) and word[:2] in self.compound_surnames:
            surname, given = word[:2], word[2:]
        elif len(word) in (2, 3) and word[0] in self.surnames:
            surname, given = word[0], word[1:]
        else:
            return None
        if given[-1] not in self.given or any(ch not in self.given_middle for ch in given[:-1]):
            return None
        return surname, given


@dataclass(slots=True)
class _Token:
    word: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


class NameMasker:
    """Finds and masks person names; loads jieba (dictionary and POS model) once."""

    def __init__(self, cfg: Config | PrivacyConfig | None = None) -> None:
        privacy = cfg.privacy if isinstance(cfg, Config) else (cfg or PrivacyConfig())
        self.enabled = privacy.mask_person_names
        self.token = privacy.name_token
        self.lexicon = NameLexicon.load()
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.initialize()
        self._pos = jieba.posseg.dt
        self._freq = jieba.dt.FREQ
        self._tags = jieba.posseg.dt.word_tag_tab
        # RE2 prefilter, exact: every name starts with a surname and a given-name character, so rows
        # without that pair (nine in ten) never reach jieba.
        lex = self.lexicon
        compounds = "|".join(sorted(lex.compound_surnames))
        self._may_hold_name = f"(?:[{''.join(sorted(lex.surnames))}]|{compounds})[{''.join(sorted(lex.given_middle))}]"

    # -- detection ---------------------------------------------------------------------------

    def _tokens(self, text: str) -> list[_Token]:
        """jieba's tokens, with a conjunction split off a name it swallowed (陈/nr 平和/a 朋友)."""
        tokens: list[_Token] = []
        start = 0
        lex = self.lexicon
        for pair in self._pos.cut(text):
            word, flag = pair.word, pair.flag
            after_surname = (bool(tokens) and len(tokens[-1].word) == 1 and tokens[-1].word in lex.surnames
                             and tokens[-1].flag in NAME_TAGS)
            name_and = len(word) == 3 and flag in NAME_TAGS and not self._freq.get(word)  # 陈平和/nr
            given_and = len(word) == 2 and after_surname  # 陈/nr 平和/a
            swallowed = word[-1:] in CONJUNCTIONS and (name_and or given_and)
            if swallowed and word[-2] in lex.given:
                tokens.append(_Token(word[:-1], "nr", start))
                tokens.append(_Token(word[-1], "c", start + len(word) - 1))
            else:
                tokens.append(_Token(word, flag, start))
            start += len(word)
        return tokens

    def _proposals(self, tokens: list[_Token]) -> list[tuple[int, int]]:
        """(first token, last token) spans that jieba suggests as names."""
        spans = []
        lex = self.lexicon
        for i, tok in enumerate(tokens):
            if tok.flag in NAME_TAGS or (tok.flag == "nz" and len(tok.word) == 3):
                spans.append((i, i))
                # 上官云/nr 飞/v: a compound-surname name jieba cut one character short
                if (len(tok.word) == 3 and tok.word[:2] in lex.compound_surnames and i + 1 < len(tokens)
                        and len(tokens[i + 1].word) == 1 and tokens[i + 1].word in lex.given):
                    spans.append((i, i + 1))
                # 宋家/nrfg 豪/ag, 何雨/nr 萱/n, 朱文/nr 杰/nr: a name jieba cut one character short
                if (len(tok.word) == 2 and i + 1 < len(tokens) and len(tokens[i + 1].word) == 1
                        and tokens[i + 1].flag in NAME_PART_TAGS and tokens[i + 1].word in lex.given):
                    spans.append((i, i + 1))
            lone_surname = (len(tok.word) == 1 and tok.word in lex.surnames) or tok.word in lex.compound_surnames
            if lone_surname and i + 1 < len(tokens) and len(tokens[i + 1].word) in (1, 2):
                nxt = tokens[i + 1]
                # a single surname plus a single character only when jieba tags both as name parts
                if len(tok.word) == 2 or len(nxt.word) == 2 or (tok.flag in NAME_TAGS and nxt.flag in NAME_TAGS):
                    spans.append((i, i + 1))
        return spans

    def _context(self, tokens: list[_Token], first: int, last: int) -> bool:
        """A title or role word beside the span (spaces between are skipped)."""
        after = next((t.word for t in tokens[last + 1:] if not t.word.isspace()), "")
        before = next((t.word for t in reversed(tokens[:first]) if not t.word.isspace()), "")
        return after in TITLES_AFTER or before in ROLES_BEFORE

    def _acceptable(self, text: str, tokens: list[_Token], first: int, last: int) -> str:
        """'yes', 'no', or 'if-joined' (a dictionary word that is a name only beside another name)."""
        word = text[tokens[first].start:tokens[last].end]
        if word in self.lexicon.not_names or self.lexicon.split(word) is None:
            return "no"
        following = text[tokens[last].end:tokens[last].end + 1]
        if following and following in PLACE_SUFFIXES:
            return "no"
        if last + 1 < len(tokens) and tokens[last + 1].flag == "ns":  # 钱江/nr 新城/ns: part of a place
            return "no"
        if any(self._freq.get(word + suffix, 0) >= PLACE_STEM_FREQ for suffix in PLACE_STEM_SUFFIXES):  # 岳阳楼
            return "no"
        if len(word) == 3 and word[0] in self.lexicon.surnames:
            head = word[:2]
            if self._freq.get(head, 0) >= COMMON_PREFIX_FREQ:
                return "no"
        if self._freq.get(word, 0) > 0:
            tag = self._tags.get(word, "")
            if tag not in NAME_TAGS and tag != "nz":
                return "no"
            if len(word) == 2:
                if word[1] in self.lexicon.strong or self._context(tokens, first, last):
                    return "yes"
                return "if-joined"
            if word[:2] in self.lexicon.compound_words:  # 东方明珠, 西门子
                return "no"
            if word[-1] in THING_FINALS:
                return "no"
        return "yes"

    def find_names(self, text: str) -> list[tuple[int, int]]:
        """Character spans [start, end) of the person names in `text`, left to right."""
        if not text:
            return []
        tokens = self._tokens(text)
        verdicts: dict[tuple[int, int], str] = {}
        for first, last in self._proposals(tokens):
            verdict = self._acceptable(text, tokens, first, last)
            if verdict != "no":
                # a longer accepted span over the same first token wins over a shorter one
                verdicts = {k: v for k, v in verdicts.items() if not (k[0] == first and k[1] < last)}
                if not any(k[0] == first and k[1] > last for k in verdicts):
                    verdicts[(first, last)] = verdict
        accepted = {k for k, v in verdicts.items() if v == "yes"}
        # 张伟和李娜: a dictionary-word name joined to an accepted name by 和/与/、
        changed = True
        while changed:
            changed = False
            for (first, last), v in verdicts.items():
                if v != "if-joined" or (first, last) in accepted:
                    continue
                left = first >= 2 and tokens[first - 1].word in COORDINATORS and any(
                    k[1] == first - 2 for k in accepted)
                right = last + 2 < len(tokens) and tokens[last + 1].word in COORDINATORS and any(
                    k[0] == last + 2 for k in accepted)
                if left or right:
                    accepted.add((first, last))
                    changed = True
        spans = sorted((tokens[first].start, tokens[last].end) for first, last in accepted)
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    # -- masking -----------------------------------------------------------------------------

    def mask_text(self, text: str) -> str:
        """`text` with each person name replaced by the name token."""
        out, pos = [], 0
        for start, end in self.find_names(text):
            out.append(text[pos:start])
            out.append(self.token)
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def mask(self, captions: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Masked captions (nulls stay null); each distinct caption is analysed once."""
        if isinstance(captions, pa.ChunkedArray):
            captions = captions.combine_chunks()
        captions = captions.cast(pa.string())
        if not self.enabled or len(captions) == 0:
            return captions
        candidates = pc.fill_null(pc.match_substring_regex(captions, self._may_hold_name), False)
        if not pc.any(candidates).as_py():
            return captions
        encoded = captions.filter(candidates).dictionary_encode()
        masked = pa.array([self.mask_text(t) for t in encoded.dictionary.to_pylist()], pa.string())
        return pc.replace_with_mask(captions, candidates, masked.take(encoded.indices))

    def __call__(self, table: pa.Table, column: str = "caption") -> pa.Table:
        """`table` with `column` masked in place (for Ray `map_batches`)."""
        index = table.schema.get_field_index(column)
        return table.set_column(index, column, self.mask(table.column(column)))


_DEFAULT: NameMasker | None = None


def mask_names(captions: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Masks person names in `captions` with `<人名>` (one default masker per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = NameMasker()
    return _DEFAULT.mask(captions)
