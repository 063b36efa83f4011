"""Word lists the caption templates draw from: products, dishes, places, animals, names, other languages.

Simplified-Chinese lists stay inside GBK (the forum is served in GBK); the traditional lists stay
inside Big5 (the gallery's Big5 pages). Nothing here contains a word of the sensitive lexicon.
"""

from __future__ import annotations

BRANDS = (
    "苹果", "华为", "小米", "OPPO", "vivo", "荣耀", "联想", "戴尔", "耐克", "阿迪达斯", "李宁", "安踏",
    "美的", "格力", "海尔", "优衣库", "无印良品", "宜家", "飞利浦", "索尼", "佳能", "尼康", "大疆",
    "罗技", "雷蛇", "九阳", "苏泊尔", "小熊", "回力", "特步", "Levi's", "H&M", "ZARA", "New Balance",
)
MODELS = (  # (brand, model, kind): a model appears with its own brand and with accessories of its kind
    ("苹果", "iPhone 15", "phone"), ("苹果", "iPhone 14 Pro", "phone"), ("苹果", "iPhone 13", "phone"),
    ("苹果", "MacBook Air", "laptop"), ("苹果", "iPad Pro", "laptop"), ("苹果", "AirPods Pro", "audio"),
    ("华为", "Mate 60", "phone"), ("华为", "P60 Pro", "phone"), ("华为", "Pura 70", "phone"),
    ("华为", "nova 12", "phone"),
    ("小米", "Redmi K70", "phone"), ("小米", "Xiaomi 14", "phone"), ("小米", "Redmi Note 13", "phone"),
    ("OPPO", "Reno 11", "phone"), ("OPPO", "Find X7", "phone"), ("vivo", "X100", "phone"), ("vivo", "iQOO 12", "phone"),
    ("联想", "ThinkPad X1", "laptop"), ("联想", "拯救者Y9000P", "laptop"), ("耐克", "Air Jordan 1", "shoe"),
    ("耐克", "Air Force 1", "shoe"), ("New Balance", "NB 530", "shoe"), ("李宁", "韦德之道", "shoe"),
    ("大疆", "Mini 4 Pro", "camera"), ("佳能", "EOS R6", "camera"), ("尼康", "Z6 II", "camera"),
    ("索尼", "WH-1000XM5", "audio"), ("罗技", "G502", "laptop"),
)
MODEL_ITEMS = {
    "phone": ("手机壳", "钢化膜", "充电器", "数据线", "镜头膜", "手机支架", "保护套", "开箱", "评测", "拍照样张"),
    "laptop": ("电脑包", "键盘膜", "散热支架", "扩展坞", "贴纸", "开箱", "评测", "桌面布置"),
    "shoe": ("上脚图", "配色", "鞋盒", "实拍", "鞋带", "穿搭", "开箱"),
    "camera": ("镜头", "电池", "收纳包", "样片", "开箱", "三脚架"),
    "audio": ("耳机套", "收纳盒", "开箱", "评测", "佩戴图"),
}
PRODUCTS = (
    "手机壳", "钢化膜", "充电器", "数据线", "蓝牙耳机", "运动鞋", "双肩包", "保温杯", "电饭煲", "空气炸锅",
    "台灯", "机械键盘", "鼠标垫", "羽绒服", "卫衣", "牛仔裤", "连衣裙", "帆布鞋", "行李箱", "充电宝",
    "智能手表", "电动牙刷", "吹风机", "咖啡机", "榨汁机", "收纳盒", "抱枕", "窗帘", "床单", "雨伞",
    "太阳镜", "棒球帽", "围巾", "手套", "拖鞋", "水杯", "笔记本", "钢笔", "书包", "沙发",
)
PRODUCT_TEMPLATES = (
    "{model} {mitem} {attr}", "{brand}{model} {mitem}", "{brand} {model} {mitem}", "{attr}{item}",
    "{other}{item} {attr}{attr2}", "{year}新款{other}{item}", "{attr}{attr2}{item}", "{other} {item} {attr}",
    "{model}{mitem}", "{other}{attr}{item}",
)
PRODUCT_ATTRS = (
    "透明", "防摔", "黑色", "白色", "粉色", "蓝色", "加厚", "轻薄", "2024新款", "男款", "女款", "大容量",
    "简约", "复古", "高颜值", "可爱", "磨砂", "硅胶", "真皮", "纯棉", "便携", "静音", "折叠", "无线",
    "儿童", "情侣款", "宽松", "修身", "防水", "保暖",
)
DISHES = (
    "蒜薹炒肉盖饭", "宫保鸡丁", "红烧肉", "鱼香肉丝", "麻婆豆腐", "酸菜鱼", "水煮牛肉", "回锅肉", "糖醋里脊",
    "西红柿炒鸡蛋", "麻辣小龙虾", "兰州拉面", "重庆小面", "煎饼果子", "肉夹馍", "热干面", "螺蛳粉", "北京烤鸭",
    "东坡肉", "白切鸡", "叉烧包", "虾饺", "肠粉", "扬州炒饭", "红烧排骨", "清蒸鲈鱼", "可乐鸡翅", "地三鲜",
    "锅包肉", "酸辣土豆丝", "凉拌黄瓜", "羊肉串", "毛血旺", "麻辣烫", "韭菜鸡蛋饺子", "黑芝麻汤圆", "蛋黄肉粽",
    "提拉米苏", "芒果班戟", "葱油拌面", "番茄牛腩", "黄焖鸡米饭", "老鸭粉丝汤", "生煎包", "小笼包", "秒切肉馅",
    "干锅花菜", "啤酒鸭", "剁椒鱼头", "腊味煲仔饭", "杨枝甘露", "双皮奶", "桂花糕", "绿豆汤", "烤冷面",
)
DISH_TEMPLATES = (
    "{dish}", "家常{dish}", "{dish}的做法", "自制{dish}", "{city}{dish}", "一碗热腾腾的{dish}",
    "{meal}吃{dish}", "{dish}{meal}", "{city}街头的{dish}", "妈妈做的{dish}", "{dish}教程 第{step}步",
    "好吃的{dish}", "{dish}特写",
)
MEALS = ("早餐", "午餐", "晚餐", "夜宵", "下午茶", "便当")
CITIES = (
    "北京", "上海", "杭州", "成都", "重庆", "西安", "大理", "丽江", "厦门", "青岛", "桂林", "三亚", "拉萨",
    "哈尔滨", "南京", "苏州", "武汉", "长沙", "昆明", "贵阳", "天津", "广州", "深圳", "洛阳", "敦煌", "乌镇",
)
LANDMARKS = (  # (city, landmark)
    ("杭州", "西湖"), ("上海", "外滩"), ("北京", "故宫"), ("北京", "长城"), ("大理", "洱海"), ("拉萨", "布达拉宫"),
    ("成都", "宽窄巷子"), ("厦门", "鼓浪屿"), ("黄山", "光明顶"), ("泰安", "泰山"), ("阿坝", "九寨沟"),
    ("张家界", "天门山"), ("北京", "天坛"), ("北京", "颐和园"), ("上海", "东方明珠"), ("南昌", "滕王阁"),
    ("岳阳", "岳阳楼"), ("武汉", "黄鹤楼"), ("西安", "兵马俑"), ("敦煌", "莫高窟"),
)
SCENES = (
    "湖泊", "海边", "沙滩", "森林", "草原", "梯田", "古镇", "老街", "稻田", "瀑布", "峡谷", "星空", "日落",
    "日出", "雪山", "竹林", "樱花树", "银杏大道", "油菜花田", "山谷", "小溪", "灯塔", "港口", "胡同",
)
PLACE_TEMPLATES = (
    "雪山下的{scene}", "{season}的{scene}", "{lcity}{landmark}", "{time}的{scene}", "{scene}风景",
    "{adj}的{scene}", "{city}的{scene}", "{landmark}{time}", "{season}的{landmark}", "航拍{city}{scene}",
    "{lcity}{landmark}夜景", "{landmark}旁的{scene}", "{time}{city}的街景",
)
SEASONS = ("春天", "夏天", "秋天", "冬天", "初春", "深秋", "雨季")
TIMES = ("清晨", "傍晚", "夜晚", "黄昏", "午后", "雨后", "雪后")
ADJS = ("宁静", "壮观", "美丽", "安静", "迷人", "辽阔", "神秘", "梦幻", "清新", "古老")
ANIMALS = (
    "小猫", "橘猫", "布偶猫", "柯基", "金毛", "哈士奇", "柴犬", "熊猫", "兔子", "仓鼠", "鹦鹉", "锦鲤",
    "小鸭子", "梅花鹿", "松鼠", "企鹅", "小狗", "奶牛猫", "萨摩耶", "海豚",
)
ANIMAL_TEMPLATES = (
    "{color}的{animal}", "{animal}在{spot}睡觉", "可爱的{animal}宝宝", "{animal}晒太阳", "一只{animal}",
    "{animal}和{animal2}", "{spot}上的{animal}", "{animal}的表情包", "正在吃饭的{animal}",
)
COLORS = ("白色", "黑色", "橘色", "灰色", "棕色", "黄色", "花色")
SPOTS = ("沙发", "窗台", "草地", "床上", "纸箱", "阳台", "树枝", "雪地")
HOME_TEMPLATES = (
    "{style}风格{room}装修效果图", "{room}收纳{tip}", "{style}{room}设计", "小户型{room}改造",
    "{room}的{furniture}", "{style}风{furniture}",
)
STYLES = ("北欧", "日式", "现代简约", "新中式", "工业风", "法式", "美式", "轻奢", "原木")
ROOMS = ("客厅", "卧室", "厨房", "书房", "阳台", "卫生间", "玄关", "儿童房", "餐厅")
TIPS = ("技巧", "方法", "小妙招", "神器", "攻略")
FURNITURE = ("书架", "沙发", "餐桌", "吊灯", "地毯", "衣柜", "电视墙", "绿植")
CAR_BRANDS = ("比亚迪", "特斯拉", "蔚来", "理想", "吉利", "长安", "大众", "丰田", "宝马", "奥迪", "小鹏")
CAR_MODELS = ("汉 EV", "Model 3", "Model Y", "ES6", "L7", "星越L", "CS75", "朗逸", "凯美瑞", "X5", "A6L", "P7")
CAR_TEMPLATES = (
    "{car_brand}{car_model}{color}实拍", "{car_brand}{car_model}内饰", "{car_brand}{car_model}试驾",
    "{color}{car_brand}{car_model}",
)
FLOWERS = ("樱花", "桃花", "荷花", "向日葵", "郁金香", "玫瑰", "牡丹", "菊花", "薰衣草", "桂花", "梅花")
PLANTS = ("绿萝", "多肉", "吊兰", "发财树", "龟背竹", "文竹")
PLANT_TEMPLATES = ("{flower}盛开", "阳台上的{plant}", "{color}{flower}特写", "{city}的{flower}", "{season}的{flower}")
EVENTS = ("马拉松", "音乐节", "灯会", "庙会", "运动会", "毕业典礼", "婚礼", "展览", "篮球赛")
FESTIVALS = (("春节", "灯笼"), ("中秋", "月饼"), ("端午", "龙舟"), ("元宵", "花灯"), ("七夕", "礼物"))
EVENT_TEMPLATES = ("{city}{event}现场", "{festival}{thing}", "{year}年{city}{event}", "{festival}的{thing}")
# Added to a natural caption when its template space is crowded (keeps captions unique at 100k+ pairs).
PREFIXES = ("实拍", "高清", "分享", "记录", "周末", "今天的", "{year}年", "{city}", "网友拍摄的", "随手拍", "推荐",
            "收藏")
