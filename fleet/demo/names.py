"""Name pools for the demo city: people, enterprises, streets and places (plausible, invented)."""

from __future__ import annotations

import random

# Common surnames, weighted roughly by frequency in north-east China.
SURNAMES = (("王", 9), ("李", 9), ("张", 9), ("刘", 8), ("陈", 4), ("杨", 4), ("赵", 4),
            ("黄", 2), ("周", 3), ("吴", 2), ("徐", 2), ("孙", 4), ("马", 3), ("朱", 2),
            ("胡", 2), ("郭", 2), ("何", 1), ("高", 3), ("林", 1), ("罗", 1), ("郑", 1),
            ("梁", 1), ("谢", 1), ("宋", 2), ("唐", 1), ("许", 1), ("韩", 2), ("冯", 1),
            ("邓", 1), ("曹", 1), ("彭", 1), ("曾", 1), ("于", 3), ("董", 2), ("潘", 1),
            ("袁", 1), ("蒋", 1), ("蔡", 1), ("吕", 1), ("丁", 1), ("魏", 1), ("姜", 2),
            ("崔", 2), ("白", 1), ("闫", 1), ("付", 1), ("关", 1), ("佟", 1), ("石", 1))
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏波华飞鑫宇浩东海峰健亮成国立志永俊凯龙春林"
GIVEN_FEMALE = "丽娜静敏燕艳芳娟霞红梅玲婷雪慧莉欣晶颖琳丹萍洁媛月"

_SURNAME_CHOICES = [name for name, _ in SURNAMES]
_SURNAME_WEIGHTS = [weight for _, weight in SURNAMES]


def person_name(rng: random.Random, *, male: bool) -> str:
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.6 else "")
    return rng.choices(_SURNAME_CHOICES, weights=_SURNAME_WEIGHTS)[0] + given


DISTRICT_SHORT = {"211102": "双台子", "211103": "兴隆台", "211104": "大洼", "211122": "盘山"}
ENTERPRISE_WORDS = ("辽河", "鹤乡", "红海滩", "兴隆", "曙光", "鼎翔", "湿地", "渤海", "金盛",
                    "华运", "通达", "顺安", "恒通", "宏远", "万通", "锦程", "安达", "盛世",
                    "众诚", "新港", "振兴", "荣昌", "泰山", "石化", "油城", "北方", "瑞丰",
                    "天成", "广源", "德胜", "双兴", "益民", "永安", "华信", "联运", "东方")
ENTERPRISE_SUFFIX = {
    "taxi_company": ("出租汽车有限公司", "出租车有限责任公司", "客运出租有限公司"),
    "bus_company": ("公共交通有限公司", "公交客运有限公司"),
    "passenger_transport": ("客运有限公司", "旅游客运有限公司", "长途客运有限公司"),
    "hazmat_carrier": ("危险货物运输有限公司", "化工物流有限公司", "石化运输有限公司",
                       "油品运输有限公司"),
    "freight": ("物流有限公司", "货运有限公司", "运输有限公司"),
    "ride_hailing_platform": ("网约车科技有限公司", "出行服务有限公司"),
}


def enterprise_name(rng: random.Random, kind: str, district_code: str, taken: set[str]) -> str:
    suffixes = ENTERPRISE_SUFFIX[kind]
    for attempt in range(1000):
        prefix = "盘锦" if rng.random() < 0.6 else DISTRICT_SHORT.get(district_code, "盘锦")
        word = rng.choice(ENTERPRISE_WORDS)
        extra = "" if attempt < 50 else rng.choice(ENTERPRISE_WORDS)
        name = prefix + word + extra + rng.choice(suffixes)
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("enterprise names exhausted")


STREET_STEMS = ("石油", "兴隆", "惠宾", "泰山", "中兴", "双兴", "辽河", "市府", "渤海", "鼎翔",
                "红旗", "新工", "光明", "胜利", "建设", "友谊", "和平", "民主", "振兴", "工农",
                "团结", "繁荣", "文化", "育才", "长江", "黄河", "珠江", "松花江", "兴油", "曙光",
                "开发", "创新", "科技", "奥体", "湿地", "鹤乡", "芦苇", "稻香", "稻田", "渔港",
                "新华", "沿河", "滨河", "临港", "向海", "永兴", "太平", "高升", "东风", "新立")


def street_names(rng: random.Random, count: int, suffixes: tuple[str, ...]) -> list[str]:
    """``count`` distinct street names (stems re-used with ordinal suffixes when needed)."""
    stems = list(STREET_STEMS)
    rng.shuffle(stems)
    names: list[str] = []
    ordinal = ("", "一", "二", "三", "四", "五")
    for i in range(count):
        stem = stems[i % len(stems)]
        names.append(stem + ordinal[(i // len(stems)) % len(ordinal)] + rng.choice(suffixes))
    return names


STOP_PLACES = ("市政府", "中心医院", "辽河油田总部", "兴隆台商场", "新玛特", "万达广场",
               "盘锦站", "盘锦北站", "客运站", "体育中心", "文化广场", "职业技术学院",
               "实验中学", "第一高中", "曙光小区", "鼎翔生活区", "石油大街口", "惠宾街口",
               "泰山路口", "双兴路口", "红旗大街口", "中兴路口", "渤海路口", "市府大路口",
               "湿地公园", "红海滩路口", "辽河大桥", "盘锦港", "经济开发区", "高新区",
               "石化园区", "华锦集团", "供电公司", "人民法院", "公安局", "市图书馆",
               "儿童公园", "东湖公园", "大洼区政府", "盘山县政府", "兴隆台区政府",
               "双台子区政府", "妇婴医院", "中医院", "第二人民医院", "农贸市场", "物流园",
               "创业大厦", "科技大厦", "工人村", "电信局", "邮政局", "新兴小区", "康桥小区",
               "锦绣家园", "阳光花园", "滨河小区", "龙湖湾", "红旗小区", "兴油小区", "鹤乡小区")
