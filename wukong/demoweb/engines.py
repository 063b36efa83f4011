"""Search endpoint bodies in the formats of Baidu (`acjson`), Sogou (`napi/pc/searchList`) and 360 (`j`).

acjson reproduces what public crawlers document: a body that is not strict JSON (`\\/` everywhere and
the invalid escape `\\'`), `data` ending with an empty `{}`, obfuscated `objURL`/`fromURL`,
`replaceUrl` entries spelled `ObjURL/FromURL` or `ObjUrl/FromUrl` (or absent), repeats past the end,
and `{"antiFlag":1,...}` with HTTP 200 when the request carries no cookie.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wukong.demoweb import objurl
from wukong.demoweb.search import SearchResult

if TYPE_CHECKING:
    from wukong.demoweb.web import DemoWeb

ANTI_SPIDER = {"antiFlag": 1, "message": "Forbid spider access", "bfe_log_id": "12345678901234567890"}
MAX_RN = 60


def baidu_text(obj: Any) -> bytes:
    """Baidu's serialisation: JSON with `/` written `\\/` and `'` written `\\'` (not valid JSON)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").replace("'", "\\'").encode("utf-8")


def _highlight(title: str, query: str, tag: str) -> str:
    return title.replace(query, f"<{tag}>{query}</{tag}>")


def acjson_item(web: DemoWeb, base: str, res: SearchResult) -> dict[str, Any]:
    spec = web.images[res.image_id]
    w, h = spec.rendition.size
    url, page, thumb = f"{base}/img/{spec.name}", f"{base}{res.from_path}", f"{base}{res.thumb_path}"
    item: dict[str, Any] = {
        "adType": "0", "hasAspData": "0", "thumbURL": f"{thumb}?w={w}&h={h}", "commodityInfo": None,
        "isCommodity": 0, "middleURL": thumb, "largeTnImageUrl": "", "hasLarge": 0, "hoverURL": thumb,
        "pageNum": res.rank, "objURL": url if res.variant == 4 else objurl.encode(url),
        "fromURL": objurl.encode(page), "fromURLHost": base, "currentIndex": "", "width": w, "height": h,
        "type": spec.ext, "is_gif": int(spec.ext == "gif"), "isCopyright": 0, "resourceInfo": None,
        "strategyAssetId": "", "filesize": "", "bdSrcType": "0", "di": res.di, "pi": "0", "is": "0,0",
        "imgCollectionWord": "", "hasThumbData": "0", "bdSetImgNum": 0, "partnerId": 0, "spn": 0,
        "bdImgnewsDate": f"2023-{res.rank % 12 + 1:02d}-{res.rank % 28 + 1:02d} 10:{res.rank % 60:02d}",
        "fromPageTitle": _highlight(res.title, res.query, "strong"), "fromPageTitleEnc": res.title,
        "bdSourceName": "", "bdFromPageTitlePrefix": "", "isAspDianjing": 0, "token": "", "imgType": "",
        "cs": res.cs, "os": res.cs, "simid": res.cs, "personalized": "0", "simid_info": None, "face_info": None,
        "xiangshi_info": None, "adPicId": "0", "source_type": "",
    }
    if res.variant in (0, 3):
        item["replaceUrl"] = [{"ObjURL": url, "ObjUrl": url, "FromURL": page, "FromUrl": page}] if res.variant == 3 \
            else [{"ObjURL": url, "FromURL": page}]
    elif res.variant == 1:
        item["replaceUrl"] = [{"ObjUrl": url, "FromUrl": page}]
    return item  # variant 2: no replaceUrl (decode objURL); variant 4: no replaceUrl, plain objURL


def acjson(web: DemoWeb, base: str, word: str, pn: int, rn: int) -> bytes:
    rn = min(max(rn, 1), MAX_RN)
    items = web.search.window(word, pn, rn, repeat_past_end=True)
    total = web.search.count(word)
    body = {
        "queryEnc": quote(word), "queryExt": word, "listNum": total, "displayNum": total * 37 + 11,
        "gsm": format(pn + rn, "x"), "bdFmtDispNum": f"约{total * 37 + 11:,}", "bdSearchTime": "",
        "isNeedAsyncRequest": 0, "bdIsClustered": "1",
        "data": [acjson_item(web, base, res) for res in items] + [{}],
    }
    return baidu_text(body)


def sogou(web: DemoWeb, base: str, query: str, start: int, size: int) -> bytes:
    items = web.search.window(query, start, min(max(size, 1), 100), repeat_past_end=False)
    out = []
    for res in items:
        spec = web.images[res.image_id]
        w, h = spec.rendition.size
        url = f"{base}/img/{spec.name}"
        out.append({"docId": res.di, "index": res.rank, "title": res.title, "picUrl": url, "oriPicUrl": url,
                    "thumbUrl": f"{base}{res.thumb_path}", "locImageLink": f"{base}{res.thumb_path}",
                    "width": w, "height": h, "pageUrl": f"{base}{res.from_path}", "type": spec.ext})
    body = {"status": 0, "info": "ok", "data": {"adPic": [], "totalNum": web.search.count(query),
                                                "total": web.search.count(query), "items": out}}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def so360(web: DemoWeb, base: str, q: str, sn: int, pn: int) -> bytes:
    pn = min(max(pn, 1), 100)
    items = web.search.window(q, sn, pn, repeat_past_end=False)
    total = web.search.count(q)
    out = []
    for res in items:
        spec = web.images[res.image_id]
        w, h = spec.rendition.size
        out.append({"id": res.di, "index": res.rank, "title": _highlight(res.title, q, "em"),
                    "img": f"{base}/img/{spec.name}", "thumb": f"{base}{res.thumb_path}",
                    "thumb_bak": f"{base}{res.thumb_path}", "width": str(w), "height": str(h),
                    "imgsize": "", "imgtype": spec.ext.upper(), "link": f"{base}{res.from_path}", "dspurl": base})
    body = {"total": total, "end": sn + len(items) >= total, "lastindex": sn + len(items), "ceg": False,
            "list": out}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
