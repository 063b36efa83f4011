"""The word lists and thresholds of the person-name masker (filters.privacy): contexts that make a
span a name (titles, roles, works), or a thing (products, dishes, places), and the IDF that makes a word
rare (jieba's IDF table: manifests.jieba_dict.load_two_char_idf).
Characters and names themselves live in filters/data (filters.name_lexicon)."""

from __future__ import annotations

import re

NAME_TAGS = frozenset({"nr", "nrfg"})
# Tags jieba's HMM gives unknown words that are names as often as not (曾黎/ns, 吴京/ns, 华晨/nz).
UNKNOWN_NAME_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nz"})
# A title, kinship or role word or a verb of people right after the name, or a role right before it.
TITLES_AFTER = frozenset(
    "先生 女士 小姐 老师 同学 教授 医生 护士 律师 主任 经理 院士 博士 校长 书记 局长 县长 市长 省长 厂长 "
    "村长 同志 师傅 小朋友 宝宝 奶奶 爷爷 夫妇 同款 写真 演唱会 主演 新歌 新剧 剧照 红毯 签名 近照 导演 "
    "主持 参加 出席 获得 荣获 获奖 表示 认为 指出 讲话 发言 演讲 留念 合影 毕业 出生 结婚 参观 访问 "
    "元帅 将军 总理 主席 教练 选手 演唱 专辑 小品 相声 "
    "诗词 书法 散文 小说 画作 手稿 语录 名言 传记 雕像 画像 塑像 铜像 "
    "研究员 烈士 航天员 宇航员 诞辰 "
    "手迹 墨宝 真迹 字帖 诗意画 诗意图 诗配画 肖像 街拍 "
    # kinship (李强媳妇, 王磊儿子)
    "媳妇 老公 老婆 丈夫 妻子 儿子 女儿 妈妈 爸爸 哥哥 姐姐 弟弟 妹妹 外婆 外公 姥姥 姥爷 夫妻 两口子".split()
)
# Verbs, works and events of people only: they make a name of a span that is rare in text (`莫言获…`,
# `郎朗钢琴独奏会`), where an everyday word jieba also tags `nr` stays (安静, 白鹤).
PEOPLE_VERBS = frozenset(
    "获 夺得 夺冠 夺金 卫冕 亮相 点燃 战胜 击败 执导 领衔 担任 出演 饰演 现身 登台 举办 题写 题字 手书 率队 "
    "当选 逝世 去世 代言 讲述 专访 采访 退役 领奖 捐赠 捐款 开讲 授课 访华 视察 出访 独奏会 音乐会 演奏会 个唱 "
    "画展 个展 书法展 摄影展 见面会 签售会 诗意画 字帖 行书 楷书 草书 隶书 诗集 文集 全集 诗选 词选 作品集 事迹 "
    "生平".split()
)
# ... and these, which things do too (`白鹤在湖面上`): a name only of a span jieba's dictionary does not
# hold (`林海洋 摄`, `沈/国华 修`) or one it names with three characters.
PEOPLE_AFTER = PEOPLE_VERBS | frozenset(
    "在 写 画 诗 词 名句 诗句 作品 像 同框 回忆 摄 钢琴 小提琴 独唱 主持 登上 打破 跑出 射落 创造 诞生 演奏 "
    "创作 讲".split()
)
ROLES_BEFORE = frozenset(
    "记者 摄影 作者 通讯员 新郎 新娘 小朋友 演员 歌手 主持人 导演 选手 网友 市民 村民 患者 教练 队长 主播 "
    "画家 作家 诗人 摄影师 设计师 编辑 同学 老师 纪念 缅怀 悼念 怀念 冠军 名将 运动员 艺人 传承人 大师 名家 "
    "院士 教授 明星 影帝 影后 歌星 球星 词人 文豪 伟人 英雄 模范 创始人 董事长 总裁 航天员 宇航员 烈士 "
    "演唱者 乡贤 志愿者 快递员 环卫工 医生 护士 民警 班长 学生 小学生 中学生 大学生 研究生 宝宝 萌娃 "
    "的哥 的姐 小哥 保安 宝妈 宝爸 店主 厨师 老兵 交警 辅警 渔民 农民 牧民 茶农 果农 菜农 工人 司机 老板 老板娘 "
    "掌柜 村官 老乡 党员 军人 战士 士兵 法官 警官 学员 考生 教师 校长 园长 馆长 队员 船长 "
    "机长 空姐 匠人 绣娘 业主 手艺人 护工 月嫂 保姆 村医 主任 书记 局长 "
    # epithets (体操王子李宁, 歌坛天后王菲, 央视名嘴白岩松)
    "王子 公主 天王 天后 女王 女神 男神 名嘴 才女 才子 偶像 老将 小将 新秀 代言人".split()
)
# ... or a role word of at least three characters ending in one of these (钢琴家, 运动员, 奥运冠军,
# 外卖小哥, 护士长, 农民工, 环卫工人, 退休教师, 大学生村官).
ROLE_ENDINGS = ("家", "员", "冠军", "名将", "选手", "大师", "老师", "传承人", "小哥", "长", "工", "工人", "教师",
                "村官", "书记", "支书", "师", "农", "民", "代表", "委员")
