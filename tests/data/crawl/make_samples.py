"""Regenerates the saved responses in this folder (`python tests/data/crawl/make_samples.py`).

They imitate what public crawlers saved from Baidu acjson, Sogou and 360 answers and from Chinese
pages in GBK, GB18030 (declared gb2312), Big5, late `<meta>`, resaved UTF-8, lazy loading and
broken markup. The bytes are the test data; this script only documents how they were made.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent

_PLAIN = "0123456789abcdefghijklmnopqrstuvw"
_CODED = "7dgjmoru140852vsnkheb963wtqplifca"


def obfuscate(url: str) -> str:
    inverse = dict(zip(_CODED, _PLAIN, strict=True))
    out = "".join(inverse.get(ch, ch) for ch in url)
    return out.replace("/", "AzdH3F").replace(".", "_z&e3B").replace(":", "_z2C$q")


def acjson_item(i: int, **over: object) -> dict[str, object]:
    obj = f"http://img{i % 3}.example.cn/upload/2019/CAT_{i:03d}.jpg"
    page = f"http://www.example.cn/news/{i}.html"
    baidu = f"https://img{i % 2}.baidu.com/it/u={1000 + i},{2000 + i}&fm=253&fmt=auto"
    item: dict[str, object] = {
        "adType": "0", "hasAspData": "0",
        "thumbURL": f"{baidu}&app=138&f=JPEG?w=500&h=375",
        "middleURL": f"{baidu}&app=138&f=JPEG?w=500&h=375",
        "largeTnImageUrl": "", "hasLarge": 0,
        "hoverURL": f"{baidu}&app=120&f=JPEG?w=640&h=480",
        "pageNum": i, "objURL": obfuscate(obj), "fromURL": obfuscate(page), "fromURLHost": "www.example.cn",
        "currentIndex": "", "width": 640, "height": 480, "type": "jpg", "is_gif": 0, "isCopyright": 0,
        "filesize": "", "bdSrcType": "0", "di": str(7146857200093233153 + i), "is": "0,0",
        "replaceUrl": [{"ObjURL": obj, "ObjUrl": obj, "FromURL": page, "FromUrl": page}],
        "hasThumbData": "0", "bdSetImgNum": 0, "partnerId": 0, "spn": 0, "bdImgnewsDate": "1970-01-01 08:00",
        "fromPageTitle": f"可爱的<strong>猫咪</strong>图片{i}", "fromPageTitleEnc": f"可爱的猫咪图片{i}",
        "bdSourceName": "", "bdFromPageTitlePrefix": "", "isAspDianjing": 0, "token": "", "imgType": "",
        "cs": f"{1000 + i},{2000 + i}", "os": f"{3000 + i},{4000 + i}", "simid": f"{5000 + i},{6000 + i}",
        "personalized": "0", "simid_info": None, "face_info": None, "xiangshi_info": None, "adPicId": "0",
        "source_type": "",
    }
    item.update(over)
    return item


def acjson_body(items: list[dict[str, object]], pn: int) -> str:
    body = {
        "queryEnc": "%E7%8C%AB", "queryExt": "猫", "listNum": 1980, "displayNum": 1016314,
        "gsm": format(pn + len(items), "x"), "bdFmtDispNum": "约1,016,000", "bdSearchTime": "",
        "isNeedAsyncRequest": 0, "bdIsClustered": "1", "data": [*items, {}],
    }
    text = json.dumps(body, ensure_ascii=False)
    return text.replace("/", "\\/")  # Baidu escapes every slash


def make_acjson() -> None:
    items = [
        acjson_item(0),  # replaceUrl with both spellings
        acjson_item(1, replaceUrl=[{"ObjUrl": "http://img.example.cn/only/ObjUrl_Spelling.PNG",
                                    "FromUrl": "http://www.example.cn/p/1.html"}]),
        acjson_item(2, replaceUrl=[]),  # objURL obfuscated -> decoded
        acjson_item(3, replaceUrl=None, objURL="https://plain.example.cn/AzdH/plain_Z.jpg"),  # no token: kept
        acjson_item(4, fromPageTitleEnc="", fromPageTitle="<strong>橘猫</strong>晒太阳&amp;打盹"),
        acjson_item(5, fromPageTitleEnc="", fromPageTitle=""),  # no caption
        acjson_item(6, width="800", height="0"),  # strings; 0 is unknown
        acjson_item(7, fromPageTitleEnc="QUOTE_PLACEHOLDER"),
        acjson_item(8, replaceUrl=[], objURL="", middleURL="", thumbURL="", hoverURL=""),  # no image at all
    ]
    text = acjson_body(items, 0)
    # Baidu's invalid escape \' (inside a title) and a raw tab inside a string.
    text = text.replace("QUOTE_PLACEHOLDER", "猫的\\'日常\\'\tvlog")
    (HERE / "baidu_acjson.json").write_text(text, encoding="utf-8")
    (HERE / "baidu_antiflag.json").write_text('{"antiFlag":1,"message":"Forbid spider access","bfe_log_id":"1234"}',
                                              encoding="utf-8")
    (HERE / "baidu_truncated.json").write_text(text[: len(text) // 2], encoding="utf-8")


def make_other_apis() -> None:
    sogou = {"status": 0, "info": "ok", "data": {"totalNum": 3, "items": [
        {"title": "<em>熊猫</em>宝宝吃竹子", "picUrl": "https://img01.sogoucdn.com/app/a/100520020/aa.jpg",
         "oriPicUrl": "http://panda.example.cn/img/bb.jpg", "url": "http://panda.example.cn/a/1.html",
         "width": 1024, "height": 768},
        {"title": "熊猫基地", "picUrl": "https://img02.sogoucdn.com/app/a/100520020/cc.jpg", "oriPicUrl": "",
         "url": "http://panda.example.cn/a/2.html", "width": "600", "height": "400"},
        {"title": "", "picUrl": "https://img03.sogoucdn.com/app/a/100520020/dd.jpg"},
    ]}}
    (HERE / "sogou.json").write_text(json.dumps(sogou, ensure_ascii=False), encoding="utf-8")
    so360 = {"total": 2, "end": False, "lastindex": 2, "list": [
        {"id": "a1", "title": "故宫<em>雪景</em>", "img": "https://p0.ssl.qhimgs1.com/t01aa.jpg",
         "thumb": "https://p0.ssl.qhimgs1.com/sdr/200_200_/t01aa.jpg", "link": "http://travel.example.cn/gugong.html",
         "width": "1920", "height": "1080"},
        {"id": "a2", "title": "长城", "img": "", "thumb": "https://p2.ssl.qhimgs1.com/sdr/200_200_/t02bb.jpg",
         "link": "javascript:void(0)"},
    ]}
    (HERE / "so360.json").write_text(json.dumps(so360, ensure_ascii=False), encoding="utf-8")


PAGE = """<!DOCTYPE html>
<html><head>{meta}<title>{title}</title></head>
<body>
<h1>{title}</h1>
<p>{text}</p>
<img src="/img/{name}-1.jpg" alt="{cap1}">
<img src="img/{name}-2.jpg" title="{cap2}">
<figure><img src="//img.example.cn/{name}-3.jpg"><figcaption>{cap3}</figcaption></figure>
<a href="/list_2.html">&gt;&gt;</a>
</body></html>
"""


def page(meta: str, title: str, text: str, name: str, caps: tuple[str, str, str]) -> str:
    return PAGE.format(meta=meta, title=title, text=text, name=name, cap1=caps[0], cap2=caps[1], cap3=caps[2])


def make_pages() -> None:
    gbk = page("", "论坛首页", "欢迎来到美食论坛", "gbk", ("红烧肉的做法", "麻婆豆腐", "宫保鸡丁配米饭"))
    (HERE / "gbk_page.html").write_bytes(gbk.encode("gbk"))  # served with Content-Type: charset=GBK
    gb18030 = page('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', "生僻字",
                   "汉字", "gb18030", ("刘䶮的画像", "𠮷野家牛肉饭", "欧元€符号"))
    (HERE / "gb18030_declared_gb2312.html").write_bytes(gb18030.encode("gb18030"))
    big5 = page('<meta charset="big5">', "臺灣風景", "繁體中文頁面", "big5",
                ("臺北一○一夜景", "日月潭的晨霧", "阿里山鐵路"))
    (HERE / "big5_page.html").write_bytes(big5.encode("big5"))
    filler = "<script>var x = '" + "a" * 5000 + "';</script>\n"
    late = page(filler + '<meta charset="gbk">', "迟到的声明", "正文", "late", ("西湖断桥残雪", "灵隐寺", "雷峰塔夕照"))
    (HERE / "late_meta_gbk.html").write_bytes(late.encode("gbk"))
    resaved = page('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', "另存为",
                   "这页声明了gb2312却是UTF-8", "resaved", ("桂林山水", "漓江竹筏", "象鼻山"))
    (HERE / "resaved_utf8_declared_gb2312.html").write_bytes(resaved.encode("utf-8"))
    bom = page('<meta charset="gbk">', "BOM优先", "字节顺序标记", "bom", ("黄山云海", "迎客松", "光明顶"))
    (HERE / "bom_utf8_meta_gbk.html").write_bytes(b"\xef\xbb\xbf" + bom.encode("utf-8"))


LAZY = """<html><head><meta charset="utf-8"><base href="http://gallery.example.cn/photos/"></head><body>
<img src="empty.png" data-src="lazy/a.jpg" alt="data-src图">
<img src="red.gif" data-original="/lazy/b.jpg" alt="data-original图">
<img src="1x1.gif" data-lazy-src="https://cdn.example.cn/c.jpg" alt="data-lazy-src图">
<img src="blank.gif" data-actualsrc="lazy/d.jpg" alt="data-actualsrc图">
<img src="blank.gif" lazy="lazy/e.jpg" alt="lazy图">
<img src="blank.gif" original="lazy/f.jpg" alt="original图">
<img src="blank.gif" ne-lazy="lazy/g.jpg" alt="ne-lazy图">
<img src="blank.gif" oldsrc="lazy/h.jpg" alt="oldsrc图">
<img srcset="s/i-320.jpg 320w, s/i-1280.jpg 1280w, s/i-640.jpg 640w" src="s/i-small.jpg" alt="srcset宽度">
<img srcset="s/j-1x.jpg, s/j-2x.jpg 2x" alt="srcset密度">
<img srcset="s/k,comma.jpg 1x" alt="逗号地址">
<img src="plain/l.jpg" alt="  多余   空白
 换行 ">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="内联图片">
