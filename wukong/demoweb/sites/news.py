"""The news site `/news/`: UTF-8, paginated index, articles with `<figure>`/`<figcaption>` images.

Captions sit in `alt` (the figcaption then says something else), in `title` only, or only in the
figcaption: the spider must take alt, then title, then figcaption.
"""

from __future__ import annotations

import math
import random

from wukong.demoweb import vocab
from wukong.demoweb.model import NEWS, Occurrence, Page, Response
from wukong.demoweb.seeds import cumulative, weighted
from wukong.demoweb.sites.common import chunk, document, esc, link_list, pager, pagination

PER_INDEX = 12
TOPICS = ("城市新闻", "美食推荐", "旅行见闻", "数码测评", "家居生活", "萌宠日常", "汽车资讯", "节日民俗")
OTHER_FIGCAPTIONS = ("资料图片", "图片来源：悟空新闻", "（记者 摄）", "网友供图", "图为现场画面")
MARKUPS = (("alt+figcaption", 30), ("title+figcaption", 15), ("figcaption", 35), ("alt", 10), ("title", 10))
_MARKUP_NAMES, _MARKUP_CUM = tuple(m for m, _ in MARKUPS), cumulative([w for _, w in MARKUPS])
SOURCE_OF_MARKUP = {"alt+figcaption": "alt", "title+figcaption": "title", "figcaption": "figcaption",
                    "alt": "alt", "title": "title"}


def index_url(n: int) -> str:
    return "/news/" if n == 1 else f"/news/list_{n}.html"


def layout(occs: list[Occurrence], r: random.Random) -> list[Page]:
    """Articles of 1..4 images, index pages of 12 articles. Sets each occurrence's page and markup."""
    articles: list[Page] = []
    for aid, group in enumerate(chunk([o.index for o in occs], 1, 4, r), start=1001):
        month, day = r.randint(1, 12), r.randint(1, 28)
        path = f"/news/2024/{month:02d}{day:02d}/{aid}.html"
        title = f"{r.choice(vocab.CITIES)}{r.choice(TOPICS)}：第{aid}期"
        articles.append(Page(path, NEWS, "article", title, occurrences=group,
                             text="，".join(r.sample(vocab.LONG_CLAUSES, 3)).format(
                                 city=r.choice(vocab.CITIES), scene=r.choice(vocab.SCENES),
                                 dish=r.choice(vocab.DISHES)) + "。"))
    by_index = {o.index: o for o in occs}
    for page in articles:
        for pos, i in enumerate(page.occurrences):
            occ = by_index[i]
            occ.page_path, occ.position, occ.src = page.path, pos, occ.url_path
            occ.markup = "alt" if occ.caption == "" else weighted(r, _MARKUP_NAMES, _MARKUP_CUM)
            occ.caption_source = SOURCE_OF_MARKUP[occ.markup]
    n_index = max(1, math.ceil(len(articles) / PER_INDEX))
    pages: list[Page] = []
    for n in range(1, n_index + 1):
        listed = articles[(n - 1) * PER_INDEX: n * PER_INDEX]
        pages.append(Page(index_url(n), NEWS, "index", f"悟空新闻 - 第{n}页",
                          links=[(a.path, a.title) for a in listed],
                          pagination=pagination(n, n_index, index_url)))
    for k, page in enumerate(articles):
        related = [articles[(k + d) % len(articles)] for d in (1, 2, 5) if len(articles) > d]
        page.links = [(a.path, a.title) for a in related]
        page.pagination = [("/news/", "返回新闻首页"), ("/", "悟空演示网首页")]
    return pages + articles


def _figure(occ: Occurrence, r: random.Random) -> str:
    cap = esc(occ.caption)
    src = esc(occ.src)
    other = esc(r.choice(OTHER_FIGCAPTIONS))
    if occ.markup == "alt+figcaption":
        return f"<figure><img src=\"{src}\" alt=\"{cap}\"><figcaption>{other}</figcaption></figure>"
    if occ.markup == "title+figcaption":
        return f"<figure><img src=\"{src}\" title=\"{cap}\"><figcaption>{other}</figcaption></figure>"
    if occ.markup == "figcaption":
        return f"<figure><img src=\"{src}\"><figcaption>{cap}</figcaption></figure>"
    if occ.markup == "title":
        return f"<p class=\"pic\"><img src=\"{src}\" title=\"{cap}\"></p>"
    return f"<p class=\"pic\"><img src=\"{src}\" alt=\"{cap}\"></p>"


def render(page: Page, occs: dict[int, Occurrence]) -> Response:
    nav = "<div class=\"nav\"><a href=\"/\">首页</a><a href=\"/news/\">新闻</a><a href=\"/forum/\">论坛</a>" \
          "<a href=\"/gallery/\">图库</a></div>"
    if page.kind == "index":
        body = f"{nav}<h1>{esc(page.title)}</h1>{link_list(page.links, 'articles')}{pager(page.pagination)}"
        return document(page, body)
    r = random.Random(page.path)
    figures = []
    for i in page.occurrences:
        figures.append(_figure(occs[i], r))
        figures.append(f"<p>{esc(r.choice(vocab.LONG_CLAUSES).format(city='本地', scene='街区', dish='小吃'))}。</p>")
    body = (f"{nav}<article><h1>{esc(page.title)}</h1><p class=\"lead\">{esc(page.text)}</p>"
            f"{''.join(figures)}</article><h3>相关阅读</h3>{link_list(page.links, 'related')}{pager(page.pagination)}")
    return document(page, body)