# After a surname and two characters, these make the three a name even when jieba cut them apart
# (吴国/ns 强家/n 的: 吴国强家的新房; 曹/nr 金花/n 奶奶).
KIN_AFTER = ("家的", "家里", "家门口", "一家", "奶奶", "爷爷", "大爷", "大妈", "大娘", "大婶", "阿姨", "叔叔",
             "伯伯", "老人", "老汉", "老师", "师傅", "先生", "女士", "同学", "小朋友", "夫妇", "院士", "教授",
             "医生", "同志", "烈士")
# A caption about a game, cosplay or animation: its characters are fictional (王者荣耀 李白, cos 李白).
GAME_WORDS = re.compile("王者荣耀|原神|英雄联盟|阴阳师|三国杀|梦幻西游|剑网3|逆水寒|第五人格|手办|手游|网游|二次元|"
                        "同人|立绘|番剧|(?<![A-Za-z])(?i:cos(?:play|er)?)(?![A-Za-z])")
COORDINATORS = frozenset("和 与 、 及 跟 , & /".split())
CONJUNCTIONS = frozenset("和与跟及同")
# Parts of speech a single character may have to complete a two-character name (何雨/nr 萱/n).
NAME_PART_TAGS = frozenset({"nr", "nrfg", "nrt", "ng", "n", "ag", "a", "vg", "zg"})
# Words that two name characters would start (祝福语, 万年青, 金银花): the span is that word instead.
COMMON_PREFIX_FREQ = 50
# ... or that a surname character would precede (胡萝卜, 石狮子, 白娘子): the span is that thing.
COMMON_SUFFIX_FREQ = 100
THING_TAGS = frozenset({"n", "s"})
# After a compound surname that is also a word (东方, 西门), a common word of these parts of speech makes a
# company or a thing (东方财富, 东方证券, 东方电气), where 东方建国 (建国/ns) is a name.
COMPANY_WORD_TAGS = frozenset({"n", "nz", "nt", "vn", "s"})
# A surname and one of these is a clan's army, troupe or gang, not a name (岳家军, 戚家军, 王家班).
CLAN_ENDINGS = ("家军", "家班", "家帮", "家族", "家菜")
# A surname and one of these is a way to address someone, not a name (张老师, 康师傅, 阎王爷).
HONORIFICS = frozenset(
    "老师 师傅 师父 医生 王爷 阿姨 大爷 大妈 大姐 大哥 大叔 先生 女士 小姐 老板 老太 老汉 总 局长".split()
)
# A name is never directly followed by these as a word of their own (a road, a village, a shop, a tomb).
PLACE_SUFFIXES = frozenset("村镇乡县市区省庄屯湾桥寺庙祠店记牌号楼园府山湖河岭峰港站馆堂坊巷弄路街门城州岛谷溪洲塔峡"
                           "墓陵井阁亭")
