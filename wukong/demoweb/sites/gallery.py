"""The gallery `/gallery/`: albums of lazy-loaded images, plus Big5 albums in traditional Chinese.

A lazy image has a placeholder `src` (a 1x1 GIF or PNG) that carries the caption in `alt`; the real
URL sits in one of the lazy attributes below (or in `srcset`). A few images are not lazy.
"""

from __future__ import annotations

import math
import random

from wukong.demoweb.model import GALLERY, Occurrence, Page, Response
from wukong.demoweb.sites.common import chunk, document, esc, link_list, pager, pagination

LAZY_ATTRS = ("data-src", "data-original", "srcset", "lazy", "original", "data-lazy-src", "data-actualsrc")
PLACEHOLDERS = ("/static/blank.gif", "/static/blank.gif", "/static/blank.gif", "/static/empty.png")
PER_INDEX = 10
TW_PREFIX = "/gallery/tw/"
ALBUM_NAMES = ("风光", "美食", "萌宠", "家居", "街拍", "花卉", "汽车", "数码")


def index_url(n: int) -> str:
    return "/gallery/" if n == 1 else f"/gallery/list_{n}.html"


def _place(page: Page, by_index: dict[int, Occurrence], r: random.Random) -> None:
    for pos, i in enumerate(page.occurrences):
        occ = by_index[i]
        occ.page_path, occ.position, occ.src = page.path, pos, occ.url_path
        occ.caption_source = "alt"
        if r.random() < 0.1:
            occ.markup, occ.lazy_attr = "alt", None
        else:
            occ.markup, occ.lazy_attr = "lazy", LAZY_ATTRS[(occ.index + pos) % len(LAZY_ATTRS)]


def layout(public: list[Occurrence], traditional: list[Occurrence], r: random.Random) -> list[Page]:
    by_index = {o.index: o for o in (*public, *traditional)}
    albums = [Page(f"/gallery/album/{5001 + k}.html", GALLERY, "album",
                   f"{ALBUM_NAMES[k % len(ALBUM_NAMES)]}图集 第{5001 + k}辑", occurrences=group)
              for k, group in enumerate(chunk([o.index for o in public], 6, 14, r))]
    declarations = ("header+meta", "meta")
    tw_albums = [Page(f"{TW_PREFIX}album-{k + 1}.html", GALLERY, "album", f"台灣相簿 第{k + 1}輯", encoding="big5",
                      declaration=declarations[k % 2], occurrences=group)
                 for k, group in enumerate(chunk([o.index for o in traditional], 4, 8, r))]
    for page in (*albums, *tw_albums):
        _place(page, by_index, r)
    n_index = max(1, math.ceil(len(albums) / PER_INDEX))
    pages: list[Page] = []
    for n in range(1, n_index + 1):
        listed = albums[(n - 1) * PER_INDEX: n * PER_INDEX]
        links = [(a.path, a.title) for a in listed]
        if n == 1:
            links += [(a.path, a.title) for a in tw_albums]
        pages.append(Page(index_url(n), GALLERY, "index", f"悟空图库 - 第{n}页", links=links,
                          pagination=pagination(n, n_index, index_url)))
    for k, album in enumerate(albums):
        album.links = [(albums[(k + 1) % len(albums)].path, "下一个图集")]
        album.pagination = [("/gallery/", "返回图库")]
    for album in tw_albums:
        album.pagination = [("/gallery/", "返回圖庫")]
    return pages + albums + tw_albums


def _img(occ: Occurrence, r: random.Random) -> str:
    cap, src = esc(occ.caption), esc(occ.src)
    if occ.lazy_attr is None:
        return f"<img src=\"{src}\" alt=\"{cap}\">"
    value = f"{src} 1x" if occ.lazy_attr == "srcset" else src
    return f"<img class=\"lazy\" src=\"{r.choice(PLACEHOLDERS)}\" {occ.lazy_attr}=\"{value}\" alt=\"{cap}\">"


def render(page: Page, occs: dict[int, Occurrence]) -> Response:
    home, name = ("首頁", "圖庫") if page.encoding == "big5" else ("首页", "图库")
    nav = f"<div class=\"nav\"><a href=\"/\">{home}</a><a href=\"/gallery/\">{name}</a></div>"
    if page.kind == "index":
        return document(page, f"{nav}<h1>{esc(page.title)}</h1>{link_list(page.links, 'albums')}"
                              f"{pager(page.pagination)}")
    r = random.Random(page.path)
    items = "".join(f"<li><a href=\"#p{occs[i].position}\">{_img(occs[i], r)}</a></li>" for i in page.occurrences)
    script = "<script>document.querySelectorAll('img.lazy').forEach(function(i){})</script>"
    body = (f"{nav}<h1>{esc(page.title)}</h1><ul class=\"grid\">{items}</ul>"
            f"{link_list(page.links, 'next')}{pager(page.pagination)}{script}")
    return document(page, body)