SUFFIXES = ("实拍图", "高清图", "细节", "全景", "合集", "现场", "近景", "一角", "局部", "原图", "组图", "壁纸")

# Person names: common surnames and given names (Wukong masks these; the demo records them).
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林")
GIVEN_NAMES = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "晓明", "丹", "鹏", "婷婷", "浩",
)
PERSON_TEMPLATES = (
    "{name}在{pspot}的照片", "{name}和朋友在{pspot}合影", "{name}的毕业照", "{name}参加{event}",
    "{name}在{city}旅游", "{name}的生日聚会", "{name}在{lcity}{landmark}留念",
)
PERSON_SPOTS = ("海边", "公园", "山顶", "湖边", "校园", "草地上", "广场")

# Clear English and clear Japanese (every Japanese caption has kana).
EN_ADJS = ("A red", "An old", "A small", "A quiet", "A bright", "A wooden", "A yellow", "A modern", "A tiny")
EN_NOUNS = ("bicycle", "house", "boat", "bridge", "cafe", "train", "garden", "kitten", "lighthouse", "market")
EN_PLACES = (
    "near the river", "by the sea", "in the mountains", "on a rainy street", "at sunset", "in the old town",
    "under cherry blossoms", "in a snowy forest", "next to the harbor",
)
JA_TEMPLATES = (
    "{place}の{thing}", "{thing}と{thing2}", "猫が{spot}で寝ている", "手作りの{food}", "{place}で食べた{food}",
    "{place}の夜景がきれい",
)
JA_PLACES = ("東京", "京都", "大阪", "奈良", "北海道", "沖縄", "横浜", "鎌倉")
JA_THINGS = ("紅葉", "お寺", "桜並木", "商店街", "神社", "海岸", "タワー", "古い町並み")
JA_FOODS = ("お弁当", "ラーメン", "おにぎり", "ケーキ", "カレーライス", "たこ焼き")
JA_SPOTS = ("ソファ", "窓辺", "こたつ", "布団")

