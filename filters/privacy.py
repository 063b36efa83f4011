"""Privacy: person names in kept captions replaced by `privacy.name_token` (`<人名>`).

Not a Filter: it rewrites captions instead of rejecting rows. jieba proposes names and the rules
below judge them; a mangled caption (`<人名>炒鸡蛋`, `<人名> 午后` of `安静 午后`) is worse than a
missed name, so a proposal must pass all of them:

1. jieba proposes it: a token tagged `nr`/`nrfg` (`nz` for three characters); a word outside its
   dictionary, surname first, that its HMM tags as a proper noun (杨幂/nr, 曾黎/ns); a lone surname
   token and the next one- or two-character token (`孙/zg 浩然/a`, `周/nr 深/a` when the pair stands
   alone); a conjunction jieba glued to a name is split off first (`陈/nr 平和/a` -> 陈平 和), and so is
   the first character of a word glued to an unknown name (`何穗街/nr 拍` -> 何穗 街拍).
2. shape (filters.name_lexicon): a surname (single or compound), then a 1-2 character given name.
   Names jieba itself tags (its dictionary's three-character people, its HMM's unknown words, a
   dictionary name standing alone) may use any Han character but those of `never:`/`never-last:`
   (food, places, things, titles, transliterations: 连衣裙, 滕王阁, 毕加索); spans the masker
   composes need common given-name characters. Names are the masked unit; brands, dishes, places
   and fictional beings shaped like names are listed in data/not_names.txt (王老吉, 钟薛高, 孙悟空).
3. jieba's dictionary: a dictionary word tagged anything but `nr`/`nrfg`/`nz` is never a name
   (金华, 文静, 黄山). jieba also tags many everyday two-character words `nr` (安静, 白云, 卫星), so
   such a word is a name only when its last character hardly ends anything but names (`strong:` 娜
   婷 涛: 李娜), beside a title, role, work or verb of people (`王平老师`, `记者王菲`, `苏轼 书法`),
   joined by 和/与/、 to another name, or standing alone before other words, rare in text (jieba's
   IDF >= 9.5: `舒淇 写真`, `姚明 篮球`, where `安静 午后` stays) and ended by a common given-name
   character (not 毛驴, 卢布). A three-character one is not a name when it is a word plus a character
   (黄金周, 胡杨林, 贺兰山), a surname character plus a word (胡萝卜, 任天堂), a surname and a title
   (康师傅, 张老师), a mountain (齐云山) or a festival (万圣节), or, without a title, role or verb of
   people beside, when its given name is of no common given-name characters (夏威夷, 季后赛).
4. context (filters.name_context): not followed by a place or shop suffix (`李建国路`, `王记`) or a
   place (`钱江/nr 新城/ns`), not the stem of a dictionary place (岳阳 of 岳阳楼), not glued to a
   dish or product (左宗棠鸡, 张亮麻辣烫, 马子禄牛肉面, `李宁 运动鞋`); an unknown word is not a name
   when it ends like a place (宋城, 邱县) or a lone character glued to it shows jieba cut it out of a
   longer word (九/毛九, 今/麦郎); a three-character span whose first two characters are a common word
   (祝福语, 金银花) is that word, unless a title, role or verb of people stands beside it (`林海洋 摄`).
   A rare dictionary name before a verb only people do is a name (`莫言获…`, `马龙夺得…`), an
   everyday one is not, nor before a verb things do too (`白鹤在…`). Nothing is masked in a caption
   about a game or cosplay (`王者荣耀 李白`), nor a character played (`饰演曹操`).

Two more sources of names: a surname and two characters before kinship or a title (`吴国强家的`,
`曹金花奶奶`), or before 的 at the start (`韩桂花的…`), where jieba cut the name apart; and the list of
well-known people (data/known_people.txt: 屈原, 全红婵, 易烊千玺), masked wherever the name stands as a
word of its own: not cut out of a longer word of jieba's (车水马龙, `身高/适合`), nor in one of the
not-name lists, nor glued to a product or a place suffix. Fictional characters and transliterated
foreign names (data/fictional_names.txt, data/foreign_names.txt) are never masked. Captions without a
surname followed by a Han character, or a listed name, skip jieba (one RE2 pass), and each distinct
caption is analysed once per batch.

Round 3 (filters/name_tokens.py mends jieba's cuts first): the name and no more before a verb, a
measure word or 祝 (李梅开的, 张伟一家, 刘洋祝大家), after a role or 祝 (的哥王建军, 祝张伟); rare and
compound surnames (解晓东, 宇/文明); places named after people stay (鲁迅故居, 杜甫草堂; 黄兴广场 after a
famous name only); a person who is also a brand (李宁) only with people beside; companies of compound-
word surnames (东方甄选); solar terms and everyday words (data/everyday_words.txt: 白露, 谷雨); the names
in a caption naming a listed work, or joined to a listed character, are its characters (data/
fiction_works.txt: `平凡的世界 孙少平`, 孙少安和贺秀莲) unless people stand beside them.
"""