# ... nor these words: a place named after the person (鲁迅故居, 杜甫草堂, 黄兴广场, 焦裕禄纪念园), where
# `鲁迅的故居` and `张伟路过` hold names.
PLACE_WORDS = tuple(
    "故居 旧居 故里 故宅 老宅 祖居 祖宅 纪念馆 纪念堂 纪念园 纪念碑 纪念亭 纪念林 陈列馆 文学馆 艺术馆 美术馆 "
    "博物馆 图书馆 草堂 祠堂 墓园 陵园 衣冠冢 书院 故城 读书台 钓台 遗址 烈士陵园 烈士墓 烈士纪念馆 烈士纪念碑 "
    "碑林 江阁 书屋".split()
)
# ... and these after a famous name only (a listed person or a name of jieba's dictionary: 鲁迅公园, 黄兴广场,
# 田家炳中学), where an ordinary name before them is a person (`李强公园晨练`, `陈明大学毕业照`).
FAMOUS_PLACE_WORDS = tuple(
    "公园 广场 大街 大道 中学 小学 大学 学院 学校 景区 古城 古镇 大桥 大厦 花园 庄园 大院 医院 体育馆 体育场 "
    "剧院 大剧院 音乐厅 礼堂 大礼堂 教学楼 图书楼 科技楼 实验楼".split()
)
# ... unless the place word starts an activity (`王秀英广场舞`).
NOT_PLACES = ("广场舞",)
# A name that is also the stem of a place in the dictionary (岳阳 of 岳阳楼, 高雄 of 高雄市) is that place.
PLACE_STEM_SUFFIXES = tuple("市县区镇乡省楼")
PLACE_STEM_FREQ = 10
# ... or a mountain, unless a title, role or verb of people stands beside it (jieba's dictionary tags
# 齐云山, 罗浮山 `nr`; well-known people named so are listed: 赵本山).
MOUNTAIN_FINALS = frozenset("山峰岭")
# Last characters that make a dictionary word a thing, not a person.
THING_FINALS = frozenset("花树草果茶汤鸡鸭鱼肉面饭糕饼酒灯字色楼园河湖桥街路店节锁尺弩枕扇凳砚")
# A name glued to a dish or a product is a dish or a brand named after someone (左宗棠鸡, 张亮麻辣烫,
# 王守义十三香): the word right after it starts with one of these characters, or is one of these words.
PRODUCT_INITIALS = frozenset("鸡鸭鹅鱼虾蟹肉面饭粉汤饼糕酱醋茶酒饺粥锅串丸排肘羹卤")
PRODUCT_WORDS = frozenset(
    # industries: a company named after its founder or a brand (雷士照明, 东方证券)
    "照明 股份 控股 传媒 影视 食品 建材 涂料 物业 地产 置业 酒店 证券 航空 卫视 电气 实业 贸易 商贸 家纺 服饰 鞋业 "
    "电子 通信 通讯 能源 化工 医药 制药 财富 甄选 复合肥 化肥 肥料 灯具 卫浴 陶瓷 瓷砖 门窗 地板 橱柜 球拍 羽毛球拍 "
    "网球拍 乒乓球拍 运动服 运动装 训练服 球衣 球服 摩托 摩托车 电动车 自行车 卡车 客车 轿车 重卡 "
    "杂烩 大杂烩 杂碎 麻辣烫 十三香 腐乳 凉茶 剪刀 菜刀 火锅 烤鸭 米线 面馆 饭店 酒家 酒楼 烧饼 包子 饺子 月饼 豆腐 "
    "辣条 雪糕 冰淇淋 奶茶 餐厅 超市 药业 集团 牌 品牌 出行 体育 运动鞋 珠宝 金店 凉皮 串串 豆花 面条 "
    "手机 电脑 笔记本 平板 手表 手环 耳机 音箱 相机 汽车 快递 速递 物流 地图 外卖 商城 银行 保险 证券 "
    "科技 电器 空调 冰箱 洗衣机 电视 牙膏 洗发水 面膜 口红 香水 奶粉 矿泉水 饮料 可乐 啤酒 白酒 咖啡 "
    "文化 中心".split()
)
# ... and a product category after a break (`李宁 运动鞋`, `安卓 手机`): a brand.
PRODUCTS_AFTER_BREAK = frozenset(
    "手机 电脑 笔记本 平板 手表 手环 耳机 音箱 相机 汽车 快递 地图 外卖 超市 商城 银行 空调 冰箱 洗衣机 "
    "电视 牙膏 洗发水 面膜 口红 香水 奶粉 饮料 啤酒 白酒 凉茶 运动鞋 跑鞋 球鞋 服装 女装 男装 童装 化妆品 "
    "护肤品 家具 家居 门店 专卖店 旗舰店 官网 官方 正品 卫衣 短袖 外套 T恤 卫裤 背包 鞋 男款 女款 童款 新款 款式 "
    "尺码 包邮 运动服 运动装 训练服 球衣 球服 粉膏 粉底液 眼影 腮红 精华液 乳液 礼盒 套装 "
    "螺蛳粉 藕粉 零食 调料 火锅底料 挂面 大米 茶叶 辣酱 麻辣烫 火锅 烤鸭 米线 凉皮 奶茶 烧烤 加盟 "
    "内衣 文胸 保暖内衣 凉席 床垫 四件套 家纺 钻石 钻戒 吊坠 项链 手镯 戒指 眼霜 面霜 洗面奶 粉底 "
    "六味地黄丸 胶囊 口服液 颗粒 药膏".split()
)
# ... and a dictionary noun glued to the name that ends like a food or a product (马子禄牛肉面, 王中王
# 火腿肠, 罗莱家纺, 郭元益凤梨酥): a brand. Kinship and titles are not products (奶奶, 老师).
PRODUCT_FINALS = frozenset("面粉饼糕酥糖茶酒肠鹅鸭鸡鱼肉饭粥锅烩汤饺酱醋油皂纺料膏霜奶蛋干丝脯粽圆鞋衣裤袜帽")
NOT_PRODUCTS = frozenset("奶奶 姥姥 太奶 小姐 美眉".split())
# ... nor an activity: a noun that starts with a verb (陶渊明饮酒, 王芳钓鱼).
ACTIVITY_INITIALS = frozenset("饮喝吃做泡品卖买钓养擀揉晒酿种采摘送")
# A role word before a name: the name is the character played (于和伟饰演曹操).
PLAYED_BEFORE = ("饰演", "扮演", "饰", "演绎", "客串")
# An unknown word jieba's HMM calls a name is cut out of a longer word when a lone character sits
# glued before it (九/毛九, 今/麦郎) or after it (曾厝/垵), other than these.
LONE_BEFORE_OK = frozenset("和与跟及同给向对被让叫是为有在由把将的看见找问请陪帮送谢爱想等像如似称姓赞夸打拍图从"
                           "画写唱念读忆祭拜赠员长师生手工家者人哥姐友迷粉客祝致")