# Placeholders, boilerplate and long text.
PLACEHOLDER_WORDS = ("图片", "照片", "image", "photo", "图像")
BOILERPLATE = ("查看源网页", "展开全文", "如下图所示")  # (UI text such as 点击查看大图 counts as a placeholder)
LONG_CLAUSES = (
    "这张照片拍摄于{city}的{scene}", "当时天气非常晴朗", "我们一行人沿着小路慢慢地往前走",
    "路边开满了各种颜色的野花", "远处的山峰在阳光下显得格外清晰", "大家一边走一边聊天", "偶尔还能听到几声清脆的鸟叫",
    "走累了就在树下坐一会儿", "顺便吃了一点自己带来的{dish}", "回来以后整理照片的时候", "发现每一张都很有纪念意义",
    "所以挑选了其中几张分享给大家", "希望以后还有机会再去一次", "也推荐喜欢旅行的朋友们去看看",
    "记得提前查好路线和天气", "最好早上出发避开人流高峰",
)
# Spam as pages carry it: the word stands apart (a space or a colon), and no word around it is an education
# or prevention word (宣传, 警惕, 案件 ... clear gambling, drugs, weapons, documents and fraud).
SENSITIVE_TEMPLATES = ("街头小广告：{w}", "{w} 广告截图", "论坛帖子 {w} 配图", "{w} 网页截图", "垃圾短信 {w}")