from __future__ import annotations

import pyarrow as pa

from filters.name_context import (
    Token,
    cut_from_a_word,
    glued_to_a_product,
    next_word,
    people_after,
    people_beside,
    place_after,
    role_before,
    segment_of_its_own,
    title_beside,
)
from filters.name_lexicon import NameLexicon
from filters.name_rules import (
    CLAN_ENDINGS,
    COMMON_PREFIX_FREQ,
    COMMON_SUFFIX_FREQ,
    COMPANY_WORD_TAGS,
    COORDINATORS,
    GAME_WORDS,
    HONORIFICS,
    KIN_AFTER,
    MOUNTAIN_FINALS,
    NAME_PART_TAGS,
    NAME_TAGS,
    PLACE_STEM_FREQ,
    PLACE_STEM_SUFFIXES,
    PLAYED_BEFORE,
    RARE_IDF,
    RARE_SURNAME_WORD_FREQ,
    THING_FINALS,
    THING_TAGS,
    TITLES_AFTER,
    UNKNOWN_NAME_TAGS,
    UNKNOWN_PLACE_FINALS,
    WISH_HEADS,
)
from filters.name_sources import OtherSources
from filters.name_tokens import NameTokenizer
from filters.span_mask import mask_column, replace_spans
from manifests.config import Config, PrivacyConfig
from manifests.jieba_dict import load_posseg, load_tokenizer, load_two_char_idf

__all__ = ["NameLexicon", "NameMasker", "mask_names"]

def _beside_kana(text: str, start: int, end: int) -> bool:
    """Japanese kana right before or after the span (夏祭り): Japanese words, not a Chinese name."""
    return any("\u3040" <= ch <= "\u30ff" for ch in text[max(0, start - 1):start] + text[end:end + 1])


