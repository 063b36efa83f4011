"""The packaged sensitive-word lexicon: categories, rules, education context, config, sources, labelled sets."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sensitive_checks import details

from bench.bench_lexicon import main as bench_lexicon
from bench.bench_lexicon import measure, read_labelled
from filters.lexicon import (
    EDUCATION_CLEARS,
    LEXICON_DIR,
    OPTIONAL,
    categories,
    category_terms,
    context_sets,
    default_categories,
    parse_entry,
)
from filters.sensitive import SensitiveFilter
from filters.sensitive_train import SAFE, UNSAFE
from manifests import reasons
from manifests.config import Config, load_config
from manifests.errors import UserError
from manifests.layout import DataDir, FilteredDir
from wukong.cli import main as wukong
from wukong.report import build_report, load_report_data
from wukong.report.data import NO_CATEGORY, sensitive_categories
from wukong.report.plots import Style
from wukong.report.synthetic import write_synthetic_data_dir

LABELLED = Path(__file__).parent / "data" / "labelled"
LDNOOBW = "derived from LDNOOBW (github.com/LDNOOBW, commit 5faf2ba), CC BY 4.0"
# Dev sets (tests/data/labelled/sensitive_dev.tsv, 434 unsafe and 345 safe captions: all rejected and all kept;
# sensitive_dev2.tsv, round 2, 192 unsafe and 135 safe: 191 rejected, 134 kept; sensitive_dev3.tsv, round 3, 816
# unsafe and 393 safe: 806 rejected, 392 kept; sensitive_dev4.tsv, round 4, 587 unsafe and 215 safe: 583 rejected,
# all kept; round 5: sensitive_dev5.tsv, 220 unsafe and 163 safe, sensitive_dev5a.tsv, 266 and 128, sensitive_dev5b.tsv,
# 240 and 120, all rejected and all kept; round 6: sensitive_dev6.tsv, 247 and 126, all rejected and all kept,
# sensitive_dev6a.tsv, 253 and 126, sensitive_dev6b.tsv, 247 and 115, one unsafe kept in each). The floors are the
# issue's figures for the held-out set.
MIN_REJECTED = 0.95
MIN_KEPT = 0.98


@pytest.fixture(scope="module")
def flt() -> SensitiveFilter:
    return SensitiveFilter(Config())


@pytest.mark.parametrize(("caption", "detail"), [
    ("澳门新葡京娱乐场 注册即送彩金", "gambling:新葡京"),
    ("赌球 外围 盘口", "gambling:赌球"),
    ("真人百家乐 美女荷官", "gambling:百家乐"),
    ("成人影院 免费在线观看", "porn:成人影院"),
    ("午夜福利 免费在线观看", "porn:午夜福利"),
    ("出售冰毒 货到付款", "drugs:冰毒"),
    ("大麻种子 出售", "drugs:大麻"),
    ("仿真枪 出售 秃鹰", "weapons:仿真枪"),
    ("猎枪 出售 微信", "weapons:猎枪"),
    ("办理 假文凭 学历认证", "fake_documents:假文凭"),
    ("刻章 加急 微信", "fake_documents:刻章"),
    ("代开 发票 专票", "fake_documents:代开发票"),
    ("专业洗钱 通道 大额", "fraud:洗钱"),
    ("信用卡套现 秒到", "fraud:套现"),
    ("刷单兼职 日赚300", "fraud:刷单"),
    ("操你妈 傻逼", "insults:操你妈"),
    ("你个傻比", "insults:你个傻比"),
])
def test_every_category_is_rejected(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize(("caption", "detail"), [
    ("百 家 乐", "gambling:百家乐"), ("ＡＶ女优", "porn:av"), ("冰\u200b毒", "drugs:冰毒"), ("枪.支", "weapons:枪支"),
    ("假★文凭", "fake_documents:假文凭"), ("刷　单", "fraud:刷单"), ("傻 逼", "insults:傻逼"),
    ("百家樂 線上", "gambling:百家乐"), ("代開發票", "fake_documents:代开发票"), ("汽槍 出售 貨到付款", "weapons:汽枪"),
    ("澀情影片 線上看", "porn:涩情"), ("菠 菜 平 台 首充", "gambling:菠菜"), ("qiang支 哪里买", "weapons:qiang支"),
    ("SB玩意", "insults:sb"), ("傻x吧你", "insults:傻x"),
])
def test_evasions_and_traditional_forms_in_every_category(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    # ambiguous strings inside ordinary words (the allow list, or no such term at all)
    "乳酪蛋糕", "母乳喂养", "三级跳远 比赛", "三级甲等医院", "大麻哈鱼 刺身", "天津大麻花", "黄色的连衣裙",
    "18K彩金 项链",
    "金枪鱼 寿司", "电钻 手枪钻 包邮", "一起做爱心公益", "扫码 刷单车", "澳门新葡京酒店 夜景", "未满18禁止入内",
    # prevention, education and law-enforcement news
    "洗钱 防范 宣传 银行", "传销 警示教育 展板", "禁毒宣传 远离毒品", "反诈宣传 刷单诈骗", "严禁赌博 标语",
    "收缴非法枪支 警示", "警方 打击 卖淫嫖娼",
    # a rule's term without its context
    "刻章 篆刻艺术 展览", "学历认证 报告 查询", "洗钱", "儿童 玩具 狙击枪 软弹 价格",
])
def test_allowed_phrases_and_education_context_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


@pytest.mark.parametrize(("caption", "detail"), [
    # slang that needs its context: pellets, meth, money mules, rebates, sugar daddies
    ("狗粮 5.5 铅弹 批发", "weapons:狗粮"), ("溜冰 冰货 同城送", "drugs:溜冰"), ("跑分 招码商 日入过千", "fraud:跑分"),
    ("招代理 高返水 棋牌", "gambling:招代理"), ("有偿包养 大学生", "porn:有偿包养"), ("收u 出u 高价", "fraud:收u"),
    ("四六级证书 不用考", "fake_documents:四六级证书"), ("您的账户存在异常 点击链接", "fraud:您的账户"),
    ("承兑商 usdt 高汇率", "fraud:承兑商"), ("54式 散件 出售", "weapons:54式"), ("叶子 dama 出", "drugs:叶子"),
])
def test_round_two_slang_with_its_context(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    # the same words in their everyday sense, or with a veto word
    "小狗吃狗粮 萌宠", "撒狗粮 秀恩爱", "狗粮 进口 成犬 包邮", "溜冰场 开业", "溜冰 门票 价格", "冬奥会 冰壶 比赛 溜冰",
    "手机 跑分 安兔兔", "显卡 跑分 天梯图 兼职", "卫生间 返水 维修", "菠菜炒鸡蛋", "菠菜 种植 平台", "承兑汇票 贴现",
    "秋天 叶子 黄了", "葡萄 白粉病 防治", "美国运通 黑卡 百夫长", "反派 洗白 剧情", "a片区 停水通知", "usb 数据线",
    "nike sb dunk", "草泥马 羊驼 动物园", "扎西尼玛的 歌", "汽车 消音器 口径 通用", "健康证 代办 体检 流程",
    "驾照 消分 学法减分 12123", "炉石 套牌 出售", "500g水果 价格", "存100送100 话费 移动",
])
def test_round_two_everyday_words_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


@pytest.mark.parametrize(("caption", "detail"), [
    # contact bait, homophones, initials, emoji and tone marks (round 3)
    ("菠菜担保 大额出款 加V", "gambling:菠菜担保"), ("bjl稳赢打法 带你翻本", "gambling:bjl"),
    ("红中麻将群 一元一分 24小时", "gambling:红中麻将"), ("皇冠信用网 代理开户", "gambling:皇冠信用网"),
    ("同城喝茶 新茶到 空降", "porn:喝茶"), ("兼职小妹 上门全套", "porn:兼职小妹"), ("sè情 视频", "porn:se情"),
    ("亚洲欧美日韩 在线", "porn:亚洲欧美日韩"), ("出冰货 同城 加V", "drugs:出冰"),
    ("神仙水 女用 一滴见效", "drugs:神仙水"), ("折叠弩 强力 出售", "weapons:折叠弩"),
    ("仿真步枪 可发射 金属", "weapons:仿真步枪"), ("身份证办理 加微 快速", "fake_documents:身份证"),
    ("执业医师证 不用考 办理", "fake_documents:执业医师证"), ("四件套 收购 高价 长期", "fraud:四件套"),
    ("卡农 出卡 一类卡", "fraud:卡农"), ("你🐴死了 狗东西", "insults:你马死了"), ("caonima 滚", "insults:caonima"),
    ("岛国大片 资源 分享", "porn:岛国大片"), ("快乐丸 蹦迪 必备", "drugs:快乐丸"), ("黑星 手枪 出", "weapons:黑星"),
    ("包装资料 贷款 下款", "fraud:包装资料"), ("一元一分 红中麻将", "gambling:一元一分"),
    ("澳门金沙官网-澳门金沙官方网站-欢迎您", "gambling:澳门金沙"), ("亚博yabo官网", "gambling:亚博"),
    ("外送茶 私訊", "porn:外送茶"), ("人頭帳戶 收購", "fraud:人头账户"),
])
def test_round_three_spam_phrasing(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    # the everyday senses of the round-3 words, and their vetoes
    "四件套 床品 纯棉", "卡农 钢琴曲 D大调", "神仙水 精华 护肤", "新茶上市 品茶 龙井", "网吧包夜 开黑", "预选赛 外围赛",
    "上门 全套 保洁服务", "月嫂 陪睡 服务 价格", "空降兵部队 训练", "税务局 代开发票 流程", "可开发票 有问题私聊",
    "身份证办理进度查询", "驾照拿证了 开心", "全金属 手枪钻 家用", "沐浴炸弹 制作教程", "子弹项链 包邮",
    "申博经验 分享 博士申请", "体彩 代理 加盟", "房贷 当天下款 银行", "旺铺出租 微信", "天天操心 孩子 学习",
    "久久热销 爆款", "打K 唱歌 周末", "狗 B超 宠物医院", "脑瘫儿童 康复中心", "骑🐴 草原", "2B铅笔 考试专用",
    "快乐 丸子 汤", "印度支那 半岛 地图", "小姐姐 同款 价格", "溜冰壶 冰上运动", "酒店 偷拍 摄像头 排查方法",
    "亚博会 博览会 展位", "金沙遗址博物馆 官网", "帳篷 露營", "無套路 營銷", "出入境 证件办理 流程",
    "社会福利资源 整合", "成人在线教育 平台", "人兽共患病 防治", "外送茶饮 奶茶店", "看黄金 价格", "宝马会 车友会",
    "薛之谦 丑八怪 歌词",
])
def test_round_three_everyday_words_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


@pytest.mark.parametrize(("caption", "detail"), [
    # round 4: homophones of the family curse, the dog emoji and ×, insults aimed at a person, slurs on a people
    ("糙尼玛 垃圾客服", "insults:糙尼玛"), ("🐶东西 你也配", "insults:狗东西"), ("傻× 主播", "insults:傻x"),
    ("死废物 一天到晚啥也不干", "insults:死废物"), ("河南人都是骗子 偷井盖的", "insults:河南人"),
    ("你个神经病 离我远点", "insults:你个神经病"), ("狐狸精 勾引别人老公 不要脸", "insults:狐狸精"),
    ("干恁娘", "insults:干恁娘"), ("你个老逼登", "insults:老逼登"), ("狼心狗肺的东西", "insults:狼心狗肺的东西"),
    ("有人生没人养", "insults:有人生没人养"),
    # accounts for hire, unbanning, cash-out, bad-credit loans, identity for hire, payment channels, job lures
    ("出租支付宝账号 长期合作", "fraud:出租支付宝"), ("微信解封 秒解 专业团队", "fraud:解封"),
    ("花呗额度变现 秒回款", "fraud:额度变现"), ("负债高也能下款", "fraud:也能下款"),
    ("人脸代过 兼职", "fraud:人脸代过"),
    ("代付通道 稳定 跑量", "fraud:代付通道"), ("芝麻分550 即可下款", "fraud:芝麻分"), ("缅北 高薪 招聘", "fraud:缅北"),
    ("牛牛红包群 押庄", "gambling:牛牛"), ("嗨草 出售", "drugs:嗨草"), ("乙醚 迷晕 出售", "drugs:乙醚"),
    ("PS身份证 修改证件", "fake_documents:ps身份证"), ("买学历 全日制", "fake_documents:买学历"),
    ("秃子 套件 出", "weapons:秃子"), ("3D打印枪 图纸 下载", "weapons:3d打印枪"), ("黑索金 出售", "weapons:黑索金"),
])
def test_round_four_phrasing(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    # the everyday senses of the round-4 words, and their vetoes
    "废物利用 手工DIY", "排出体内废物 排毒", "乡巴佬卤蛋 零食", "白痴 陀思妥耶夫斯基 小说", "人渣反派自救系统 小说",
    "年终资金盘点 财务", "小区解封 疫情", "新盘开盘 认购 楼盘", "汽车出租 QQ联系 日租", "U商城 会员积分兑换",
    "QQ解冻 官方申诉流程", "白户 第一张信用卡 申请攻略", "身份证 即可 办理 社保卡", "p图教程 证件照换底色",
    "秃子 发型 男士", "3d打印 枪 模型 玩具", "河南人 勤劳 朴实", "黑人抬棺 表情包", "阿尼哥 元代 建筑师",
    "硝化甘油片 心绞痛", "走了狗屎运 中奖", "明天是你生日你马上就18岁了", "信用卡 额度 回收 银行 降额",
    "麻醉药 医院 手术",
])
def test_round_four_everyday_words_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


@pytest.mark.parametrize(("caption", "detail"), [
    # round 5: look-alike characters and emoji for a word's own, the street trade's signals, every document with every
    # forgery signal, stakes of a card game, porn-site names, sales faked for hire, a group or a game role as the target
    ("仿真🔫 到付", "weapons:仿真枪"), ("迷💊 无色无味", "drugs:迷药"), ("蔴古 出貨 同城", "drugs:麻古"),
    ("冰毐 出售", "drugs:冰毒"), ("楼鳯 同城", "porn:楼凤"), ("👴是你爹 小崽子", "insults:爷是你爹"),
    ("奶茶包有货 喝了飘 夜店专用", "drugs:奶茶包"), ("羟考酮 暗网渠道 无需处方", "drugs:羟考酮"),
    ("枪狗 出售 可验货", "weapons:枪狗"), ("气步枪 配瞄准镜 可打百米", "weapons:气步枪"),
    ("喷子 散弹 单管 实拍", "weapons:喷子"), ("伪造 学生证 加急", "fake_documents:伪造"),
    ("高仿 户口本 一比一", "fake_documents:高仿"), ("营业执照 无需本人 看头像", "fake_documents:营业执照"),
    ("一建证 不考直接拿 网上可查", "fake_documents:一建证"), ("斗地主 一分一块 微信转账", "gambling:斗地主"),
    ("足彩推荐 包红 不中全额退", "gambling:包红"), ("91自拍 在线观看 入口", "porn:91自拍"),
    ("原味内裤 私人出售", "porn:原味内裤"), ("加钟有惊喜 男士专享 按摩", "porn:加钟"),
    ("恭喜您中奖 请点击链接领取", "fraud:恭喜您中奖"), ("刷销量 淘宝 真人", "fraud:刷销量"),
    ("这群脑残 闭嘴", "insults:这群脑残"), ("打野是猪 坑死了", "insults:打野是猪"),
    ("白面 有货 同城面交", "drugs:白面"), ("银商 收分 出分 稳定", "gambling:银商"), ("普信男 滚", "insults:普信男"),
    ("同城 找个伴 可过夜 私", "porn:可过夜"), ("帮人刷脸 赚钱", "fraud:帮人刷脸"),
    ("狩猎神器 可打野猪", "weapons:狩猎神器"),
])
def test_round_five_phrasing(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    # the everyday senses of the round-5 words, and their vetoes
    "冰糖雪梨 做法", "云南老冰糖 500g 包邮 量大从优", "奥运会 射击 10米气步枪 决赛", "原味丝袜奶茶 港式",
    "键盘喷子 网络暴力", "汽车消音器 出售 排气管", "手雷造型 打火机", "弓弩 历史 纪录片",
    "绿萝 叶子 出货 量大从优", "AI证件照 效果逼真", "二手车 过户 驾照", "护照 过机场安检 流程",
    "食品批发 营业执照 办理", "身份证卡套 批发", "洗浴中心 开业 有惊喜 充值优惠", "刻章店 公安备案 当天取章",
    "斗地主 欢乐豆 微信小程序 免费", "Sex Education 性教育 美剧 第四季 视频", "CAD 套图 下载 施工图",
    "德州 扒鸡 山东 特产", "coke 可乐 零度 饮料", "奶茶包 冲泡 速溶 早餐", "我是菜狗 求带 哈哈",
    "孤儿院 志愿者 探访 孩子", "养殖场 肥猪 出栏 价格", "动物园东北虎老虎机灵地扑向玩具球",
    "加拿大大麻合法化五年后的争议", "🧊 冰块 饮料 夏日", "💊 药品 说明书 用法", "粤语科普：扑街到底是什么意思",
    "我家这狗东西又把沙发咬了", "周末 三缺一 打麻将 娱乐 不赌钱",
    "白面 馒头 有货 同城配送", "远离垃圾人 心理学 定律", "中医 推拿 上门按摩 老人 康复", "银行 开个户送 一桶油",
    "黑火药 发明 古代 四大发明 历史", "酒店 大床房 可过夜 同城 优惠", "二手 iPhone 同城面交",
])
def test_round_five_everyday_words_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


@pytest.mark.parametrize(("caption", "detail"), [
    # round 6: documents made to order (@made_to_order), seals without papers, professional certificates without their
    # exam, tipsters' betting talk, the drug trade's emoji and slang, gun slang in pinyin, porn's ways in, pay-first
    # scams, death wishes on a family, slurs aimed at a player; emoji with a variation selector (U+FE0F)
    ("体检报告 代做 当天出", "fake_documents:体检报告"), ("学位证 成绩单 一套包做", "fake_documents:学位证"),
    ("财务章 不看执照 可邮寄", "fake_documents:财务章"), ("教师资格证 不用考试 直接拿证", "fake_documents:教师资格证"),
    ("核酸报告 秒出 可开", "fake_documents:核酸报告"), ("网贷 放款前 先交解冻费", "fraud:放款"),
    ("中奖了 请先支付运费", "fraud:中奖"), ("亚盘 稳胆 私聊拿单", "gambling:亚盘"),
    ("盘口 赔率 进群", "gambling:盘口"), ("包赢 跟的私", "gambling:包赢"), ("祝你全家吃席", "insults:祝你全家"),
    ("打野是脑瘫吧 送了五个", "insults:脑瘫"), ("中单是弱智吗", "insults:弱智"), ("把他骂到销号", "insults:骂到销号"),
    ("冰冰有货 需要的老板私", "drugs:冰冰"), ("白货 可验货 纯度", "drugs:白货"),
    ("莫达非尼 不用处方 代购", "drugs:莫达非尼"), ("溜❄️ 货好量足", "drugs:溜冰"), ("气gou 隐蔽发货", "weapons:气gou"),
    ("电狗 现货 防身", "weapons:电狗"), ("黑火药 成品 配比", "weapons:黑火药"), ("p站 免翻墙 最新地址", "porn:p站"),
    ("福利视频 网盘 永久", "porn:福利视频"), ("鱼讯 新鱼上架 可约", "porn:鱼讯"), ("❤️约❤️全城❤️美女❤️", "porn:约全城"),
])
def test_round_six_phrasing(flt: SensitiveFilter, caption: str, detail: str) -> None:
    assert details(flt, [caption]) == [detail]


@pytest.mark.parametrize("caption", [
    # the everyday senses of the round-6 words, and their vetoes
    "医院 就诊后 医生可开具诊断证明", "新车6年免检 不用验车 可直接申领年检标", "毕业证书 相框 定制 学士服合影",
    "工作证 定制 胸卡 挂绳 员工", "盘口 分析 A股 大盘 涨停", "这套阵容包赢 攻略 出装", "P站画师 插画 壁纸 推荐",
    "深夜福利 烧烤 小龙虾 夜宵", "私人影院 开业 团购 套餐", "冰箱 制冰机 出冰快 全国可发",
    "可口可乐 coke 派对必备 饮料", "红烧猪肉 要几克盐 做法", "土鳖虫 中药材 养殖", "小学生 垃圾分类 课堂",
    "复古游戏厅 老虎机 街机 老照片", "《无耻混蛋》 剧照", "豆腐渣工程 脑子里 反思", "新用户 话费 五折 营业厅 官方",
    "脑瘫儿童 康复训练 队友 陪伴", "快三 开奖结果 江苏", "德扑 规则 教学 线上课程", "二百五十元 一斤",
    "刻章店 公安备案 凭营业执照 当天取", "钓鱼 鱼讯 新鱼 上架 渔获", "王者 上分 攻略 排位", "孤儿院 爱心 捐赠",
    "黑火药 四大发明 古代 配比", "范冰冰 新剧 有货", "海外文凭 认证 留学服务中心", "医师资格证 报名 考试时间",
    "糖果 蹦迪 喜糖 婚庆",
])
def test_round_six_everyday_words_are_kept(flt: SensitiveFilter, caption: str) -> None:
    assert details(flt, [caption]) == [None]


def test_education_word_inside_the_term_or_a_longer_context_word_does_not_clear(flt: SensitiveFilter) -> None:
    # 涉嫌 (an education word) is part of the scam's script 通知您涉嫌, and 查处 part of 不查处方 (no prescription)
    captions = ["通知您涉嫌 转账", "您涉嫌洗钱 警方 提醒 诈骗", "曲马朵 不查处方", "曲马朵 不查处方 警方查处"]
    assert details(flt, captions) == ["fraud:通知您涉嫌", None, "drugs:曲马朵", None]


def test_education_context_clears_only_its_categories(flt: SensitiveFilter) -> None:
    assert EDUCATION_CLEARS == {"gambling", "drugs", "weapons", "fake_documents", "fraud"}
    captions = ["禁毒 宣传 冰毒", "反诈 宣传 操你妈", "警示教育 口交 视频", "扫黄打非 宣传 色情", "警示 赌博"]
    assert details(flt, captions) == [None, "insults:操你妈", "porn:口交", None, None]


def test_rules_need_their_context_and_respect_vetoes(flt: SensitiveFilter) -> None:
    captions = ["刻章 篆刻", "刻章 价格 包邮", "狙击枪 出售", "狙击枪 玩具 出售", "免费在线观看 电视剧",
                "免费在线观看 无码"]
    assert details(flt, captions) == [None, "fake_documents:刻章", "weapons:狙击枪", None, None, "porn:免费在线观看"]


def test_categories_are_selected_by_the_config() -> None:
    assert sorted(Config().text.sensitive_categories) == default_categories() == sorted(set(categories()) - OPTIONAL)
    assert set(categories()) == {"gambling", "porn", "drugs", "weapons", "fake_documents", "fraud", "insults",
                                 "political"}
    captions = ["百家乐 真人", "成人影院", "法轮功", "禁词"]
    flt = SensitiveFilter(Config())
    assert details(flt, captions) == ["gambling:百家乐", "porn:成人影院", None, None]  # political is off by default
    cfg = load_config(None, ["text.sensitive_categories=[gambling, political]"])
    assert details(SensitiveFilter(cfg), captions) == ["gambling:百家乐", None, "political:法轮功", None]
    cfg = load_config(None, ["text.sensitive_categories=[]"])
    assert details(SensitiveFilter(cfg), captions) == [None, None, None, None]


def test_user_words_get_category_user(tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("禁词\n刻章 + 加急\n", encoding="utf-8")  # a user file is plain words: no rules
    cfg = load_config(None, [f"text.sensitive_words=[{lexicon}]", "text.sensitive_categories=[gambling]"])
    assert details(SensitiveFilter(cfg), ["禁 词", "百家乐", "刻章+加急", "刻章 篆刻"]) == [
        "user:禁词", "gambling:百家乐", "user:刻章 + 加急", None]


def test_detail_is_category_colon_term(flt: SensitiveFilter) -> None:
    dev = read_labelled(LABELLED / "sensitive_dev.tsv")
    found = [d for d in details(flt, [r.caption for r in dev]) if d]
    assert len(found) > 300
    known = set(categories())
    for detail in found:
        category, term = detail.split(":", 1)
        assert category in known and term and re.fullmatch(r"[a-z_]+:\S.*", detail), detail


def test_unknown_category_is_a_one_line_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(None, ["text.sensitive_categories=[gambling, gamblin]"])
    with pytest.raises(UserError, match=r"unknown sensitive-word category in text\.sensitive_categories: 'gamblin'"):
        SensitiveFilter(cfg)
    (tmp_path / "candidates").mkdir()
    rc = wukong(["-q", "filter", "--in", str(tmp_path / "candidates"), "--out", str(tmp_path / "out"),
                 "--set", "text.sensitive_categories=[porn, pron]"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "'pron'" in err and "known: drugs, fake_documents" in err, err


def test_lexicon_files_name_their_sources_and_hold_no_short_strings() -> None:
    for path in sorted(LEXICON_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        header = "\n".join(line for line in text.splitlines()[:10] if line.startswith("#"))
        assert "Source" in header and "licence" in header, path.name
        terms = category_terms(path.stem)
        assert len(terms) >= 30, path.name
        for term in terms:
            assert len(term.word) >= 2 and all(len(w) >= 2 for w in term.context + term.veto), (path.name, term)
    for name in ("porn", "insults", "drugs", "fraud"):
        assert LDNOOBW in (LEXICON_DIR / f"{name}.txt").read_text(encoding="utf-8"), name
    words = {t.word for c in categories() for t in category_terms(c)}
    # LDNOOBW's single characters and ambiguous strings do not reach the lexicon as they are
    assert not words & {"乳", "13.", "13点", "奶", "性", "淫", "逼", "成人", "激情", "处女", "乳房", "屁股", "你妈",
                        "妈的"}
    assert "乳交" in words and "傻逼" in words
    assert sum(len(category_terms(c)) for c in default_categories()) >= 2000
    assert set(context_sets()) >= {"education", "selling", "adult"}


def test_entry_syntax() -> None:
    assert parse_entry("百家乐", "gambling").context == ()
    rule = parse_entry("刻章 + @selling | 篆刻章 - @toy", "fake_documents")
    assert rule.word == "刻章" and "微信" in rule.context and "篆刻章" in rule.context and "玩具" in rule.veto
    assert rule.clearable
    assert parse_entry("~卖淫", "porn").clearable and not parse_entry("口交", "porn").clearable
    with pytest.raises(ValueError, match="unknown context set"):
        parse_entry("刻章 + @nope", "fake_documents")


def test_real_world_captions_of_the_tests_are_kept(flt: SensitiveFilter) -> None:
    captions = []
    for name in ("language.tsv", "names.tsv", "names_holdout.tsv", "names_dev.tsv", "contacts.tsv"):
        for line in (LABELLED / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                captions.append(line.split("\t")[0])
    assert len(captions) >= 1700
    flagged = [(c, d) for c, d in zip(captions, details(flt, captions), strict=True) if d]
    assert flagged == []


def test_dev_set_per_category() -> None:
    rows = read_labelled(LABELLED / "sensitive_dev.tsv")
    assert len(rows) >= 200
    scores = measure(rows, Config())
    for category in default_categories():
        s = scores[category]
        assert s.unsafe >= 30 and s.safe >= 20, category
        assert s.rejected_rate >= MIN_REJECTED and s.kept_rate >= MIN_KEPT, (category, scores["all"].misses)
    assert scores["all"].other_category == 0


def test_second_dev_set_per_category() -> None:
    rows = read_labelled(LABELLED / "sensitive_dev2.tsv")
    assert len(rows) >= 300
    scores = measure(rows, Config())
    for category in default_categories():
        s = scores[category]
        assert s.unsafe >= 25 and s.safe >= 10, category
        assert s.rejected_rate >= MIN_REJECTED, (category, scores["all"].misses)
    assert scores["all"].kept_rate >= MIN_KEPT, scores["all"].misses


def test_third_dev_set_per_category() -> None:
    rows = read_labelled(LABELLED / "sensitive_dev3.tsv")
    assert len(rows) >= 1000
    scores = measure(rows, Config())
    for category in default_categories():
        s = scores[category]
        assert s.unsafe >= 90 and s.safe >= 30, category
        assert s.rejected_rate >= MIN_REJECTED and s.kept_rate >= MIN_KEPT, (category, scores["all"].misses)
    assert scores["all"].other_category == 0


def test_fourth_dev_set_per_category() -> None:
    rows = read_labelled(LABELLED / "sensitive_dev4.tsv")
    assert len(rows) >= 700
    scores = measure(rows, Config())
    for category in default_categories():
        s = scores[category]
        assert s.unsafe >= 24, category
        assert s.rejected_rate >= MIN_REJECTED, (category, scores["all"].misses)
    assert scores["all"].safe >= 200 and scores["all"].kept_rate >= MIN_KEPT, scores["all"].misses


@pytest.mark.parametrize("name", ["sensitive_dev5.tsv", "sensitive_dev5a.tsv", "sensitive_dev5b.tsv",
                                  "sensitive_dev6.tsv", "sensitive_dev6a.tsv", "sensitive_dev6b.tsv"])
def test_fifth_and_sixth_dev_sets_per_category(name: str) -> None:
    rows = read_labelled(LABELLED / name)
    assert len(rows) >= 350
    scores = measure(rows, Config())
    for category in default_categories():
        s = scores[category]
        assert s.unsafe >= 30 and s.safe >= 9, category
        assert s.rejected_rate >= MIN_REJECTED, (category, scores["all"].misses)
    assert scores["all"].kept_rate >= MIN_KEPT, scores["all"].misses


def test_bench_lexicon_prints_per_category_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tsv = tmp_path / "set.tsv"
    tsv.write_text("# mine\n百家乐 真人\tunsafe\tgambling\n乳酪蛋糕\tsafe\tporn\n操你妈\tunsafe\tinsults\n"
                   "三级跳远\tsafe\tnone\n禁毒 海报\tunsafe\tdrugs\n", encoding="utf-8")
    assert bench_lexicon(["--labelled", str(tsv), "--misses"]) == 0
    out = capsys.readouterr().out
    assert "| gambling | 1 | 1 (1.000) | 0 | - | 0 |" in out
    assert "| drugs | 1 | 0 (0.000) | 0 | - | 0 |" in out
    assert "| all | 3 | 2 (0.667) | 2 | 2 (1.000) | 0 |" in out
    assert "unsafe drugs: 禁毒 海报 -> kept" in out
    tsv.write_text("百家乐\tbad\tgambling\n", encoding="utf-8")
    assert bench_lexicon(["--labelled", str(tsv)]) == 2
    assert UNSAFE == "unsafe" and SAFE == "safe"


def test_report_counts_sensitive_rejections_per_category(tmp_path: Path) -> None:
    write_synthetic_data_dir(tmp_path, rows=3000, seed=5)
    expected: Counter[str] = Counter()
    for part in sorted(FilteredDir(tmp_path / "filtered").rejected.glob("*.parquet")):
        for row in pq.read_table(part, columns=["reason", "detail"]).to_pylist():
            if row["reason"] == reasons.SENSITIVE:
                expected[row["detail"].split(":", 1)[0]] += 1
    assert len(expected) >= 3
    assert load_report_data(tmp_path).filtered.sensitive_categories == expected
    build_report(tmp_path, style=Style(None))
    page = DataDir(tmp_path).report_html.read_text(encoding="utf-8")
    table = page[page.index('<table id="sensitive-categories"'):]
    table = table[:table.index("</table>")]
    for category, n in expected.items():
        assert re.search(rf'<tr data-key="{category}"><td class="text">{category}</td><td class="n" data-value="{n}">',
                         table), category
    total = sum(expected.values())
    assert f'data-key="total"><td class="text">all sensitive</td><td class="n" data-value="{total}"' in table
    old = pa.table({"reason": ["sensitive", "sensitive", "too_long", "sensitive"],
                    "detail": ["gambling:赌博", "赌博", "40 words", None]})
    assert sensitive_categories(old) == Counter({"gambling": 1, NO_CATEGORY: 2})


# Round 4 (blind set 11, now sensitive_dev10.tsv): its misses, by family, and its safe losses.
ROUND4_REJECTED = {
    "出售二代证，一手真实，可过人脸": "fake_documents:二代证",
    "学信网学历修改，数据入库": "fake_documents:学信网",
    "出生证明办理，不需要材料": "fake_documents:出生证明",
    "房产证抵押用可以做，跟真的一样": "fake_documents:房产证",
    "无犯罪记录证明快速出，不用本人": "fake_documents:无犯罪记录",
    "出AK配件全套，懂的私": "weapons:ak配件",
    "狙击枪+8倍镜整套出，懂的进": "weapons:狙击枪",
    "ｇｕｎ ｓｈｏｐ 中国境内发货 ｐｉｓｔｏｌ": "weapons:gunshop",
    "小树枝出，广州可自提，老铁们懂": "drugs:小树枝",
    "跳跳糖 邮票 新型货 酒吧出": "drugs:跳跳糖",
    "S情片免费在线看，不用注册": "porn:s情",
    "屌丝还想找女朋友？撒泡尿照照自己": "insults:撒泡尿照照",
}
ROUND4_KEPT = [
    '揭秘网赌"杀猪盘"：你以为在赢钱，其实是被收割',
    "竞彩足球 理性购彩 未成年人不得购买彩票",
    "二代证换领流程",
    "学信网学历查询入口",
    "csgo AK皮肤 全套出",
    "小树枝手工画",
    "跳跳糖 童年零食 批发",
    "大马出发去兰卡威",
    "cs情侣装在线购买",
]


def test_round4_families_rejected_and_their_traps_kept(flt: SensitiveFilter) -> None:
    found = details(flt, list(ROUND4_REJECTED))
    assert dict(zip(ROUND4_REJECTED, found, strict=True)) == ROUND4_REJECTED
    assert details(flt, ROUND4_KEPT) == [None] * len(ROUND4_KEPT)


# Round 5 (dev11 = blind set 10, dev12a/b/c): its families, in phrasings of no labelled set, and their traps.
ROUND5_REJECTED = {
    "今晚英超庄家放水 梭哈的私聊": "gambling:梭哈",
    "上个月本金翻了五倍 想上车的扣1": "gambling:上车",
    "马会内幕 今期必开一肖": "gambling:马会内幕",
    "欧冠淘汰赛 付费内部料 准": "gambling:内部料",
    "竞猜群招人 赢了当晚结": "gambling:竞猜群",
    "叶子 隐蔽包装 可邮 全国": "drugs:叶子",
    "加州草 进口 自提": "drugs:加州草",
    "冰到了 老地方 只收现金": "drugs:冰到了",
    "魔术蘑菇孢子 成品 私聊": "drugs:魔术蘑菇",
    "扫码领取国家补贴 速领": "fraud:国家补贴",
    "出售各省车主资料 精准": "fraud:车主资料",
    "连接钱包 领取 USDT 空投": "fraud:空投",
    "征信黑也能办 当天下款": "fraud:征信黑",
    "孙子 有种线下见": "insults:孙子",
    "跪下叫爸爸 儿子": "insults:叫爸爸",
    "巴雷特零件 可组装": "weapons:巴雷特",
    "发令枪改装 实弹可用": "weapons:发令枪",
    "狗弩 加 毒针 套装": "weapons:狗弩",
    "营业执照套牌 他人身份": "fake_documents:营业执照",
    "体检报告 可改 入职用": "fake_documents:体检报告",
}
ROUND5_KEPT = [
    "基金梭哈 全仓买入 复盘", "地铁上车 刷码 攻略", "上车扫码乘车 公交", "秋天 叶子 发黄 可邮寄 书签",
    "加州草莓 新鲜 到货", "国家补贴 以旧换新 申请条件", "孙子满月 爷爷抱着合影", "宝宝第一次叫爸爸",
    "香水 留香 飘一整晚", "背包出境游 攻略", "背包过安检 注意事项", "田径运动会 发令枪 裁判",
    "集邮册 纪念邮票 合集", "客户资料管理 表格 模板", "空投物资 救灾 直升机", "巴雷特 模型 积木 拼装",
    "德州扑克比赛 直播", "杂交水稻 品种", "脑瘫儿童 康复训练",
]


def test_round5_families_rejected_and_their_traps_kept(flt: SensitiveFilter) -> None:
    found = details(flt, list(ROUND5_REJECTED))
    assert dict(zip(ROUND5_REJECTED, found, strict=True)) == ROUND5_REJECTED
    lexicon_only = SensitiveFilter(load_config(None, ["text.sensitive_model=false"]))
    assert details(lexicon_only, ROUND5_KEPT) == [None] * len(ROUND5_KEPT)  # the rules' vetoes
