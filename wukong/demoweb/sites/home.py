"""The host's own pages: `/` (links the three sites, sets the search cookie), `/robots.txt`, the lazy-load
placeholders under `/static/` and the search landing page `/search/index`.
"""

from __future__ import annotations

import base64

from wukong.demoweb.model import Page, Response
from wukong.demoweb.sites.common import document, esc, link_list

DISALLOWED_PREFIX = "/forum/private/"
ROBOTS_TXT = (
    "# 悟空演示网 robots.txt\n"
    "User-agent: *\n"
    f"Disallow: {DISALLOWED_PREFIX}\n"
    "Crawl-delay: 0\n"
).encode()
BLANK_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
EMPTY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
STATIC = {
    "/static/blank.gif": Response(200, "image/gif", BLANK_GIF),
    "/static/empty.png": Response(200, "image/png", EMPTY_PNG),
}
SITE_LINKS = (("/news/", "悟空新闻"), ("/forum/", "悟空论坛"), ("/gallery/", "悟空图库"))


def home_page() -> Response:
    page = Page("/", "home", "home", "悟空演示网 - 离线中文图文数据演示")
    body = ("<h1>悟空演示网</h1><p>一个离线生成的中文小型网络：新闻、论坛与图库。</p>"
            f"{link_list(SITE_LINKS, 'sites')}")
    return document(page, body)


def search_index_page() -> Response:
    page = Page("/search/index", "search", "home", "悟空图片搜索")
    body = (f"<h1>{esc('悟空图片搜索')}</h1><form action=\"/search/acjson\"><input name=\"word\">"
            "<input type=\"hidden\" name=\"tn\" value=\"resultjson_com\"></form>")
    return document(page, body)