class NameMasker:
    """Finds and masks person names; loads jieba (dictionary and POS model) once."""

    def __init__(self, cfg: Config | PrivacyConfig | None = None) -> None:
        privacy = cfg.privacy if isinstance(cfg, Config) else (cfg or PrivacyConfig())
        self.enabled = privacy.mask_person_names
        self.token = privacy.name_token
        self.lexicon = NameLexicon.load()
        from filters.name_pos import MemoPOSTokenizer  # imports jieba.posseg: only where names are masked

        pos = MemoPOSTokenizer(load_posseg().dt)
        self._pos = pos
        self._freq = load_tokenizer().FREQ
        self._tags = pos.word_tag_tab
        self._idf: dict[str, float] | None = None  # loaded on first use (0.2 s uncached, 0.03 s cached)
        # RE2 prefilter, exact: every name starts with a surname and a Han character, or is a listed
        # person, so rows without either never reach jieba.
        lex = self.lexicon
        others = sorted(name for name in lex.known
                        if name[0] not in lex.surnames and name[:2] not in lex.compound_surnames)
        compounds = "|".join(sorted(lex.compound_surnames))
        rare = (f"|[{''.join(sorted(lex.rare_surnames))}][{''.join(sorted(lex.given_middle))}]"
                f"[{''.join(sorted(lex.given))}]")  # 解晓东: rare surnames only with common given names
        self._may_hold_name = (f"(?:[{''.join(sorted(lex.surnames))}]|{compounds})\\p{{Han}}" + rare
                               + "".join(f"|{name}" for name in others))
        self._not_a_title = HONORIFICS | TITLES_AFTER | frozenset(KIN_AFTER)
        self._sources = OtherSources(lex, self._freq, self._tags)
        self._tokenizer = NameTokenizer(lex, self._pos, self._freq, self._tags)

    # -- detection ---------------------------------------------------------------------------

    def _proposals(self, tokens: list[Token]) -> list[tuple[int, int]]:
        """(first token, last token) spans that jieba suggests as names."""
        spans = []
        lex = self.lexicon
        for i, tok in enumerate(tokens):
            # 主播/vn 王雪/n: an unknown word after a role, shaped like a name, is one
            if (tok.flag in NAME_TAGS or (tok.flag == "nz" and len(tok.word) == 3) or self._unknown_name(tok)
                    or (tok.flag == "n" and tok.word[0] in lex.surnames and not self._freq.get(tok.word)
                        and lex.split(tok.word) is not None and role_before(tokens, i))):
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
            # 东方/s 一/m 鸣/v, 尉迟/nr 琳/nr 嘉/j: a compound surname and two given-name characters jieba cut apart
            if (tok.word in lex.compound_surnames and i + 2 < len(tokens) and len(tokens[i + 1].word) == 1
                    and len(tokens[i + 2].word) == 1 and lex.split(tok.word + tokens[i + 1].word + tokens[i + 2].word)):
                spans.append((i, i + 2))
            # 祝/v 小明 生日快乐; 王丽娟/nrfg 祝/nr 全国 人民: a name does not follow a name
            # 宇/文明: a compound surname jieba cut, its second character glued to the given name
            if (len(tok.word) == 1 and i + 1 < len(tokens) and len(tokens[i + 1].word) == 2
                    and tok.word + tokens[i + 1].word[0] in lex.compound_surnames):
                spans.append((i, i + 1))
            wish = tok.word in WISH_HEADS and (tok.flag == "v" or (i > 0 and tokens[i - 1].flag in NAME_TAGS))
            if lone_surname and not wish and i + 1 < len(tokens) and len(tokens[i + 1].word) in (1, 2):
                nxt = tokens[i + 1]
                # a single surname plus a single character only when jieba tags both as name parts, or
                # when the two are a segment of their own (周/nr 深/a in `周深 现场`)
                if (len(tok.word) == 2 or len(nxt.word) == 2 or (tok.flag in NAME_TAGS and nxt.flag in NAME_TAGS)
                        or (tok.flag in NAME_TAGS and segment_of_its_own(tokens, i, i + 1))):
                    spans.append((i, i + 1))
            # 谈/v 志强/nrfg: a rare surname and a given name jieba knows as one
            if (tok.word in lex.rare_surnames and i + 1 < len(tokens) and len(tokens[i + 1].word) == 2
                    and tokens[i + 1].flag in NAME_TAGS):
                spans.append((i, i + 1))
        return spans

    def _unknown_name(self, tok: Token) -> bool:
        """A word outside jieba's dictionary, surname first, that its HMM tagged as a proper noun."""
        lex = self.lexicon
        return (tok.flag in UNKNOWN_NAME_TAGS and len(tok.word) in (2, 3) and not self._freq.get(tok.word)
                and (tok.word[0] in lex.surnames or (len(tok.word) == 3 and tok.word[0] in lex.rare_surnames)))

    def _thing_word(self, word: str) -> bool:
        """A three-character dictionary 'name' that is a word plus a character or a surname character
        plus a word: 黄金周, 万年青; 胡萝卜, 石狮子, 任天堂; 康师傅, 张老师 (surname and title)."""
        head, tail = word[:2], word[1:]
        if tail in HONORIFICS:
            return True
        if head in self.lexicon.compound_surnames:  # 欧阳修
            return False
        # a frequent head is a thing's (黄金周), unless a surname and a name-making middle character
        # (张大千, 黄家驹, 李四光)
        if self._freq.get(head, 0) >= COMMON_PREFIX_FREQ and head[1] not in self.lexicon.middle:
            return True
        if (self._freq.get(tail, 0) >= COMMON_SUFFIX_FREQ and self._tags.get(tail) in THING_TAGS
                and tail[-1] not in self.lexicon.given):  # but 王建军, 李建国: given names that are words
            return True
        # a tree and its forest, a place and its mountain: 胡杨林, 白桦林, 贺兰山 (but 赵本山, 季羡林)
        return word[-1] in "林山" and self._freq.get(head, 0) > 0

    def _rare(self, word: str) -> bool:
        """jieba's IDF of `word` (its keyword-extraction table) is at least RARE_IDF: famous names such as
        舒淇, 姚明, 金庸 are; the everyday words jieba also tags `nr` (安静, 白云, 高峰) are not."""
        if self._idf is None:
            self._idf = load_two_char_idf()
        return self._idf.get(word, 0.0) >= RARE_IDF

    def _acceptable(self, text: str, tokens: list[Token], first: int, last: int) -> str:
        """'yes', 'no', or 'if-joined' (a dictionary word that is a name only beside another name)."""
        lex = self.lexicon
        start, end = tokens[first].start, tokens[last].end
        word = text[start:end]
        in_dict = self._freq.get(word, 0) > 0
        tag = self._tags.get(word, "") if in_dict else ""
        # jieba itself calls it a name (its dictionary, or its HMM on an unknown word): any Han given name
        named_by_jieba = first == last and (tag in NAME_TAGS or (not in_dict and tokens[first].flag in NAME_TAGS)
                                             or self._unknown_name(tokens[first]))
        segment = segment_of_its_own(tokens, first, last)
        titled = title_beside(tokens, first, last)
        # given names beyond the common characters: jieba's HMM named an unknown word, jieba's dictionary
        # has a three-character name, a title or a role stands beside a span the masker composed (`歌手
        # 毛/nr 不易/a`), or it stands alone and jieba tags its surname a name (`周/nr 深/a 现场`; not
        # `高/a 颜值/n 水杯`)
        loose = ((named_by_jieba and (not in_dict or len(word) >= 3 or segment))
                 or (first != last and (titled or (segment and tokens[first].flag in NAME_TAGS))))
        parts = None if lex.not_a_name_at(text, start, end) else lex.split(word, loose)
        if parts is None or parts[1] in self._not_a_title or word[0] == word[1] or parts[1] in CLAN_ENDINGS:
            return "no"  # 马/n 老师/n; 谢谢/孙; 岳家军
        if not in_dict and parts[0] in lex.compound_words and (  # 东方甄选, 东方财富: a company
                lex.split(word) is None or (len(parts[1]) == 2 and self._freq.get(parts[1], 0) >= COMMON_PREFIX_FREQ
                                            and self._tags.get(parts[1]) in COMPANY_WORD_TAGS)):
            return "no"
        if in_dict and len(word) == 3 and word[0] in lex.surnames and loose and self._thing_word(word):
            return "no"
        given = parts[1]
        if (first != last and self._freq.get(given, 0) >= COMMON_SUFFIX_FREQ and self._tags.get(given) in THING_TAGS
                and given[-1] not in lex.given):  # 宋/nr 刻本/n, 包/v 机票/n: a surname character and a thing
            return "no"
        if place_after(text, tokens, end, self._tags, famous=in_dict or word in lex.known):  # 鲁迅/故居
            return "no"
        if last + 1 < len(tokens) and tokens[last + 1].flag == "ns":  # 钱江/nr 新城/ns: part of a place
            return "no"
        before = tokens[first - 1].word if first > 0 else ""
        if (first > 0 and (tokens[first - 1].flag == "ns" or (len(before) >= 2 and before[-1] in UNKNOWN_PLACE_FINALS))
                and not titled and not people_after(tokens, last)):  # 苏州/ns 金龙, 景德镇 陶溪川
            return "no"  # a brand or a place of the place
        if any(self._freq.get(word + suffix, 0) >= PLACE_STEM_FREQ for suffix in PLACE_STEM_SUFFIXES):  # 岳阳楼
            return "no"
        if glued_to_a_product(tokens, last, self._tags):  # 左宗棠鸡, 张亮麻辣烫
            return "no"
        people = titled or people_after(tokens, last)
        if in_dict and word[0] in lex.rare_surnames and self._freq[word] >= RARE_SURNAME_WORD_FREQ:
            return "no"  # 满天星, 满江红 (33, 40 in jieba's dictionary), where 解晓东 and 满文军 (3) are names
        if in_dict:
            if tag not in NAME_TAGS and tag != "nz":
                return "no"
            if len(word) == 2:
                if word[1] in lex.strong or titled:
                    return "yes"
                # rare in text (famous names, where 安静, 卫星, 文明 are common words) and standing alone
                # (`舒淇 写真`) or before a verb of people only (`莫言获…`; not `白鹤在…`)
                # (毛驴, 卢布, 白鹭 are rare words too: standing alone, a common given-name character must end it)
                if self._rare(word) and (people_after(tokens, last, only_people=True)
                                         or (segment and len(next_word(tokens, last)) >= 2 and word[1] in lex.given)):
                    return "yes"
                return "if-joined"
            # 东方明珠, 西门子; but 端木蕻良 (a given name outside the dictionary)
            if word[:2] in lex.compound_words and not (len(word) == 4 and tag in NAME_TAGS
                                                       and not self._freq.get(word[2:])):
                return "no"
            # 齐云山, 张八岭 (赵本山 is listed); 峰 ends names more than peaks (李晓峰, 许海峰)
            if word[-1] in THING_FINALS or (word[-1] in MOUNTAIN_FINALS - lex.given and not people):
                return "no"
            # 夏威夷, 季后赛, 白皮书, 蒲公英 (`nr` in jieba's dictionary): a given name of no common name
            # characters is a name only beside a title, a role or a verb of people (`何应钦将军`)
            if len(word) == 3 and not people and word[:2] not in lex.compound_surnames and lex.split(word) is None:
                return "no"
            return "yes"
        if word[-1] in UNKNOWN_PLACE_FINALS:  # 宋城, 邱县: a place jieba does not know
            return "no"
        if cut_from_a_word(tokens, first, last):  # 九/毛九, 今/麦郎, 曾厝/垵
            return "no"
        if len(word) == 3 and word[0] in lex.surnames and word[:2] not in lex.compound_surnames \
                and not named_by_jieba and not people:
            if self._freq.get(word[:2], 0) >= COMMON_PREFIX_FREQ:  # 祝福语, 金银花
                return "no"
        return "yes"

    def _prefer_known(self, text: str, start: int, end: int, known: list[tuple[int, int]]) -> tuple[int, int]:
        """A span one character longer than a listed name it starts with is that name when the extra
        character starts a common word with what follows (杨沫青/nr 春之歌: 杨沫 青春), else the longer
        name (陈晓东)."""
        for k_start, k_end in known:
            if k_start == start and k_end + 1 == end and self._sources.splits_a_word(text, start, end):
                return (k_start, k_end)
        return (start, end)

    def find_names(self, text: str) -> list[tuple[int, int]]:
        """Character spans [start, end) of the person names in `text`, left to right."""
        if not text or GAME_WORDS.search(text):
            return []
        tokens = self._tokenizer.tokens(text)
        lex = self.lexicon
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
        known = self._sources.known_names(text, tokens)
        # a listed person wins over the spans of jieba's tokens that cut across it
        spans = [self._prefer_known(text, tokens[first].start, tokens[last].end, known) for first, last in accepted]
        spans = [(s, e) for s, e in spans if not any(s < ke and ks < e and not (s <= ks and e >= ke)
                                                     for ks, ke in known)]
        spans = self._sources.outside_characters(text, tokens, spans + self._sources.kin_names(text, tokens))
        # 饰演曹操: a role; 李宁 of `鸿星尔克和李宁`, `李宁 篮球鞋`: a person who is also a brand is the person
        # only with a title, a role or a verb of people beside (`体操冠军李宁`, `李宁点燃主火炬`)
        spans = sorted(span for span in spans + known
                       if not text[:span[0]].rstrip().endswith(PLAYED_BEFORE)
                       and not (text[span[0]:span[1]] in lex.brand_people and not people_beside(tokens, *span))
                       and not _beside_kana(text, *span))
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
        return replace_spans(text, ((start, end, self.token) for start, end in self.find_names(text)))

    def mask(self, captions: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Masked captions (nulls stay null); each distinct caption is analysed once."""
        return mask_column(captions, self._may_hold_name, self.mask_text, self.enabled)

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