<img data-src="data:image/png;base64,iVBORw0KGgo=" alt="懒加载内联">
<img src="plain/m.jpg">
<img src="plain/n.jpg" alt="" title="只有标题">
<figure><div><img src="plain/o.jpg"></div><figcaption>  图注 <b>加粗</b>  </figcaption></figure>
<figure><img src="plain/p.jpg" alt="替代文字优先"><figcaption>不用这个</figcaption></figure>
<img alt="没有地址">
<img src="javascript:void(0)" alt="脚本地址">
<img src="  " alt="空白地址">
<a href="page2.html">下一页</a> <a href="/photos/page2.html#top">重复</a> <a href="http://other.example.org/">外站</a>
<a href="javascript:void(0)">脚本</a> <a href="big.jpg">大图</a> <a href="http://gallery.example.cn:8080/">别的端口</a>
</body></html>
"""

BROKEN = (
    b"<html><head><title>\xff\xfe broken</title><body><div><p>unclosed <img src='ok.jpg' alt='\xe5\xa5\xbd\xe5\x9b\xbe'"
    b"<img src=\"noquote.jpg alt=\xe6\x9c\xaa\xe9\x97\xad\xe5\x90\x88 <table><tr><td><img"
    b" src=x.jpg alt=\"\x00\x01\"></td></tr></tbody></html><img src=\"after.jpg\" alt=\"\xe5\x90\x8e\xe9\x9d\xa2\">"
    + ("<p>" + "这是一个标记残缺的论坛页面，正文照常显示。" * 8 + "</p>").encode("utf-8") +
    b"<![CDATA[ <img src='cdata.jpg' alt='cdata'> ]]><!-- <img src='comment.jpg' alt='comment'> -->"
    b"<script>document.write('<img src=\"js.jpg\" alt=\"js\">')</script>\x80\x81\x82"
    b" <img src=\"http://[::1\" alt=\"bad\">"
)


def make_html_variants() -> None:
    (HERE / "lazy_variants.html").write_text(LAZY, encoding="utf-8")
    (HERE / "broken.html").write_bytes(BROKEN)
    # an unclosed <title> swallows the rest of the page as text, as in a browser
    (HERE / "unclosed_title.html").write_bytes(BROKEN.replace(b"</title>", b""))
    (HERE / "empty.html").write_bytes(b"")
    (HERE / "binary.html").write_bytes(bytes(range(256)) * 4)


if __name__ == "__main__":
    make_acjson()
    make_other_apis()
    make_pages()
    make_html_variants()
