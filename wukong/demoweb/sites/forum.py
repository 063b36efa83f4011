"""The forum `/forum/`: GBK pages in a Discuz-like layout, `alt` captions, relative image URLs.

The charset is declared by the HTTP header on some pages, only by `<meta>` on others, by a `<meta>`
past the first 1,024 bytes on a few, and one thread declares gb2312 while holding GBK-only
characters. `/forum/private/` is disallowed by robots.txt but linked from the forum index.
"""

from __future__ import annotations

import math
import random

from wukong.demoweb import vocab
from wukong.demoweb.model import FORUM, Occurrence, Page, Response
from wukong.demoweb.sites.common import chunk, document, esc, link_list, pager, pagination, relative_src

BOARDS = ("美食天地", "旅游摄影", "数码交流", "宠物乐园")
PER_BOARD_PAGE = 15
PRIVATE_PREFIX = "/forum/private/"
# The first threads get one of each declaration, the rest are drawn with these weights.
DECLARATIONS = (("header", 40), ("meta", 30), ("meta_late", 15), ("header+meta", 15))


def board_url(bid: int, n: int) -> str:
    return f"/forum/forum-{bid}-{n}.html"


def _place(page: Page, by_index: dict[int, Occurrence]) -> None:
    for pos, i in enumerate(page.occurrences):
        occ = by_index[i]
        occ.page_path, occ.position = page.path, pos
        occ.markup, occ.caption_source = "alt", "alt"
        occ.src = relative_src(page.path, occ.url_path)
        occ.disallowed = page.disallowed


def _thread_title(r: random.Random, tid: int) -> str:
    return f"【{r.choice(BOARDS)}】{r.choice(vocab.CITIES)}网友分享 {tid}"


def layout(public: list[Occurrence], gbk_only: list[Occurrence], private: list[Occurrence],
           r: random.Random) -> list[Page]:
    by_index = {o.index: o for o in (*public, *gbk_only, *private)}
    threads: list[Page] = []
    names, weights = zip(*DECLARATIONS, strict=True)
    for k, group in enumerate(chunk([o.index for o in public], 2, 6, r)):
        tid = 20001 + k
        decl = names[k] if k < len(names) else r.choices(names, weights=weights)[0]
        threads.append(Page(f"/forum/thread-{tid}-1-1.html", FORUM, "thread", _thread_title(r, tid),
                            encoding="gbk", declaration=decl, occurrences=group))
    for k, group in enumerate(chunk([o.index for o in gbk_only], 3, 3, r)):
        tid = 29001 + k
        threads.append(Page(f"/forum/thread-{tid}-1-1.html", FORUM, "thread", f"【美食天地】焗饭做法合集 {tid}",
                            encoding="gbk", declaration="gb2312", occurrences=group))
    r.shuffle(threads)
    private_threads = [
        Page(f"{PRIVATE_PREFIX}thread-{30001 + k}.html", FORUM, "private_thread", f"【会员专区】内部交流 {30001 + k}",
             encoding="gbk", declaration="header", disallowed=True, occurrences=group)
        for k, group in enumerate(chunk([o.index for o in private], 2, 4, r))
    ]
    for page in (*threads, *private_threads):
        _place(page, by_index)

    boards: list[Page] = []
    for bid, board in enumerate(BOARDS, start=1):
        mine = threads[bid - 1::len(BOARDS)]
        n_pages = max(1, math.ceil(len(mine) / PER_BOARD_PAGE))
        for n in range(1, n_pages + 1):
            listed = mine[(n - 1) * PER_BOARD_PAGE: n * PER_BOARD_PAGE]
            boards.append(Page(board_url(bid, n), FORUM, "board", f"{board} - 第{n}页 - 悟空论坛",
                               encoding="gbk", declaration="meta", links=[(t.path, t.title) for t in listed],
                               pagination=pagination(n, n_pages, lambda m, b=bid: board_url(b, m))))
    for k, thread in enumerate(threads):
        thread.links = [(threads[(k + 1) % len(threads)].path, "下一主题")]
        thread.pagination = [("/forum/", "返回论坛首页")]
    index = Page("/forum/", FORUM, "index", "悟空论坛 - 首页", encoding="gbk", declaration="header",
                 links=[(board_url(b, 1), name) for b, name in enumerate(BOARDS, start=1)]
                 + [(PRIVATE_PREFIX, "会员专区（仅限会员）")]
                 + [(t.path, t.title) for t in threads[:10]])
    private_index = Page(PRIVATE_PREFIX, FORUM, "private_index", "会员专区 - 悟空论坛", encoding="gbk",
                         declaration="header", disallowed=True,
                         links=[(t.path, t.title) for t in private_threads])
    for t in private_threads:
        t.pagination = [(PRIVATE_PREFIX, "返回会员专区")]
    return [index, *boards, *threads, private_index, *private_threads]


def render(page: Page, occs: dict[int, Occurrence]) -> Response:
    nav = ("<div class=\"nav\"><a href=\"/\">首页</a><a href=\"/forum/\">论坛首页</a>"
           + "".join(f"<a href=\"{board_url(b, 1)}\">{esc(n)}</a>" for b, n in enumerate(BOARDS, start=1))
           + "</div>")
    if not page.occurrences:
        body = f"{nav}<h2>{esc(page.title)}</h2>{link_list(page.links, 'threadlist')}{pager(page.pagination)}"
        return document(page, body)
    r = random.Random(page.path)
    posts = []
    for floor, i in enumerate(page.occurrences, start=1):
        occ = occs[i]
        # Discuz-era markup: an unclosed <font>, width/height attributes, onclick zoom.
        chat = r.choice(vocab.LONG_CLAUSES).format(city="这里", scene="路边", dish="小菜")
        posts.append(
            f"<table class=\"plhin\"><tr><td class=\"pls\">{esc(r.choice(vocab.SURNAMES))}**</td>"
            f"<td class=\"t_msg\"><font color=\"#333\">{floor}楼：{esc(chat)}<br>"
            f"<img src=\"{esc(occ.src)}\" alt=\"{esc(occ.caption)}\" border=\"0\" onclick=\"zoom(this)\">"
            "</td></tr></table>"
        )
    body = (f"{nav}<h1>{esc(page.title)}</h1>{''.join(posts)}"
            f"{link_list(page.links, 'next')}{pager(page.pagination)}")
    return document(page, body)