# Search titles (fromPageTitleEnc) and apostrophe brands for acjson's `\'` quirk.
TITLE_TEMPLATES = (
    "{q}图片大全", "高清{q}壁纸", "{q}摄影作品欣赏", "{year}最新{q}图片", "唯美{q}素材", "{q}_{city}网友分享",
    "{apos}同款{q}", "{q}的{n}张照片", "精选{q}图集", "{city}{q}实拍",
)
APOSTROPHE_BRANDS = ("Levi's", "McDonald's", "L'Oreal", "Domino's", "Kiehl's", "Carter's")

# Traditional Chinese for the Big5 pages.
TW_PLACES = ("台北", "高雄", "台中", "香港", "澳門", "九份", "淡水", "花蓮", "墾丁", "日月潭")
TW_SCENES = ("夜景", "老街", "燈籠", "海岸", "夜市", "廟宇", "港灣", "清晨", "雲海", "步道")
TW_FOODS = (
    "珍珠奶茶", "鳳梨酥", "牛肉麵", "臭豆腐", "蚵仔煎", "滷肉飯", "雞蛋仔", "菠蘿包", "港式奶茶", "傳統月餅禮盒",
)
TW_TEMPLATES = ("{place}的{tw_scene}", "{food}特寫", "美味的{food}", "{place}{tw_scene}攝影", "{place}必吃{food}")

# GBK-only characters (outside GB2312): the forum page that declares gb2312 carries these.
GBK_ONLY_CAPTIONS = ("芝士焗饭", "葡式焗鸡饭", "芝士焗龙虾", "焗番薯", "芝士焗土豆泥")
