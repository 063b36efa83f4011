"""Search-API parsing on saved answers: acjson quirks, objURL decoding, Sogou and 360 formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.acjson import decode_objurl, encode_objurl, is_obfuscated, loads_lenient
from crawler.apis import API_FORMATS, BaiduAcjson, So360Images, SogouPics, as_dimension, home_url, strip_tags

DATA = Path(__file__).parent / "data" / "crawl"


def load(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# (obfuscated, decoded): public crawler write-ups and hand-made vectors with uppercase and digits.
OBJURL_VECTORS = [
    ("ippr_z2C$qAzdH3FAzdH3Ffl_z&e3Bftgwt42_z&e3BvgAzdH3F4AzdH3F8AzdH3F", "http://s9.sinaimg.cn/m/1/"),
    ("ippr_z2C$qAzdH3FAzdH3Ft42a_z&e3Bjxw4rsj_z&e3BvgAzdH3F7rs5w1AzdH3Fda8lAzdH3FCAT_aaa_z&e3B3r2",
     "http://img0.example.cn/upload/2019/CAT_000.jpg"),
    ("ippr_z2C$qAzdH3FAzdH3Fooo_z&e3Bjxw4rsj_z&e3BvgAzdH3FgjofAzdH3Fa_z&e3Bip4s",
     "http://www.example.cn/news/0.html"),
    ("ippr_z2C$qAzdH3FAzdH3FIMG_z&e3BABC_z&e3Bxyz", "http://IMG.ABC.xyz"),  # uppercase and x-z unchanged
    ("ippr_z2C$q", "http:"),
]


@pytest.mark.parametrize(("coded", "plain"), OBJURL_VECTORS)
def test_decode_objurl_vectors(coded: str, plain: str) -> None:
    assert decode_objurl(coded) == plain


@pytest.mark.parametrize("url", ["http://a.example.cn/Path/IMG_9.JPG?x=1&y=2", "https://b.example.cn:8443/%E7%8C%AB.png"])
def test_encode_decode_roundtrip(url: str) -> None:
    assert is_obfuscated(encode_objurl(url))
    assert decode_objurl(encode_objurl(url)) == url


def test_plain_url_is_never_decoded() -> None:
    plain = "https://img.example.cn/abc/def123.jpg"
    assert not is_obfuscated(plain)
    assert decode_objurl(plain) == plain


def test_lenient_json_quirks() -> None:
    assert loads_lenient(r'{"a": "x\/y", "b": "it\'s"}') == {"a": "x/y", "b": "it's"}
    assert loads_lenient('{"a": "tab\there"}') == {"a": "tab\there"}  # raw control character
    assert loads_lenient(r'{"a": "back\\\'slash"}') == {"a": "back\\'slash"}  # \\ then \'
    assert loads_lenient('\ufeff  {"a": 1}') == {"a": 1}
    assert loads_lenient('jQuery123({"a": [1, {}]});') == {"a": [1, {}]}
    with pytest.raises(ValueError):
        loads_lenient('{"a": ')


def test_baidu_acjson_sample() -> None:
    page = BaiduAcjson().parse(load("baidu_acjson.json"))
    assert not page.blocked and page.error is None
    by_caption = {h.caption: h for h in page.hits}
    # replaceUrl[0].ObjURL is preferred, with both spellings of the key.
    h0 = by_caption["可爱的猫咪图片0"]
    assert h0.url == "http://img0.example.cn/upload/2019/CAT_000.jpg"
    assert h0.page_url == "http://www.example.cn/news/0.html"  # fromURL decoded
    assert (h0.width, h0.height) == (640, 480)
    assert by_caption["可爱的猫咪图片1"].url == "http://img.example.cn/only/ObjUrl_Spelling.PNG"
    # no replaceUrl: objURL decoded
    assert by_caption["可爱的猫咪图片2"].url == "http://img2.example.cn/upload/2019/CAT_002.jpg"
    # objURL without the tokens is taken as it is (uppercase, "AzdH" alone untouched)
    assert by_caption["可爱的猫咪图片3"].url == "https://plain.example.cn/AzdH/plain_Z.jpg"
    # fromPageTitleEnc empty: fromPageTitle without <strong>, entities unescaped
    assert "橘猫晒太阳&打盹" in by_caption
    # sizes given as strings; 0 means unknown
    assert (by_caption["可爱的猫咪图片6"].width, by_caption["可爱的猫咪图片6"].height) == (800, None)
    # the invalid \' escape and a raw tab survive the lenient parse
    assert "猫的'日常'\tvlog" in by_caption
    # item 5 has no caption, item 8 no image URL; the trailing {} is not an item
    assert len(page.hits) == 7
    assert page.dropped == {"no_caption": 1, "no_image_url": 1}


def test_baidu_antiflag_and_truncated() -> None:
    api = BaiduAcjson()
    blocked = api.parse(load("baidu_antiflag.json"))
    assert blocked.blocked and not blocked.hits
    broken = api.parse(load("baidu_truncated.json"))
    assert broken.error == "malformed_json" and not broken.hits
    assert api.parse('{"data": []}').hits == []
    assert api.parse("[1, 2]").error == "unexpected_json"
    assert api.parse('{"data": "nope"}').error == "unexpected_json"
    assert api.parse('{"data": [1, {}]}').dropped == {"malformed_item": 1}


def test_baidu_request_url() -> None:
    url = BaiduAcjson().page_url("http://127.0.0.1:8000/search/acjson", "红烧肉", 60, 30)
    assert url.startswith("http://127.0.0.1:8000/search/acjson?tn=resultjson_com&ipn=rj&")
    assert "word=%E7%BA%A2%E7%83%A7%E8%82%89" in url and "&pn=60&rn=30" in url and url.endswith("&gsm=3c")
    # rn is capped at the API's page size; an endpoint's own query string is kept
    capped = BaiduAcjson().page_url("http://127.0.0.1:8000/acjson?x=1", "a", 0, 500)
    assert "?x=1&" in capped and "rn=60" in capped and capped.endswith("gsm=0")
    assert home_url("http://127.0.0.1:8000/search/acjson?x=1") == "http://127.0.0.1:8000/"


def test_sogou_sample() -> None:
    page = SogouPics().parse(load("sogou.json"))
    assert [(h.url, h.caption, h.page_url, h.width, h.height) for h in page.hits] == [
        ("http://panda.example.cn/img/bb.jpg", "熊猫宝宝吃竹子", "http://panda.example.cn/a/1.html", 1024, 768),
        ("https://img02.sogoucdn.com/app/a/100520020/cc.jpg", "熊猫基地", "http://panda.example.cn/a/2.html", 600, 400),
    ]
    assert page.dropped == {"no_caption": 1}
    assert "query=%E7%8C%AB&start=48&xml_len=48" in SogouPics().page_url("http://127.0.0.1:1/napi", "猫", 48, 48)


def test_so360_sample() -> None:
    page = So360Images().parse(load("so360.json"))
    assert [(h.url, h.caption, h.page_url, h.width) for h in page.hits] == [
        ("https://p0.ssl.qhimgs1.com/t01aa.jpg", "故宫雪景", "http://travel.example.cn/gugong.html", 1920),
        ("https://p2.ssl.qhimgs1.com/sdr/200_200_/t02bb.jpg", "长城", "", None),  # thumb; javascript: link dropped
    ]
    assert "q=%E7%8C%AB&sn=0&pn=30" in So360Images().page_url("http://127.0.0.1:1/j", "猫", 0, 30)


def test_registry_and_helpers() -> None:
    assert set(API_FORMATS) == {"baidu", "sogou", "so360"}
    assert strip_tags("<em>a</em>&lt;b&gt; ") == "a<b>"
    assert [as_dimension(v) for v in (640, "480", "0", 0, -1, "12px", None, True, 2**31, 3.0)] == [
        640, 480, None, None, None, None, None, None, None, 3]
