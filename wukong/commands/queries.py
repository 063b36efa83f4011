"""`wukong queries`: a query list from jieba's bundled word frequencies (Wukong queried ~200K frequent words).

Keeps words of two or more Han characters whose part-of-speech tag is a noun-like or otherwise
content-bearing tag (function words: particles, prepositions, conjunctions, pronouns, adverbs,
numerals, measure words... are left out), minus a short stopword list of vague words that make
poor image queries; the N most frequent, one per line, UTF-8.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from manifests.config import load_config
from manifests.errors import UserError
from manifests.parquet_io import write_bytes_atomic
from manifests.storage import as_path
from wukong.commands.common import add_config_args

HAN_WORD = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf]{2,}$")
# jieba tags kept: nouns (common, place, organisation, other proper, transliterated names),
# verbal and adjectival nouns, idioms, fixed expressions, abbreviations, places, times.
KEPT_TAGS = frozenset({"n", "ns", "nt", "nz", "nrt", "vn", "an", "ng", "i", "l", "j", "s", "tg"})
# Function-word tags never kept, whatever KEPT_TAGS says (jieba: u* particles, p, c, r*, d*, m*, q, ...).
FUNCTION_TAG_PREFIXES = ("u", "p", "c", "r", "d", "m", "q", "y", "e", "o", "x", "k", "h", "f", "w", "z")
STOPWORDS = frozenset("""
问题 时候 方面 情况 东西 地方 样子 原因 结果 部分 方式 过程 作用 意义 关系 程度 因素 条件 方法 内容
目的 基础 水平 方向 范围 形式 特点 需要 可能 能力 影响 事情 事实 观点 意见 时间 同志 大家 有关 其中
以下 以上 之后 之前 当中 左右 一般 其他 其它 所有 一切 任何 这里 那里 什么 怎么 为什么 如何 自己
""".split())


def parse_dict(lines: Iterable[str]) -> Iterator[tuple[str, int, str]]:
    """`word freq tag` lines; malformed ones are skipped."""
    for line in lines:
        parts = line.split()
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        yield parts[0], int(parts[1]), parts[2]


def keep(word: str, tag: str) -> bool:
    return (bool(HAN_WORD.match(word)) and tag in KEPT_TAGS and not tag.startswith(FUNCTION_TAG_PREFIXES)
            and word not in STOPWORDS)


def top_queries(top: int, dictionary: Path | None = None) -> list[str]:
    """The `top` most frequent kept words (ties broken by the word, so the list is stable)."""
    from manifests.jieba_dict import dict_file

    path = dictionary or dict_file()
    try:
        with open(path, encoding="utf-8") as fh:
            entries = [(w, f) for w, f, t in parse_dict(fh) if keep(w, t)]
    except OSError as exc:
        raise UserError(f"cannot read jieba's dictionary {path}: {exc.strerror or exc}") from None
    best: dict[str, int] = {}
    for word, freq in entries:
        best[word] = max(freq, best.get(word, 0))
    return [w for w, _ in sorted(best.items(), key=lambda wf: (-wf[1], wf[0]))[:top]]


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="build a query list from jieba's word frequencies", description=__doc__)
    p.add_argument("--top", type=int, required=True, metavar="N", help="how many queries (Wukong: ~200,000)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the query file to write (UTF-8, one per line): a path or an s3:// URL")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    out = as_path(args.out, load_config(args.config, args.set).storage)
    if out.is_dir():
        raise UserError(f"--out is a folder, expected a file: {out}")
    queries = top_queries(args.top)
    write_bytes_atomic("".join(f"{q}\n" for q in queries).encode("utf-8"), out)
    print(f"queries: {len(queries):,} words -> {out}" + (f" (only {len(queries):,} qualify)"
                                                        if len(queries) < args.top else ""))
    return 0
