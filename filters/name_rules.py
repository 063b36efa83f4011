"""The word lists and thresholds of the person-name masker (filters.privacy): contexts that make a
span a name (titles, roles, works), or a thing (products, dishes, places), and jieba's IDF table.
Characters and names themselves live in filters/data (filters.name_lexicon)."""

from __future__ import annotations

from pathlib import Path

import jieba

NAME_TAGS = frozenset({"nr", "nrfg"})
# Tags jieba's HMM gives unknown words that are names as often as not (曾黎/ns, 吴京/ns, 华晨/nz).
UNKNOWN_NAME_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nz"})
# A title, kinship or role word or a verb of people right after the name, or a role right before it.
TITLES_AFTER = frozenset(
    "先生 女士 小姐 老师 同学 教授 医生 护士 律师 主任 经理 院士 博士 校长 书记 局长 县长 市长 省长 厂长 "
    "村长 同志 师傅 小朋友 宝宝 奶奶 爷爷 夫妇 同款 写真 演唱会 主演 新歌 新剧 剧照 红毯 签名 近照 导演 "
    "主持 参加 出席 获得 荣获 获奖 表示 认为 指出 讲话 发言 演讲 留念 合影 毕业 出生 结婚 参观 访问 "
    "元帅 将军 总理 主席 教练 选手 演唱 专辑 小品 相声 "
    "诗词 书法 散文 小说 画作 手稿 语录 名言 传记 雕像 画像 塑像 铜像 故居 纪念馆 墓".split()
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
# ... or that a surname character would precede (胡萝卜, 石狮子, 白娘子): the span is that thing.
COMMON_SUFFIX_FREQ = 100
THING_TAGS = frozenset({"n", "s"})
# A surname and one of these is a way to address someone, not a name (张老师, 康师傅, 阎王爷).
HONORIFICS = frozenset(
    "老师 师傅 师父 医生 王爷 阿姨 大爷 大妈 大姐 大哥 大叔 先生 女士 小姐 老板 老太 老汉 总 局长".split()
)
# A name is never directly followed by these (a road, a village, a shop, a building).
PLACE_SUFFIXES = frozenset("村镇乡县市区省庄屯湾桥寺庙祠店记牌号楼园府山湖河岭峰港站馆堂坊巷弄路街门城州岛谷溪洲")
# A name that is also the stem of a place in the dictionary (岳阳 of 岳阳楼, 高雄 of 高雄市) is that place.
PLACE_STEM_SUFFIXES = tuple("市县区镇乡省楼")
PLACE_STEM_FREQ = 10
# Last characters that make a dictionary word a thing, not a person.
THING_FINALS = frozenset("花树草果茶汤鸡鸭鱼肉面饭糕饼酒灯字色楼园河湖桥街路店")
# A name glued to a dish or a product is a dish or a brand named after someone (左宗棠鸡, 张亮麻辣烫,
# 王守义十三香): the word right after it starts with one of these characters, or is one of these words.
PRODUCT_INITIALS = frozenset("鸡鸭鹅鱼虾蟹肉面饭粉汤饼糕酱醋茶酒饺粥锅串丸排肘羹卤")
PRODUCT_WORDS = frozenset(
    "麻辣烫 十三香 腐乳 凉茶 剪刀 菜刀 火锅 烤鸭 米线 面馆 饭店 酒家 酒楼 烧饼 包子 饺子 月饼 杂碎 豆腐 "
    "辣条 雪糕 冰淇淋 奶茶 餐厅 超市 药业 集团 牌 品牌 出行 体育 运动鞋 珠宝 金店 凉皮 串串 豆花 面条 "
    "手机 电脑 笔记本 平板 手表 手环 耳机 音箱 相机 汽车 快递 速递 物流 地图 外卖 商城 银行 保险 证券 "
    "科技 电器 空调 冰箱 洗衣机 电视 牙膏 洗发水 面膜 口红 香水 奶粉 矿泉水 饮料 可乐 啤酒 白酒 咖啡 "
    "文化 遗址 古城 古镇 景区 公园 广场 大桥 大厦 中心 大学 中学 小学".split()
)
# ... and a product category after a break (`李宁 运动鞋`, `安卓 手机`): a brand.
PRODUCTS_AFTER_BREAK = frozenset(
    "手机 电脑 笔记本 平板 手表 手环 耳机 音箱 相机 汽车 快递 地图 外卖 超市 商城 银行 空调 冰箱 洗衣机 "
    "电视 牙膏 洗发水 面膜 口红 香水 奶粉 饮料 啤酒 白酒 凉茶 运动鞋 跑鞋 球鞋 服装 女装 男装 童装 化妆品 "
    "护肤品 家具 家居 门店 专卖店 旗舰店 官网 官方 正品".split()
)
# An unknown word jieba's HMM calls a name is cut out of a longer word when a lone character sits
# glued before it (九/毛九, 今/麦郎) or after it (曾厝/垵), other than these.
LONE_BEFORE_OK = frozenset("和与跟及同给向对被让叫是为有在由把将的看见找问请陪帮送谢爱想等像如似称姓赞夸打拍图从"
                           "员长师生手工家者人哥姐友迷粉客")
LONE_AFTER_OK = frozenset("的和与跟及同在是说讲唱画写摄著绘作等们哥姐也都又还被把给获称笑哭躺跳跑吃喝穿戴拍演为自亲")
# Last characters of places: an unknown word ending in one is a place (宋城, 邱县, 义乌市).
UNKNOWN_PLACE_FINALS = frozenset("城市县镇乡村区省州")
# A two-character dictionary word tagged `nr` that stands alone is a name when its IDF reaches this.
RARE_IDF = 9.5
IDF_FILE = Path(jieba.__file__).resolve().parent / "analyse" / "idf.txt"


def load_two_char_idf() -> dict[str, float]:
    """The IDF of every two-character word in jieba's keyword-extraction table (shipped with jieba)."""
    out: dict[str, float] = {}
    with open(IDF_FILE, encoding="utf-8") as fh:
        for line in fh:
            if line[2:3] == " ":
                out[line[:2]] = float(line[3:])
    return out


# Characters around a span that make it a segment of its own (`姚明 篮球`, `刘翔,跨栏`).
SEGMENT_BREAKS = frozenset(" \t,，、|/:：;；·•-—()（）[]【】「」『』\"'“”《》!！?？")