# Verbs and measure words that follow a name (李梅开的民宿, 王芳做的蛋糕, 张伟一家, 刘洋祝大家): jieba's HMM
# glues them to a two-character name (周婷织/nr 的) and they make no three-character name but with a
# character of the given-name list (王志学, 李念); filters.privacy splits them off.
VERBS_AFTER_A_NAME = frozenset("开做买卖画写拍织种养送修包剪编绣带煮炒烤蒸炖熬煎炸烧泡穿戴演唱教骑打拿给用说讲看吃"
                               "喝搬寄借租摘采酿绘捏刻雕缝补扎折弹吹跳跑读盖搭挖钓晒腌揉擀贴挂摆插背抱牵领陪接"
                               "等找问请帮叫让被把将对向从一两二三四五六七八九十几个位名俩仨祝")
LONE_AFTER_OK = frozenset("家的和与跟及同在是说讲唱画写摄著绘作等们哥姐也都又还被把给获称笑哭躺跳跑吃喝穿戴拍演为自亲"
                          "走修做去来看听读学教练种养晒包织绣剪刻骑开坐站抱背牵逛游买卖煮炒烤蒸洗扫送带")
LONE_AFTER_OK |= VERBS_AFTER_A_NAME
# Last characters of places: an unknown word ending in one is a place (宋城, 邱县, 义乌市).
UNKNOWN_PLACE_FINALS = frozenset("城市县镇乡村区省州峡角")
# A dictionary word tagged `nr` with a `rare:` surname first is a word from this frequency on (满天星 33,
# 满江红 40), a name below it (解晓东 3, 满文军 3, 单田芳 3).
RARE_SURNAME_WORD_FREQ = 10
# A two-character dictionary word tagged `nr` that stands alone is a name when its IDF reaches this.
RARE_IDF = 9.5


# Characters around a span that make it a segment of its own (`姚明 篮球`, `刘翔,跨栏`).
SEGMENT_BREAKS = frozenset(" \t,，、|/:：;；·•-—()（）[]【】「」『』\"'“”《》!！?？")
# Given names 子 + one of these are among the commonest of children (王子涵, 李子轩): jieba cuts them as
# a dictionary word and a character (王子/nr 涵/vg, 王子/nr 涵说/v); filters.name_tokens joins them again
# after a surname + 子 that is a name in jieba's dictionary or a rare word (not 房子, 包子, 车子).
ZI_ENDINGS = frozenset("涵轩萱墨怡琪睿骞航杰瑜淇谦默恒昂枫豪彤琳宸烨熙铭逸衿淳雯玥")
# A wish whose head jieba glues to the name after it (祝张伟/nr 新婚快乐): cut off before the name.
WISH_HEADS = ("祝",)
WISHES = tuple("生日 快乐 新婚 节日 新年 金榜 一路 前程 身体 早日 平安 幸福 万事 健康 圣诞 中秋 元旦 "
               "春节 母亲节 父亲节 教师节 六一 毕业 高考 考试 工作 事业 学业 永远 天天".split())
